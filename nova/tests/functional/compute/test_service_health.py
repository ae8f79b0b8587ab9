"""A nova-compute that stops heartbeating is ``down`` and skipped.

Two nova-compute processes, nova-api and nova-conductor as processes
over RabbitMQ and MariaDB, each service heartbeating every second
(``[DEFAULT] report_interval``) with ``[DEFAULT] service_down_time`` of
a few seconds.  ``openstack compute service list`` shows both computes
``up``; once one is frozen (SIGSTOP: alive, but silent, as a hung
host), it shows it ``down`` within ``service_down_time`` (plus one
heartbeat), and every boot lands on the other host.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from typing import Any

import testtools
import testtools.content

from nova import test
from nova.tests.functional import fixtures as func_fixtures
from nova.tests.functional import multiprocess
from nova.tests.functional.api import test_clients

REPORT_INTERVAL = 1
SERVICE_DOWN_TIME = 4


class TestServiceHealth(test.TestCase):

    def setUp(self) -> None:
        super().setUp()
        if not os.path.exists(test_clients.OPENSTACK):
            self.skipTest('python-openstackclient is not installed')
        self.cloud = self.useFixture(multiprocess.ProcessCloud(
            self, 'mysql', conductor_in_process=False, options={
                'DEFAULT': {'report_interval': str(REPORT_INTERVAL),
                            'service_down_time': str(SERVICE_DOWN_TIME)}}))
        self.cloud.start('nova-conductor', 'conductor1')
        self.computes = {host: self.cloud.start('nova-compute', host)
                         for host in ('compute1', 'compute2')}
        with socket.socket() as sock:
            sock.bind(('127.0.0.1', 0))
            port = sock.getsockname()[1]
        self.cloud.start('nova-api', 'api1', options={
            'DEFAULT': {'osapi_compute_listen': '127.0.0.1',
                        'osapi_compute_listen_port': str(port),
                        'osapi_compute_workers': '1'},
            'api': {'auth_strategy': 'noauth2'}})
        self.endpoint = f'http://127.0.0.1:{port}/v2.1'

    def osc(self, *args: str) -> Any:
        env = dict(os.environ, OS_AUTH_TYPE='admin_token',
                   OS_ENDPOINT=self.endpoint, OS_TOKEN='admin:admin',
                   OS_IDENTITY_ENDPOINT_OVERRIDE=self.endpoint,
                   OS_IDENTITY_API_VERSION='3')
        for key in ('OS_CLOUD', 'OS_AUTH_URL', 'OS_USERNAME',
                    'OS_PASSWORD', 'OS_PROJECT_NAME'):
            env.pop(key, None)
        result = subprocess.run(
            [test_clients.OPENSTACK, *args, '-f', 'json'],
            capture_output=True, text=True, env=env, timeout=120)
        if result.returncode:
            return None  # nova-api still starting: asked again
        return json.loads(result.stdout)

    def states(self) -> dict[str, str] | None:
        listed = self.osc('compute', 'service', 'list', '--service',
                          'nova-compute')
        if listed is None:
            return None
        return {s['Host']: s['State'] for s in listed}

    def test_stopped_compute_is_down_and_skipped(self) -> None:
        func_fixtures.wait_for(
            lambda: self.states() == {'compute1': 'up', 'compute2': 'up'},
            60, 'both computes up')
        frozen = self.computes['compute2']
        assert frozen.process is not None
        frozen.process.send_signal(signal.SIGSTOP)
        # Before the fixture stops it: a stopped process ignores SIGTERM.
        self.addCleanup(frozen.process.send_signal, signal.SIGCONT)
        stopped_at = time.monotonic()
        func_fixtures.wait_for(
            lambda: (self.states() or {}).get('compute2') == 'down',
            60, 'compute2 down')
        elapsed = time.monotonic() - stopped_at
        # Down within service_down_time, plus the heartbeat it last sent
        # and one poll of the client (a CLI start, about 2 s).
        self.assertLess(elapsed, SERVICE_DOWN_TIME + REPORT_INTERVAL + 10)
        self.addDetail('seconds_to_down', testtools.content.text_content(
            f'{elapsed:.1f}'))
        self.assertEqual('up', (self.states() or {}).get('compute1'))

        ctx = self.cloud.user_context()
        uuids = [self.cloud.boot(ctx, name=f's{i}')['uuid']
                 for i in range(3)]
        hosts = {self.cloud.wait_for_state(uuid, 'active')['host']
                 for uuid in uuids}
        self.assertEqual({'compute1'}, hosts)
