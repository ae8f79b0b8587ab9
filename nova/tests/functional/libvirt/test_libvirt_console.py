"""The VNC console of a real guest, through nova-novncproxy.

A cloud whose compute service runs LibvirtDriver against qemu:///system
(test_libvirt_e2e's), plus the console proxy nova-novncproxy runs
(nova.console.websocketproxy, in this process: it reaches nova-compute
over the same in-process transport).  The tiny guest boots with a VNC
device ([vnc] enabled, the default); a user asks the API for its console
(POST /servers/{id}/remote-consoles) and opens the URL's websocket with
a real websocket client (websocket-client): after the handshake the
first bytes are QEMU's VNC server greeting, ``RFB 003.008\\n``.  Without
a token, with a wrong one, with an expired one, from another site's page
or once the guest is gone, the proxy refuses the websocket (403) and
connects nowhere; no token value ever reaches its log.

Needs libvirtd (tools/install-libvirt.sh); skipped without it, failed
under NOVA_TEST_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import datetime
import urllib.parse

import fixtures
import websocket
from oslo_utils import fixture as utils_fixture
from oslo_utils import timeutils

import nova.conf
from nova.console import websocketproxy
from nova.tests.functional.libvirt import test_libvirt_e2e

CONF = nova.conf.CONF
RFB_GREETING = b'RFB 003.008\n'


class TestVNCConsoleThroughTheProxy(test_libvirt_e2e.LibvirtCloudTestCase):

    def setUp(self) -> None:
        super().setUp()
        self.log = self.useFixture(fixtures.FakeLogger(
            name='nova.console.websocketproxy'))
        self.proxy = websocketproxy.NoVNCProxyService(host='127.0.0.1',
                                                      port=0)
        self.proxy.start()
        self.addCleanup(self.proxy.stop)

    def console_url(self, uuid: str) -> str:
        console = self.api('POST', f'/servers/{uuid}/remote-consoles',
                           {'remote_console': {'protocol': 'vnc',
                                               'type': 'novnc'}},
                           version='2.6')['remote_console']
        self.assertEqual(('vnc', 'novnc'),
                         (console['protocol'], console['type']))
        return console['url']

    def websocket_url(self, console_url: str) -> str:
        """The websocket noVNC opens for a console URL: the proxy's
        address with the URL's ``path`` parameter as its path."""
        query = urllib.parse.parse_qs(
            urllib.parse.urlsplit(console_url).query)
        return f'ws://127.0.0.1:{self.proxy.port}/{query["path"][0]}'

    def open(self, url: str, **kwargs) -> websocket.WebSocket:
        ws = websocket.create_connection(url, timeout=30,
                                         subprotocols=['binary'], **kwargs)
        self.addCleanup(ws.close)
        return ws

    def assert_refused(self, url: str, **kwargs) -> None:
        error = self.assertRaises(websocket.WebSocketBadStatusException,
                                  websocket.create_connection, url,
                                  timeout=30, **kwargs)
        self.assertEqual(403, error.status_code)

    def read_greeting(self, ws: websocket.WebSocket) -> bytes:
        data = b''
        while len(data) < len(RFB_GREETING):
            frame = ws.recv()
            # Binary frames: noVNC's protocol.
            assert isinstance(frame, bytes), frame
            data += frame
        return data

    def test_console_of_a_real_guest(self):
        instance = self.api_boot(self.image['id'])
        uuid = instance['uuid']
        url = self.console_url(uuid)
        token = urllib.parse.parse_qs(urllib.parse.urlsplit(
            urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)[
                'path'][0]).query)['token'][0]
        ws_url = self.websocket_url(url)
        self.assertEqual(
            f'ws://127.0.0.1:{self.proxy.port}/?token={token}', ws_url)

        # QEMU's VNC server, through the proxy.
        ws = self.open(ws_url)
        self.assertEqual(RFB_GREETING, self.read_greeting(ws))
        # The client speaks RFB back: the server offers its security
        # types (a count, then the types; 1 is "None").
        ws.send_binary(RFB_GREETING)
        offer = ws.recv()
        self.assertGreaterEqual(offer[0], 1, offer)
        self.assertIn(1, offer[1:1 + offer[0]])
        ws.close()

        # The token opens the console again until it expires; a browser
        # page of the proxy's own origin, or another site's, is told
        # apart by its Origin header.
        ws = self.open(
            f'ws://127.0.0.1:{self.proxy.port}/?path=%3Ftoken%3D{token}',
            origin=f'http://127.0.0.1:{self.proxy.port}')
        self.assertEqual(RFB_GREETING, self.read_greeting(ws))
        ws.close()
        self.assert_refused(ws_url, origin='http://evil.example.org')

        # No token, a token nobody issued, an expired token: refused.
        self.assert_refused(f'ws://127.0.0.1:{self.proxy.port}/')
        self.assert_refused(
            f'ws://127.0.0.1:{self.proxy.port}/?token=not-a-token')
        self.assert_refused(ws_url.replace(token[:8], '00000000'))
        with utils_fixture.TimeFixture(
                timeutils.utcnow() + datetime.timedelta(
                    seconds=CONF.consoleauth.token_ttl + 1)):
            self.assert_refused(ws_url)

        # A valid token whose guest is gone is refused too.
        fresh = self.websocket_url(self.console_url(uuid))
        self.open(fresh).close()
        self.api('DELETE', f'/servers/{uuid}')
        test_libvirt_e2e.guest.wait_for(
            lambda: not self.domain_exists(uuid), test_libvirt_e2e.ACTION,
            f'{uuid} to be deleted')
        self.assert_refused(fresh)

        log = self.log.output
        self.assertIn('Refused a console connection', log)
        self.assertIn(f'console of instance {uuid} at 127.0.0.1:', log)
        self.assertNotIn(token, log)
        self.assertNotIn(fresh.rpartition('=')[2], log)
