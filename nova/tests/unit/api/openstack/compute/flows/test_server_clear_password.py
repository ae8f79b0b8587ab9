"""api.server_clear_password with the vendor kit.

Read next to nova/api/openstack/compute/flows/server_clear_password.py:
authorize, then clear_password, the one write (the password_0..3 chunks
of the server's system_metadata become ''); nothing before it to revert.
"""

from __future__ import annotations

from typing import Any

from nova.flow import hooks
from nova.tests.unit.api.openstack.compute.flows import kit

FLOW = 'api.server_clear_password'
STAGES = ['authorize', 'clear_password']
CHUNKS = {'password_0': 'abc', 'password_1': 'def'}


class Escrow(hooks.Hook):
    """Refuses every clear before the write."""

    supports = {FLOW: '1.0'}

    @hooks.before(f'{FLOW}.clear_password')
    def escrowed(self, ctx: Any, state: Any) -> None:
        raise hooks.RunRefused('The password is held in escrow.', code=409)


class _PasswordTestCase(kit.ApiKitTestCase):

    def server_with_password(self) -> dict[str, Any]:
        server = self.server()
        self.cloud.db.instance_update(
            self.cloud.ctx, server['uuid'],
            {'system_metadata': dict(server['system_metadata'], **CHUNKS)})
        return server

    def stored(self, uuid: str) -> dict[str, str]:
        instance = self.cloud.instance(uuid)
        assert instance is not None
        sysmeta = instance['system_metadata']
        return {key: sysmeta.get(key) for key in CHUNKS}


class TestClearPassword(_PasswordTestCase):

    watching = (FLOW, '1.0', STAGES, lambda state: dict(
        state.instance['system_metadata']))

    def test_stages_and_effect(self):
        uuid = self.server_with_password()['uuid']
        code, body = self.cloud.api(
            'DELETE', f'/servers/{uuid}/os-server-password')
        self.assertEqual(204, code, body)
        self.assertEqual(STAGES, list(self.seen))
        self.assertEqual('abc', self.seen['authorize']['password_0'])
        self.assertEqual('', self.seen['clear_password']['password_0'])
        self.assertEqual({'password_0': '', 'password_1': ''},
                         self.stored(uuid))
        self.assertEqual((200, {'password': ''}), self.cloud.api(
            'GET', f'/servers/{uuid}/os-server-password'))

    def test_another_projects_server_is_404_before_the_flow(self):
        uuid = self.server_with_password()['uuid']
        code, body = self.cloud.api(
            'DELETE', f'/servers/{uuid}/os-server-password',
            token='other:other')
        self.assertEqual(404, code, body)
        self.assertEqual({}, self.seen)
        self.assertEqual(CHUNKS, self.stored(uuid))


class TestClearRefused(_PasswordTestCase):

    hooks = (Escrow,)

    def test_refused_before_the_write_keeps_the_password(self):
        uuid = self.server_with_password()['uuid']
        code, body = self.cloud.api(
            'DELETE', f'/servers/{uuid}/os-server-password')
        self.assertEqual(409, code, body)
        self.assertEqual('The password is held in escrow.',
                         body['conflictingRequest']['message'])
        self.assertEqual(CHUNKS, self.stored(uuid))
