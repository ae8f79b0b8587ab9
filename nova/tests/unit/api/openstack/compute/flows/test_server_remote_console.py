"""api.server_remote_console with the vendor kit.

Read next to nova/api/openstack/compute/flows/server_remote_console.py:
authorize, get_console (a VNC console URL from the server's host; any
other protocol is ConsoleTypeUnavailable), view (``remote_console`` from
2.6, ``console`` for os-getVNCConsole before); the token the host stores
expires by itself, so nothing reverts.
"""

from __future__ import annotations

from typing import Any

from nova.api.openstack.compute.flows import server_remote_console
from nova.flow import hooks
from nova.tests.unit.api.openstack.compute.flows import kit

FLOW = 'api.server_remote_console'
STAGES = ['authorize', 'get_console', 'view']


class Spice(hooks.Hook):
    """A vendor serving SPICE consoles from its own proxy."""

    supports = {FLOW: '1.0'}

    @hooks.replace(f'{FLOW}.get_console')
    def spice(self, ctx: Any, state: Any) -> None:
        if state.protocol != 'spice':
            server_remote_console.get_console(ctx, state)
            return
        state.url = 'https://spice.example/?token=t1'


class _ConsoleTestCase(kit.ApiKitTestCase):

    def console(self, uuid: str, protocol: str,
                console_type: str) -> tuple[int, Any]:
        return self.cloud.api(
            'POST', f'/servers/{uuid}/remote-consoles',
            {'remote_console': {'protocol': protocol,
                                'type': console_type}}, version='2.6')


class TestRemoteConsole(_ConsoleTestCase):

    watching = (FLOW, '1.0', STAGES, lambda state: state.url)

    def test_stages_and_a_vnc_url(self):
        uuid = self.server()['uuid']
        code, body = self.console(uuid, 'vnc', 'novnc')
        self.assertEqual(200, code, body)
        self.assertEqual(STAGES, list(self.seen))
        url = self.seen['get_console']
        self.assertTrue(url)
        self.assertEqual({'protocol': 'vnc', 'type': 'novnc', 'url': url},
                         body['remote_console'])

    def test_os_get_vnc_console_before_2_6(self):
        uuid = self.server()['uuid']
        code, body = self.cloud.api(
            'POST', f'/servers/{uuid}/action',
            {'os-getVNCConsole': {'type': 'novnc'}})
        self.assertEqual(200, code, body)
        self.assertEqual('novnc', body['console']['type'])
        self.assertEqual(self.seen['get_console'], body['console']['url'])

    def test_a_protocol_without_a_proxy_is_400_at_get_console(self):
        uuid = self.server()['uuid']
        code, body = self.console(uuid, 'spice', 'spice-html5')
        self.assertEqual(400, code, body)
        # The watching hook notes a stage once it ends.
        self.assertEqual(['authorize'], list(self.seen))


class TestRemoteConsoleHooked(_ConsoleTestCase):

    hooks = (Spice,)

    def test_a_replaced_get_console_serves_another_protocol(self):
        uuid = self.server()['uuid']
        code, body = self.console(uuid, 'spice', 'spice-html5')
        self.assertEqual(200, code, body)
        self.assertEqual('https://spice.example/?token=t1',
                         body['remote_console']['url'])
        code, body = self.console(uuid, 'vnc', 'novnc')
        self.assertEqual(200, code, body)
