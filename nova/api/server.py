"""The HTTP/1.1 server nova-api (and nova-all) runs the API in.

Built on the standard library (``socketserver`` and ``wsgiref``), one
thread per connection: in eventlet mode ``nova.concurrency.setup()`` has
monkey-patched ``socket`` and ``threading`` before this module is
imported, so each connection is served on a green thread; in threading
mode on a native one.

Why not plain ``wsgiref.simple_server``: it answers one request per
connection.  OpenStack clients (keystoneauth sessions, openstacksdk,
novaclient) keep their connections open between requests, as upstream
nova-api's eventlet server let them; closing after each response made
every request pay for a new TCP connection and a new thread.  So this
server keeps a connection open while the client wants it (HTTP/1.1
keep-alive), as long as each response has a known length and the request
body was read or skipped, and closes it after ``[wsgi]
client_socket_timeout`` seconds of silence.

``[wsgi] workers`` bounds the requests the API works on at once: more
connections than that may be open, their requests wait for a turn.  Under
native threads this is what keeps dozens of clients from having dozens of
threads compete for the interpreter lock at once.

Request bodies need a Content-Length (what OpenStack clients send); a
chunked request body is refused with 411, as upstream's server did not
read it either.
"""

from __future__ import annotations

import logging
import socket
import socketserver
from typing import Any
from wsgiref import simple_server

from nova import concurrency

LOG = logging.getLogger(__name__)

#: Longest request line or header line accepted (upstream nova's
#: ``[wsgi] max_header_line`` default); longer ones get 414/431.
MAX_LINE = 16384

#: Bytes read at a time when skipping what an app left of a request body.
_DRAIN_CHUNK = 65536


class _RequestBody:
    """``wsgi.input``: the request's body and not a byte more.

    An app that reads to the end of its input must not block on, or eat,
    the next request of a kept-alive connection; and whatever an app left
    unread has to be skipped before that next request is parsed.
    """

    def __init__(self, stream: Any, length: int) -> None:
        self._stream = stream
        self.remaining = length

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0 or size > self.remaining:
            size = self.remaining
        if size == 0:
            return b''
        data = self._stream.read(size)
        self.remaining -= len(data)
        if len(data) < size:
            # The client went away in the middle of its body.
            self.remaining = 0
        return data

    def readline(self, size: int | None = -1) -> bytes:
        if size is None or size < 0 or size > self.remaining:
            size = self.remaining
        if size == 0:
            return b''
        data = self._stream.readline(size)
        self.remaining -= len(data)
        if not data:
            self.remaining = 0
        return data

    def readlines(self, hint: int = -1) -> list[bytes]:
        lines = []
        total = 0
        while line := self.readline():
            lines.append(line)
            total += len(line)
            if 0 < hint <= total:
                break
        return lines

    def __iter__(self) -> Any:
        return iter(self.readline, b'')

    def skip_rest(self) -> bool:
        """Read and drop what is left; False if the client went away."""
        while self.remaining:
            data = self._stream.read(min(self.remaining, _DRAIN_CHUNK))
            if not data:
                self.remaining = 0
                return False
            self.remaining -= len(data)
        return True


class _ResponseWriter(simple_server.ServerHandler):
    """wsgiref's server side of one request, speaking the request's HTTP
    version and saying when the connection closes after it."""

    #: Set by the request handler before ``run``.
    closing = False

    # wsgiref starts each request's environ from a copy of this process's
    # environment.  The API needs none of it, and the process's variables
    # (credentials among them, in some deployments) do not belong in
    # every request's environ, where a debug dump of it would log them.
    os_environ: dict[str, str] = {}

    def cleanup_headers(self) -> None:
        super().cleanup_headers()
        if 'Content-Length' not in self.headers:
            # The client can only tell where this body ends by the close.
            self.closing = True
        if self.closing and self.http_version == '1.1':
            self.headers['Connection'] = 'close'

    def handle_error(self) -> None:
        # After the headers went out, a half-sent body can only be ended
        # by closing; before, the 500 that follows is complete either way.
        self.closing = True
        super().handle_error()


class _Handler(simple_server.WSGIRequestHandler):
    """Serves the requests of one connection, one after the other."""

    protocol_version = 'HTTP/1.1'
    # Buffered: status line, headers and a small body leave in one send
    # (wsgiref writes them separately and flushes after the body).
    wbufsize = -1

    server: _Server

    def setup(self) -> None:
        self.timeout = self.server.client_socket_timeout or None
        super().setup()
        self.server.track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.untrack(self.connection)

    def handle(self) -> None:
        self.close_connection = True
        self._handle_one()
        while not self.close_connection:
            self._handle_one()

    def _handle_one(self) -> None:
        try:
            self.raw_requestline = self.rfile.readline(MAX_LINE + 1)
        except (TimeoutError, ConnectionError):
            # Idle past [wsgi] client_socket_timeout, or gone.
            self.close_connection = True
            return
        if not self.raw_requestline:
            self.close_connection = True
            return
        if len(self.raw_requestline) > MAX_LINE:
            self.requestline = self.request_version = self.command = ''
            self.send_error(414)
            self.close_connection = True
            return
        if not self.parse_request():
            # parse_request answered (400, 431, 505...) and decided.
            return
        if not self.server.keep_alive or self.request_version != 'HTTP/1.1':
            # HTTP/1.0 keep-alive would need a Connection: keep-alive
            # answer; no OpenStack client asks for it.
            self.close_connection = True
        body = self._request_body()
        if body is None:
            self.close_connection = True
            return
        writer = _ResponseWriter(body, self.wfile, self.get_stderr(),
                                 self.get_environ(), multithread=True,
                                 multiprocess=False)
        writer.request_handler = self
        writer.http_version = self.request_version[len('HTTP/'):]
        writer.closing = self.close_connection
        with self.server.workers:
            writer.run(self.server.get_app())
        if writer.closing or not body.skip_rest():
            self.close_connection = True
        try:
            self.wfile.flush()
        except OSError:
            self.close_connection = True

    def _request_body(self) -> _RequestBody | None:
        """The body stream, or None after answering a request whose body
        cannot be delimited."""
        if 'chunked' in self.headers.get('Transfer-Encoding', '').lower():
            self.send_error(411, 'Send the request body with a '
                                 'Content-Length')
            return None
        length_header = self.headers.get('Content-Length')
        try:
            length = int(length_header) if length_header else 0
            if length < 0:
                raise ValueError(length)
        except ValueError:
            self.send_error(400, f'Bad Content-Length: {length_header!r}')
            return None
        return _RequestBody(self.rfile, length)

    def log_message(self, format: str, *args: Any) -> None:
        # RequestLog middleware logs each request with its request ID.
        LOG.debug('%s - %s', self.address_string(), format % args)


class _Server(socketserver.ThreadingMixIn, simple_server.WSGIServer):
    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default backlog is 5: a sixth client connecting while
    # five wait to be accepted is refused or reset.  Clients booting in
    # parallel easily do that; listen as deep as the kernel allows.
    request_queue_size = socket.SOMAXCONN

    def __init__(self, address: tuple[str, int], keep_alive: bool,
                 client_socket_timeout: int, workers: int) -> None:
        self.keep_alive = keep_alive
        self.client_socket_timeout = client_socket_timeout
        self.workers = concurrency.Semaphore(workers)
        self._connections: set[socket.socket] = set()
        self._connections_lock = concurrency.Lock()
        super().__init__(address, _Handler)

    def track(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.add(connection)

    def untrack(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.discard(connection)

    def close_connections(self) -> None:
        """Wake every connection's thread: a kept-alive connection would
        otherwise hold its thread until the client or the timeout ends it.
        """
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class APIServer:
    """Serves a WSGI app on (host, port); ``start`` returns at once."""

    binary = 'nova-api'

    def __init__(self, app: Any, host: str = '0.0.0.0', port: int = 8774,
                 port_file: str | None = None, *, keep_alive: bool = True,
                 client_socket_timeout: int = 900, workers: int = 16,
                 ) -> None:
        self.app = app
        self.host = host
        self.requested_port = port
        self.port_file = port_file
        self.keep_alive = keep_alive
        self.client_socket_timeout = client_socket_timeout
        self.workers = workers
        self._server: _Server | None = None
        self._handle: Any = None

    @property
    def port(self) -> int:
        """The port actually bound (differs from the requested one when
        that was 0)."""
        if self._server is None:
            return self.requested_port
        return self._server.server_address[1]

    def start(self) -> None:
        self._server = _Server((self.host, self.requested_port),
                               self.keep_alive, self.client_socket_timeout,
                               self.workers)
        self._server.set_app(self.app)
        LOG.info('nova-api listening on http://%s:%d/', self.host,
                 self.port)
        if self.port_file:
            with open(self.port_file, 'w') as f:
                f.write(f'{self.port}\n')
        self._handle = concurrency.spawn(self._server.serve_forever, 0.5)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server.close_connections()
            self._server = None

    def wait(self) -> None:
        if self._handle is not None:
            self._handle.wait()
