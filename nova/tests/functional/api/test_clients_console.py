"""``openstack console url show`` against a real nova-all, as in
test_clients (one compute host with the fake driver, whose console is
upstream's fake one)."""

from __future__ import annotations

import os
import subprocess
import urllib.parse

from nova.tests.functional.api import test_clients


class TestConsoleClients(test_clients.TestClients):
    """test_clients' nova-all set-up and helpers, not its tests."""

    def test_console_url_show(self) -> None:
        server = self.osc('server', 'create', '--flavor', 'm1.e2e',
                          '--image', 'cirros', '--wait', 'e2e-console')
        self.assertEqual('ACTIVE', server['status'])
        tokens = set()
        for args in ((), ('--novnc',)):  # noVNC is the default
            console = self.osc('console', 'url', 'show', *args,
                               'e2e-console')
            self.assertEqual('novnc', console['type'])
            self.assertEqual('vnc', console['protocol'])
            url = urllib.parse.urlsplit(console['url'])
            # [vnc] novncproxy_base_url's default, the token in "path".
            self.assertEqual(('http', '127.0.0.1:6080', '/vnc_lite.html'),
                             (url.scheme, url.netloc, url.path))
            path = urllib.parse.parse_qs(url.query)['path'][0]
            self.assertTrue(path.startswith('?token='), path)
            tokens.add(path)
        self.assertEqual(2, len(tokens))
        # No SPICE proxy here: upstream's answer for a console that is
        # not enabled.
        result = self.osc_failure('console', 'url', 'show', '--spice',
                                  'e2e-console')
        self.assertIn('Unavailable console type spice-html5.', result)
        self.osc('server', 'delete', '--wait', 'e2e-console', parse=False)

    def osc_failure(self, *args: str) -> str:
        """stderr of an openstack command that must fail."""
        env = dict(os.environ,
                   OS_AUTH_TYPE='admin_token', OS_ENDPOINT=self.cloud.endpoint,
                   OS_TOKEN=test_clients.TOKEN,
                   OS_IDENTITY_ENDPOINT_OVERRIDE=self.cloud.endpoint,
                   OS_IDENTITY_API_VERSION='3')
        result = subprocess.run([test_clients.OPENSTACK, *args],
                                capture_output=True, text=True, env=env,
                                timeout=test_clients.WAIT_TIMEOUT)
        self.assertNotEqual(0, result.returncode, result.stdout)
        return result.stderr


for _name in dir(test_clients.TestClients):
    if _name.startswith('test'):
        setattr(TestConsoleClients, _name, None)
