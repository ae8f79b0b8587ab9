"""A flat network whose ports are rows of nova's ``fixed_ips`` table.

One network, ``[network] flat_network_name`` over ``flat_network_cidr``.
A port is an (address, MAC, port ID) row; the unique key on (network,
address) is what makes allocation race-safe across processes and hosts.

Allocation costs one transaction of two INSERTs in the common case: the
port and its security group (the project's ``default`` group, whose ID
the process keeps once known).  Each process keeps the
set of addresses it knows to be taken (read once, at the first
allocation) and a cursor walking the range; it INSERTs the next address
not known to be taken.  When another process took that address in the
meantime, the INSERT fails on the unique key, the address joins the set
and the cursor moves to a random address of the range before the next
try: processes that started together walk the same addresses, and one
that kept walking behind the others would fail an INSERT for every
address each of them took since its last allocation (one per other
compute host on every boot when builds are spread over the hosts).  A
single process never collides and hands addresses out in order.  When
the walk finds nothing free, the set is
read again (other processes may have freed addresses) before the network
is declared full.  Freed addresses are reused only once the cursor comes
round again, which keeps a just-freed address from going straight to the
next guest while ARP caches still point at the old one.

Users' networks (``POST /v2.0/networks``) are rows of ``networks`` with
their ``subnets``; a port of one is a ``fixed_ips`` row whose network is
the network's ID.  Each subnet is allocated from exactly as the flat
network is (an :class:`AddressPool` each), the first subnet with a free
address giving the port its address, as Neutron does for IPv4.

Security groups are Neutron's: each project has a ``default`` group, made
on first use (a unique key keeps two first uses from making two); a
port's groups are rows of ``security_group_port_bindings``, which go
with the port, and a group a port has cannot be deleted.
"""

from __future__ import annotations

import ipaddress
import random
import threading
import uuid
from collections.abc import Sequence
from typing import Any

from oslo_log import log as logging

import nova.conf
from nova import exception
from nova.db import api as db
from nova.network import api

LOG = logging.getLogger(__name__)
CONF = nova.conf.CONF

# The locally administered OUI OpenStack uses for guest MACs.
MAC_PREFIX = (0xfa, 0x16, 0x3e)


#: The group every project has (Neutron makes it on first use).
DEFAULT_SECURITY_GROUP = 'default'

#: The rules Neutron gives every new group: egress to anywhere.
EGRESS_RULES: tuple[dict[str, Any], ...] = (
    {'direction': 'egress', 'ethertype': 'IPv4'},
    {'direction': 'egress', 'ethertype': 'IPv6'},
)

#: What makes two rules of a group the same rule.
RULE_IDENTITY = ('direction', 'ethertype', 'protocol', 'port_range_min',
                 'port_range_max', 'remote_ip_prefix', 'remote_group_id')


def random_mac() -> str:
    tail = (random.getrandbits(8) for _ in range(3))
    return ':'.join(f'{octet:02x}' for octet in (*MAC_PREFIX, *tail))


IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def host_range(network: IPNetwork) -> tuple[int, int]:
    """First and last usable host address, as ints."""
    low = int(network.network_address)
    high = int(network.broadcast_address)
    if network.num_addresses <= 2:
        # /31, /32 (and IPv6 /127, /128): nothing to hand out.
        return low + 1, low
    if network.version == 4:
        return low + 1, high - 1
    # IPv6 has no broadcast; the subnet-router anycast address is the
    # network address.
    return low + 1, high


class AddressPool:
    """The host addresses of one subnet and what this process knows of
    them: the addresses taken and the cursor (see the module's
    docstring).  ``key`` is the ``fixed_ips.network`` of its ports."""

    def __init__(self, key: str, subnet_id: str, network: IPNetwork,
                 gateway: IPAddress | None) -> None:
        self.key = key
        self.subnet_id = subnet_id
        self.network = network
        self.gateway = gateway
        self.first, self.last = host_range(network)
        self.lock = threading.Lock()
        #: Addresses (as ints) known to be taken; None until first read.
        self.taken: set[int] | None = None
        self.cursor = self.first

    def __contains__(self, address: str) -> bool:
        try:
            return ipaddress.ip_address(address) in self.network
        except ValueError:
            return False

    def check_address(self, address: str) -> int:
        """:raises FixedIpInvalid: not one of the pool's addresses."""
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            raise exception.FixedIpInvalid(
                address=address, reason='not an IP address') from None
        value = int(ip)
        if ip not in self.network or not self.first <= value <= self.last:
            raise exception.FixedIpInvalid(
                address=address,
                reason=f'not a host address of {self.network}')
        if ip == self.gateway:
            raise exception.FixedIpInvalid(address=address,
                                           reason='it is the gateway')
        return value

    def mark(self, value: int) -> None:
        with self.lock:
            if self.taken is not None:
                self.taken.add(value)

    def forget(self, value: int) -> None:
        with self.lock:
            if self.taken is not None:
                self.taken.discard(value)

    def scatter(self) -> None:
        """Move the cursor to a random address of the range, away from
        the addresses other processes are taking (see the module's
        docstring)."""
        with self.lock:
            if self.first <= self.last:
                self.cursor = random.randint(self.first, self.last)

    def reserve(self, context: Any, reload: bool) -> int | None:
        """The next address not known to be taken, marked taken."""
        if self.taken is None or reload:
            taken = {int(ip) for ip in map(
                ipaddress.ip_address,
                db.fixed_ip_get_addresses(context, self.key))
                if ip in self.network}
            with self.lock:
                self.taken = taken
        gateway = int(self.gateway) if self.gateway is not None else None
        with self.lock:
            assert self.taken is not None
            size = self.last - self.first + 1
            if size <= 0:
                return None
            cursor = self.cursor
            for _ in range(min(size, len(self.taken) + 2)):
                if cursor > self.last:
                    cursor = self.first
                candidate = cursor
                cursor += 1
                if candidate in self.taken or candidate == gateway:
                    continue
                self.taken.add(candidate)
                self.cursor = cursor
                return candidate
            self.cursor = cursor
            return None


class FlatNetworkAPI(api.NetworkAPI):
    """The local network service (``[network] backend`` default)."""

    def __init__(self, conf: Any = CONF) -> None:
        opts = conf.network
        self.name: str = opts.flat_network_name
        try:
            self.network = ipaddress.ip_network(opts.flat_network_cidr)
        except ValueError as error:
            raise ValueError(
                f'[network] flat_network_cidr {opts.flat_network_cidr!r} '
                f'is not a network address with prefix: {error}') from None
        #: A stable ID for requests that name the network by UUID.
        self.network_id = str(uuid.uuid5(uuid.NAMESPACE_URL,
                                         f'nova-flat-network:{self.name}'))
        #: The network's one subnet, as stable.
        self.subnet_id = str(uuid.uuid5(uuid.NAMESPACE_URL,
                                        f'nova-flat-subnet:{self.name}'))
        first, last = host_range(self.network)
        self.gateway: ipaddress.IPv4Address | ipaddress.IPv6Address | None
        if opts.flat_network_gateway:
            self.gateway = ipaddress.ip_address(opts.flat_network_gateway)
        elif first <= last:
            self.gateway = ipaddress.ip_address(first)
        else:
            self.gateway = None
        self.bridge: str = opts.flat_network_bridge
        self.dns: list[str] = list(opts.flat_network_dns)
        self.attempts: int = opts.allocation_attempts
        self._lock = threading.Lock()
        #: The flat network's addresses.
        self._flat = AddressPool(self.name, self.subnet_id, self.network,
                                 self.gateway)
        #: Subnet ID -> the addresses of a user's subnet.
        self._pools: dict[str, AddressPool] = {}
        #: Project ID -> the ID of its default security group.
        self._default_groups: dict[str, str] = {}

    # -- the interface -----------------------------------------------------

    def allocate_for_instance(self, context: Any, instance_uuid: str,
                              requested_networks: Any = None,
                              security_groups: Sequence[str] | None = None,
                              ) -> list[api.VIF]:
        requests = self._requests(context, requested_networks)
        names = list(security_groups or [DEFAULT_SECURITY_GROUP])
        group_ids: list[str] | None = None
        vifs: list[api.VIF] = []
        bound: list[str] = []
        try:
            for request in requests:
                port_id = request.get('port_id')
                if port_id:
                    # The user's ports keep their groups, as with Neutron.
                    vifs.append(self._bind(context, instance_uuid, port_id))
                    bound.append(port_id)
                    continue
                if group_ids is None:
                    # Before the first port: an unknown group fails the
                    # request with nothing made.
                    group_ids = self._group_ids(context, names)
                vif, group_ids = self._allocate_with_groups(
                    context, instance_uuid, request, names, group_ids)
                vifs.append(vif)
        except Exception:
            # All or nothing: do not leave half the ports behind (and
            # give the user's ports back, unbound).
            for vif in vifs:
                if vif['id'] in bound:
                    self._unbind(context, vif['id'])
                else:
                    db.fixed_ip_disassociate(context, vif['id'])
            raise
        return vifs

    def deallocate_for_instance(self, context: Any,
                                instance_uuid: str) -> None:
        count = db.fixed_ips_disassociate_by_instance(context,
                                                      instance_uuid)
        if count:
            LOG.debug('Freed %d port(s) of instance %s', count,
                      instance_uuid)

    def allocate_port_for_instance(self, context: Any, instance_uuid: str,
                                   network_id: str | None = None,
                                   requested_ip: str | None = None,
                                   port_id: str | None = None,
                                   ) -> api.VIF:
        if port_id:
            return self._bind(context, instance_uuid, port_id)
        return self._allocate(context, instance_uuid, network_id,
                              requested_ip)

    def deallocate_port_for_instance(self, context: Any, instance_uuid: str,
                                     port_id: str) -> bool:
        try:
            port = db.fixed_ip_get_by_port(context, port_id)
        except exception.PortNotFound:
            return False
        if port['instance_uuid'] != instance_uuid:
            if port['instance_uuid'] is None and port['preserve_on_delete']:
                # The user's port, already given back.
                return False
            raise exception.PortNotFound(port_id=port_id)
        if port['preserve_on_delete']:
            return self._unbind(context, port_id)
        return db.fixed_ip_disassociate(context, port_id)

    def setup_networks_on_host(self, context: Any, instance_uuid: str,
                               host: str) -> None:
        count = db.fixed_ips_set_host(context, instance_uuid, host)
        LOG.debug('Bound %d port(s) of instance %s to %s', count,
                  instance_uuid, host)

    def get_instance_nw_info(self, context: Any,
                             instance_uuid: str) -> list[api.VIF]:
        return self._vifs(context,
                          db.fixed_ip_get_by_instance(context, instance_uuid))

    def get_nw_info_for_instances(self, context: Any,
                                  instance_uuids: Sequence[str],
                                  ) -> dict[str, list[api.VIF]]:
        found = db.fixed_ips_get_by_instances(context, instance_uuids)
        vifs = iter(self._vifs(context, [row for rows in found.values()
                                         for row in rows]))
        return {uuid: [next(vifs) for _ in rows]
                for uuid, rows in found.items()}

    def validate_networks(self, context: Any, requested_networks: Any,
                          num_instances: int) -> int:
        requests = self._requests(context, requested_networks)
        for request in requests:
            if request.get('port_id'):
                self._check_port(context, str(request['port_id']))
        if any(r.get('fixed_ip') for r in requests) and num_instances > 1:
            # One address cannot go to several instances.
            return 1
        return num_instances

    @staticmethod
    def _check_port(context: Any, port_id: str) -> None:
        """A port the caller may give an instance: its project's (or
        any, for an admin) and no instance's.

        :raises PortNotFound: :raises PortInUse:
        """
        port = db.fixed_ip_get_by_port(context, port_id)
        owner = port.get('project_id')
        if owner and not getattr(context, 'is_admin', False) and \
                owner != getattr(context, 'project_id', owner):
            raise exception.PortNotFound(port_id=port_id)
        if port['instance_uuid'] is not None:
            raise exception.PortInUse(port_id=port_id)

    # -- security groups ------------------------------------------------------

    def _group_ids(self, context: Any, names: Sequence[str]) -> list[str]:
        return [g['id'] for g in self.validate_security_groups(context,
                                                               names)]

    def _allocate_with_groups(self, context: Any, instance_uuid: str,
                              request: dict[str, Any], names: Sequence[str],
                              group_ids: list[str],
                              ) -> tuple[api.VIF, list[str]]:
        """A new port for ``request``, bound to its groups in the same
        transaction (the port and the binding: one commit); returns it
        and the group IDs it got.  The default group's ID is kept once
        known, so the common case reads nothing; when an admin deleted
        that group, the port is not made, and the next try makes a new
        group."""
        for attempt in (1, 2):
            try:
                return self._allocate(
                    context, instance_uuid, request.get('network_id'),
                    request.get('fixed_ip'), group_ids), group_ids
            except exception.SecurityGroupNotFound:
                if attempt == 2 or DEFAULT_SECURITY_GROUP not in names:
                    raise
                with self._lock:
                    self._default_groups.clear()
                group_ids = self._group_ids(context, names)
        raise AssertionError('unreachable')

    def validate_security_groups(self, context: Any,
                                 names: Sequence[str],
                                 ) -> list[dict[str, Any]]:
        groups = []
        project_id = getattr(context, 'project_id', None) or ''
        for name in names:
            try:
                groups.append(self.find_security_group(context, project_id,
                                                       name))
            except exception.SecurityGroupNotFound:
                raise exception.SecurityGroupNotFound(
                    f"Unable to find security_group with name or id "
                    f"'{name}'") from None
        return groups

    def add_security_group_to_instance(self, context: Any,
                                       instance_uuid: str,
                                       project_id: str,
                                       name: str) -> dict[str, Any]:
        group = self._group_for_instance(context, project_id, name)
        ports = self._instance_ports(context, instance_uuid)
        current = db.port_security_groups_get(context, ports)
        lacking = [p for p in ports if group['id'] not in current[p]]
        if not lacking:
            raise exception.SecurityGroupExistsForInstance(
                security_group_id=name, instance_id=instance_uuid)
        LOG.info('Adding security group %(group)s to ports %(ports)s',
                 {'group': group['id'], 'ports': ', '.join(lacking)})
        db.port_security_group_add(context, lacking, group['id'])
        return group

    def remove_security_group_from_instance(self, context: Any,
                                            instance_uuid: str,
                                            project_id: str,
                                            name: str) -> dict[str, Any]:
        group = self._group_for_instance(context, project_id, name)
        ports = self._instance_ports(context, instance_uuid)
        if not db.port_security_group_remove(context, ports, group['id']):
            raise exception.SecurityGroupNotFound(
                f'Security group {name} not associated with the instance '
                f'{instance_uuid}')
        LOG.info('Removed security group %(group)s from the ports of '
                 'instance %(instance)s',
                 {'group': group['id'], 'instance': instance_uuid})
        return group

    def get_instance_security_groups(self, context: Any,
                                     instance_uuid: str,
                                     ) -> list[dict[str, Any]]:
        ports = [row['port_id'] for row in
                 db.fixed_ip_get_by_instance(context, instance_uuid)]
        ids = list(dict.fromkeys(
            g for groups in db.port_security_groups_get(
                context, ports).values() for g in groups))
        if not ids:
            return []
        return self.list_security_groups(context, {'id': ids})

    def _group_for_instance(self, context: Any, project_id: str,
                            name: str) -> dict[str, Any]:
        try:
            return self.find_security_group(context, project_id, name)
        except exception.SecurityGroupNotFound:
            raise exception.SecurityGroupNotFound(
                f'Security group {name} is not found for project '
                f'{project_id}') from None

    @staticmethod
    def _instance_ports(context: Any, instance_uuid: str) -> list[str]:
        ports = [row['port_id'] for row in
                 db.fixed_ip_get_by_instance(context, instance_uuid)]
        if not ports:
            raise exception.SecurityGroupNotFound(
                f'instance_id {instance_uuid} could not be found as device '
                f'id on any ports')
        return ports

    def find_security_group(self, context: Any, project_id: str,
                            name_or_id: str) -> dict[str, Any]:
        """A group by ID (one the caller may see) or by name in
        ``project_id``; ``default`` is made on first use.

        :raises SecurityGroupNotFound: :raises NoUniqueMatch:
        """
        if name_or_id == DEFAULT_SECURITY_GROUP:
            return self.default_security_group(context, project_id)
        try:
            group = db.security_group_get(context, name_or_id)
        except exception.SecurityGroupNotFound:
            pass
        else:
            if getattr(context, 'is_admin', False) or \
                    group['project_id'] in (project_id,
                                            context.project_id):
                return group
        found = db.security_group_get_all(
            context, {'project_id': project_id, 'name': name_or_id})
        if not found:
            raise exception.SecurityGroupNotFound(
                security_group_id=name_or_id)
        if len(found) > 1:
            raise exception.NoUniqueMatch(
                f"Multiple security_group matches found for name "
                f"'{name_or_id}', use an ID to be more specific.")
        return found[0]

    def default_security_group(self, context: Any,
                               project_id: str) -> dict[str, Any]:
        """The project's ``default`` group, made on first use as
        Neutron makes it: egress to anywhere, ingress from its members.
        (Its ``id`` and ``name`` only, once known to this process.)
        """
        known = self._default_groups.get(project_id)
        if known is not None:
            return {'id': known, 'name': DEFAULT_SECURITY_GROUP,
                    'project_id': project_id, 'default_for': project_id}
        group = db.security_group_get_default(context, project_id)
        if group is None:
            group = self._create_default_group(context, project_id)
        with self._lock:
            self._default_groups[project_id] = group['id']
        return group

    @staticmethod
    def _create_default_group(context: Any,
                              project_id: str) -> dict[str, Any]:
        try:
            return db.security_group_create(context, {
                'name': DEFAULT_SECURITY_GROUP,
                'description': 'Default security group',
                'project_id': project_id, 'default_for': project_id},
                [*EGRESS_RULES,
                 {'direction': 'ingress', 'ethertype': 'IPv4',
                  'remote_group_id': 'self'},
                 {'direction': 'ingress', 'ethertype': 'IPv6',
                  'remote_group_id': 'self'}])
        except exception.SecurityGroupExists:
            # Another request made it first.
            group = db.security_group_get_default(context, project_id)
            assert group is not None
            return group

    def list_security_groups(self, context: Any,
                             filters: dict[str, Any] | None = None,
                             ) -> list[dict[str, Any]]:
        """Groups matching ``filters`` (columns), each with its
        ``security_group_rules``.  A ``project_id`` filter of one project
        makes that project's default group first, as Neutron does."""
        project = (filters or {}).get('project_id')
        if isinstance(project, str):
            self.default_security_group(context, project)
        groups = db.security_group_get_all(context, filters)
        rules: dict[str, list[dict[str, Any]]] = {g['id']: [] for g in groups}
        if groups:
            for rule in db.security_group_rule_get_all(
                    context, {'security_group_id': list(rules)}):
                rules[rule['security_group_id']].append(rule)
        return [dict(g, security_group_rules=rules[g['id']])
                for g in groups]

    def get_security_group(self, context: Any,
                           group_id: str) -> dict[str, Any]:
        """:raises SecurityGroupNotFound:"""
        group = db.security_group_get(context, group_id)
        return dict(group, security_group_rules=db.security_group_rule_get_all(
            context, {'security_group_id': group_id}))

    def create_security_group(self, context: Any, project_id: str,
                              name: str, description: str | None = None,
                              ) -> dict[str, Any]:
        """A new group, with Neutron's egress rules.  ``default`` is a
        name only the project's default group has (Neutron's 409)."""
        if name == DEFAULT_SECURITY_GROUP:
            self.default_security_group(context, project_id)
            raise exception.SecurityGroupExists(
                security_group_name=name, project_id=project_id)
        group = db.security_group_create(context, {
            'name': name, 'description': description or '',
            'project_id': project_id}, EGRESS_RULES)
        return self.get_security_group(context, group['id'])

    @staticmethod
    def update_security_group(context: Any, group_id: str,
                              values: dict[str, Any]) -> None:
        """:raises SecurityGroupNotFound:"""
        db.security_group_update(context, group_id, values)

    def delete_security_group(self, context: Any, group_id: str) -> None:
        """:raises SecurityGroupNotFound: :raises SecurityGroupInUse:"""
        db.security_group_destroy(context, group_id)
        with self._lock:
            for project, known in list(self._default_groups.items()):
                if known == group_id:
                    del self._default_groups[project]

    @staticmethod
    def create_security_group_rule(context: Any,
                                   values: dict[str, Any]) -> dict[str, Any]:
        """A rule (fields checked by the caller); the same rule twice is
        Neutron's 409 SecurityGroupRuleExists.

        :raises SecurityGroupNotFound: :raises SecurityGroupRuleExists:
        """
        group = db.security_group_get(context, values['security_group_id'])
        for rule in db.security_group_rule_get_all(
                context, {'security_group_id': group['id']}):
            if all(rule.get(k) == values.get(k) for k in RULE_IDENTITY):
                raise exception.SecurityGroupRuleExists(rule_id=rule['id'])
        return db.security_group_rule_create(
            context, dict(values, project_id=group['project_id']))

    @staticmethod
    def get_security_group_rule(context: Any, rule_id: str) -> dict[str, Any]:
        """:raises SecurityGroupRuleNotFound:"""
        return db.security_group_rule_get(context, rule_id)

    @staticmethod
    def list_security_group_rules(context: Any,
                                  filters: dict[str, Any] | None = None,
                                  ) -> list[dict[str, Any]]:
        return db.security_group_rule_get_all(context, filters)

    @staticmethod
    def delete_security_group_rule(context: Any, rule_id: str) -> None:
        """:raises SecurityGroupRuleNotFound:"""
        db.security_group_rule_destroy(context, rule_id)

    @staticmethod
    def port_security_groups(context: Any, port_ids: Sequence[str],
                             ) -> dict[str, list[str]]:
        """Port ID -> its security groups' IDs."""
        return db.port_security_groups_get(context, port_ids)

    @staticmethod
    def set_port_security_groups(context: Any, port_id: str,
                                 group_ids: Sequence[str]) -> None:
        """:raises SecurityGroupNotFound:"""
        for group_id in group_ids:
            db.security_group_get(context, group_id)
        db.port_security_groups_set(context, [port_id], group_ids)

    # -- allocation -----------------------------------------------------------

    def _requests(self, context: Any, requested_networks: Any,
                  ) -> list[dict[str, str | None]]:
        if requested_networks in (None, 'auto', []):
            return [{}]
        if requested_networks == 'none':
            return []
        requests: list[dict[str, str | None]] = []
        for item in requested_networks:
            request = dict(item)
            network = request.get('network_id') or request.get('uuid')
            if network == 'none':
                continue
            if network == 'auto':
                network = None
            port_id = request.get('port_id') or request.get('port')
            if port_id:
                requests.append({'port_id': str(port_id)})
                continue
            pools = self._pools_of(context, network)
            address = request.get('fixed_ip') or request.get('address')
            if address:
                self._pool_for(pools, str(address)).check_address(
                    str(address))
            requests.append({'fixed_ip': str(address) if address else None,
                             'network_id': str(network) if network
                             else None})
        return requests

    def _pools_of(self, context: Any,
                  network_id: Any) -> list[AddressPool]:
        """The address pools of a network the caller may use (None: the
        flat network), one per subnet.

        :raises NetworkNotFound: :raises NetworkRequiresSubnet:
        """
        if network_id is None or network_id in (self.name, self.network_id):
            return [self._flat]
        network = self._visible_network(context, str(network_id))
        subnets = db.subnet_get_all(context, {'network_id': network['id']})
        if not subnets:
            raise exception.NetworkRequiresSubnet(network_uuid=network_id)
        return [self._pool(subnet) for subnet in subnets]

    def _pool(self, subnet: dict[str, Any]) -> AddressPool:
        pool = self._pools.get(subnet['id'])
        if pool is None:
            gateway = subnet['gateway_ip']
            pool = AddressPool(subnet['network_id'], subnet['id'],
                               ipaddress.ip_network(subnet['cidr']),
                               ipaddress.ip_address(gateway) if gateway
                               else None)
            with self._lock:
                pool = self._pools.setdefault(subnet['id'], pool)
        return pool

    @staticmethod
    def _pool_for(pools: list[AddressPool], address: str) -> AddressPool:
        """The pool ``address`` is in.  :raises FixedIpInvalid:"""
        for pool in pools:
            if address in pool:
                return pool
        # The first one says why not.
        pools[0].check_address(address)
        raise exception.FixedIpInvalid(
            address=address, reason='not in a subnet of the network')

    def _visible_network(self, context: Any,
                         network_id: str) -> dict[str, Any]:
        """A user's network, if shared or the caller's.

        :raises NetworkNotFound:
        """
        network = db.network_get(context, network_id)
        if not (network['shared'] or getattr(context, 'is_admin', False)
                or network['project_id'] == getattr(context, 'project_id',
                                                    None)):
            raise exception.NetworkNotFound(network_id=network_id)
        return network

    def _allocate(self, context: Any, instance_uuid: str,
                  network_id: str | None, requested_ip: str | None,
                  group_ids: Sequence[str] = ()) -> api.VIF:
        row = self._take(context, self._pools_of(context, network_id),
                         instance_uuid, requested_ip,
                         dict(self._binding(context, instance_uuid),
                              project_id=getattr(context, 'project_id',
                                                 None)), group_ids)
        return self._vifs(context, [row])[0]

    def _take(self, context: Any, pools: list[AddressPool],
              instance_uuid: str | None, requested_ip: str | None,
              fields: dict[str, Any],
              group_ids: Sequence[str] = ()) -> dict[str, Any]:
        """A new port with ``requested_ip`` or the first free address of
        ``pools``, bound to ``group_ids`` in the same transaction.

        :raises FixedIpInvalid: :raises FixedIpAlreadyInUse:
        :raises NoMoreFixedIps: :raises SecurityGroupNotFound:
        """
        if requested_ip:
            pool = self._pool_for(pools, requested_ip)
            value = pool.check_address(requested_ip)
            row = self._insert(context, pool, instance_uuid, value, fields,
                               group_ids)
            pool.mark(value)
            return row
        for pool in pools:
            taken = self._take_next(context, pool, instance_uuid, fields,
                                    group_ids)
            if taken is not None:
                return taken
        raise exception.NoMoreFixedIps(
            net=self.name if pools[0] is self._flat else pools[0].key)

    def _take_next(self, context: Any, pool: AddressPool,
                   instance_uuid: str | None, fields: dict[str, Any],
                   group_ids: Sequence[str] = (),
                   ) -> dict[str, Any] | None:
        """A port on the pool's next free address; None when full."""
        reloaded = False
        for _attempt in range(self.attempts):
            candidate = pool.reserve(context, reload=False)
            if candidate is None:
                if reloaded:
                    break
                # Others may have freed addresses since we last looked.
                candidate = pool.reserve(context, reload=True)
                reloaded = True
                if candidate is None:
                    break
            try:
                return self._insert(context, pool, instance_uuid, candidate,
                                    fields, group_ids)
            except exception.FixedIpAlreadyInUse:
                # Another process took it first; it stays marked taken,
                # and the next try starts where others are not taking.
                LOG.debug('Address %s was taken concurrently; trying '
                          'another one', ipaddress.ip_address(candidate))
                pool.scatter()
                continue
            except Exception:
                pool.forget(candidate)
                raise
        return None

    @staticmethod
    def _binding(context: Any, instance_uuid: str) -> dict[str, Any]:
        """The binding of a port an instance takes: this host (the
        compute host allocates; upstream's ``binding:host_id``).  The
        API shows ``device_owner`` ``compute:<zone>`` from the instance,
        so allocating a port stays one INSERT."""
        return {'host': CONF.host}

    def _bind(self, context: Any, instance_uuid: str,
              port_id: str) -> api.VIF:
        """Give the user's port ``port_id`` to the instance.

        :raises PortNotFound: no such port (or another project's).
        :raises PortInUse: another instance has it.
        """
        port = db.fixed_ip_get_by_port(context, port_id)
        owner = port.get('project_id')
        if owner and not getattr(context, 'is_admin', False) and \
                owner != getattr(context, 'project_id', owner):
            raise exception.PortNotFound(port_id=port_id)
        if not db.fixed_ip_bind(context, port_id, instance_uuid,
                                self._binding(context, instance_uuid)):
            if port['instance_uuid'] not in (None, instance_uuid):
                raise exception.PortInUse(port_id=port_id)
            raise exception.PortNotFound(port_id=port_id)
        return self._vifs(context,
                          [db.fixed_ip_get_by_port(context, port_id)])[0]

    @staticmethod
    def _unbind(context: Any, port_id: str) -> bool:
        return db.fixed_ip_update(context, port_id, {
            'instance_uuid': None, 'host': None})

    @staticmethod
    def _insert(context: Any, pool: AddressPool, instance_uuid: str | None,
                value: int, fields: dict[str, Any],
                group_ids: Sequence[str] = ()) -> dict[str, Any]:
        return db.fixed_ip_associate(
            context, pool.key, str(ipaddress.ip_address(value)),
            instance_uuid, random_mac(), str(uuid.uuid4()), fields,
            group_ids)

    # -- the Networking API's view (nova.api.openstack.network) --------------

    def network_info(self) -> dict[str, Any]:
        """The flat network, as :meth:`list_networks` shows networks."""
        return {'id': self.network_id, 'name': self.name, 'project_id': '',
                'shared': True, 'admin_state_up': True, 'flat': True,
                'subnets': [self.subnet_id], 'created_at': None,
                'updated_at': None}

    def flat_subnet_info(self) -> dict[str, Any]:
        """The flat network's subnet, as :meth:`list_subnets` shows
        subnets."""
        return {'id': self.subnet_id, 'name': self.name, 'project_id': '',
                'network_id': self.network_id, 'cidr': str(self.network),
                'ip_version': self.network.version,
                'gateway_ip': str(self.gateway) if self.gateway else None,
                'enable_dhcp': False, 'dns_nameservers': list(self.dns),
                'allocation_pools': [{
                    'start': str(ipaddress.ip_address(self._flat.first)),
                    'end': str(ipaddress.ip_address(self._flat.last))}],
                'created_at': None, 'updated_at': None}

    @staticmethod
    def _subnet_info(row: dict[str, Any]) -> dict[str, Any]:
        """A user's subnet with its allocation pool: its host
        addresses, the gateway left out (one pool each side of it)."""
        network = ipaddress.ip_network(row['cidr'])
        first, last = host_range(network)
        gateway = (int(ipaddress.ip_address(row['gateway_ip']))
                   if row['gateway_ip'] else None)
        ranges = [(first, last)]
        if gateway is not None and first <= gateway <= last:
            ranges = [(first, gateway - 1), (gateway + 1, last)]
        return dict(row, dns_nameservers=[], allocation_pools=[
            {'start': str(ipaddress.ip_address(low)),
             'end': str(ipaddress.ip_address(high))}
            for low, high in ranges if low <= high])

    def list_networks(self, context: Any) -> list[dict[str, Any]]:
        """The flat network, then every user's network (the API shows
        each caller those it may see)."""
        rows = db.network_get_all(context)
        subnets: dict[str, list[str]] = {r['id']: [] for r in rows}
        if rows:
            for subnet in db.subnet_get_all(
                    context, {'network_id': list(subnets)}):
                subnets[subnet['network_id']].append(subnet['id'])
        return [self.network_info()] + [
            dict(r, flat=False, subnets=subnets[r['id']]) for r in rows]

    def get_network(self, context: Any, network_id: str) -> dict[str, Any]:
        """:raises NetworkNotFound:"""
        if network_id == self.network_id:
            return self.network_info()
        row = db.network_get(context, network_id)
        return dict(row, flat=False, subnets=[
            s['id'] for s in db.subnet_get_all(
                context, {'network_id': network_id})])

    @staticmethod
    def create_network(context: Any, project_id: str, name: str,
                       shared: bool = False,
                       admin_state_up: bool = True) -> dict[str, Any]:
        row = db.network_create(context, {
            'name': name, 'project_id': project_id, 'shared': shared,
            'admin_state_up': admin_state_up})
        return dict(row, flat=False, subnets=[])

    def update_network(self, context: Any, network_id: str,
                       values: dict[str, Any]) -> dict[str, Any]:
        """:raises NetworkNotFound: :raises Invalid: the flat network"""
        if network_id == self.network_id:
            raise exception.Invalid(
                reason=f'Network {network_id} is the flat network of '
                       f'[network] flat_network_name and cannot be '
                       f'changed.')
        db.network_update(context, network_id, values)
        return self.get_network(context, network_id)

    def delete_network(self, context: Any, network_id: str) -> None:
        """Delete a user's network and its subnets.  The flat network
        is configuration and cannot be deleted; with ports on it the
        answer is Neutron's NetworkInUse.

        :raises NetworkNotFound: :raises NetworkInUse: :raises Invalid:
        """
        if network_id != self.network_id:
            db.network_destroy(context, network_id)
            return
        if db.fixed_ip_get_addresses(context, self.name):
            raise exception.NetworkInUse(net_id=network_id)
        raise exception.Invalid(
            reason=f'Network {network_id} is the flat network of [network] '
                   f'flat_network_name and cannot be deleted.')

    def list_subnets(self, context: Any) -> list[dict[str, Any]]:
        """The flat network's subnet, then every user's subnet."""
        return [self.flat_subnet_info()] + [
            self._subnet_info(r) for r in db.subnet_get_all(context)]

    def get_subnet(self, context: Any, subnet_id: str) -> dict[str, Any]:
        """:raises SubnetNotFound:"""
        if subnet_id == self.subnet_id:
            return self.flat_subnet_info()
        return self._subnet_info(db.subnet_get(context, subnet_id))

    def create_subnet(self, context: Any, network_id: str,
                      cidr: str, ip_version: int = 4,
                      gateway_ip: str | None = '',
                      name: str = '', enable_dhcp: bool = True,
                      project_id: str | None = None) -> dict[str, Any]:
        """A subnet of a user's network.  ``gateway_ip`` '' (not given)
        is the CIDR's first host address, None no gateway.

        :raises NetworkNotFound: :raises Invalid: a bad CIDR or gateway,
            or one overlapping another subnet of the network.
        """
        if network_id == self.network_id:
            raise exception.Invalid(
                reason='The flat network has one subnet, [network] '
                       'flat_network_cidr; it cannot have others.')
        network = db.network_get(context, network_id)
        try:
            net = ipaddress.ip_network(cidr)
        except ValueError:
            raise exception.Invalid(
                reason=f"Invalid input for cidr. Reason: '{cidr}' is not a "
                       f"valid IP subnet.") from None
        if net.version != ip_version:
            raise exception.Invalid(
                reason=f'Invalid input for operation: Cidr {cidr} does not '
                       f'match ip_version {ip_version}.')
        first, last = host_range(net)
        gateway: str | None = None
        if gateway_ip == '':
            gateway = (str(ipaddress.ip_address(first)) if first <= last
                       else None)
        elif gateway_ip is not None:
            try:
                gw = ipaddress.ip_address(gateway_ip)
            except ValueError:
                raise exception.Invalid(
                    reason=f"Invalid input for gateway_ip. Reason: "
                           f"'{gateway_ip}' is not a valid IP address.") \
                    from None
            if gw not in net or gw in (net.network_address,
                                       net.broadcast_address):
                raise exception.Invalid(
                    reason=f'Invalid input for operation: Gateway is not '
                           f'valid on subnet {cidr}.')
            gateway = str(gw)
        for other in db.subnet_get_all(context, {'network_id': network_id}):
            if ipaddress.ip_network(other['cidr']).overlaps(net):
                raise exception.Invalid(
                    reason=f'Invalid input for operation: Requested subnet '
                           f'with cidr: {net} for network: {network_id} '
                           f'overlaps with another subnet.')
        row = db.subnet_create(context, {
            'network_id': network_id, 'name': name, 'cidr': str(net),
            'ip_version': ip_version, 'gateway_ip': gateway,
            'enable_dhcp': enable_dhcp,
            'project_id': project_id or network['project_id']})
        return self._subnet_info(row)

    def delete_subnet(self, context: Any, subnet_id: str) -> None:
        """:raises SubnetNotFound: :raises SubnetInUse: a port has one of
        its addresses (the flat network's subnet: when it has ports, else
        Invalid)."""
        if subnet_id == self.subnet_id:
            if db.fixed_ip_get_addresses(context, self.name):
                raise exception.SubnetInUse(subnet_id=subnet_id)
            raise exception.Invalid(
                reason=f'Subnet {subnet_id} is the flat network\'s and '
                       f'cannot be deleted.')
        db.subnet_destroy(context, subnet_id)
        with self._lock:
            self._pools.pop(subnet_id, None)

    def port_locations(self, context: Any, rows: list[dict[str, Any]],
                       ) -> dict[str, tuple[str, str | None]]:
        """Port ID -> the ports' (network ID, subnet ID)."""
        keys = {r['network'] for r in rows} - {self.name}
        subnets = (db.subnet_get_all(context, {'network_id': list(keys)})
                   if keys else [])
        found: dict[str, tuple[str, str | None]] = {}
        for row in rows:
            if row['network'] == self.name:
                found[row['port_id']] = (self.network_id, self.subnet_id)
                continue
            ip = ipaddress.ip_address(row['address'])
            found[row['port_id']] = (row['network'], next(
                (s['id'] for s in subnets
                 if s['network_id'] == row['network']
                 and ip in ipaddress.ip_network(s['cidr'])), None))
        return found

    def create_port(self, context: Any, network_id: str,
                    name: str | None = None,
                    fixed_ip: str | None = None,
                    project_id: str | None = None,
                    device_id: str | None = None,
                    host: str | None = None,
                    security_groups: Sequence[str] | None = None,
                    subnet_id: str | None = None,
                    ) -> dict[str, Any]:
        """A port (``openstack port create``).  Without ``device_id`` no
        instance has it yet and it is the user's: a server takes it with
        ``--port`` or ``server add port`` and gives it back when it goes.
        With ``device_id`` (what nova's REST client sends for a server's
        port) the instance has it from the start, and it goes with the
        instance.  ``subnet_id``: its address from that subnet.

        :raises NetworkNotFound: :raises SubnetNotFound:
        :raises FixedIpInvalid: :raises FixedIpAlreadyInUse:
        :raises NoMoreFixedIps: :raises NetworkRequiresSubnet:
        """
        pools = self._pools_of(context, network_id)
        if subnet_id:
            pools = [p for p in pools if p.subnet_id == subnet_id]
            if not pools:
                raise exception.SubnetNotFound(subnet_id=subnet_id)
        fields = {'name': name or '', 'preserve_on_delete': not device_id,
                  'host': host if device_id else None,
                  'project_id': project_id or getattr(context, 'project_id',
                                                      None)}
        if security_groups is None:
            # Neutron's: the project's default group.
            security_groups = [self.default_security_group(
                context, str(fields['project_id'] or ''))['id']]
        for group_id in security_groups:
            db.security_group_get(context, group_id)
        # The port and its groups: one transaction.
        return self._take(context, pools, device_id or None, fixed_ip,
                          fields, security_groups)

    @staticmethod
    def get_port(context: Any, port_id: str) -> dict[str, Any]:
        """:raises PortNotFound:"""
        return db.fixed_ip_get_by_port(context, port_id)

    @staticmethod
    def list_ports(context: Any,
                   filters: dict[str, Any] | None = None,
                   ) -> list[dict[str, Any]]:
        """Ports whose columns match ``filters`` (see fixed_ip_get_all)."""
        return db.fixed_ip_get_all(context, filters)

    @staticmethod
    def update_port(context: Any, port_id: str,
                    values: dict[str, Any]) -> dict[str, Any]:
        """Set a port's name (what ``openstack port set`` changes here).

        :raises PortNotFound:
        """
        if not db.fixed_ip_update(context, port_id, values):
            raise exception.PortNotFound(port_id=port_id)
        return db.fixed_ip_get_by_port(context, port_id)

    def bind_port(self, context: Any, port_id: str, device_id: str,
                  host: str | None) -> dict[str, Any]:
        """Give a port to an instance (a PUT of ``device_id``, as nova
        binds a port in Neutron).

        :raises PortNotFound: :raises PortInUse:
        """
        port = db.fixed_ip_get_by_port(context, port_id)
        if not db.fixed_ip_bind(context, port_id, device_id,
                                {'host': host}):
            if port['instance_uuid'] not in (None, device_id):
                raise exception.PortInUse(port_id=port_id)
            raise exception.PortNotFound(port_id=port_id)
        return db.fixed_ip_get_by_port(context, port_id)

    def unbind_port(self, context: Any, port_id: str) -> dict[str, Any]:
        """Take a port from its instance (a PUT of ``device_id: ""``).

        :raises PortNotFound:
        """
        if not self._unbind(context, port_id):
            raise exception.PortNotFound(port_id=port_id)
        return db.fixed_ip_get_by_port(context, port_id)

    @staticmethod
    def delete_port(context: Any, port_id: str) -> None:
        """Delete a port no instance has.

        Neutron deletes a bound port too and tells nova (the
        network-vif-deleted event), which then detaches it from the
        guest.  Here the guest's device is the compute host's, and no
        event reaches it, so deleting a bound port is refused (409
        PortInUse): ``openstack server remove port`` first.  A port nova
        created for a server goes with that server.

        :raises PortNotFound: :raises PortInUse:
        """
        if not db.fixed_ip_disassociate(context, port_id,
                                        unbound_only=True):
            db.fixed_ip_get_by_port(context, port_id)  # 404 if gone
            raise exception.PortInUse(port_id=port_id)

    # -- network info ---------------------------------------------------------

    def _vifs(self, context: Any,
              rows: list[dict[str, Any]]) -> list[api.VIF]:
        """Network info of ports (the flat network's, or users'
        networks' read in two queries)."""
        keys = sorted({r['network'] for r in rows} - {self.name})
        networks = {n['id']: n for n in db.network_get_all(
            context, {'id': keys})} if keys else {}
        subnets = [self._pool(s) for s in db.subnet_get_all(
            context, {'network_id': keys})] if keys else []
        vifs = []
        for row in rows:
            if row['network'] == self.name:
                vifs.append(self._vif(row, self.network_id, self.name,
                                      self._flat, self.dns))
                continue
            ip = ipaddress.ip_address(row['address'])
            pool = next((p for p in subnets if p.key == row['network']
                         and ip in p.network), None)
            network = networks.get(row['network'], {})
            vifs.append(self._vif(row, row['network'],
                                  network.get('name') or '', pool, []))
        return vifs

    def _vif(self, row: dict[str, Any], network_id: str, label: str,
             pool: AddressPool | None, dns: list[str]) -> api.VIF:
        address = ipaddress.ip_address(row['address'])
        version = address.version
        port_id = row['port_id']
        gateway = pool.gateway if pool is not None else None
        subnet = {
            'cidr': str(pool.network) if pool is not None else None,
            'version': version,
            'gateway': ({'address': str(gateway), 'type': 'gateway',
                         'version': version}
                        if gateway is not None else None),
            'dns': [{'address': d, 'type': 'dns',
                     'version': ipaddress.ip_address(d).version}
                    for d in dns],
            'ips': [{'address': row['address'], 'type': 'fixed',
                     'version': version, 'floating_ips': []}],
            'routes': [],
        }
        return {
            'id': port_id,
            'port_id': port_id,
            'address': row['mac'],
            'type': 'bridge',
            'devname': ('tap' + port_id)[:14],
            'active': True,
            'vnic_type': 'normal',
            'ovs_interfaceid': None,
            'preserve_on_delete': bool(row.get('preserve_on_delete')),
            'details': {},
            'profile': {},
            'meta': {},
            'network': {
                'id': network_id,
                'label': label,
                'bridge': self.bridge,
                'subnets': [subnet],
                'meta': {'injected': False, 'tenant_id': None},
            },
        }
