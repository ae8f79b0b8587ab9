"""POST /servers with explicit networks and ports, through the REST API
on a whole cloud in-process: the api.server_create flow's
validate_networks stage asks the network service before anything is
created, and answers as upstream nova does - 400 for a network or port
the caller does not have, 409 for a port another server has, 400 for one
port or fixed IP and several servers.
"""

from __future__ import annotations

import uuid as uuid_lib

from nova.compute import vm_states
from nova.tests.functional.api import base as api_base

USER = api_base.USER
OTHER = 'other:other'


class TestServerCreateNetworks(api_base.APITestCase):

    def setUp(self):
        super().setUp()
        self.network_api = self.cloud.compute_api.network_api
        self.network_id = self.network_api.network_id

    def create(self, networks, token=USER, **server):
        body = {'server': {'name': 'nic', 'flavorRef': '1',
                           'imageRef': self.cloud.image['id'],
                           'networks': networks, **server}}
        return self.call('POST', '/servers', body, token=token)

    def port(self, project='demo'):
        """A port of ``project`` no server has: its ID."""
        return self.network_api.create_port(
            self.cloud.user_context(project, project), self.network_id,
            name='user-port')['port_id']

    def servers(self):
        return self.cloud.db.instance_get_all_by_filters(
            self.cloud.ctx, {'deleted': False})

    def assert_refused(self, result, code, kind, message):
        status, data = result
        self.assertEqual(code, status, data)
        self.assertEqual({kind: {'code': code, 'message': message}}, data)
        self.assertEqual([], self.servers())

    def test_unknown_network_is_400(self):
        missing = str(uuid_lib.uuid4())
        self.assert_refused(self.create([{'uuid': missing}]), 400,
                            'badRequest',
                            f'Network {missing} could not be found.')

    def test_another_projects_network_is_400(self):
        ctx = self.cloud.user_context('other', 'other')
        network = self.network_api.create_network(ctx, 'other', 'private')
        self.assert_refused(self.create([{'uuid': network['id']}]), 400,
                            'badRequest',
                            f'Network {network["id"]} could not be found.')

    def test_unknown_port_is_400(self):
        missing = str(uuid_lib.uuid4())
        self.assert_refused(self.create([{'port': missing}]), 400,
                            'badRequest',
                            f'Port id {missing} could not be found.')

    def test_another_projects_port_is_400(self):
        port = self.port(project='other')
        self.assert_refused(self.create([{'port': port}]), 400,
                            'badRequest',
                            f'Port id {port} could not be found.')

    def test_port_in_use_is_409(self):
        port = self.port()
        status, data = self.create([{'port': port}])
        self.assertEqual(202, status, data)
        first = data['server']['id']
        self.cloud.wait_for_state(first, vm_states.ACTIVE)
        self.assertEqual(first, self.network_api.get_port(
            self.cloud.ctx, port)['instance_uuid'])

        status, data = self.create([{'port': port}])
        self.assertEqual(409, status, data)
        self.assertEqual({'conflictingRequest': {
            'code': 409, 'message': f'Port {port} is still in use.'}},
            data)
        self.assertEqual([first], [i['uuid'] for i in self.servers()])

    def test_one_port_for_several_servers_is_400(self):
        port = self.port()
        self.assert_refused(
            self.create([{'port': port}], max_count=2), 400,
            'badRequest',
            'Failed to launch instances: Unable to launch multiple '
            'instances with a single configured port ID. Please launch '
            'your instance one by one with different ports.')

    def test_one_fixed_ip_for_several_servers_is_400(self):
        self.assert_refused(
            self.create([{'uuid': self.network_id,
                          'fixed_ip': '192.168.0.9'}], min_count=2), 400,
            'badRequest',
            'Failed to launch instances: max_count cannot be greater '
            'than 1 if an fixed_ip is specified.')

    def test_known_network_boots(self):
        status, data = self.create([{'uuid': self.network_id}])
        self.assertEqual(202, status, data)
        instance = self.cloud.wait_for_state(data['server']['id'],
                                             vm_states.ACTIVE)
        (vif,) = self.network_api.get_instance_nw_info(
            self.cloud.ctx, instance['uuid'])
        self.assertEqual(self.network_id, vif['network']['id'])
