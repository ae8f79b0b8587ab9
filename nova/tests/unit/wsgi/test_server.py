"""nova-api's HTTP server (waitress): ports, keep-alive, request bodies,
the bound on requests in progress and stopping."""

from __future__ import annotations

import http.client
import json
import os
import socket
import threading
import urllib.request
from collections.abc import Callable
from typing import Any

import fixtures

from nova import test
from nova.wsgi import server as api_server

WAIT = 10


def echo_app(environ: dict[str, Any], start_response: Callable) -> list:
    """Answers with the path, the body it read and its thread."""
    body = environ['wsgi.input'].read()
    start_response('200 OK', [('Content-Type', 'application/json')])
    return [json.dumps({'path': environ['PATH_INFO'],
                        'body': body.decode(),
                        'thread': threading.get_ident()}).encode()]


class ServerTestCase(test.TestCase):

    def serve(self, app: Callable = echo_app, **kwargs: Any
              ) -> api_server.APIServer:
        server = api_server.APIServer(app, '127.0.0.1', 0, **kwargs)
        server.start()
        self.addCleanup(server.stop)
        return server

    def connect(self, server: api_server.APIServer
                ) -> http.client.HTTPConnection:
        conn = http.client.HTTPConnection('127.0.0.1', server.port,
                                          timeout=WAIT)
        self.addCleanup(conn.close)
        return conn

    def raw(self, server: api_server.APIServer) -> socket.socket:
        sock = socket.create_connection(('127.0.0.1', server.port),
                                        timeout=WAIT)
        self.addCleanup(sock.close)
        return sock

    @staticmethod
    def read_until_closed(sock: socket.socket) -> bytes:
        data = b''
        while chunk := sock.recv(65536):
            data += chunk
        return data


class TestListening(ServerTestCase):

    def test_serves_on_a_free_port_and_writes_it(self):
        port_file = os.path.join(
            self.useFixture(fixtures.TempDir()).path, 'port')
        server = self.serve(port_file=port_file)
        self.assertNotEqual(0, server.port)
        with open(port_file) as f:
            self.assertEqual(server.port, int(f.read()))
        with urllib.request.urlopen(
                f'http://127.0.0.1:{server.port}/x', timeout=WAIT) as resp:
            self.assertEqual('/x', json.load(resp)['path'])

    def test_process_environment_stays_out_of_the_wsgi_environ(self):
        seen = {}

        def app(environ, start_response):
            seen.update(environ)
            start_response('204 No Content', [])
            return []
        self.useFixture(fixtures.EnvironmentVariable('PATH', '/usr/bin'))
        server = self.serve(app)
        conn = self.connect(server)
        conn.request('GET', '/x')
        conn.getresponse().read()
        self.assertEqual('/x', seen['PATH_INFO'])
        self.assertNotIn('PATH', seen)

    def test_many_clients_connecting_at_once_are_all_served(self):
        release = threading.Event()

        def app(environ, start_response):
            release.wait(WAIT)
            start_response('200 OK', [('Content-Type', 'text/plain')])
            return [b'ok']
        server = self.serve(app)
        results: list[bytes | BaseException] = []

        def get() -> None:
            try:
                with urllib.request.urlopen(
                        f'http://127.0.0.1:{server.port}/',
                        timeout=2 * WAIT) as r:
                    results.append(r.read())
            except Exception as error:
                results.append(error)
        threads = [threading.Thread(target=get) for _ in range(30)]
        for thread in threads:
            thread.start()
        release.set()
        for thread in threads:
            thread.join(3 * WAIT)
        self.assertEqual([b'ok'] * 30, results)


class TestKeepAlive(ServerTestCase):

    def get(self, conn: http.client.HTTPConnection, path: str,
            **kwargs: Any) -> tuple[http.client.HTTPResponse, Any]:
        conn.request(kwargs.pop('method', 'GET'), path, **kwargs)
        response = conn.getresponse()
        payload = response.read()
        return response, json.loads(payload) if payload else None

    def test_one_connection_serves_several_requests(self):
        conn = self.connect(self.serve())
        first, first_body = self.get(conn, '/a')
        sock = conn.sock
        second, second_body = self.get(conn, '/b')
        self.assertEqual(('HTTP/1.1', 'HTTP/1.1'),
                         (f'HTTP/{first.version / 10}',
                          f'HTTP/{second.version / 10}'))
        self.assertFalse(first.will_close)
        self.assertIs(sock, conn.sock)
        self.assertEqual(['/a', '/b'],
                         [first_body['path'], second_body['path']])

    def test_body_the_app_left_unread_does_not_reach_the_next_request(self):
        def ignores_body(environ, start_response):
            start_response('200 OK', [('Content-Length', '2')])
            return [b'{}']
        conn = self.connect(self.serve(ignores_body))
        response, _ = self.get(conn, '/x', method='POST',
                               body=b'GET /smuggled HTTP/1.1\r\n\r\n')
        self.assertEqual(200, response.status)
        again, _ = self.get(conn, '/y', method='POST', body=b'{}')
        self.assertEqual(200, again.status)
        self.assertFalse(again.will_close)

    def test_reading_the_whole_input_stops_at_the_body(self):
        conn = self.connect(self.serve())
        _, body = self.get(conn, '/x', method='POST', body=b'{"a": 1}')
        self.assertEqual('{"a": 1}', body['body'])
        _, body = self.get(conn, '/y', method='POST', body=b'[]')
        self.assertEqual('[]', body['body'])

    def test_response_without_length_is_sent_chunked(self):
        def streams(environ, start_response):
            start_response('200 OK', [('Content-Type', 'text/plain')])
            yield b'one,'
            yield b'two'
        conn = self.connect(self.serve(streams))
        conn.request('GET', '/')
        response = conn.getresponse()
        self.assertEqual('chunked', response.getheader('Transfer-Encoding'))
        self.assertEqual(b'one,two', response.read())

    def test_client_asking_to_close_is_closed(self):
        sock = self.raw(self.serve())
        sock.sendall(b'GET /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n'
                     b'\r\n')
        reply = self.read_until_closed(sock)
        self.assertTrue(reply.startswith(b'HTTP/1.1 200 '))
        self.assertIn(b'\r\nConnection: close\r\n', reply)

    def test_http_1_0_requests_are_answered_then_closed(self):
        sock = self.raw(self.serve())
        sock.sendall(b'GET /x HTTP/1.0\r\n\r\n')
        reply = self.read_until_closed(sock)
        self.assertTrue(reply.startswith(b'HTTP/1.0 200 '), reply[:40])
        self.assertIn(b'"/x"', reply)

    def test_chunked_request_body_is_read(self):
        conn = self.connect(self.serve())
        conn.putrequest('POST', '/x')
        conn.putheader('Transfer-Encoding', 'chunked')
        conn.endheaders()
        conn.send(b'2\r\n{"\r\n5\r\na": 1\r\n1\r\n}\r\n0\r\n\r\n')
        response = conn.getresponse()
        self.assertEqual(200, response.status)
        self.assertEqual('{"a": 1}', json.loads(response.read())['body'])

    def test_server_header_names_no_python_or_library(self):
        conn = self.connect(self.serve())
        response, _ = self.get(conn, '/x')
        self.assertEqual('nova-api', response.getheader('Server'))

    def test_bad_content_length_is_refused_with_400(self):
        sock = self.raw(self.serve())
        sock.sendall(b'POST /x HTTP/1.1\r\nHost: x\r\n'
                     b'Content-Length: many\r\n\r\n')
        reply = self.read_until_closed(sock)
        self.assertTrue(reply.startswith(b'HTTP/1.1 400 '), reply[:40])
        self.assertIn(b'Content-Length', reply)

    def test_silent_connection_is_closed_after_the_timeout(self):
        sock = self.raw(self.serve(client_socket_timeout=1))
        sock.sendall(b'GET /x HTTP/1.1\r\nHost: x\r\n\r\n')
        reply = self.read_until_closed(sock)
        # Answered, then closed by the server once silent for 1 s (the
        # client's own timeout is WAIT).
        self.assertTrue(reply.startswith(b'HTTP/1.1 200 '))
        self.assertIn(b'"/x"', reply)

    def test_failing_app_gets_a_500_and_the_connection_closed(self):
        def fails(environ, start_response):
            raise RuntimeError('boom')
        self.useFixture(fixtures.FakeLogger())
        sock = self.raw(self.serve(fails))
        sock.sendall(b'GET /x HTTP/1.1\r\nHost: x\r\n\r\n')
        reply = self.read_until_closed(sock)
        self.assertTrue(reply.startswith(b'HTTP/1.1 500 '), reply[:40])

    def test_stop_closes_kept_alive_connections(self):
        server = self.serve()
        conn = self.connect(server)
        self.get(conn, '/x')
        server.stop()
        conn.sock.settimeout(WAIT)
        self.assertEqual(b'', conn.sock.recv(1))


class TestWorkers(ServerTestCase):

    def test_requests_in_progress_are_bounded_by_workers(self):
        lock = threading.Lock()
        state = {'now': 0, 'most': 0}
        arrived = threading.Semaphore(0)
        release = threading.Event()

        def app(environ, start_response):
            with lock:
                state['now'] += 1
                state['most'] = max(state['most'], state['now'])
            arrived.release()
            release.wait(WAIT)
            with lock:
                state['now'] -= 1
            start_response('200 OK', [('Content-Length', '2')])
            return [b'ok']
        server = self.serve(app, workers=2)
        results: list[Any] = []

        def get() -> None:
            conn = http.client.HTTPConnection('127.0.0.1', server.port,
                                              timeout=2 * WAIT)
            try:
                conn.request('GET', '/')
                results.append(conn.getresponse().read())
            except Exception as error:
                results.append(error)
            finally:
                conn.close()
        threads = [threading.Thread(target=get) for _ in range(5)]
        for thread in threads:
            thread.start()
        # Two requests get in; the others wait for a turn.
        self.assertTrue(arrived.acquire(timeout=WAIT))
        self.assertTrue(arrived.acquire(timeout=WAIT))
        self.assertFalse(arrived.acquire(timeout=0.2))
        release.set()
        for thread in threads:
            thread.join(3 * WAIT)
        self.assertEqual([b'ok'] * 5, results)
        self.assertEqual(2, state['most'])
