"""api.server_remove_security_group: ``POST /servers/{id}/action``
``{"removeSecurityGroup": {"name": NAME}}``.

The group (a name or ID, of the server's project) is taken from every
port of the server that has it, through the network service, then from
the server's list of groups.  Upstream nova answers 202 and refuses no
server state.

Failure: an unknown group, a server without ports, or a group no port
of the server has is 404 (upstream's SecurityGroupNotFound); a name
several groups have is 409.  If the server's list cannot be written
after the ports changed, ``remove_from_ports`` is reverted (the group
given back to the ports).

Interrupted: API flows are not recorded; a request cut between the two
writes leaves the group off the ports and still in the server's list,
and the same request again answers 404 "not associated" - add the group
and remove it again.
"""

from __future__ import annotations

from typing import Any

from oslo_log import log as logging

from nova import exception
from nova.api.openstack import common
from nova.api.openstack.compute import helpers
from nova.api.openstack.compute.flows import base
from nova.api.openstack.compute.flows.server_add_security_group import (
    ServerSecurityGroupState,
    group_name,
)
from nova.flow import Flow

LOG = logging.getLogger(__name__)

FLOW = Flow('api.server_remove_security_group', '1.0',
            ServerSecurityGroupState,
            doc='Handle the removeSecurityGroup server action.',
            request_version=base.REQUEST_VERSION)

FLOW.stages('authorize', 'remove_from_ports', 'update_instance')


@FLOW.stage
def authorize(ctx: Any, state: ServerSecurityGroupState) -> None:
    """Policy os_compute_api:os-security-groups:remove on the server."""
    helpers.authorize(ctx, 'os_compute_api:os-security-groups:remove',
                      state.instance)


@FLOW.stage
def remove_from_ports(ctx: Any, state: ServerSecurityGroupState) -> None:
    """Take the group from the server's ports (the network service)."""
    instance = state.instance
    state.group = state.network_api.remove_security_group_from_instance(
        ctx, common.get(instance, 'uuid'),
        common.get(instance, 'project_id'), state.name)


@FLOW.revert('remove_from_ports')
def add_to_ports(ctx: Any, state: ServerSecurityGroupState,
                 failure: Any) -> None:
    if state.group is None:
        return
    try:
        state.network_api.add_security_group_to_instance(
            ctx, common.get(state.instance, 'uuid'),
            common.get(state.instance, 'project_id'), state.group['id'])
    except exception.SecurityGroupExistsForInstance:
        LOG.debug('Security group %s is back on the ports of %s already',
                  state.group['id'], common.get(state.instance, 'uuid'))


@FLOW.stage
def update_instance(ctx: Any, state: ServerSecurityGroupState) -> None:
    """Take the group's name from the server's list of groups."""
    assert state.group is not None
    names = list(common.get(state.instance, 'security_groups') or [])
    remaining = [n for n in names
                 if n not in (group_name(state.group), state.group['id'])]
    if remaining != names:
        state.instance = state.compute_api.update(
            ctx, state.instance, security_groups=remaining)
