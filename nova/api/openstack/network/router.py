"""The Networking API v2.0 router and its resources.

Paths are relative to ``/v2.0`` (api-paste.ini maps the prefix).  Every
list takes Neutron's filters (``?name=x&name=y``: any of the values;
``fixed_ips=ip_address=...``) and ``fields=`` (only those fields);
paging arguments are accepted and ignored (the lists are short, and
without a ``*_links`` the SDK reads one page).
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable, Iterable
from typing import Any

import jsonschema
import routes
import webob
import webob.dec
import webob.exc
from oslo_log import log as logging

import nova.conf
from nova import exception
from nova.api.openstack import wsgi
from nova.api.openstack.network import faults, views
from nova.db import api as db
from nova.network import local
from nova.policies import enforcer

LOG = logging.getLogger(__name__)
CONF = nova.conf.CONF

#: Query arguments that are not filters.
NOT_FILTERS = frozenset(('fields', 'limit', 'marker', 'sort_key',
                         'sort_dir', 'page_reverse', 'verbose'))

NETWORK_CREATE = {
    'type': 'object',
    'properties': {'network': {
        'type': 'object',
        'properties': {
            'name': {'type': 'string', 'maxLength': 255},
            'description': {'type': 'string', 'maxLength': 255},
            'admin_state_up': {'type': 'boolean'},
            'shared': {'type': 'boolean'},
            'project_id': {'type': 'string', 'maxLength': 255},
            'tenant_id': {'type': 'string', 'maxLength': 255},
            'port_security_enabled': {'const': True},
            'router:external': {'const': False},
        },
        'additionalProperties': False,
    }},
    'required': ['network'],
    'additionalProperties': False,
}

NETWORK_UPDATE = {
    'type': 'object',
    'properties': {'network': {
        'type': 'object',
        'properties': {'name': {'type': 'string', 'maxLength': 255}},
        'additionalProperties': False,
    }},
    'required': ['network'],
    'additionalProperties': False,
}

SUBNET_CREATE = {
    'type': 'object',
    'properties': {'subnet': {
        'type': 'object',
        'properties': {
            'network_id': {'type': 'string', 'minLength': 1,
                           'maxLength': 36},
            'cidr': {'type': 'string', 'maxLength': 64},
            'ip_version': {'enum': [4, 6]},
            'gateway_ip': {'type': ['string', 'null'], 'maxLength': 64},
            'enable_dhcp': {'type': 'boolean'},
            'name': {'type': 'string', 'maxLength': 255},
            'description': {'type': 'string', 'maxLength': 255},
            'project_id': {'type': 'string', 'maxLength': 255},
            'tenant_id': {'type': 'string', 'maxLength': 255},
            'dns_nameservers': {'type': 'array', 'maxItems': 0},
            'host_routes': {'type': 'array', 'maxItems': 0},
        },
        'required': ['network_id', 'cidr', 'ip_version'],
        'additionalProperties': False,
    }},
    'required': ['subnet'],
    'additionalProperties': False,
}

PORT_CREATE = {
    'type': 'object',
    'properties': {'port': {
        'type': 'object',
        'properties': {
            'network_id': {'type': 'string', 'minLength': 1,
                           'maxLength': 255},
            'name': {'type': 'string', 'maxLength': 255},
            'description': {'type': 'string', 'maxLength': 255},
            'admin_state_up': {'const': True},
            'project_id': {'type': 'string', 'maxLength': 255},
            'tenant_id': {'type': 'string', 'maxLength': 255},
            'device_id': {'type': 'string', 'maxLength': 36},
            'device_owner': {'type': 'string', 'maxLength': 255},
            'binding:host_id': {'type': 'string', 'maxLength': 255},
            'binding:vnic_type': {'const': 'normal'},
            'security_groups': {'type': 'array', 'uniqueItems': True,
                                'items': {'type': 'string',
                                          'maxLength': 36}},
            'port_security_enabled': {'const': True},
            'fixed_ips': {'type': 'array', 'maxItems': 1, 'items': {
                'type': 'object',
                'properties': {'ip_address': {'type': 'string'},
                               'subnet_id': {'type': 'string'}},
                'additionalProperties': False}},
        },
        'required': ['network_id'],
        'additionalProperties': False,
    }},
    'required': ['port'],
    'additionalProperties': False,
}

PORT_UPDATE = {
    'type': 'object',
    'properties': {'port': {
        'type': 'object',
        'properties': {'name': {'type': 'string', 'maxLength': 255},
                       'description': {'type': 'string', 'maxLength': 255},
                       'device_id': {'type': 'string', 'maxLength': 36},
                       'device_owner': {'type': 'string',
                                        'maxLength': 255},
                       'binding:host_id': {'type': 'string',
                                           'maxLength': 255},
                       'security_groups': {
                           'type': 'array', 'uniqueItems': True,
                           'items': {'type': 'string', 'maxLength': 36}}},
        'additionalProperties': False,
    }},
    'required': ['port'],
    'additionalProperties': False,
}


SECURITY_GROUP_CREATE = {
    'type': 'object',
    'properties': {'security_group': {
        'type': 'object',
        'properties': {
            'name': {'type': 'string', 'maxLength': 255},
            'description': {'type': 'string', 'maxLength': 255},
            'project_id': {'type': 'string', 'maxLength': 255},
            'tenant_id': {'type': 'string', 'maxLength': 255},
            'stateful': {'const': True},
        },
        'additionalProperties': False,
    }},
    'required': ['security_group'],
    'additionalProperties': False,
}

SECURITY_GROUP_UPDATE = {
    'type': 'object',
    'properties': {'security_group': {
        'type': 'object',
        'properties': {
            'name': {'type': 'string', 'maxLength': 255},
            'description': {'type': 'string', 'maxLength': 255},
            'stateful': {'const': True},
        },
        'additionalProperties': False,
    }},
    'required': ['security_group'],
    'additionalProperties': False,
}

_PORT = {'type': ['integer', 'null'], 'minimum': 0, 'maximum': 65535}

SECURITY_GROUP_RULE_CREATE = {
    'type': 'object',
    'properties': {'security_group_rule': {
        'type': 'object',
        'properties': {
            'security_group_id': {'type': 'string', 'maxLength': 36},
            'direction': {'enum': ['ingress', 'egress']},
            'ethertype': {'enum': ['IPv4', 'IPv6']},
            'protocol': {'type': ['string', 'integer', 'null'],
                         'maxLength': 40},
            'port_range_min': _PORT,
            'port_range_max': _PORT,
            'remote_ip_prefix': {'type': ['string', 'null'],
                                 'maxLength': 255},
            'remote_group_id': {'type': ['string', 'null'],
                                'maxLength': 36},
            'description': {'type': 'string', 'maxLength': 255},
            'project_id': {'type': 'string', 'maxLength': 255},
            'tenant_id': {'type': 'string', 'maxLength': 255},
        },
        'required': ['security_group_id', 'direction'],
        'additionalProperties': False,
    }},
    'required': ['security_group_rule'],
    'additionalProperties': False,
}

#: Protocol names Neutron takes besides numbers 0-255.
PROTOCOLS = frozenset(('tcp', 'udp', 'icmp', 'icmpv6', 'ipv6-icmp', 'sctp',
                       'any', 'ah', 'dccp', 'egp', 'esp', 'gre', 'igmp',
                       'ipip', 'ipv6-encap', 'ipv6-frag', 'ipv6-nonxt',
                       'ipv6-opts', 'ipv6-route', 'ospf', 'pgm', 'rsvp',
                       'udplite', 'vrrp'))


class BadRequest(Exception):
    """A request the API refuses with 400 ``HTTPBadRequest``."""


def _text(value: Any) -> str:
    """A field's value as a query argument spells it."""
    if isinstance(value, bool):
        return 'true' if value else 'false'
    return '' if value is None else str(value)


def _matches(item: dict[str, Any], key: str, wanted: list[str]) -> bool:
    """Neutron's filter semantics: any of the wanted values."""
    value = item.get(key)
    if key == 'fixed_ips':
        pairs = [w.split('=', 1) for w in wanted if '=' in w]
        return any(_text(ip.get(k)) == v for ip in value or []
                   for k, v in pairs)
    if isinstance(value, list):
        return any(_text(v) in wanted for v in value)
    if isinstance(value, bool):
        return _text(value) in [w.lower() for w in wanted]
    return _text(value) in wanted


def filtered(req: webob.Request,
             items: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The items matching the request's filters, with only its
    ``fields`` (unknown filter names are ignored, as Neutron did before
    filter validation)."""
    filters: dict[str, list[str]] = {}
    for key, value in req.GET.items():
        if key not in NOT_FILTERS:
            filters.setdefault(key, []).append(value)
    chosen = [item for item in items
              if all(key not in item or _matches(item, key, wanted)
                     for key, wanted in filters.items())]
    return [only_fields(req, item) for item in chosen]


def only_fields(req: webob.Request, item: dict[str, Any]) -> dict[str, Any]:
    fields = [f for f in req.GET.getall('fields') if f]
    if not fields:
        return item
    return {k: v for k, v in item.items() if k in fields}


def _body(req: webob.Request, schema: dict[str, Any]) -> dict[str, Any]:
    try:
        body = json.loads(req.body or b'null')
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise BadRequest('Malformed request body') from None
    try:
        jsonschema.validate(body, schema)
    except jsonschema.ValidationError as error:
        if error.validator == 'additionalProperties':
            raise BadRequest(f'Unrecognized attribute(s) in request: '
                             f'{error.message}') from None
        path = '.'.join(str(p) for p in error.absolute_path)
        raise BadRequest(f"Invalid input for {path or 'body'}. Reason: "
                         f"{error.message}.") from None
    return body


def _target(ctx: Any, project_id: str | None) -> dict[str, Any]:
    return {'project_id': project_id or '', 'user_id': ctx.user_id}


def _visible_network(network: local.FlatNetworkAPI, ctx: Any,
                     id: str) -> dict[str, Any]:
    """The network, if shared or the caller may see it (else 404, as
    Neutron: another project's network is not revealed)."""
    net = network.get_network(ctx, id)
    if not (net['shared'] or _may(ctx, 'get_network', net)):
        raise exception.NetworkNotFound(network_id=id)
    return net


class Networks:
    """/networks: the flat network (changed through nova's options,
    not this API) and the networks users create."""

    def __init__(self, network: local.FlatNetworkAPI) -> None:
        self.network = network

    def index(self, req: wsgi.Request) -> dict[str, Any]:
        ctx = req.context
        return {'networks': filtered(req, [
            views.network(n) for n in self.network.list_networks(ctx)
            if n['shared'] or _may(ctx, 'get_network', n)])}

    def show(self, req: wsgi.Request, id: str) -> dict[str, Any]:
        return {'network': only_fields(req, views.network(
            _visible_network(self.network, req.context, id)))}

    def create(self, req: wsgi.Request) -> webob.Response:
        ctx = req.context
        body = _body(req, NETWORK_CREATE)['network']
        project_id = _project(req, body)
        enforcer.authorize(ctx, 'create_network', _target(ctx, project_id))
        if 'shared' in body:
            enforcer.authorize(ctx, 'create_network:shared',
                               _target(ctx, project_id))
        net = self.network.create_network(
            ctx, project_id, body.get('name') or '',
            shared=body.get('shared', False),
            admin_state_up=body.get('admin_state_up', True))
        return _json(201, {'network': views.network(net)})

    def update(self, req: wsgi.Request, id: str) -> dict[str, Any]:
        ctx = req.context
        body = _body(req, NETWORK_UPDATE)['network']
        net = _visible_network(self.network, ctx, id)
        enforcer.authorize(ctx, 'update_network',
                           _target(ctx, net['project_id']))
        if body:
            net = self.network.update_network(ctx, id, body)
        return {'network': views.network(net)}

    def delete(self, req: wsgi.Request, id: str) -> None:
        ctx = req.context
        net = _visible_network(self.network, ctx, id)
        enforcer.authorize(ctx, 'delete_network',
                           _target(ctx, net['project_id']))
        self.network.delete_network(ctx, id)


class Subnets:
    """/subnets: the flat network's one subnet and those of users'
    networks; a subnet is visible with its network."""

    def __init__(self, network: local.FlatNetworkAPI) -> None:
        self.network = network

    def _visible(self, ctx: Any, id: str) -> tuple[dict[str, Any],
                                                   dict[str, Any]]:
        """The subnet and its network, if the caller may see them."""
        sub = self.network.get_subnet(ctx, id)
        try:
            net = _visible_network(self.network, ctx, sub['network_id'])
        except exception.NetworkNotFound:
            raise exception.SubnetNotFound(subnet_id=id) from None
        if not (net['shared'] or _may(ctx, 'get_subnet', sub)):
            raise exception.SubnetNotFound(subnet_id=id)
        return sub, net

    def index(self, req: wsgi.Request) -> dict[str, Any]:
        ctx = req.context
        networks = self.network.list_networks(ctx)
        shared = {n['id'] for n in networks if n['shared']}
        visible = {n['id'] for n in networks
                   if _may(ctx, 'get_network', n)}
        return {'subnets': filtered(req, [
            views.subnet(s) for s in self.network.list_subnets(ctx)
            if s['network_id'] in shared
            or (s['network_id'] in visible and _may(ctx, 'get_subnet', s))])}

    def show(self, req: wsgi.Request, id: str) -> dict[str, Any]:
        sub, _net = self._visible(req.context, id)
        return {'subnet': only_fields(req, views.subnet(sub))}

    def create(self, req: wsgi.Request) -> webob.Response:
        ctx = req.context
        body = _body(req, SUBNET_CREATE)['subnet']
        net = _visible_network(self.network, ctx, body['network_id'])
        # Neutron's admin_or_network_owner: the network's project.
        enforcer.authorize(ctx, 'create_subnet',
                           _target(ctx, net['project_id']))
        try:
            sub = self.network.create_subnet(
                ctx, net['id'], body['cidr'], body['ip_version'],
                gateway_ip=body.get('gateway_ip', ''),
                name=body.get('name') or '',
                enable_dhcp=body.get('enable_dhcp', True),
                project_id=body.get('project_id') or body.get('tenant_id'))
        except exception.Invalid as error:
            # Neutron's InvalidInput, its message without nova's prefix.
            return faults.response(400, 'InvalidInput',
                                   str(error.kwargs.get('reason', error)))
        return _json(201, {'subnet': views.subnet(sub)})

    def delete(self, req: wsgi.Request, id: str) -> None:
        ctx = req.context
        _sub, net = self._visible(ctx, id)
        enforcer.authorize(ctx, 'delete_subnet',
                           _target(ctx, net['project_id']))
        self.network.delete_subnet(ctx, id)


class Ports:
    """/ports: the flat network's ports, of servers or not yet."""

    def __init__(self, network: local.FlatNetworkAPI) -> None:
        self.network = network

    def _zones(self, ctx: Any, rows: list[dict[str, Any]]) -> dict[str, str]:
        """Availability zone of each bound port's server."""
        uuids = sorted({r['instance_uuid'] for r in rows
                        if r['instance_uuid']})
        zones = {u: CONF.default_availability_zone for u in uuids}
        if uuids:
            for inst in db.instance_get_all_by_filters(
                    ctx.elevated(), {'uuid': uuids}):
                if inst.get('availability_zone'):
                    zones[inst['uuid']] = inst['availability_zone']
        return zones

    def _views(self, ctx: Any, rows: list[dict[str, Any]],
               check: bool = True) -> list[dict[str, Any]]:
        """The ports the caller may see (all of ``rows`` unless
        ``check``: the port the caller just created, changed or was
        allowed to show), as the API shows them."""
        locations = self.network.port_locations(ctx, rows)
        zones = self._zones(ctx, rows)
        see_host = enforcer.authorize(ctx, 'get_port:binding:host_id',
                                      fatal=False)
        groups = self.network.port_security_groups(
            ctx, [row['port_id'] for row in rows])
        shown = []
        for row in rows:
            if check and not self._may(ctx, 'get_port', row):
                continue
            row = dict(row, security_groups=groups.get(row['port_id']))
            view = views.port(row, locations[row['port_id']],
                              zones.get(row['instance_uuid']))
            if not see_host:
                view.pop('binding:host_id')
            shown.append(view)
        return shown

    @staticmethod
    def _may(ctx: Any, action: str, row: dict[str, Any]) -> bool:
        return enforcer.authorize(
            ctx, action, {'project_id': row.get('project_id') or '',
                          'user_id': ctx.user_id}, fatal=False)

    def _visible(self, ctx: Any, id: str) -> dict[str, Any]:
        """The port, if the caller may see it (else 404, as Neutron:
        another project's port is not revealed)."""
        row = self.network.get_port(ctx, id)
        if not self._may(ctx, 'get_port', row):
            raise exception.PortNotFound(port_id=id)
        return row

    def index(self, req: wsgi.Request) -> dict[str, Any]:
        ctx = req.context
        filters: dict[str, Any] = {}
        device_ids = [d for d in req.GET.getall('device_id') if d]
        if device_ids:
            filters['instance_uuid'] = device_ids
        if not enforcer.authorize(ctx, 'context_is_admin', fatal=False):
            filters['project_id'] = ctx.project_id
        rows = self.network.list_ports(ctx, filters)
        return {'ports': filtered(req, self._views(ctx, rows))}

    def show(self, req: wsgi.Request, id: str) -> dict[str, Any]:
        row = self._visible(req.context, id)
        return {'port': only_fields(req, self._views(req.context, [row],
                                                     check=False)[0])}

    def create(self, req: wsgi.Request) -> webob.Response:
        ctx = req.context
        body = _body(req, PORT_CREATE)['port']
        project_id = (body.get('project_id') or body.get('tenant_id')
                      or ctx.project_id)
        enforcer.authorize(ctx, 'create_port', {'project_id': project_id,
                                                'user_id': ctx.user_id})
        fixed_ip = subnet = None
        net = _visible_network(self.network, ctx, body['network_id'])
        for requested in body.get('fixed_ips', []):
            subnet = requested.get('subnet_id')
            if subnet and subnet not in net['subnets']:
                raise exception.SubnetNotFound(subnet_id=subnet)
            fixed_ip = requested.get('ip_address')
        host = body.get('binding:host_id')
        if host is not None:
            enforcer.authorize(ctx, 'create_port:binding:host_id',
                               {'project_id': project_id,
                                'user_id': ctx.user_id})
        groups = body.get('security_groups')
        if groups is not None:
            groups = [_visible_group(self.network, ctx, g)['id']
                      for g in groups]
        row = self.network.create_port(ctx, net['id'],
                                       name=body.get('name'),
                                       fixed_ip=fixed_ip,
                                       project_id=project_id,
                                       device_id=body.get('device_id'),
                                       host=host, security_groups=groups,
                                       subnet_id=subnet)
        return _json(201, {'port': self._views(ctx, [row],
                                               check=False)[0]})

    def update(self, req: wsgi.Request, id: str) -> dict[str, Any]:
        ctx = req.context
        body = _body(req, PORT_UPDATE)['port']
        row = self._visible(ctx, id)
        if not self._may(ctx, 'update_port', row):
            raise exception.PolicyNotAuthorized(action='update_port')
        if 'binding:host_id' in body:
            enforcer.authorize(ctx, 'update_port:binding:host_id',
                               {'project_id': row.get('project_id') or '',
                                'user_id': ctx.user_id})
        if 'name' in body:
            row = self.network.update_port(ctx, id, {'name': body['name']})
        if 'security_groups' in body:
            self.network.set_port_security_groups(
                ctx, id, [_visible_group(self.network, ctx, g)['id']
                          for g in body['security_groups']])
        if body.get('device_id'):
            # device_owner follows from the server (compute:<zone>).
            row = self.network.bind_port(ctx, id, body['device_id'],
                                         body.get('binding:host_id'))
        elif body.get('device_id') == '':
            row = self.network.unbind_port(ctx, id)
        elif 'binding:host_id' in body:
            # The port's instance moved: bound to its new host.
            row = self.network.update_port(
                ctx, id, {'host': body['binding:host_id'] or None})
        return {'port': self._views(ctx, [row], check=False)[0]}

    def delete(self, req: wsgi.Request, id: str) -> None:
        ctx = req.context
        row = self._visible(ctx, id)
        if not self._may(ctx, 'delete_port', row):
            raise exception.PolicyNotAuthorized(action='delete_port')
        self.network.delete_port(ctx, id)


def _may(ctx: Any, action: str, item: dict[str, Any]) -> bool:
    return enforcer.authorize(
        ctx, action, {'project_id': item.get('project_id') or '',
                      'user_id': ctx.user_id}, fatal=False)


def _visible_group(network: local.FlatNetworkAPI, ctx: Any,
                   id: str) -> dict[str, Any]:
    """The group, if the caller may see it (else 404, as Neutron)."""
    group = network.get_security_group(ctx, id)
    if not _may(ctx, 'get_security_group', group):
        raise exception.SecurityGroupNotFound(security_group_id=id)
    return group


def _project(req: wsgi.Request, body: dict[str, Any]) -> str:
    return str(body.get('project_id') or body.get('tenant_id')
               or req.context.project_id)


class SecurityGroups:
    """/security-groups: each project's groups, ``default`` made when
    the project first lists or uses them."""

    def __init__(self, network: local.FlatNetworkAPI) -> None:
        self.network = network

    def index(self, req: wsgi.Request) -> dict[str, Any]:
        ctx = req.context
        filters: dict[str, Any] = {}
        ids = [i for i in req.GET.getall('id') if i]
        if ids:
            filters['id'] = ids
        projects = [p for key in ('project_id', 'tenant_id')
                    for p in req.GET.getall(key) if p]
        if not enforcer.authorize(ctx, 'context_is_admin', fatal=False):
            filters['project_id'] = ctx.project_id
        elif len(projects) == 1:
            filters['project_id'] = projects[0]
        if not ids and filters.get('project_id') is None and \
                ctx.project_id:
            # Neutron makes the caller's default group on any listing.
            self.network.default_security_group(ctx, ctx.project_id)
        groups = self.network.list_security_groups(ctx, filters)
        return {'security_groups': filtered(req, [
            views.security_group(g) for g in groups
            if _may(ctx, 'get_security_group', g)])}

    def show(self, req: wsgi.Request, id: str) -> dict[str, Any]:
        group = _visible_group(self.network, req.context, id)
        return {'security_group': only_fields(
            req, views.security_group(group))}

    def create(self, req: wsgi.Request) -> webob.Response:
        ctx = req.context
        body = _body(req, SECURITY_GROUP_CREATE)['security_group']
        project_id = _project(req, body)
        enforcer.authorize(ctx, 'create_security_group',
                           {'project_id': project_id,
                            'user_id': ctx.user_id})
        group = self.network.create_security_group(
            ctx, project_id, body.get('name') or '',
            body.get('description'))
        return _json(201, {'security_group': views.security_group(group)})

    def update(self, req: wsgi.Request, id: str) -> dict[str, Any]:
        ctx = req.context
        body = _body(req, SECURITY_GROUP_UPDATE)['security_group']
        group = _visible_group(self.network, ctx, id)
        if not _may(ctx, 'update_security_group', group):
            raise exception.PolicyNotAuthorized(
                action='update_security_group')
        values = {k: body[k] for k in ('name', 'description') if k in body}
        if group['default_for'] and values.get('name', 'default') != \
                'default':
            raise BadRequest('Updating default security group not '
                             'allowed.')
        if values:
            self.network.update_security_group(ctx, id, values)
        return {'security_group': views.security_group(
            self.network.get_security_group(ctx, id))}

    def delete(self, req: wsgi.Request, id: str) -> webob.Response | None:
        ctx = req.context
        group = _visible_group(self.network, ctx, id)
        if not _may(ctx, 'delete_security_group', group):
            raise exception.PolicyNotAuthorized(
                action='delete_security_group')
        if group['default_for'] and not enforcer.authorize(
                ctx, 'context_is_admin', fatal=False):
            return faults.response(409, 'SecurityGroupCannotRemoveDefault',
                                   'Insufficient rights for removing '
                                   'default security group.')
        self.network.delete_security_group(ctx, id)
        return None


class SecurityGroupRules:
    """/security-group-rules: the rules of the groups."""

    def __init__(self, network: local.FlatNetworkAPI) -> None:
        self.network = network

    def index(self, req: wsgi.Request) -> dict[str, Any]:
        ctx = req.context
        filters: dict[str, Any] = {}
        groups = [g for g in req.GET.getall('security_group_id') if g]
        if groups:
            filters['security_group_id'] = groups
        if not enforcer.authorize(ctx, 'context_is_admin', fatal=False):
            filters['project_id'] = ctx.project_id
        return {'security_group_rules': filtered(req, [
            views.security_group_rule(r)
            for r in self.network.list_security_group_rules(ctx, filters)
            if _may(ctx, 'get_security_group_rule', r)])}

    def _visible(self, ctx: Any, id: str) -> dict[str, Any]:
        rule = self.network.get_security_group_rule(ctx, id)
        if not _may(ctx, 'get_security_group_rule', rule):
            raise exception.SecurityGroupRuleNotFound(rule_id=id)
        return rule

    def show(self, req: wsgi.Request, id: str) -> dict[str, Any]:
        return {'security_group_rule': only_fields(
            req, views.security_group_rule(self._visible(req.context, id)))}

    def create(self, req: wsgi.Request) -> webob.Response:
        ctx = req.context
        body = _body(req, SECURITY_GROUP_RULE_CREATE)['security_group_rule']
        group = _visible_group(self.network, ctx, body['security_group_id'])
        enforcer.authorize(ctx, 'create_security_group_rule',
                           {'project_id': group['project_id'],
                            'user_id': ctx.user_id})
        values = _rule_values(body)
        if values['remote_group_id']:
            _visible_group(self.network, ctx, values['remote_group_id'])
        rule = self.network.create_security_group_rule(ctx, values)
        return _json(201, {'security_group_rule':
                           views.security_group_rule(rule)})

    def delete(self, req: wsgi.Request, id: str) -> None:
        ctx = req.context
        rule = self._visible(ctx, id)
        if not _may(ctx, 'delete_security_group_rule', rule):
            raise exception.PolicyNotAuthorized(
                action='delete_security_group_rule')
        self.network.delete_security_group_rule(ctx, id)


def _rule_values(body: dict[str, Any]) -> dict[str, Any]:
    """A rule's columns from a request, checked as Neutron checks
    them."""
    ethertype = body.get('ethertype') or 'IPv4'
    protocol = body.get('protocol')
    if protocol is not None:
        protocol = str(protocol).lower()
        if protocol == 'any':
            protocol = None
        elif protocol.isdigit():
            if not 0 <= int(protocol) <= 255:
                raise BadRequest(f'Security group rule protocol '
                                 f'{protocol} not supported.')
        elif protocol not in PROTOCOLS:
            raise BadRequest(f'Security group rule protocol {protocol} '
                             f'not supported.')
    low, high = body.get('port_range_min'), body.get('port_range_max')
    if (low is not None or high is not None) and protocol is None:
        raise BadRequest('Must also specify protocol if port range is '
                         'given.')
    if protocol in ('tcp', 'udp', 'sctp', 'dccp', 'udplite', '6', '17') \
            and low is not None and high is not None and low > high:
        raise BadRequest('For TCP/UDP protocols, port_range_min must be '
                         '<= port_range_max')
    prefix = body.get('remote_ip_prefix')
    if prefix:
        try:
            network = ipaddress.ip_network(prefix, strict=False)
        except ValueError:
            raise BadRequest(f"Invalid input for remote_ip_prefix. Reason: "
                             f"'{prefix}' is not a valid IP subnet.") \
                from None
        if f'IPv{network.version}' != ethertype:
            raise BadRequest(f'Conflicting value ethertype {ethertype} for '
                             f'CIDR {prefix}')
        prefix = str(network)
    if prefix and body.get('remote_group_id'):
        raise BadRequest('Only remote_ip_prefix or remote_group_id may be '
                         'provided.')
    return {'security_group_id': body['security_group_id'],
            'direction': body['direction'], 'ethertype': ethertype,
            'protocol': protocol, 'port_range_min': low,
            'port_range_max': high, 'remote_ip_prefix': prefix or None,
            'remote_group_id': body.get('remote_group_id') or None,
            'description': body.get('description') or ''}


class Extensions:
    """/extensions: what the views carry."""

    def index(self, req: wsgi.Request) -> dict[str, Any]:
        return {'extensions': [views.extension(*e)
                               for e in views.EXTENSIONS]}

    def show(self, req: wsgi.Request, id: str) -> dict[str, Any]:
        for ext in views.EXTENSIONS:
            if ext[0] == id:
                return {'extension': views.extension(*ext)}
        raise exception.NotFound(f'Extension with alias {id} does not '
                                 f'exist')


def _json(status: int, body: Any) -> webob.Response:
    resp = webob.Response(status=status, content_type=faults.JSON_TYPE,
                          charset='UTF-8')
    resp.text = json.dumps(body)
    return resp


#: (method, path, resource, action), relative to /v2.0.
ROUTES: tuple[tuple[str, str, str, str], ...] = tuple(
    (method, path.format(r=name), name, action)
    for name in ('networks', 'subnets', 'ports', 'security-groups',
                 'security-group-rules')
    for method, path, action in (
        ('GET', '/{r}', 'index'), ('POST', '/{r}', 'create'),
        ('GET', '/{r}/{{id}}', 'show'), ('PUT', '/{r}/{{id}}', 'update'),
        ('DELETE', '/{r}/{{id}}', 'delete'))
    if not (action == 'update' and name not in ('networks', 'ports',
                                                 'security-groups'))
) + (('GET', '/extensions', 'extensions', 'index'),
     ('GET', '/extensions/{id}', 'extensions', 'show'))


class APIRouter:
    """The WSGI app of ``/v2.0``."""

    def __init__(self, network: local.FlatNetworkAPI | None = None) -> None:
        network = network or local.FlatNetworkAPI(CONF)
        self.resources: dict[str, object] = {
            'networks': Networks(network), 'subnets': Subnets(network),
            'ports': Ports(network),
            'security-groups': SecurityGroups(network),
            'security-group-rules': SecurityGroupRules(network),
            'extensions': Extensions()}
        self.mapper = routes.Mapper()
        for method, path, name, action in ROUTES:
            self.mapper.connect(path, controller=name, action=action,
                                conditions={'method': [method]})

    @classmethod
    def factory(cls, global_config: dict[str, Any],
                **local_config: Any) -> APIRouter:
        return cls()

    @webob.dec.wsgify(RequestClass=wsgi.Request)
    def __call__(self, req: wsgi.Request) -> webob.Response:
        path = req.path_info.rstrip('/')
        if path.endswith('.json'):
            path = path[:-len('.json')]
        match = self.mapper.match(path, req.environ)
        if match is None:
            if self.mapper.match(path, dict(req.environ,
                                            REQUEST_METHOD='GET')) or \
                    self.mapper.match(path, dict(req.environ,
                                                 REQUEST_METHOD='POST')):
                return faults.response(405, 'HTTPMethodNotAllowed',
                                       'The method is not allowed for '
                                       'this resource.')
            return faults.not_found('HTTPNotFound',
                                    'The resource could not be found.')
        args = dict(match)
        controller = self.resources[args.pop('controller')]
        method: Callable[..., Any] = getattr(controller, args.pop('action'))
        try:
            result = method(req, **args)
        except BadRequest as error:
            return faults.bad_request(str(error))
        except exception.NovaException as error:
            resp = faults.from_nova(error)
            if resp is not None:
                return resp
            LOG.error('Networking API request failed: %s', error,
                      exc_info=error)
            return self._internal(req)
        except Exception as error:
            LOG.error('Unexpected error serving %s %s', req.method,
                      req.path_info, exc_info=error)
            return self._internal(req)
        if isinstance(result, webob.Response):
            return result
        if result is None:
            resp = webob.Response(status=204)
            resp.content_type = None
            return resp
        return _json(200, result)

    @staticmethod
    def _internal(req: wsgi.Request) -> webob.Response:
        request_id = req.environ.get('openstack.request_id')
        return faults.response(500, 'HTTPInternalServerError',
                               f'Request Failed: internal server error '
                               f'while processing your request (request '
                               f'{request_id}).')
