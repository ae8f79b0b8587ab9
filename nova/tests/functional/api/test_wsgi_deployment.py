"""The API as an operator deploys it under an external WSGI server:
``nova.wsgi.osapi_compute:application`` loaded by waitress-serve (the
same module uWSGI, mod_wsgi or gunicorn load; README, "Deploying the
API under a WSGI server")."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request

import fixtures

from nova import test
from nova.tests.fixtures import concurrency as concurrency_fixture
from nova.tests.fixtures import database
from nova.tests.functional import fixtures as func_fixtures

BIN = os.path.dirname(sys.executable)
TOKEN = 'admin:admin'


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


class TestWSGIDeployment(test.TestCase):

    def setUp(self):
        super().setUp()
        state = self.useFixture(fixtures.TempDir()).path
        db = self.useFixture(database.Database())
        with open(os.path.join(state, 'nova.conf'), 'w') as f:
            f.write(f'[DEFAULT]\nstate_path = {state}\n'
                    f'log_file = {state}/nova.log\n'
                    f'[database]\nconnection = {db.url}\n'
                    '[api]\nauth_strategy = noauth2\n')
        self.port = _free_port()
        env = concurrency_fixture.python_env(
            None, OS_NOVA_CONFIG_DIR=state, OS_NOVA_CONFIG_FILES='nova.conf')
        log = open(os.path.join(state, 'server.out'), 'wb')
        self.addCleanup(log.close)
        self.process = subprocess.Popen(
            [os.path.join(BIN, 'waitress-serve'),
             f'--listen=127.0.0.1:{self.port}',
             'nova.wsgi.osapi_compute:application'],
            stdout=log, stderr=subprocess.STDOUT, env=env)
        self.addCleanup(self._stop)
        self.out = os.path.join(state, 'server.out')
        func_fixtures.wait_for(self._listening, 60, 'waitress-serve')

    def _stop(self):
        self.process.terminate()
        self.process.wait(10)

    def _listening(self) -> bool:
        if self.process.poll() is not None:
            with open(self.out) as f:
                raise AssertionError(f'waitress-serve exited: {f.read()}')
        try:
            socket.create_connection(('127.0.0.1', self.port), 1).close()
            return True
        except OSError:
            return False

    def get(self, path, token=None):
        request = urllib.request.Request(
            f'http://127.0.0.1:{self.port}{path}',
            headers={'X-Auth-Token': token} if token else {})
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.load(response)

    def test_version_document_needs_no_token(self):
        status, body = self.get('/')
        self.assertEqual(200, status)
        self.assertEqual('v2.1', body['versions'][0]['id'])

    def test_authenticated_request_reads_the_database(self):
        status, body = self.get('/v2.1/flavors', TOKEN)
        self.assertEqual(200, status)
        self.assertIsInstance(body['flavors'], list)

    def test_request_without_token_is_refused(self):
        error = self.assertRaises(urllib.error.HTTPError, self.get,
                                  '/v2.1/flavors')
        self.assertEqual(401, error.code)

    def test_one_mebibyte_body_is_refused_with_413(self):
        request = urllib.request.Request(
            f'http://127.0.0.1:{self.port}/v2.1/servers', method='POST',
            data=b'{"server": {"name": "' + b'x' * (1 << 20) + b'"}}',
            headers={'X-Auth-Token': TOKEN, 'Accept': 'application/json',
                     'Content-Type': 'application/json'})
        error = self.assertRaises(urllib.error.HTTPError,
                                  urllib.request.urlopen, request,
                                  timeout=30)
        self.assertEqual(413, error.code)
        self.assertIn('message', json.load(error))

    def test_healthcheck(self):
        with urllib.request.urlopen(
                f'http://127.0.0.1:{self.port}/healthcheck',
                timeout=30) as response:
            self.assertEqual((200, b'OK'), (response.status,
                                            response.read()))
