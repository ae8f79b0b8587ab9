"""api.server_add_security_group: ``POST /servers/{id}/action``
``{"addSecurityGroup": {"name": NAME}}``.

The group (a name or ID, of the server's project) is added to every port
of the server through the network service, then to the server's list of
groups, which the server view shows.  Upstream nova answers 202 and
refuses no server state.

Failure: an unknown group, or a server without ports, is 404; a group
every port has already is 400 (SecurityGroupExistsForInstance); a name
several groups have is 409.  If the server's list cannot be written
after the ports changed, ``add_to_ports`` is reverted (the group taken
from the ports again).

Interrupted: API flows are not recorded; a request cut between the two
writes leaves the group on the ports and not in the server's list, and
the same request again answers 400 "already associated" - remove the
group and add it again.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from oslo_log import log as logging

from nova import exception
from nova.api.openstack import common
from nova.api.openstack.compute import helpers
from nova.api.openstack.compute.flows import base
from nova.flow import Flow, contract

LOG = logging.getLogger(__name__)


@dataclasses.dataclass
class ServerSecurityGroupState:
    """Contract 1.0 of api.server_add_security_group and
    api.server_remove_security_group (what hooks may read and write)."""

    #: The WebOb request being answered.
    req: Any = dataclasses.field(metadata=contract.READ_ONLY)
    #: The request's API microversion (``APIVersionRequest``).
    version: Any = dataclasses.field(metadata=contract.READ_ONLY)
    #: The compute API (``nova.compute.api.API``) the stages call.
    compute_api: Any = dataclasses.field(metadata=contract.READ_ONLY)
    #: The network service (``nova.network.api.NetworkAPI``).
    network_api: Any = dataclasses.field(metadata=contract.READ_ONLY)
    #: The server; replaced by the updated one.
    instance: Any
    #: The group the request names (a name or an ID).
    name: str = dataclasses.field(metadata=contract.READ_ONLY)
    #: The group, as the network service shows it (``id``, ``name``):
    #: filled in by the ports stage.
    group: dict[str, Any] | None = None


FLOW = Flow('api.server_add_security_group', '1.0',
            ServerSecurityGroupState,
            doc='Handle the addSecurityGroup server action.',
            request_version=base.REQUEST_VERSION)

FLOW.stages('authorize', 'add_to_ports', 'update_instance')


def group_name(group: dict[str, Any]) -> str:
    """How the server lists a group: by name (its ID if it has none, as
    upstream)."""
    return str(group.get('name') or group['id'])


@FLOW.stage
def authorize(ctx: Any, state: ServerSecurityGroupState) -> None:
    """Policy os_compute_api:os-security-groups:add on the server."""
    helpers.authorize(ctx, 'os_compute_api:os-security-groups:add',
                      state.instance)


@FLOW.stage
def add_to_ports(ctx: Any, state: ServerSecurityGroupState) -> None:
    """Add the group to the server's ports (the network service)."""
    instance = state.instance
    state.group = state.network_api.add_security_group_to_instance(
        ctx, common.get(instance, 'uuid'),
        common.get(instance, 'project_id'), state.name)


@FLOW.revert('add_to_ports')
def remove_from_ports(ctx: Any, state: ServerSecurityGroupState,
                      failure: Any) -> None:
    if state.group is None:
        return
    try:
        state.network_api.remove_security_group_from_instance(
            ctx, common.get(state.instance, 'uuid'),
            common.get(state.instance, 'project_id'), state.group['id'])
    except exception.SecurityGroupNotFound:
        LOG.debug('Security group %s already gone from the ports of '
                  '%s', state.group['id'], common.get(state.instance,
                                                       'uuid'))


@FLOW.stage
def update_instance(ctx: Any, state: ServerSecurityGroupState) -> None:
    """Add the group's name to the server's list of groups."""
    assert state.group is not None
    names = list(common.get(state.instance, 'security_groups') or [])
    name = group_name(state.group)
    if name not in names:
        state.instance = state.compute_api.update(
            ctx, state.instance, security_groups=[*names, name])
