"""The network service through a Networking API v2.0 (Neutron's, or
nova-network's own, nova.api.openstack.network).

``[network] backend = nova.network.neutron.NeutronNetworkAPI`` makes
nova-compute and the conductor create, bind and release ports over REST,
with a keystoneauth adapter configured by ``[neutron]``: the same
requests upstream nova sends Neutron (POST /v2.0/ports with device_id
and binding:host_id for a server's port; PUT device_id to take a user's
port, PUT device_id "" to give it back; DELETE for nova's own ports).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Any

from keystoneauth1 import adapter as ks_adapter
from keystoneauth1 import loading as ks_loading
from keystoneauth1 import token_endpoint
from oslo_log import log as logging

import nova.conf
from nova import exception
from nova.conf import neutron as neutron_conf
from nova.network import api

LOG = logging.getLogger(__name__)
CONF = nova.conf.CONF

#: Neutron error type -> the nova exception the interface raises.
_ERRORS: dict[str, type[exception.NovaException]] = {
    'NetworkNotFound': exception.NetworkNotFound,
    'PortNotFound': exception.PortNotFound,
    'PortInUse': exception.PortInUse,
    'NetworkInUse': exception.NetworkInUse,
    'IpAddressInUse': exception.FixedIpAlreadyInUse,
    'IpAddressAlreadyAllocated': exception.FixedIpAlreadyInUse,
    'IpAddressGenerationFailure': exception.NoMoreFixedIps,
    'InvalidIpForNetwork': exception.FixedIpInvalid,
    'SecurityGroupNotFound': exception.SecurityGroupNotFound,
    'SecurityGroupInUse': exception.SecurityGroupInUse,
}


class NeutronError(exception.NovaException):
    msg_fmt = 'Networking API error %(status)s: %(message)s'


class NeutronNetworkAPI(api.NetworkAPI):
    """nova.network.api.NetworkAPI over the Networking API."""

    def __init__(self, conf: Any = CONF) -> None:
        self.conf = conf
        self._service_adapter: ks_adapter.Adapter | None = None

    # -- the HTTP client ------------------------------------------------------

    def _adapter(self, context: Any) -> ks_adapter.Adapter:
        """The service credentials' adapter when [neutron] has an
        auth_type (as upstream nova's admin client: binding a port to a
        host takes an admin), else one with the request's token."""
        group = neutron_conf.neutron_group.name
        if self.conf.neutron.auth_type:
            if self._service_adapter is None:
                auth = ks_loading.load_auth_from_conf_options(self.conf,
                                                              group)
                session = ks_loading.load_session_from_conf_options(
                    self.conf, group, auth=auth)
                self._service_adapter = \
                    ks_loading.load_adapter_from_conf_options(
                        self.conf, group, session=session, auth=auth)
            return self._service_adapter
        token = getattr(context, 'auth_token', None)
        endpoint = self.conf.neutron.endpoint_override
        if not token or not endpoint:
            raise NeutronError(
                status=401, message='[neutron] has no auth_type and the '
                                    'request no token (or [neutron] no '
                                    'endpoint_override)')
        auth = token_endpoint.Token(endpoint=endpoint, token=token)
        session = ks_loading.load_session_from_conf_options(
            self.conf, group, auth=auth)
        return ks_loading.load_adapter_from_conf_options(
            self.conf, group, session=session, auth=auth)

    def _call(self, context: Any, method: str, path: str,
              body: Any = None,
              params: Sequence[tuple[str, str]] | None = None) -> Any:
        """One request; a Neutron error raised as nova's exception."""
        resp = self._adapter(context).request(
            '/v2.0' + path, method, json=body, params=params,
            raise_exc=False)
        if resp.status_code < 400:
            return resp.json() if resp.content else None
        try:
            error = resp.json()['NeutronError']
            kind, message = error['type'], error['message']
        except (ValueError, KeyError, TypeError):
            kind, message = '', resp.text
        cls = _ERRORS.get(kind)
        if cls is not None:
            return self._raise(cls, message)
        raise NeutronError(status=resp.status_code, message=message)

    @staticmethod
    def _raise(cls: type[exception.NovaException], message: str) -> Any:
        # The service's message as is; the kwargs the API's code reads.
        raise cls(message)

    # -- networks -------------------------------------------------------------

    def _network(self, context: Any, name_or_id: str | None,
                 ) -> dict[str, Any]:
        """A network by ID or name (None: the only one there is), with
        its subnets."""
        if name_or_id is None:
            networks = self._call(context, 'GET', '/networks')['networks']
            if not networks:
                raise exception.NetworkNotFound(network_id='auto')
            network = networks[0]
        else:
            try:
                network = self._call(context, 'GET',
                                     f'/networks/{name_or_id}')['network']
            except exception.NetworkNotFound:
                found = self._call(context, 'GET', '/networks',
                                   params=[('name', name_or_id)])
                if not found['networks']:
                    raise exception.NetworkNotFound(
                        network_id=name_or_id) from None
                network = found['networks'][0]
        subnets = self._call(context, 'GET', '/subnets',
                             params=[('network_id', network['id'])])
        return dict(network, subnet_list=subnets['subnets'])

    @staticmethod
    def _check_address(network: dict[str, Any], address: str) -> None:
        """What the service would refuse, before asking it."""
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            raise exception.FixedIpInvalid(
                address=address, reason='not an IP address') from None
        for subnet in network['subnet_list']:
            if ip == ipaddress.ip_address(subnet['gateway_ip'] or '0.0.0.0'):
                raise exception.FixedIpInvalid(address=address,
                                               reason='it is the gateway')
            for pool in subnet['allocation_pools']:
                start = int(ipaddress.ip_address(pool['start']))
                end = int(ipaddress.ip_address(pool['end']))
                if ip.version == subnet['ip_version'] and \
                        start <= int(ip) <= end:
                    return
        raise exception.FixedIpInvalid(
            address=address, reason='not a host address of the network')

    def _requests(self, context: Any, requested_networks: Any,
                  ) -> list[dict[str, Any]]:
        """Each requested port: ``{'port_id'}`` or ``{'network',
        'fixed_ip'}``, checked."""
        if requested_networks in (None, 'auto', []):
            return [{'network': self._network(context, None),
                     'fixed_ip': None}]
        if requested_networks == 'none':
            return []
        requests: list[dict[str, Any]] = []
        for item in requested_networks:
            network_id = item.get('network_id') or item.get('uuid')
            if network_id == 'none':
                continue
            port_id = item.get('port_id') or item.get('port')
            if port_id:
                requests.append({'port_id': str(port_id)})
                continue
            network = self._network(
                context, None if network_id in (None, 'auto')
                else str(network_id))
            address = item.get('fixed_ip') or item.get('address')
            if address:
                self._check_address(network, str(address))
            requests.append({'network': network,
                             'fixed_ip': str(address) if address else None})
        return requests

    # -- ports ----------------------------------------------------------------

    def _create(self, context: Any, instance_uuid: str,
                network: dict[str, Any], fixed_ip: str | None,
                security_groups: list[str] | None = None,
                ) -> dict[str, Any]:
        body: dict[str, Any] = {
            'network_id': network['id'], 'device_id': instance_uuid,
            'device_owner': f'compute:{CONF.default_availability_zone}',
            'binding:host_id': CONF.host}
        if security_groups is not None:
            body['security_groups'] = security_groups
        project_id = getattr(context, 'project_id', None)
        if project_id:
            body['project_id'] = project_id
        if fixed_ip:
            body['fixed_ips'] = [{'ip_address': fixed_ip}]
        return self._call(context, 'POST', '/ports', {'port': body})['port']

    def _bind(self, context: Any, instance_uuid: str,
              port_id: str) -> dict[str, Any]:
        port = self._call(context, 'GET', f'/ports/{port_id}')['port']
        project_id = getattr(context, 'project_id', None)
        if project_id and not getattr(context, 'is_admin', False) and \
                port.get('project_id') not in ('', project_id):
            raise exception.PortNotFound(port_id=port_id)
        if port['device_id'] not in ('', instance_uuid):
            raise exception.PortInUse(port_id=port_id)
        return self._call(context, 'PUT', f'/ports/{port_id}', {'port': {
            'device_id': instance_uuid,
            'device_owner': f'compute:{CONF.default_availability_zone}',
            'binding:host_id': CONF.host}})['port']

    def _release(self, context: Any, port: dict[str, Any]) -> None:
        """Give the user's port back; delete nova's own."""
        self._call(context, 'PUT', f'/ports/{port["id"]}', {'port': {
            'device_id': '', 'device_owner': '', 'binding:host_id': ''}})
        if not port.get('nova:preserve_on_delete'):
            try:
                self._call(context, 'DELETE', f'/ports/{port["id"]}')
            except exception.PortNotFound:
                pass

    def _ports(self, context: Any,
               instance_uuids: Sequence[str]) -> list[dict[str, Any]]:
        if not instance_uuids:
            return []
        return self._call(context, 'GET', '/ports', params=[
            ('device_id', uuid) for uuid in instance_uuids])['ports']

    # -- the interface ------------------------------------------------------

    def allocate_for_instance(self, context: Any, instance_uuid: str,
                              requested_networks: Any = None,
                              security_groups: Sequence[str] | None = None,
                              ) -> list[api.VIF]:
        requests = self._requests(context, requested_networks)
        group_ids = None
        if security_groups and any(not r.get('port_id') for r in requests):
            group_ids = [g['id'] for g in self.validate_security_groups(
                context, security_groups)]
        ports: list[dict[str, Any]] = []
        try:
            for request in requests:
                if request.get('port_id'):
                    ports.append(self._bind(context, instance_uuid,
                                            request['port_id']))
                else:
                    ports.append(self._create(context, instance_uuid,
                                              request['network'],
                                              request['fixed_ip'],
                                              group_ids))
        except Exception:
            # All or nothing, as the local service.
            for port in ports:
                self._release(context, port)
            raise
        return self._vifs(context, ports)

    def deallocate_for_instance(self, context: Any,
                                instance_uuid: str) -> None:
        for port in self._ports(context, [instance_uuid]):
            self._release(context, port)

    def allocate_port_for_instance(self, context: Any, instance_uuid: str,
                                   network_id: str | None = None,
                                   requested_ip: str | None = None,
                                   port_id: str | None = None,
                                   ) -> api.VIF:
        if port_id:
            port = self._bind(context, instance_uuid, port_id)
        else:
            network = self._network(context, network_id)
            if requested_ip:
                self._check_address(network, requested_ip)
            port = self._create(context, instance_uuid, network,
                                requested_ip)
        return self._vifs(context, [port])[0]

    def deallocate_port_for_instance(self, context: Any, instance_uuid: str,
                                     port_id: str) -> bool:
        try:
            port = self._call(context, 'GET', f'/ports/{port_id}')['port']
        except exception.PortNotFound:
            return False
        if port['device_id'] != instance_uuid:
            if port['device_id'] == '' and \
                    port.get('nova:preserve_on_delete'):
                return False
            raise exception.PortNotFound(port_id=port_id)
        self._release(context, port)
        return True

    def setup_networks_on_host(self, context: Any, instance_uuid: str,
                               host: str) -> None:
        for port in self._ports(context, [instance_uuid]):
            if port.get('binding:host_id') != host:
                self._call(context, 'PUT', f'/ports/{port["id"]}', {
                    'port': {'binding:host_id': host}})

    def get_instance_nw_info(self, context: Any,
                             instance_uuid: str) -> list[api.VIF]:
        return self._vifs(context, self._ports(context, [instance_uuid]))

    def get_nw_info_for_instances(self, context: Any,
                                  instance_uuids: Sequence[str],
                                  ) -> dict[str, list[api.VIF]]:
        found: dict[str, list[api.VIF]] = {u: [] for u in instance_uuids}
        ports = self._ports(context, list(instance_uuids))
        for vif, port in zip(self._vifs(context, ports), ports,
                             strict=True):
            found[port['device_id']].append(vif)
        return found

    def validate_networks(self, context: Any, requested_networks: Any,
                          num_instances: int) -> int:
        requests = self._requests(context, requested_networks)
        for request in requests:
            if request.get('port_id'):
                self._check_port(context, request['port_id'])
        if any(r.get('fixed_ip') for r in requests) and num_instances > 1:
            return 1
        return num_instances

    def _check_port(self, context: Any, port_id: str) -> None:
        """A port the caller may give an instance: its project's (or
        any, for an admin) and no device's.

        :raises PortNotFound: :raises PortInUse:
        """
        port = self._call(context, 'GET', f'/ports/{port_id}')['port']
        project_id = getattr(context, 'project_id', None)
        if project_id and not getattr(context, 'is_admin', False) and \
                port.get('project_id') not in ('', project_id):
            raise exception.PortNotFound(port_id=port_id)
        if port.get('device_id'):
            raise exception.PortInUse(port_id=port_id)

    # -- security groups ------------------------------------------------------

    def _find_group(self, context: Any, project_id: str | None,
                    name_or_id: str) -> dict[str, Any] | None:
        """A group by ID, else by name in ``project_id``, as
        neutronclient's find_resourceid_by_name_or_id."""
        found = self._call(context, 'GET', '/security-groups', params=[
            ('id', name_or_id)])['security_groups']
        if not found:
            params = [('name', name_or_id)]
            if project_id:
                params.append(('project_id', project_id))
            found = self._call(context, 'GET', '/security-groups',
                               params=params)['security_groups']
        if len(found) > 1:
            raise exception.NoUniqueMatch(
                f"Multiple security_group matches found for name "
                f"'{name_or_id}', use an ID to be more specific.")
        return found[0] if found else None

    def validate_security_groups(self, context: Any,
                                 names: Sequence[str],
                                 ) -> list[dict[str, Any]]:
        groups = []
        project_id = getattr(context, 'project_id', None)
        for name in names:
            group = self._find_group(context, project_id, name)
            if group is None:
                raise exception.SecurityGroupNotFound(
                    f"Unable to find security_group with name or id "
                    f"'{name}'")
            groups.append(group)
        return groups

    def _instance_group(self, context: Any, instance_uuid: str,
                        project_id: str, name: str,
                        ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        group = self._find_group(context, project_id, name)
        if group is None:
            raise exception.SecurityGroupNotFound(
                f'Security group {name} is not found for project '
                f'{project_id}')
        ports = self._ports(context, [instance_uuid])
        if not ports:
            raise exception.SecurityGroupNotFound(
                f'instance_id {instance_uuid} could not be found as device '
                f'id on any ports')
        return group, ports

    def add_security_group_to_instance(self, context: Any,
                                       instance_uuid: str,
                                       project_id: str,
                                       name: str) -> dict[str, Any]:
        group, ports = self._instance_group(context, instance_uuid,
                                            project_id, name)
        lacking = [p for p in ports
                   if group['id'] not in p.get('security_groups', [])]
        if not lacking:
            raise exception.SecurityGroupExistsForInstance(
                security_group_id=name, instance_id=instance_uuid)
        for port in lacking:
            self._call(context, 'PUT', f'/ports/{port["id"]}', {'port': {
                'security_groups': [*port.get('security_groups', []),
                                    group['id']]}})
        return group

    def remove_security_group_from_instance(self, context: Any,
                                            instance_uuid: str,
                                            project_id: str,
                                            name: str) -> dict[str, Any]:
        group, ports = self._instance_group(context, instance_uuid,
                                            project_id, name)
        having = [p for p in ports
                  if group['id'] in p.get('security_groups', [])]
        if not having:
            raise exception.SecurityGroupNotFound(
                f'Security group {name} not associated with the instance '
                f'{instance_uuid}')
        for port in having:
            self._call(context, 'PUT', f'/ports/{port["id"]}', {'port': {
                'security_groups': [g for g in port['security_groups']
                                    if g != group['id']]}})
        return group

    def get_instance_security_groups(self, context: Any,
                                     instance_uuid: str,
                                     ) -> list[dict[str, Any]]:
        ids = list(dict.fromkeys(
            g for port in self._ports(context, [instance_uuid])
            for g in port.get('security_groups', [])))
        if not ids:
            return []
        return self._call(context, 'GET', '/security-groups', params=[
            ('id', i) for i in ids])['security_groups']

    # -- network info ---------------------------------------------------------

    def _vifs(self, context: Any,
              ports: list[dict[str, Any]]) -> list[api.VIF]:
        """Network info of ports (in the order given), as nova.network
        .local builds it."""
        networks: dict[str, dict[str, Any]] = {}
        vifs = []
        for port in ports:
            net_id = port['network_id']
            if net_id not in networks:
                networks[net_id] = self._network(context, net_id)
            vifs.append(_vif(port, networks[net_id]))
        return vifs


def _vif(port: dict[str, Any], network: dict[str, Any]) -> api.VIF:
    subnets = []
    by_subnet = {s['id']: s for s in network['subnet_list']}
    for fixed in port['fixed_ips']:
        subnet = by_subnet.get(fixed['subnet_id'])
        if subnet is None:
            continue
        version = subnet['ip_version']
        gateway = subnet['gateway_ip']
        subnets.append({
            'cidr': subnet['cidr'], 'version': version,
            'gateway': ({'address': gateway, 'type': 'gateway',
                         'version': version} if gateway else None),
            'dns': [{'address': d, 'type': 'dns',
                     'version': ipaddress.ip_address(d).version}
                    for d in subnet['dns_nameservers']],
            'ips': [{'address': fixed['ip_address'], 'type': 'fixed',
                     'version': version, 'floating_ips': []}],
            'routes': []})
    port_id = port['id']
    return {
        'id': port_id, 'port_id': port_id, 'address': port['mac_address'],
        'type': 'bridge',
        'devname': ('tap' + port_id)[:14], 'active': True,
        'vnic_type': port.get('binding:vnic_type') or 'normal',
        'ovs_interfaceid': None,
        'preserve_on_delete': bool(port.get('nova:preserve_on_delete')),
        'details': {}, 'profile': {}, 'meta': {},
        'network': {
            'id': network['id'], 'label': network['name'],
            'bridge': CONF.network.flat_network_bridge,
            'subnets': subnets,
            'meta': {'injected': False, 'tenant_id': None}},
    }
