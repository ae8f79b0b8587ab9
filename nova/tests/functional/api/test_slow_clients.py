"""Slow clients cannot stop nova-api.

A probe found that 17 connections which send their headers and never
their body stopped the whole API (16 workers, no body-read timeout).
Here a real nova-api process, in each concurrency mode, with two
workers (and, under eventlet, two green threads: ``[wsgi]
default_pool_size``), gets more slow connections than that: some send a
request's headers and never its body, one sends nothing at all.  A
request from another client must still be answered at once, and the
slow connections must be closed by the server once silent for ``[wsgi]
client_socket_timeout`` seconds (upstream nova's option).
"""

from __future__ import annotations

import json
import socket
import time
import urllib.request

import testscenarios

from nova import test
from nova.tests.functional import multiprocess

load_tests = testscenarios.load_tests_apply_scenarios

WORKERS = 2
#: More slow connections than workers (and green threads).
SLOW = 2 * WORKERS + 1
CLIENT_SOCKET_TIMEOUT = 1
#: What "at once" means for the other client's request: before the
#: server drops any slow connection.
ANSWER_WITHIN = 0.8


class SlowClientsTest(test.TestCase):

    scenarios = [('eventlet', {'mode': 'eventlet'}),
                 ('threading', {'mode': 'threading'})]
    mode: str

    def setUp(self) -> None:
        super().setUp()
        # No RabbitMQ virtual host of its own: nothing here casts.
        cloud = self.useFixture(multiprocess.ProcessCloud(
            self, 'sqlite', concurrency=self.mode,
            transport_url=multiprocess.RABBIT_URL))
        with socket.socket() as sock:
            sock.bind(('127.0.0.1', 0))
            self.port = sock.getsockname()[1]
        cloud.start('nova-api', 'api1', options={
            'DEFAULT': {'osapi_compute_listen': '127.0.0.1',
                        'osapi_compute_listen_port': str(self.port),
                        'osapi_compute_workers': str(WORKERS)},
            'wsgi': {'default_pool_size': str(WORKERS),
                     'client_socket_timeout': str(CLIENT_SOCKET_TIMEOUT)},
            'api': {'auth_strategy': 'noauth2'}})

    def connect(self) -> socket.socket:
        sock = socket.create_connection(('127.0.0.1', self.port),
                                        timeout=30)
        self.addCleanup(sock.close)
        return sock

    def headers_without_body(self) -> socket.socket:
        sock = self.connect()
        sock.sendall(b'POST /v2.1/os-keypairs HTTP/1.1\r\n'
                     b'Host: x\r\nX-Auth-Token: admin:admin\r\n'
                     b'Content-Type: application/json\r\n'
                     b'Content-Length: 100\r\n\r\n')
        return sock

    def flavors(self) -> tuple[int, dict]:
        request = urllib.request.Request(
            f'http://127.0.0.1:{self.port}/v2.1/flavors',
            headers={'X-Auth-Token': 'admin:admin'})
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.load(response)

    @staticmethod
    def closed_by_server(sock: socket.socket) -> bytes:
        """What the server sent on ``sock`` before it closed it; waits at
        most the socket's timeout (a client-side timeout fails)."""
        data = b''
        try:
            while chunk := sock.recv(65536):
                data += chunk
        except ConnectionResetError:
            pass
        return data

    def test_other_clients_are_answered_and_slow_ones_closed(self):
        self.flavors()  # the API answers at all
        silent = self.connect()
        slow = [self.headers_without_body() for _ in range(SLOW)]
        started = time.monotonic()
        status, body = self.flavors()
        answered = time.monotonic() - started
        self.assertEqual(200, status)
        self.assertIn('flavors', body)
        self.assertLess(answered, ANSWER_WITHIN,
                        f'answered after {answered:.1f}s with {SLOW} '
                        f'slow connections open')
        # Each slow connection is closed once silent for the timeout
        # (the client itself would wait 30 s).
        self.assertEqual(b'', self.closed_by_server(silent))
        for sock in slow:
            # Closed, with at most a 408 (never a 500: the body that did
            # not come is the client's doing).
            reply = self.closed_by_server(sock)
            self.assertTrue(reply == b'' or
                            reply.startswith(b'HTTP/1.1 408 '), reply)
        closed = time.monotonic() - started
        self.assertLess(closed, CLIENT_SOCKET_TIMEOUT + 10,
                        f'slow connections closed after {closed:.1f}s')
        # And the API still answers.
        self.assertEqual(200, self.flavors()[0])
