"""A server's security groups: the addSecurityGroup and
removeSecurityGroup actions (the API flows
``api.server_add_security_group`` and ``api.server_remove_security_group``)
and ``GET /servers/{id}/os-security-groups``.

The groups themselves are the network service's (``openstack security
group ...`` talks to its Networking API); nova only names them.
"""

from __future__ import annotations

from typing import Any

import webob.exc

from nova.api.openstack import common, wsgi
from nova.api.openstack.compute import helpers
from nova.api.openstack.compute.flows import (
    ApiFlows,
    server_add_security_group,
    server_remove_security_group,
)
from nova.api.openstack.compute.schemas import security_groups as schemas
from nova.api.validation import validators


class SecurityGroupActionController:
    """addSecurityGroup / removeSecurityGroup."""

    def __init__(self, compute_api: Any, flows: ApiFlows) -> None:
        self.compute_api = compute_api
        self.flows = flows

    def _run(self, req: wsgi.Request, id: str, body: dict[str, Any],
             action: str, flow: str, schema: dict[str, Any]) -> None:
        validators.validate(schema, body)
        name = body[action]['name']
        if not name.strip():
            raise webob.exc.HTTPBadRequest(
                explanation='Security group name cannot be empty')
        ctx = req.context
        instance = helpers.get_instance(self.compute_api, ctx, id)
        state = server_add_security_group.ServerSecurityGroupState(
            req=req, version=req.api_version_request,
            compute_api=self.compute_api,
            network_api=self.compute_api.network_api, instance=instance,
            name=name)
        self.flows.run(flow, ctx, state)

    @wsgi.response(202)
    @wsgi.action('addSecurityGroup')
    def add_security_group(self, req: wsgi.Request, id: str,
                           body: dict[str, Any]) -> None:
        self._run(req, id, body, 'addSecurityGroup',
                  server_add_security_group.FLOW.name,
                  schemas.add_security_group)

    @wsgi.response(202)
    @wsgi.action('removeSecurityGroup')
    def remove_security_group(self, req: wsgi.Request, id: str,
                              body: dict[str, Any]) -> None:
        self._run(req, id, body, 'removeSecurityGroup',
                  server_remove_security_group.FLOW.name,
                  schemas.remove_security_group)


class ServerSecurityGroupController:
    """GET /servers/{server_id}/os-security-groups."""

    def __init__(self, compute_api: Any) -> None:
        self.compute_api = compute_api

    def index(self, req: wsgi.Request, server_id: str) -> dict[str, Any]:
        ctx = req.context
        instance = helpers.get_instance(self.compute_api, ctx, server_id)
        helpers.authorize(ctx, 'os_compute_api:os-security-groups:list',
                          instance)
        groups = self.compute_api.network_api.get_instance_security_groups(
            ctx, common.get(instance, 'uuid'))
        known = {g['id']: g for g in groups}
        result = [_group(g, known) for g in groups]
        return {'security_groups': sorted(
            result, key=lambda g: (g['tenant_id'], g['name']))}


def _group(group: dict[str, Any],
           known: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A Neutron group in the compute API's form: its ingress rules."""
    return {'id': group['id'], 'name': group['name'],
            'description': group.get('description') or '',
            'tenant_id': group['project_id'],
            'rules': [_rule(r, known)
                      for r in group.get('security_group_rules', [])
                      if r['direction'] == 'ingress']}


def _rule(rule: dict[str, Any],
          known: dict[str, dict[str, Any]]) -> dict[str, Any]:
    protocol = rule.get('protocol')
    low, high = rule.get('port_range_min'), rule.get('port_range_max')
    if protocol and low is None and high is None:
        # No range: every port (TCP/UDP) or every type (ICMP), as upstream
        # shows it.
        low, high = (1, 65535) if protocol.upper() in ('TCP', 'UDP') \
            else (-1, -1)
    result: dict[str, Any] = {
        'id': rule['id'], 'parent_group_id': rule['security_group_id'],
        'ip_protocol': protocol, 'from_port': low, 'to_port': high,
        'group': {}, 'ip_range': {}}
    remote = rule.get('remote_group_id')
    if remote:
        source = known.get(remote, {})
        result['group'] = {'name': source.get('name'),
                           'tenant_id': source.get('project_id')}
    else:
        result['ip_range'] = {
            'cidr': rule.get('remote_ip_prefix') or '0.0.0.0/0'}
    return result
