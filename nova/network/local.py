"""A flat network whose ports are rows of nova's ``fixed_ips`` table.

One network, ``[network] flat_network_name`` over ``flat_network_cidr``.
A port is an (address, MAC, port ID) row; the unique key on (network,
address) is what makes allocation race-safe across processes and hosts.

Allocation costs one INSERT in the common case.  Each process keeps the
set of addresses it knows to be taken (read once, at the first
allocation) and a cursor walking the range; it INSERTs the next address
not known to be taken.  When another process took that address in the
meantime, the INSERT fails on the unique key, the address joins the set
and the next one is tried.  When the walk finds nothing free, the set is
read again (other processes may have freed addresses) before the network
is declared full.  Freed addresses are reused only once the cursor comes
round again, which keeps a just-freed address from going straight to the
next guest while ARP caches still point at the old one.
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


def random_mac() -> str:
    tail = (random.getrandbits(8) for _ in range(3))
    return ':'.join(f'{octet:02x}' for octet in (*MAC_PREFIX, *tail))


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
        first, last = self._host_range(self.network)
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
        self._first = first
        self._last = last
        self._lock = threading.Lock()
        #: Addresses (as ints) known to be taken; None until first read.
        self._taken: set[int] | None = None
        self._cursor = first

    @staticmethod
    def _host_range(network: ipaddress.IPv4Network | ipaddress.IPv6Network,
                    ) -> tuple[int, int]:
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

    # -- the interface -----------------------------------------------------

    def allocate_for_instance(self, context: Any, instance_uuid: str,
                              requested_networks: Any = None,
                              ) -> list[api.VIF]:
        requests = self._requests(requested_networks)
        vifs: list[api.VIF] = []
        try:
            for request in requests:
                vifs.append(self._allocate(context, instance_uuid,
                                           request.get('fixed_ip')))
        except Exception:
            # All or nothing: do not leave half the ports behind.
            for vif in vifs:
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
                                   ) -> api.VIF:
        if network_id is not None:
            self._check_network(network_id)
        return self._allocate(context, instance_uuid, requested_ip)

    def deallocate_port_for_instance(self, context: Any, instance_uuid: str,
                                     port_id: str) -> bool:
        try:
            port = db.fixed_ip_get_by_port(context, port_id)
        except exception.PortNotFound:
            return False
        if port['instance_uuid'] != instance_uuid:
            raise exception.PortNotFound(port_id=port_id)
        return db.fixed_ip_disassociate(context, port_id)

    def get_instance_nw_info(self, context: Any,
                             instance_uuid: str) -> list[api.VIF]:
        return [self._vif(row) for row in
                db.fixed_ip_get_by_instance(context, instance_uuid)]

    def get_nw_info_for_instances(self, context: Any,
                                  instance_uuids: Sequence[str],
                                  ) -> dict[str, list[api.VIF]]:
        return {uuid: [self._vif(row) for row in rows] for uuid, rows in
                db.fixed_ips_get_by_instances(context,
                                              instance_uuids).items()}

    def validate_networks(self, context: Any, requested_networks: Any,
                          num_instances: int) -> int:
        requests = self._requests(requested_networks)
        if any(r.get('fixed_ip') for r in requests) and num_instances > 1:
            # One address cannot go to several instances.
            return 1
        return num_instances

    # -- allocation -----------------------------------------------------------

    def _requests(self, requested_networks: Any) -> list[dict[str, Any]]:
        if requested_networks in (None, 'auto', []):
            return [{}]
        if requested_networks == 'none':
            return []
        requests = []
        for item in requested_networks:
            request = dict(item)
            network = request.get('network_id') or request.get('uuid')
            if network == 'none':
                continue
            if network == 'auto':
                network = None
            if request.get('port_id'):
                raise exception.Invalid(
                    reason='The flat network has no pre-created ports; '
                           'request a network or an address instead.')
            if network is not None:
                self._check_network(network)
            address = request.get('fixed_ip') or request.get('address')
            if address:
                self._check_address(str(address))
            requests.append({'fixed_ip': str(address) if address else None})
        return requests

    def _check_network(self, network_id: str) -> None:
        if network_id not in (self.name, self.network_id):
            raise exception.NetworkNotFound(network_id=network_id)

    def _check_address(self, address: str) -> int:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            raise exception.FixedIpInvalid(
                address=address, reason='not an IP address') from None
        value = int(ip)
        if ip not in self.network or not self._first <= value <= self._last:
            raise exception.FixedIpInvalid(
                address=address,
                reason=f'not a host address of {self.network}')
        if ip == self.gateway:
            raise exception.FixedIpInvalid(address=address,
                                           reason='it is the gateway')
        return value

    def _allocate(self, context: Any, instance_uuid: str,
                  requested_ip: str | None) -> api.VIF:
        if requested_ip:
            value = self._check_address(requested_ip)
            row = self._insert(context, instance_uuid, value)
            with self._lock:
                if self._taken is not None:
                    self._taken.add(value)
            return self._vif(row)
        reloaded = False
        for _attempt in range(self.attempts):
            candidate = self._reserve_candidate(context, reload=False)
            if candidate is None:
                if reloaded:
                    break
                # Others may have freed addresses since we last looked.
                candidate = self._reserve_candidate(context, reload=True)
                reloaded = True
                if candidate is None:
                    break
            value = candidate
            try:
                return self._vif(self._insert(context, instance_uuid, value))
            except exception.FixedIpAlreadyInUse:
                # Another process took it first; it stays marked taken.
                LOG.debug('Address %s was taken concurrently; trying the '
                          'next one', ipaddress.ip_address(value))
                continue
            except Exception:
                with self._lock:
                    if self._taken is not None:
                        self._taken.discard(value)
                raise
        raise exception.NoMoreFixedIps(net=self.name)

    def _reserve_candidate(self, context: Any, reload: bool) -> int | None:
        """The next address not known to be taken, marked taken."""
        if self._taken is None or reload:
            taken = {int(ipaddress.ip_address(a)) for a in
                     db.fixed_ip_get_addresses(context, self.name)}
            with self._lock:
                self._taken = taken
        gateway = int(self.gateway) if self.gateway is not None else None
        with self._lock:
            assert self._taken is not None
            size = self._last - self._first + 1
            if size <= 0:
                return None
            cursor = self._cursor
            for _ in range(min(size, len(self._taken) + 2)):
                if cursor > self._last:
                    cursor = self._first
                candidate = cursor
                cursor += 1
                if candidate in self._taken or candidate == gateway:
                    continue
                self._taken.add(candidate)
                self._cursor = cursor
                return candidate
            self._cursor = cursor
            return None

    def _insert(self, context: Any, instance_uuid: str,
                value: int) -> dict[str, Any]:
        return db.fixed_ip_associate(
            context, self.name, str(ipaddress.ip_address(value)),
            instance_uuid, random_mac(), str(uuid.uuid4()))

    # -- network info ---------------------------------------------------------

    def _vif(self, row: dict[str, Any]) -> api.VIF:
        version = self.network.version
        port_id = row['port_id']
        subnet = {
            'cidr': str(self.network),
            'version': version,
            'gateway': ({'address': str(self.gateway), 'type': 'gateway',
                         'version': version}
                        if self.gateway is not None else None),
            'dns': [{'address': d, 'type': 'dns',
                     'version': ipaddress.ip_address(d).version}
                    for d in self.dns],
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
            'preserve_on_delete': False,
            'details': {},
            'profile': {},
            'meta': {},
            'network': {
                'id': self.network_id,
                'label': self.name,
                'bridge': self.bridge,
                'subnets': [subnet],
                'meta': {'injected': False, 'tenant_id': None},
            },
        }
