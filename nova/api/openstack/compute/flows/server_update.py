"""api.server_update: ``PUT /servers/{id}``.

Stages read their fields of the validated body into ``state.values`` (the
instance fields to write); ``update`` writes them through the compute API
and ``response`` renders the server at the request's microversion (from
2.75 the same representation as GET).
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from typing import Any

from nova.api.openstack import common
from nova.api.openstack.compute.flows import base
from nova.api.validation import parameter_types as types
from nova.flow import Flow, contract
from nova.policies import enforcer


@dataclasses.dataclass
class ServerUpdateState:
    """Contract 1.1 of api.server_update (what hooks may read and write).
    """

    #: The WebOb request being answered.
    req: Any = dataclasses.field(metadata=contract.READ_ONLY)
    #: The request's API microversion (``APIVersionRequest``).
    version: Any = dataclasses.field(metadata=contract.READ_ONLY)
    #: The compute API (``nova.compute.api.API``) the stages call.
    compute_api: Any = dataclasses.field(metadata=contract.READ_ONLY)
    #: The instance being updated; replaced by the updated one.
    instance: Any
    #: The request body as validated against the schema.
    body: dict[str, Any] = dataclasses.field(metadata=contract.READ_ONLY)
    #: Renders an instance with api.server_view (for the response).
    render: Callable[[Any], dict[str, Any]] = dataclasses.field(
        metadata=contract.READ_ONLY)
    #: ``body['server']``.
    server: dict[str, Any] = dataclasses.field(default_factory=dict)
    #: Instance fields to update; stages add theirs.
    values: dict[str, Any] = dataclasses.field(default_factory=dict)
    #: The response body, filled in by the response stage.
    response: dict[str, Any] | None = None


FLOW = Flow('api.server_update', '1.1', ServerUpdateState,
            changes={'1.1': base.MIN_VERSION_CHANGE},
            doc='Handle PUT /servers/{id}.',
            request_version=base.REQUEST_VERSION)

FLOW.stages('parse', 'description', 'hostname', 'update', 'response')


def schema(version: Any) -> dict[str, Any]:
    server: dict[str, Any] = {
        'name': types.server_name,
        'accessIPv4': types.ipv4,
        'accessIPv6': types.ipv6,
        'OS-DCF:diskConfig': {'type': 'string',
                              'enum': ['AUTO', 'MANUAL']},
    }
    if version >= '2.19':
        server['description'] = types.description
    if version >= '2.94':
        server['hostname'] = types.fqdn
    elif version >= '2.90':
        server['hostname'] = types.hostname_v290
    return copy.deepcopy({
        'type': 'object',
        'properties': {'server': {'type': 'object', 'properties': server,
                                  'additionalProperties': False}},
        'required': ['server'],
        'additionalProperties': False,
    })


@FLOW.stage
def parse(ctx: Any, state: ServerUpdateState) -> None:
    """Check policy; read name, access IPs and disk config."""
    instance = state.instance
    enforcer.authorize(ctx, 'os_compute_api:servers:update',
                       {'project_id': common.get(instance, 'project_id'),
                        'user_id': common.get(instance, 'user_id')})
    server = state.server = state.body['server']
    if 'name' in server:
        state.values['display_name'] = server['name']
    if 'accessIPv4' in server:
        state.values['access_ip_v4'] = server['accessIPv4'] or None
    if 'accessIPv6' in server:
        state.values['access_ip_v6'] = server['accessIPv6'] or None
    # OS-DCF:diskConfig is accepted for compatibility; instances keep no
    # disk config setting here (always MANUAL), so there is nothing to
    # write.


@FLOW.stage
def description(ctx: Any, state: ServerUpdateState) -> None:
    """description (2.19+); null clears it."""
    if 'description' in state.server:
        state.values['display_description'] = state.server['description']


@FLOW.stage
def hostname(ctx: Any, state: ServerUpdateState) -> None:
    """hostname (2.90+)."""
    if 'hostname' in state.server:
        state.values['hostname'] = state.server['hostname']


@FLOW.stage
def update(ctx: Any, state: ServerUpdateState) -> None:
    """Write the values through compute_api.update."""
    if state.values:
        state.instance = state.compute_api.update(ctx, state.instance,
                                                  **state.values)


@FLOW.stage
def response(ctx: Any, state: ServerUpdateState) -> None:
    """The updated server at the request's microversion."""
    state.response = {'server': state.render(state.instance)}
