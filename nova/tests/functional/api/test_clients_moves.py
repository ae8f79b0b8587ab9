"""The unmodified openstack client moving a server between hosts: live
migration, its migration list, show and abort, and evacuation of a
server whose host died - against real processes (nova-api,
nova-conductor and two nova-compute hosts over RabbitMQ and MariaDB,
multiprocess.ProcessCloud, the fake virt driver).

compute1 holds every live migration before the guest moves
(``[fake_driver] block_methods = live_migration:before``) until an
abort releases it, so the test sees the migration running and aborts
it as a user would; the block ends with the abort, so the next live
migration goes through.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import fixtures

from nova import test
from nova.compute import vm_states
from nova.tests.functional import fixtures as func_fixtures
from nova.tests.functional import multiprocess

OPENSTACK = os.path.join(os.path.dirname(sys.executable), 'openstack')
CLI_TIMEOUT = 180


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


class TestOpenstackClientMoves(test.TestCase):

    def setUp(self):
        super().setUp()
        self.cloud = self.useFixture(multiprocess.ProcessCloud(
            self, 'mysql', conductor_in_process=False,
            options={'DEFAULT': {'rpc_response_timeout': '10'}}))
        port = _free_port()
        self.endpoint = f'http://127.0.0.1:{port}/v2.1'
        self.procs = {
            'conductor1': self.cloud.start('nova-conductor', 'conductor1'),
            'compute1': self.cloud.start('nova-compute', 'compute1', options={
                'fake_driver': {'block_methods': 'live_migration:before'}}),
            'api1': self.cloud.start('nova-api', 'api1', options={
                'DEFAULT': {'osapi_compute_listen': '127.0.0.1',
                            'osapi_compute_listen_port': str(port)},
                'api': {'auth_strategy': 'noauth2'}}),
        }
        self.home = self.useFixture(fixtures.TempDir()).path

    def osc(self, *args, version='2.95', parse=True):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith('OS_')}
        env.update(OS_AUTH_TYPE='admin_token', OS_ENDPOINT=self.endpoint,
                   OS_TOKEN='admin:admin', OS_COMPUTE_API_VERSION=version,
                   OS_IDENTITY_API_VERSION='3',
                   OS_IDENTITY_ENDPOINT_OVERRIDE=self.endpoint,
                   HOME=self.home)
        command = [OPENSTACK, *args] + (['-f', 'json'] if parse else [])
        result = subprocess.run(command, capture_output=True, text=True,
                                env=env, stdin=subprocess.DEVNULL,
                                timeout=CLI_TIMEOUT)
        self.assertEqual(0, result.returncode,
                         f'openstack {" ".join(args)}:\n{result.stdout}'
                         f'{result.stderr}')
        return json.loads(result.stdout) if parse else result.stdout

    def server(self, name):
        return self.osc('server', 'show', name)

    def wait_server(self, name, status, host=None):
        return func_fixtures.wait_for(
            lambda: (lambda s: s if s['status'] == status and host in (
                None, s['OS-EXT-SRV-ATTR:host']) else None)(
                self.server(name)),
            what=f'{name} to be {status} on {host or "a host"}')

    def migrations(self, name):
        return self.osc('server', 'migration', 'list', '--server', name)

    def test_live_migrate_abort_then_evacuate(self):
        self.osc('server', 'create', '--flavor', 'm1.tiny', '--image',
                 self.cloud.image['id'], '--wait', 'mover')
        self.assertEqual('compute1',
                         self.server('mover')['OS-EXT-SRV-ATTR:host'])
        self.procs['compute2'] = self.cloud.start('nova-compute', 'compute2')

        # A live migration held on compute1 until the user aborts it.
        self.osc('server', 'migrate', '--live-migration', 'mover',
                 parse=False)
        running = func_fixtures.wait_for(
            lambda: [m for m in self.migrations('mover')
                     if m['Status'] == 'running'],
            what='the live migration to be running')[0]
        self.assertEqual(('live-migration', 'compute1', 'compute2'), (
            running['Type'], running['Source Compute'],
            running['Dest Compute']))
        # By UUID (2.59): by numeric ID, openstackclient 10.5 hands
        # openstacksdk's get_server_migration its arguments swapped and
        # asks for /servers/<id>/migrations/<server> - a client bug.
        shown = self.osc('server', 'migration', 'show', 'mover',
                         running['UUID'])
        self.assertEqual('running', shown['Status'])
        self.assertEqual('MIGRATING', self.server('mover')['status'])
        self.osc('server', 'migration', 'abort', 'mover',
                 str(running['Id']), parse=False)
        self.wait_server('mover', 'ACTIVE', 'compute1')
        func_fixtures.wait_for(
            lambda: [m for m in self.migrations('mover')
                     if m['Status'] == 'cancelled'],
            what='the aborted migration to be cancelled')

        # Again, to the end this time.
        self.osc('server', 'migrate', '--live-migration', '--wait',
                 'mover', parse=False)
        self.wait_server('mover', 'ACTIVE', 'compute2')
        self.assertEqual(['completed', 'cancelled'], [
            m['Status'] for m in self.migrations('mover')])

        # compute2 dies: the operator forces its service down and
        # evacuates the server.
        self.procs['compute2'].kill()
        self.osc('compute', 'service', 'set', '--down', 'compute2',
                 'nova-compute', parse=False)
        # Not --wait: openstackclient 10.5 waits for the status 'ACTIVE'
        # but compares it with the lower-cased status, so it never ends.
        self.osc('server', 'evacuate', 'mover')
        self.wait_server('mover', 'ACTIVE', 'compute1')
        evacuation = self.migrations('mover')[0]
        self.assertEqual(('evacuation', 'compute2', 'compute1', 'done'), (
            evacuation['Type'], evacuation['Source Compute'],
            evacuation['Dest Compute'], evacuation['Status']))
        events = self.osc('server', 'event', 'list', 'mover')
        self.assertEqual(
            ['evacuate', 'live-migration', 'live_migration_cancel',
             'live-migration', 'create'],
            [e['Action'] for e in events])
        self.assertEqual(vm_states.ACTIVE, self.cloud.instance(
            self.server('mover')['id'])['vm_state'])
