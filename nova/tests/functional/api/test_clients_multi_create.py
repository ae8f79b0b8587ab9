"""``openstack server create --min M --max N --wait`` against a real
nova-all whose one host has 1536 MB (``ram_allocation_ratio`` 1.0): it
holds exactly three servers of a 512 MB flavor and exactly one of a
1024 MB flavor.

* ``--min 2 --max 4`` of the small flavor: three servers ACTIVE, the
  fourth deleted (the count reduced, as upstream);
* ``--min 2 --max 4`` of the big flavor: the client reports the error
  (the servers are in ERROR with upstream's "No valid host was found"
  fault), and nothing is left claimed on the host.
"""

from __future__ import annotations

import os
import subprocess
import time
from typing import Any

from nova.tests.functional.api import test_clients

HOST_MB = 1536


class NovaAllOfThree(test_clients.NovaAll):

    def __init__(self) -> None:
        super().__init__()
        with open(self.conf, 'a') as f:
            f.write(f'\n[DEFAULT]\nram_allocation_ratio = 1.0\n'
                    f'\n[fake_driver]\nmemory_mb = {HOST_MB}\n')


class TestMultiCreateClient(test_clients.NovaAllTestCase):

    nova_class = NovaAllOfThree
    flavors = tuple((name, name, ram, 1, 1)
                    for name, ram in (('m1.third', HOST_MB // 3),
                                      ('m1.two-thirds', 2 * HOST_MB // 3)))

    def osc(self, *args: str) -> subprocess.CompletedProcess:
        env = dict(os.environ, OS_AUTH_TYPE='admin_token',
                   OS_ENDPOINT=self.cloud.endpoint,
                   OS_TOKEN=test_clients.TOKEN,
                   OS_IDENTITY_ENDPOINT_OVERRIDE=self.cloud.endpoint,
                   OS_IDENTITY_API_VERSION='3')
        for key in ('OS_CLOUD', 'OS_AUTH_URL', 'OS_USERNAME',
                    'OS_PASSWORD', 'OS_PROJECT_NAME'):
            env.pop(key, None)
        return subprocess.run([test_clients.OPENSTACK, *args],
                              capture_output=True, text=True, env=env,
                              timeout=test_clients.WAIT_TIMEOUT + 60)

    def wait_for(self, predicate: Any, what: str) -> Any:
        deadline = time.monotonic() + test_clients.WAIT_TIMEOUT
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.2)
        self.fail(f'timed out waiting for {what}')

    def servers(self, name: str) -> list[dict[str, Any]]:
        return self.cloud.api('GET', f'/servers/detail?name=^{name}-',
                              version='2.3')['servers']

    def memory_used(self) -> int:
        (hypervisor,) = self.cloud.api('GET', '/os-hypervisors/detail',
                                       version='2.87')['hypervisors']
        return hypervisor['memory_mb_used']

    def settled(self, name: str, count: int) -> list[dict[str, Any]]:
        def done() -> list[dict[str, Any]] | None:
            servers = self.servers(name)
            if len(servers) == count and all(
                    s['status'] in ('ACTIVE', 'ERROR') and
                    not s.get('OS-EXT-STS:task_state') for s in servers):
                return servers
            return None
        return self.wait_for(done, f'{count} servers {name}-* to settle')

    def delete_all(self, name: str) -> None:
        for server in self.servers(name):
            self.cloud.api('DELETE', f'/servers/{server["id"]}')
        self.wait_for(lambda: not self.servers(name),
                      f'the servers {name}-* to be deleted')

    def test_create_min_2_max_4_where_3_fit_gets_3_active(self):
        result = self.osc('server', 'create', '--flavor', 'm1.third',
                          '--image', 'cirros', '--min', '2', '--max', '4',
                          '--wait', '-f', 'json', 'multi-three')
        self.assertEqual(0, result.returncode, result.stderr)
        servers = self.settled('multi-three', 3)
        self.assertEqual(['ACTIVE'] * 3, [s['status'] for s in servers])
        self.assertEqual(
            1, len({s['OS-EXT-SRV-ATTR:reservation_id'] for s in servers}))
        self.assertEqual(3 * (HOST_MB // 3), self.memory_used())
        self.delete_all('multi-three')
        self.assertEqual(0, self.memory_used())

    def test_create_min_2_max_4_where_1_fits_fails_clearly(self):
        result = self.osc('server', 'create', '--flavor', 'm1.two-thirds',
                          '--image', 'cirros', '--min', '2', '--max', '4',
                          '--wait', '-f', 'json', 'multi-one')
        self.assertNotEqual(0, result.returncode, result.stdout)
        self.assertIn('Error creating server', result.stderr)
        servers = self.settled('multi-one', 4)
        self.assertEqual(['ERROR'] * 4, [s['status'] for s in servers])
        for server in servers:
            self.assertIn('No valid host was found',
                          server['fault']['message'])
        self.assertEqual(0, self.memory_used())
        self.delete_all('multi-one')
