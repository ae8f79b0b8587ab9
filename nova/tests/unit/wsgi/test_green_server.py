"""nova-api's HTTP server under eventlet (eventlet.wsgi through the
concurrency seam), in a patched process of its own: test processes are
not monkey-patched."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from nova import test
from nova.wsgi import server as api_server

CLIENTS = 150
REQUESTS = 3


class TestGreenServer(test.TestCase):

    stderr: str = ''
    returncode: int = -1
    result: dict = {}

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        env = dict(os.environ)
        env.pop('NOVA_CONCURRENCY', None)
        env['OS_NOVA_DISABLE_EVENTLET_PATCHING'] = '0'
        # Run as a file, not as a module of nova.tests (whose package
        # selects native threads for test processes).
        root = os.path.dirname(os.path.dirname(os.path.dirname(
            os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
        env['PYTHONPATH'] = os.pathsep.join(
            [root] + [p for p in [env.get('PYTHONPATH')] if p])
        probe = subprocess.run(
            [sys.executable, os.path.join(os.path.dirname(__file__),
                                          'green_probe.py'),
             str(CLIENTS), str(REQUESTS)],
            capture_output=True, text=True, env=env, timeout=180)
        cls.stderr = probe.stderr
        cls.returncode = probe.returncode
        lines = probe.stdout.strip().splitlines()
        cls.result = json.loads(lines[-1]) if lines else {}

    def setUp(self) -> None:
        super().setUp()
        self.assertEqual(0, self.returncode, self.stderr)

    def test_server_runs_green_in_a_patched_process(self):
        self.assertTrue(self.result['green'])
        self.assertTrue(self.result['server_is_green'])

    def test_many_concurrent_kept_alive_clients_are_all_served(self):
        # waitress, green, broke here: its workers' wake-up pipe had two
        # green writers ("Second simultaneous write on fileno").
        self.assertEqual({'answered': CLIENTS * REQUESTS, 'errors': []},
                         self.result['many'])
        self.assertNotIn('Traceback', self.stderr)
        self.assertNotIn('simultaneous', self.stderr)

    def test_chunked_request_body_is_read(self):
        self.assertEqual('abcdef', self.result['chunked'])

    def test_unparsable_request_gets_the_api_error_body(self):
        status, headers, body = self.result['server_errors'][
            'bad_request_line']
        self.assertTrue(status.endswith(' 400 Bad Request'), status)
        self.assertEqual('application/json', headers['content-type'])
        self.assertEqual(
            {'badRequest': {'code': 400,
                            'message': "Bad request syntax ('GARBAGE')"}},
            json.loads(body))

    def test_unsupported_http_version_gets_the_api_error_body(self):
        status, headers, body = self.result['server_errors'][
            'bad_http_version']
        self.assertIn(' 505 ', status)
        self.assertEqual(505, json.loads(body)['computeFault']['code'])

    def test_server_header_names_no_python_or_library(self):
        for _status, headers, body in self.result['server_errors'].values():
            self.assertEqual('nova-api', headers['server'])
            self.assertNotIn('html', body.lower())

    def test_stop_closes_kept_alive_connections(self):
        self.assertTrue(self.result['stopped'])

    def test_keep_alive_false_closes_after_each_response(self):
        self.assertTrue(self.result['closed_without_keep_alive'])

    def test_native_process_uses_waitress(self):
        server = api_server.APIServer(lambda e, s: [], '127.0.0.1', 0)
        self.assertFalse(server.green)
