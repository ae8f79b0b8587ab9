"""POST/PUT/DELETE of networks and subnets through the Networking API
(nova.api.openstack.network.router) on the local service and SQLite:
Neutron's status codes, error types and policy."""

from __future__ import annotations

import json
from typing import Any

import webob

import nova.conf
from nova.api import auth
from nova.api.openstack.network import router
from nova.network import local
from nova.policies import enforcer
from nova.tests.unit.db import base

CONF = nova.conf.CONF
ADMIN = 'admin:admin'
DEMO = 'demo:demo'


class NetworksAPITestCase(base.DBTestCase):

    def setUp(self) -> None:
        super().setUp()
        CONF([], project='nova', default_config_files=[])
        self.addCleanup(CONF.reset)
        enforcer.reset()
        self.addCleanup(enforcer.reset)
        CONF.set_override('flat_network_cidr', '10.1.0.0/29',
                          group='network')
        self.addCleanup(CONF.clear_override, 'flat_network_cidr',
                        group='network')
        self.service = local.FlatNetworkAPI(CONF)
        self.app = auth.NoAuthMiddleware(router.APIRouter(self.service))

    def call(self, method: str, path: str, body: Any = None,
             token: str = DEMO) -> tuple[int, Any]:
        req = webob.Request.blank(path, method=method)
        req.headers['X-Auth-Token'] = token
        if body is not None:
            req.body = json.dumps(body).encode()
            req.content_type = 'application/json'
        resp = req.get_response(self.app)
        return resp.status_int, (json.loads(resp.body) if resp.body
                                 else None)

    def assert_error(self, result: tuple[int, Any], status: int,
                     kind: str) -> dict[str, Any]:
        code, body = result
        self.assertEqual(status, code, body)
        self.assertEqual(kind, body['NeutronError']['type'], body)
        return dict(body['NeutronError'])

    def network(self, token: str = DEMO, **fields: Any) -> dict[str, Any]:
        code, body = self.call('POST', '/networks',
                               {'network': {'name': 'n1', **fields}}, token)
        self.assertEqual(201, code, body)
        return dict(body['network'])

    def subnet(self, network_id: str, cidr: str = '10.20.0.0/24',
               token: str = DEMO, **fields: Any) -> dict[str, Any]:
        code, body = self.call('POST', '/subnets', {'subnet': {
            'network_id': network_id, 'cidr': cidr, 'ip_version': 4,
            'name': 's1', **fields}}, token)
        self.assertEqual(201, code, body)
        return dict(body['subnet'])

    def test_create_show_list_rename_network(self):
        net = self.network(admin_state_up=True)
        self.assertEqual(('n1', 'demo', 'ACTIVE', False, []),
                         (net['name'], net['project_id'], net['status'],
                          net['shared'], net['subnets']))
        code, body = self.call('GET', f'/networks/{net["id"]}')
        self.assertEqual((200, net['id']), (code, body['network']['id']))
        code, body = self.call('PUT', f'/networks/{net["id"]}',
                               {'network': {'name': 'renamed'}})
        self.assertEqual((200, 'renamed'), (code, body['network']['name']))
        _, body = self.call('GET', '/networks?name=renamed')
        self.assertEqual([net['id']], [n['id'] for n in body['networks']])
        self.assert_error(self.call('PUT', f'/networks/{net["id"]}',
                                    {'network': {'shared': True}}),
                          400, 'HTTPBadRequest')

    def test_networks_are_project_scoped_and_shared_is_admin_only(self):
        mine = self.network()
        self.assert_error(self.call('POST', '/networks', {'network': {
            'name': 'x', 'shared': True}}), 403, 'PolicyNotAuthorized')
        self.assert_error(self.call('POST', '/networks', {'network': {
            'name': 'x', 'project_id': 'other'}}), 403,
            'PolicyNotAuthorized')
        shared = self.network(ADMIN, shared=True, project_id='other')
        private = self.network(ADMIN, project_id='other')
        _, body = self.call('GET', '/networks', token='alt:alt')
        self.assertEqual({self.service.network_id, shared['id']},
                         {n['id'] for n in body['networks']})
        for path in (f'/networks/{private["id"]}',
                     f'/networks/{mine["id"]}'):
            self.assert_error(self.call('GET', path, token='alt:alt'), 404,
                              'NetworkNotFound')
        self.assert_error(self.call('DELETE', f'/networks/{shared["id"]}'),
                          403, 'PolicyNotAuthorized')
        self.assert_error(self.call('POST', '/subnets', {'subnet': {
            'network_id': shared['id'], 'cidr': '10.9.0.0/24',
            'ip_version': 4}}), 403, 'PolicyNotAuthorized')

    def test_create_and_delete_subnet(self):
        net = self.network()
        sub = self.subnet(net['id'])
        self.assertEqual(
            (net['id'], '10.20.0.0/24', 4, '10.20.0.1', True,
             [{'start': '10.20.0.2', 'end': '10.20.0.254'}], 'demo'),
            (sub['network_id'], sub['cidr'], sub['ip_version'],
             sub['gateway_ip'], sub['enable_dhcp'], sub['allocation_pools'],
             sub['project_id']))
        _, body = self.call('GET', f'/networks/{net["id"]}')
        self.assertEqual([sub['id']], body['network']['subnets'])
        _, body = self.call('GET', f'/subnets?network_id={net["id"]}')
        self.assertEqual([sub['id']], [s['id'] for s in body['subnets']])
        self.assert_error(self.call('GET', f'/subnets/{sub["id"]}',
                                    token='alt:alt'), 404, 'SubnetNotFound')
        error = self.assert_error(self.call('POST', '/subnets', {'subnet': {
            'network_id': net['id'], 'cidr': '10.20.0.128/25',
            'ip_version': 4}}), 400, 'InvalidInput')
        self.assertIn('overlaps with another subnet', error['message'])
        self.assert_error(self.call('POST', '/subnets', {'subnet': {
            'network_id': net['id'], 'cidr': 'nonsense',
            'ip_version': 4}}), 400, 'InvalidInput')
        self.assert_error(self.call('POST', '/subnets', {'subnet': {
            'network_id': 'nope', 'cidr': '10.9.0.0/24',
            'ip_version': 4}}), 404, 'NetworkNotFound')
        self.assertEqual((204, None),
                         self.call('DELETE', f'/subnets/{sub["id"]}'))
        self.assert_error(self.call('DELETE', f'/subnets/{sub["id"]}'),
                          404, 'SubnetNotFound')

    def test_in_use_network_and_subnet_are_409(self):
        net = self.network()
        sub = self.subnet(net['id'])
        code, body = self.call('POST', '/ports', {'port': {
            'network_id': net['id'], 'fixed_ips': [
                {'subnet_id': sub['id'], 'ip_address': '10.20.0.9'}]}})
        self.assertEqual(201, code, body)
        port = body['port']
        self.assertEqual([{'subnet_id': sub['id'],
                           'ip_address': '10.20.0.9'}], port['fixed_ips'])
        self.assertEqual(net['id'], port['network_id'])
        error = self.assert_error(
            self.call('DELETE', f'/networks/{net["id"]}'), 409,
            'NetworkInUse')
        self.assertEqual(
            f'Unable to complete operation on network {net["id"]}. There '
            f'are one or more ports still in use on the network.',
            error['message'])
        self.assert_error(self.call('DELETE', f'/subnets/{sub["id"]}'),
                          409, 'SubnetInUse')
        self.assertEqual((204, None),
                         self.call('DELETE', f'/ports/{port["id"]}'))
        self.assertEqual((204, None),
                         self.call('DELETE', f'/networks/{net["id"]}'))
        # Its subnet went with it.
        self.assert_error(self.call('GET', f'/subnets/{sub["id"]}'), 404,
                          'SubnetNotFound')
        self.assert_error(self.call('GET', f'/networks/{net["id"]}'), 404,
                          'NetworkNotFound')

    def test_port_on_a_network_without_subnet_is_400(self):
        net = self.network()
        self.assert_error(self.call('POST', '/ports', {'port': {
            'network_id': net['id']}}), 400, 'InvalidInput')

    def test_flat_network_stays(self):
        flat = self.service.network_id
        self.assert_error(self.call('DELETE', f'/networks/{flat}'), 403,
                          'PolicyNotAuthorized')
        self.assert_error(self.call('DELETE', f'/networks/{flat}',
                                    token=ADMIN), 400, 'InvalidInput')
        self.assert_error(self.call('POST', '/subnets', {'subnet': {
            'network_id': flat, 'cidr': '10.9.0.0/24', 'ip_version': 4}},
            token=ADMIN), 400, 'InvalidInput')
