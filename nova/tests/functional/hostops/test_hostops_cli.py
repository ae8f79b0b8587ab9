"""The operator plugin (contrib/python-nova-hostops) driven through the
real ``openstack`` CLI against real processes: nova-api, nova-conductor
and three nova-compute processes over RabbitMQ and MariaDB
(multiprocess.ProcessCloud), the fake virt driver.

The servers are booted while only compute1 runs, so they all start there;
then compute2 and compute3 join. Every check of what moved is read
through the API (openstacksdk as admin): servers' hosts and the
migrations of each server.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys

import fixtures
import openstack
import testtools
from nova_fault_injection_hooks import stage_ids

from nova import test
from nova.compute import vm_states
from nova.tests.functional import fixtures as func_fixtures
from nova.tests.functional import multiprocess

OPENSTACK = os.path.join(os.path.dirname(sys.executable), 'openstack')
CLI_TIMEOUT = 240
#: The first stage of the destination's part of a cold migration.
COLD_DEST_STAGE = stage_ids('compute.prep_resize')[0]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


class _HostOpsCloud(test.TestCase):

    servers = 2
    stopped = 0
    #: Environment of compute2 and compute3.
    dest_env: dict[str, str] = {}

    def setUp(self):
        super().setUp()
        self.cloud = self.useFixture(multiprocess.ProcessCloud(
            self, 'mysql', conductor_in_process=False,
            options={'DEFAULT': {'rpc_response_timeout': '10'}}))
        self.port = _free_port()
        self.endpoint = f'http://127.0.0.1:{self.port}/v2.1'
        self.procs = {}
        self.start('nova-conductor', 'conductor1')
        self.start('nova-compute', 'compute1')
        self.uuids = []
        for i in range(self.servers):
            uuid = self.cloud.boot(self.cloud.user_context(),
                                   name=f'vm{i}')['uuid']
            self.uuids.append(uuid)
        for uuid in self.uuids:
            self.cloud.wait_for_state(uuid, vm_states.ACTIVE)
        for uuid in self.uuids[:self.stopped]:
            self.cloud.compute_api.stop(self.cloud.ctx,
                                        self.cloud.instance(uuid))
            self.cloud.wait_for_state(uuid, vm_states.STOPPED)
        for host in ('compute2', 'compute3'):
            self.start('nova-compute', host, **self.dest_env)
        self.start('nova-api', 'api1', options={
            'DEFAULT': {'osapi_compute_listen': '127.0.0.1',
                        'osapi_compute_listen_port': str(self.port)},
            'api': {'auth_strategy': 'noauth2'}})
        self.home = self.useFixture(fixtures.TempDir()).path
        self.state_file = os.path.join(self.home, 'state.json')
        self.conn = openstack.connection.Connection(
            auth_type='admin_token',
            auth={'endpoint': self.endpoint, 'token': 'admin:admin'},
            compute_endpoint_override=self.endpoint)

    def start(self, binary, host, options=None, **env):
        self.procs[host] = self.cloud.start(
            binary, host, hooks=('fault_injection',), options=options,
            **env)
        return self.procs[host]

    # -- the CLI ---------------------------------------------------------

    def cli_env(self, token='admin:admin'):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith('OS_')}
        env.update(OS_AUTH_TYPE='admin_token', OS_ENDPOINT=self.endpoint,
                   OS_TOKEN=token,
                   OS_IDENTITY_ENDPOINT_OVERRIDE=self.endpoint,
                   OS_IDENTITY_API_VERSION='3', HOME=self.home)
        return env

    def cli_args(self, *args):
        return [OPENSTACK, 'compute', 'host', *args]

    def openstack(self, *args, token='admin:admin', expect=0):
        result = subprocess.run(
            self.cli_args(*args), capture_output=True, text=True,
            env=self.cli_env(token), stdin=subprocess.DEVNULL,
            timeout=CLI_TIMEOUT)
        self.addDetail(f'openstack {" ".join(args[:2])} stderr',
                       testtools.content.text_content(result.stderr))
        if expect is not None:
            self.assertEqual(expect, result.returncode,
                             f'{result.stdout}\n{result.stderr}')
        return result

    def move(self, *args, expect=0):
        """A drain/evacuate run; its report by server ID."""
        result = self.openstack(
            *args, '--yes', '--state-file', self.state_file,
            '--poll-interval', '0.5', '--timeout', '120', '-f', 'json',
            expect=expect)
        return {row['Server ID']: row for row in json.loads(result.stdout)}

    # -- the API ---------------------------------------------------------

    def host_of(self, uuid):
        return self.conn.compute.get_server(uuid).compute_host

    def migrations(self, uuid):
        return list(self.conn.compute.migrations(server_id=uuid))

    def assert_moved_once(self, report, action, status):
        for uuid in self.uuids:
            row = report[uuid]
            self.assertEqual((action, 'compute1', 'done', ''),
                             (row['Action'], row['From'], row['Result'],
                              row['Error']))
            host = self.host_of(uuid)
            self.assertIn(host, ('compute2', 'compute3'))
            self.assertEqual(host, row['To'])
            self.assertEqual([status],
                             [m.status for m in self.migrations(uuid)])


class TestDrainLive(_HostOpsCloud):

    def test_dry_run_changes_nothing_then_drain_live(self):
        listed = json.loads(self.openstack(
            'servers', 'compute1', '-f', 'json').stdout)
        self.assertEqual(sorted(self.uuids), sorted(s['ID'] for s in listed))

        plan = self.move('drain', 'compute1', '--dry-run',
                         '--disable-service')
        self.assertEqual({(u, 'live-migrate', 'planned') for u in self.uuids},
                         {(u, r['Action'], r['Result'])
                          for u, r in plan.items()})
        self.assertFalse(os.path.exists(self.state_file))
        for uuid in self.uuids:
            self.assertEqual('compute1', self.host_of(uuid))
            self.assertEqual([], self.migrations(uuid))
        service = next(self.conn.compute.services(
            binary='nova-compute', host='compute1'))
        self.assertEqual('enabled', service.status)

        refused = self.openstack('drain', 'compute1', '--state-file',
                                 self.state_file, expect=1)
        self.assertIn('refusing without --yes', refused.stderr)
        self.assertEqual([], self.migrations(self.uuids[0]))

        report = self.move('drain', 'compute1', '--live',
                           '--disable-service')
        self.assert_moved_once(report, 'live-migrate', 'completed')
        service = next(self.conn.compute.services(
            binary='nova-compute', host='compute1'))
        self.assertEqual('disabled', service.status)
        with open(self.state_file) as f:
            self.assertEqual({'done'},
                             {e['status'] for e in json.load(f)['servers']})

    def test_non_admin_gets_the_403_explained(self):
        result = self.openstack('servers', 'compute1', token='demo:demo',
                                expect=1)
        self.assertIn('HTTP 403', result.stderr)
        self.assertIn('admin role', result.stderr)


class TestDrainCold(_HostOpsCloud):

    def test_drain_cold_confirms_each_move(self):
        report = self.move('drain', 'compute1', '--cold')
        self.assert_moved_once(report, 'migrate', 'confirmed')
        for uuid in self.uuids:
            self.assertEqual('ACTIVE',
                             self.conn.compute.get_server(uuid).status)


class TestEvacuate(_HostOpsCloud):

    def test_evacuate_a_killed_host(self):
        self.procs['compute1'].kill()
        result = self.openstack('evacuate', 'compute1', '--yes', expect=1)
        self.assertIn('compute service set --down compute1 nova-compute',
                      result.stderr)
        for uuid in self.uuids:
            self.assertEqual([], self.migrations(uuid))

        service = next(self.conn.compute.services(
            binary='nova-compute', host='compute1'))
        self.conn.compute.update_service_forced_down(service, forced=True)
        report = self.move('evacuate', 'compute1')
        self.assert_moved_once(report, 'evacuate', 'done')


class TestOneServerFails(_HostOpsCloud):
    """The stopped server is cold migrated, and the destinations fail
    the cold migration's first stage; the running ones live-migrate.
    Then --retry-failed, without the fault, moves the failed one."""

    servers = 3
    stopped = 1
    dest_env = {'NOVA_FAULT_AT': f'{COLD_DEST_STAGE}:fail'}

    def test_failed_server_is_reported_while_the_others_move(self):
        report = self.move('drain', 'compute1', expect=1)
        failing, moving = self.uuids[0], self.uuids[1:]
        row = report[failing]
        self.assertEqual(('migrate', 'failed'),
                         (row['Action'], row['Result']))
        # The failed event of the move's instance action.
        self.assertIn(f'injected failure in {COLD_DEST_STAGE}', row['Error'])
        self.assertEqual('compute1', self.host_of(failing))
        for uuid in moving:
            self.assertEqual(('live-migrate', 'done'),
                             (report[uuid]['Action'],
                              report[uuid]['Result']))
            self.assertNotEqual('compute1', self.host_of(uuid))

        # The fault gone, --retry-failed moves the failed server only.
        for host in ('compute2', 'compute3'):
            self.procs[host].stop()
            self.start('nova-compute', host)
        report = self.move('drain', 'compute1', '--retry-failed')
        self.assertEqual({'done'}, {r['Result'] for r in report.values()})
        self.assertNotEqual('compute1', self.host_of(failing))
        self.assertEqual(['confirmed', 'error'], sorted(
            m.status for m in self.migrations(failing)))
        for uuid in moving:
            self.assertEqual(['completed'],
                             [m.status for m in self.migrations(uuid)])


class TestResume(_HostOpsCloud):

    servers = 3

    def test_resume_after_the_client_was_killed_moves_nothing_twice(self):
        client = subprocess.Popen(
            self.cli_args('drain', 'compute1', '--yes', '--concurrency',
                          '1', '--state-file', self.state_file,
                          '--poll-interval', '0.5', '-f', 'json'),
            env=self.cli_env(), stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(lambda: client.poll() is None and client.kill())

        def half_way():
            try:
                with open(self.state_file) as f:
                    statuses = [e['status'] for e in json.load(f)['servers']]
            except (OSError, ValueError):
                return None
            return 'done' in statuses and 'moving' in statuses
        func_fixtures.wait_for(half_way, 120, 'one server moved and one '
                               'moving')
        client.send_signal(signal.SIGKILL)
        client.wait(10)
        with open(self.state_file) as f:
            before = [e['status'] for e in json.load(f)['servers']]
        self.assertIn('queued', before)

        # The first run may still have a move in flight: --resume
        # follows it instead of sending it again.
        report = self.move('drain', 'compute1', '--resume')
        self.assert_moved_once(report, 'live-migrate', 'completed')
