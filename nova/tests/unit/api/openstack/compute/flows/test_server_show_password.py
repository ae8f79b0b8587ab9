"""api.server_show_password with the vendor kit.

Read next to nova/api/openstack/compute/flows/server_show_password.py:
authorize, get_password (the password_0..3 chunks of the server's
system_metadata, joined), view; nothing is written, so nothing reverts.
"""

from __future__ import annotations

from nova.tests.unit.api.openstack.compute.flows import kit

FLOW = 'api.server_show_password'
STAGES = ['authorize', 'get_password', 'view']


class TestShowPassword(kit.ApiKitTestCase):

    watching = (FLOW, '1.0', STAGES,
                lambda state: (state.password, state.body))

    def test_stages_and_effect(self):
        server = self.server()
        sysmeta = dict(server['system_metadata'],
                       password_0='abc', password_1='def')
        self.cloud.db.instance_update(self.cloud.ctx, server['uuid'],
                                      {'system_metadata': sysmeta})
        code, body = self.cloud.api(
            'GET', f"/servers/{server['uuid']}/os-server-password")
        self.assertEqual((200, {'password': 'abcdef'}), (code, body))
        self.assertEqual(STAGES, list(self.seen))
        self.assertEqual((None, None), self.seen['authorize'])
        self.assertEqual(('abcdef', None), self.seen['get_password'])
        self.assertEqual(('abcdef', {'password': 'abcdef'}),
                         self.seen['view'])

    def test_no_password_is_empty(self):
        server = self.server()
        self.assertEqual((200, {'password': ''}), self.cloud.api(
            'GET', f"/servers/{server['uuid']}/os-server-password"))

    def test_another_projects_server_is_404_before_the_flow(self):
        server = self.server()
        code, body = self.cloud.api(
            'GET', f"/servers/{server['uuid']}/os-server-password",
            token='other:other')
        self.assertEqual(404, code, body)
        self.assertEqual({}, self.seen)
