"""Networks, subnets and ports as the Networking API shows them.

Field names and values are Neutron's, so openstacksdk and the openstack
client read them unchanged.  The flat network of nova.network.local is
one shared network with one subnet; users' networks have theirs; ports
are rows of ``fixed_ips``.
"""

from __future__ import annotations

import datetime
from typing import Any

#: The flat network's MTU: nova's bridge has the Ethernet default (there
#: is no overlay to subtract from it).
MTU = 1500


def timestamp(value: datetime.datetime | None) -> str | None:
    """Neutron's timestamp form, ``2026-01-01T00:00:00Z``."""
    if value is None:
        return None
    return value.strftime('%Y-%m-%dT%H:%M:%SZ')


def _standard(project_id: str) -> dict[str, Any]:
    """The attributes every Neutron resource has."""
    return {'tenant_id': project_id, 'project_id': project_id,
            'description': '', 'tags': [], 'revision_number': 0}


def network(net: dict[str, Any]) -> dict[str, Any]:
    """A network: the flat one (shared, every project's servers use it)
    or a user's (ACTIVE while up, DOWN when ``admin_state_up`` is
    false).  Neither is external."""
    flat = net['flat']
    return {**_standard(net['project_id']), 'id': net['id'],
            'name': net['name'],
            'status': 'ACTIVE' if net['admin_state_up'] else 'DOWN',
            'admin_state_up': bool(net['admin_state_up']),
            'subnets': list(net['subnets']), 'shared': bool(net['shared']),
            'router:external': False, 'mtu': MTU,
            'port_security_enabled': True, 'availability_zones': [],
            'availability_zone_hints': [], 'ipv4_address_scope': None,
            'ipv6_address_scope': None, 'is_default': flat,
            'provider:network_type': 'flat' if flat else 'local',
            'provider:physical_network': None,
            'provider:segmentation_id': None,
            'created_at': timestamp(net.get('created_at')),
            'updated_at': timestamp(net.get('updated_at'))}


def subnet(sub: dict[str, Any]) -> dict[str, Any]:
    """A subnet (addresses are handed out by nova itself)."""
    return {**_standard(sub['project_id']), 'id': sub['id'],
            'name': sub['name'], 'network_id': sub['network_id'],
            'cidr': sub['cidr'], 'ip_version': sub['ip_version'],
            'gateway_ip': sub['gateway_ip'],
            'enable_dhcp': bool(sub['enable_dhcp']),
            'dns_nameservers': list(sub['dns_nameservers']),
            'allocation_pools': list(sub['allocation_pools']),
            'host_routes': [], 'ipv6_ra_mode': None,
            'ipv6_address_mode': None, 'subnetpool_id': None,
            'service_types': [],
            'created_at': timestamp(sub.get('created_at')),
            'updated_at': timestamp(sub.get('updated_at'))}


def port(row: dict[str, Any], location: tuple[str, str | None],
         zone: str | None) -> dict[str, Any]:
    """A port; ``zone`` is its server's availability zone (None when no
    server has it).  A bound port is ACTIVE and owned by
    ``compute:<zone>``, an unbound one DOWN with no owner."""
    bound = bool(row['instance_uuid'])
    network_id, subnet_id = location
    return {**_standard(row.get('project_id') or ''),
            'id': row['port_id'], 'name': row.get('name') or '',
            'network_id': network_id, 'mac_address': row['mac'],
            'admin_state_up': True,
            'status': 'ACTIVE' if bound else 'DOWN',
            'device_id': row['instance_uuid'] or '',
            'device_owner': f'compute:{zone}' if bound else '',
            'fixed_ips': [{'subnet_id': subnet_id,
                           'ip_address': row['address']}],
            'binding:host_id': row.get('host') or '',
            'binding:vif_type': 'bridge' if bound else 'unbound',
            'binding:vnic_type': 'normal', 'binding:profile': {},
            # Not Neutron's: whether the port outlives its server (a
            # user's port) or goes with it (one nova made for it).
            # Upstream nova keeps this in its instance info cache, which
            # this nova does not have; its REST client reads it here.
            'nova:preserve_on_delete': bool(row.get('preserve_on_delete')),
            'binding:vif_details': {},
            'security_groups': list(row.get('security_groups') or []),
            'allowed_address_pairs': [],
            'extra_dhcp_opts': [], 'port_security_enabled': True,
            'created_at': timestamp(row.get('created_at')),
            'updated_at': timestamp(row.get('updated_at'))}


def security_group_rule(rule: dict[str, Any]) -> dict[str, Any]:
    """A security group rule."""
    return {**_standard(rule['project_id']), 'id': rule['id'],
            'description': rule.get('description') or '',
            'security_group_id': rule['security_group_id'],
            'direction': rule['direction'], 'ethertype': rule['ethertype'],
            'protocol': rule.get('protocol'),
            'port_range_min': rule.get('port_range_min'),
            'port_range_max': rule.get('port_range_max'),
            'remote_ip_prefix': rule.get('remote_ip_prefix'),
            'remote_group_id': rule.get('remote_group_id'),
            'remote_address_group_id': None,
            'normalized_cidr': rule.get('remote_ip_prefix'),
            'created_at': timestamp(rule.get('created_at')),
            'updated_at': timestamp(rule.get('updated_at'))}


def security_group(group: dict[str, Any]) -> dict[str, Any]:
    """A security group with its rules (stateful: the only kind)."""
    return {**_standard(group['project_id']), 'id': group['id'],
            'name': group['name'],
            'description': group.get('description') or '',
            'stateful': True, 'shared': False,
            'security_group_rules': [
                security_group_rule(r)
                for r in group.get('security_group_rules', [])],
            'created_at': timestamp(group.get('created_at')),
            'updated_at': timestamp(group.get('updated_at'))}


#: GET /v2.0/extensions: the API extensions whose fields the views above
#: carry (openstacksdk and the client look some up before using them).
EXTENSIONS: tuple[tuple[str, str, str], ...] = (
    ('binding', 'Port Binding',
     'Expose port bindings of a virtual port to external application'),
    ('external-net', 'Neutron external network',
     'Adds external network attribute to network resource.'),
    ('net-mtu', 'Network MTU', 'Provides MTU attribute for a network '
                               'resource.'),
    ('project-id', 'project_id field enabled',
     'Extension that indicates that project_id field is enabled.'),
    ('port-security', 'Port Security',
     'Provides port security'),
    ('provider', 'Provider Network', 'Expose mapping of virtual networks '
                                     'to physical networks'),
    ('security-group', 'security-group',
     'The security groups extension.'),
    ('standard-attr-description', 'standard-attr-description',
     'Extension to add descriptions to standard attributes'),
)


def extension(alias: str, name: str, description: str) -> dict[str, Any]:
    return {'alias': alias, 'name': name, 'description': description,
            'updated': '2026-01-01T00:00:00-00:00', 'links': []}
