"""Run by test_green_server in a process of its own: nova-api's server in
an eventlet-patched process, driven by green clients.  Prints one JSON
object with what it saw; anything logged goes to stderr."""

from __future__ import annotations

from nova import concurrency

concurrency.setup()

import http.client  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import socket  # noqa: E402
import sys  # noqa: E402

from nova.wsgi import server as api_server  # noqa: E402

TIMEOUT = 30


def echo_app(environ, start_response):
    body = environ['wsgi.input'].read()
    concurrency.sleep(0.005)  # let the other clients in meanwhile
    start_response('200 OK', [('Content-Type', 'application/octet-stream'),
                              ('Content-Length', str(len(body)))])
    return [body]


def many_clients(port: int, clients: int, requests: int) -> dict:
    answered = []
    errors = []

    def client(i: int) -> None:
        conn = http.client.HTTPConnection('127.0.0.1', port, timeout=TIMEOUT)
        try:
            for j in range(requests):
                body = f'{i}-{j}-'.encode() * 300
                conn.request('POST', '/', body=body)
                response = conn.getresponse()
                if response.status != 200 or response.read() != body:
                    errors.append(f'client {i} request {j}: '
                                  f'{response.status}')
                    return
                answered.append(1)
        except Exception as exc:
            errors.append(f'client {i}: {exc!r}')
        finally:
            conn.close()

    pool = concurrency.Pool(clients)
    for i in range(clients):
        pool.spawn(client, i)
    pool.waitall(TIMEOUT * 2)
    return {'answered': len(answered), 'errors': errors[:5]}


def chunked(port: int) -> str:
    conn = http.client.HTTPConnection('127.0.0.1', port, timeout=TIMEOUT)
    conn.request('POST', '/', body=iter([b'abc', b'def']),
                 encode_chunked=True,
                 headers={'Transfer-Encoding': 'chunked'})
    body = conn.getresponse().read().decode()
    conn.close()
    return body


def closed_after_response(port: int) -> bool:
    """True when the server closed the connection after one response
    although the client asked to keep it open."""
    sock = socket.create_connection(('127.0.0.1', port), timeout=TIMEOUT)
    sock.sendall(b'GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n'
                 b'Content-Length: 0\r\n\r\n')
    data = b''
    while chunk := sock.recv(65536):
        data += chunk
    sock.close()
    return data.startswith(b'HTTP/1.1 200')


def stop_closes_kept_alive(port: int, server: api_server.APIServer) -> bool:
    conn = http.client.HTTPConnection('127.0.0.1', port, timeout=TIMEOUT)
    conn.request('GET', '/')
    conn.getresponse().read()
    server.stop()
    server.wait()
    try:
        # The socket behind the kept-alive connection was closed.
        data = conn.sock.recv(1)
    except OSError:
        data = b''
    return data == b''


def server_errors(port: int) -> dict:
    """What the server answers, by itself, to requests it cannot parse:
    {case: [status line, headers (lower-cased names), body]}."""
    cases = {'bad_request_line': b'GARBAGE\r\n\r\n',
             'bad_http_version': b'GET / HTTP/9.9\r\nHost: x\r\n\r\n'}
    seen = {}
    for name, request in cases.items():
        sock = socket.create_connection(('127.0.0.1', port),
                                        timeout=TIMEOUT)
        sock.sendall(request)
        data = b''
        while chunk := sock.recv(65536):
            data += chunk
        sock.close()
        head, _, body = data.partition(b'\r\n\r\n')
        status, *lines = head.decode('latin-1').split('\r\n')
        headers = dict(line.split(': ', 1) for line in lines)
        seen[name] = [status, {k.lower(): v for k, v in headers.items()},
                      body.decode('latin-1')]
    return seen


def main() -> None:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    clients, requests = int(sys.argv[1]), int(sys.argv[2])
    result: dict = {'green': concurrency.is_green()}
    server = api_server.APIServer(echo_app, '127.0.0.1', 0,
                                  client_socket_timeout=TIMEOUT)
    server.start()
    result['server_is_green'] = server.green
    result['many'] = many_clients(server.port, clients, requests)
    result['chunked'] = chunked(server.port)
    result['server_errors'] = server_errors(server.port)
    result['stopped'] = stop_closes_kept_alive(server.port, server)
    closing = api_server.APIServer(echo_app, '127.0.0.1', 0,
                                   keep_alive=False)
    closing.start()
    result['closed_without_keep_alive'] = closed_after_response(
        closing.port)
    closing.stop()
    print(json.dumps(result))


if __name__ == '__main__':
    main()
