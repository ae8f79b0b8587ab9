"""api.server_resize: the ``resize`` server action."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

from nova import quota
from nova.api.openstack import common
from nova.api.openstack.compute.flows import base
from nova.api.validation import parameter_types as types
from nova.flow import Flow, contract
from nova.policies import enforcer


@dataclasses.dataclass
class ServerResizeState:
    """Contract 1.2 of api.server_resize (what hooks may read and write).
    """

    #: The WebOb request being answered.
    req: Any = dataclasses.field(metadata=contract.READ_ONLY)
    #: The request's API microversion (``APIVersionRequest``).
    version: Any = dataclasses.field(metadata=contract.READ_ONLY)
    #: The compute API (``nova.compute.api.API``) the stages call.
    compute_api: Any = dataclasses.field(metadata=contract.READ_ONLY)
    #: The database API.
    db: Any = dataclasses.field(metadata=contract.READ_ONLY)
    #: The instance being resized.
    instance: Any = dataclasses.field(metadata=contract.READ_ONLY)
    #: The request body as validated against the schema.
    body: dict[str, Any] = dataclasses.field(metadata=contract.READ_ONLY)
    #: ``body['resize']``.
    resize: dict[str, Any] = dataclasses.field(default_factory=dict)
    #: The flavor to resize to, looked up from ``flavorRef``.
    flavor: Any = None
    #: Keyword arguments of compute_api.resize beyond the flavor.
    kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)


FLOW = Flow('api.server_resize', '1.2', ServerResizeState,
            changes={'1.2': base.MIN_VERSION_CHANGE,
                     '1.1': 'Stage check_quota added (cores and RAM).'},
            doc='Handle the resize server action.',
            request_version=base.REQUEST_VERSION)

FLOW.stages('parse', 'flavor', 'check_quota', 'resize')


def schema(version: Any) -> dict[str, Any]:
    return copy.deepcopy({
        'type': 'object',
        'properties': {'resize': {
            'type': 'object',
            'properties': {
                'flavorRef': types.flavor_ref,
                'OS-DCF:diskConfig': {'type': 'string',
                                      'enum': ['AUTO', 'MANUAL']},
            },
            'required': ['flavorRef'],
            'additionalProperties': False}},
        'required': ['resize'],
        'additionalProperties': False,
    })


@FLOW.stage
def parse(ctx: Any, state: ServerResizeState) -> None:
    """Check policy; read the disk config."""
    instance = state.instance
    enforcer.authorize(ctx, 'os_compute_api:servers:resize',
                       {'project_id': common.get(instance, 'project_id'),
                        'user_id': common.get(instance, 'user_id')})
    state.resize = state.body['resize']
    if 'OS-DCF:diskConfig' in state.resize:
        state.kwargs['auto_disk_config'] = \
            state.resize['OS-DCF:diskConfig'] == 'AUTO'


@FLOW.stage
def flavor(ctx: Any, state: ServerResizeState) -> None:
    """Look up flavorRef (400 if unknown)."""
    state.flavor = base.lookup_flavor(state.db, ctx,
                                      state.resize['flavorRef'])


@FLOW.stage
def check_quota(ctx: Any, state: ServerResizeState) -> None:
    """A bigger flavor needs room for the vCPUs and RAM it adds in the
    server's project's (and user's) cores and ram quotas (403)."""
    instance = state.instance
    quota.QuotaEngine(state.db).check_resize(
        ctx, {'vcpus': common.get(instance, 'vcpus'),
              'memory_mb': common.get(instance, 'memory_mb'),
              'project_id': common.get(instance, 'project_id'),
              'user_id': common.get(instance, 'user_id')}, state.flavor)


@FLOW.stage
def resize(ctx: Any, state: ServerResizeState) -> None:
    """compute_api.resize to the flavor's public ID."""
    base.call_compute(state.compute_api.resize, ctx, state.instance,
                      base.flavor_public_id(state.flavor), **state.kwargs)
