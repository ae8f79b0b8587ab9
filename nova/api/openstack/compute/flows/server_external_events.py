"""api.server_external_events: ``POST /os-server-external-events``.

Another service (network, volume, bare metal) tells nova that something
it did for servers happened: a port changed, was plugged or deleted, a
volume grew, the power changed.  For admins and the service role only.
Each event is echoed back with its ``code``: 200 accepted (handed to the
server's compute host), 404 no such server, 422 the server has no host
yet (the event could not be delivered), 400 an event that needs a
``tag`` came without one.  The response is 200 when every event was
accepted, 207 otherwise - including when none was, as upstream since bug
1855752 (the per-event codes say why; there is no overall 404).

Failure: a body the schema refuses is 400 (before the flow runs); a
caller without the policy is 403 (``authorize``).  A refused event fails
only itself (its code), never the request.  ``dispatch_events`` is the
one write (a cast to each compute host); there is nothing before it to
revert.

Interrupted: API flows are not recorded; events cast before the cut
were delivered, and the sender, which got no answer, sends them again
(the compute host handles a repeated event like the first).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from oslo_log import log as logging

from nova.api.openstack import common
from nova.api.openstack.compute import helpers
from nova.api.openstack.compute.flows import base
from nova.flow import Flow, contract

LOG = logging.getLogger(__name__)

RULE = 'os_compute_api:os-server-external-events:create'

#: Events whose tag says what they are about (a volume, a power state, an
#: accelerator request): dropped with 400 without one.
TAG_REQUIRED = frozenset({'volume-extended', 'power-update',
                          'accelerator-request-bound', 'volume-reimaged'})


@dataclasses.dataclass
class ServerExternalEventsState:
    """Contract 1.0 of api.server_external_events (what hooks may read
    and write)."""

    #: The WebOb request being answered.
    req: Any = dataclasses.field(metadata=contract.READ_ONLY)
    #: The request's API microversion (``APIVersionRequest``).
    version: Any = dataclasses.field(metadata=contract.READ_ONLY)
    #: The compute API (``nova.compute.api.API``) the stages call.
    compute_api: Any = dataclasses.field(metadata=contract.READ_ONLY)
    #: The request's events, as sent (``server_uuid``, ``name``,
    #: ``status``, ``tag``).
    events: list[dict[str, Any]] = dataclasses.field(
        metadata=contract.READ_ONLY)
    #: The servers the events name, by UUID (an unknown one is absent):
    #: filled in by ``load_instances``.
    instances: dict[str, Any] = dataclasses.field(default_factory=dict)
    #: Each event echoed back with its ``code`` and ``status``, in the
    #: request's order: filled in by ``check_events``.
    results: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    #: The events to deliver (``instance_uuid``, ``name``, ``status``,
    #: ``tag``): filled in by ``check_events``.
    accepted: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    #: The response body: built by ``view``.
    body: dict[str, Any] | None = None
    #: The response's status, 200 or 207: set by ``view``.
    status: int = 200


FLOW = Flow('api.server_external_events', '1.0', ServerExternalEventsState,
            doc='Deliver events of other services to the servers.',
            request_version=base.REQUEST_VERSION)

FLOW.stages('authorize', 'load_instances', 'check_events',
            'dispatch_events', 'view')


@FLOW.stage
def authorize(ctx: Any, state: ServerExternalEventsState) -> None:
    """Policy os_compute_api:os-server-external-events:create."""
    helpers.authorize(ctx, RULE)


@FLOW.stage
def load_instances(ctx: Any, state: ServerExternalEventsState) -> None:
    """Look up the servers the events name, with one query."""
    state.instances = dict(state.compute_api.get_instances_by_uuids(
        ctx, {event['server_uuid'] for event in state.events}))


@FLOW.stage
def check_events(ctx: Any, state: ServerExternalEventsState) -> None:
    """Give each event its code: accepted (200), or why it is dropped."""
    results, accepted = [], []
    for given in state.events:
        event = {'instance_uuid': given['server_uuid'],
                 'name': given['name'],
                 'status': given.get('status', 'completed'),
                 'tag': given.get('tag')}
        instance = state.instances.get(event['instance_uuid'])
        if instance is None:
            LOG.debug('Dropping event %(name)s:%(tag)s for unknown '
                      'instance %(instance_uuid)s', event)
            code = 404
        elif event['name'] in TAG_REQUIRED and event['tag'] is None:
            LOG.debug('Dropping event %(name)s of instance '
                      '%(instance_uuid)s: it has no tag', event)
            code = 400
        elif not common.get(instance, 'host'):
            LOG.debug('Dropping event %(name)s of instance '
                      '%(instance_uuid)s: it has no host', event)
            code = 422
        else:
            LOG.info('Creating event %(name)s:%(tag)s for instance '
                     '%(instance_uuid)s on %(host)s',
                     dict(event, host=common.get(instance, 'host')))
            accepted.append(event)
            code = 200
        echoed = dict(given)
        echoed['status'] = 'completed' if code == 200 else 'failed'
        echoed['code'] = code
        results.append(echoed)
    state.results, state.accepted = results, accepted


@FLOW.stage
def dispatch_events(ctx: Any, state: ServerExternalEventsState) -> None:
    """Hand the accepted events to their servers' compute hosts."""
    if not state.accepted:
        return
    instances: dict[str, Any] = {}
    for event in state.accepted:
        uuid = event['instance_uuid']
        instances.setdefault(uuid, state.instances[uuid])
    state.compute_api.external_instance_event(
        ctx, list(instances.values()), state.accepted)


@FLOW.stage
def view(ctx: Any, state: ServerExternalEventsState) -> None:
    """The response: every event with its code; 200 if all were
    accepted, 207 otherwise."""
    state.body = {'events': state.results}
    state.status = 200 if len(state.accepted) == len(state.results) \
        else 207
