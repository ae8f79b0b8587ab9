"""The HTTP server nova-api and nova-all run the API in.

Under native threads (``OS_NOVA_DISABLE_EVENTLET_PATCHING=1``):
**waitress**, a maintained, pure-Python WSGI server: HTTP/1.1 with
keep-alive, chunked request bodies, many connections served by one I/O
loop, and a fixed pool of worker threads that only ever receive complete
requests (it buffers each request before handing it on), so a client that
sends slowly cannot tie a worker up.

Under eventlet (the default): **eventlet.wsgi**, through the concurrency
seam (:class:`nova.concurrency.GreenWSGIServer`), as upstream nova served
its API for as long as it ran on eventlet: a green thread per connection,
keep-alive and chunked bodies.  waitress is not used green: its workers
wake its I/O loop through one pipe, and eventlet refuses two green
threads waiting to write one file descriptor, which a hundred concurrent
clients bring about.

Options (upstream nova's names where it has them):
``[DEFAULT] osapi_compute_listen`` / ``osapi_compute_listen_port``: the
address; ``[DEFAULT] osapi_compute_workers``: waitress's worker threads;
``[wsgi] default_pool_size``: eventlet's green threads (connections
served at once); ``[wsgi] client_socket_timeout``: how long a connection
may stay silent, mid-request or between kept-alive requests, before it is
closed; ``[wsgi] keep_alive``: honoured by eventlet.wsgi, ignored (logged)
by waitress, which keeps HTTP/1.1 connections open as the client asks.
"""

from __future__ import annotations

import logging
from typing import Any

import waitress

from nova import concurrency

LOG = logging.getLogger(__name__)


class APIServer:
    """Serves a WSGI app on (host, port); ``start`` returns at once."""

    binary = 'nova-api'

    def __init__(self, app: Any, host: str = '0.0.0.0', port: int = 8774,
                 port_file: str | None = None, *, keep_alive: bool = True,
                 client_socket_timeout: int = 900, workers: int = 16,
                 pool_size: int = 1000) -> None:
        self.app = app
        self.green = concurrency.is_green()
        self.keep_alive = keep_alive
        self.pool_size = pool_size
        self._green_server: Any = None
        if not keep_alive and not self.green:
            LOG.warning('[wsgi] keep_alive = false is ignored: waitress '
                        'keeps HTTP/1.1 connections open until the client '
                        'closes them or they are silent for [wsgi] '
                        'client_socket_timeout seconds')
        self.host = host
        self.requested_port = port
        self.port_file = port_file
        self.client_socket_timeout = client_socket_timeout
        self.workers = workers
        self._server: Any = None
        self._handle: Any = None
        # waitress's socket map (create_server's public ``map``
        # argument): the listener and every open connection.
        self._map: dict[Any, Any] = {}

    @property
    def port(self) -> int:
        """The port actually bound (differs from the requested one when
        that was 0)."""
        if self._green_server is not None:
            return int(self._green_server.port)
        if self._server is None:
            return self.requested_port
        return int(self._server.effective_port)

    def start(self) -> None:
        if self.green:
            self._green_server = concurrency.GreenWSGIServer(
                self.app, self.host, self.requested_port,
                max_connections=self.pool_size, keep_alive=self.keep_alive,
                socket_timeout=self.client_socket_timeout or None)
            self._listening()
            return
        self._map = {}
        self._server = waitress.create_server(
            self.app, map=self._map, host=self.host, port=self.requested_port,
            threads=self.workers,
            channel_timeout=self.client_socket_timeout,
            # Silent connections are looked for this often.
            cleanup_interval=max(1, min(30, self.client_socket_timeout)),
            # A burst of clients (parallel boots) is queued, not refused.
            backlog=1024,
            # No "waitress" (or Python version) in the Server header.
            ident='nova-api',
            # Errors are the API's to report (faultwrap), never a
            # traceback in a response.
            expose_tracebacks=False,
            # Logged by nova's request log, not printed by waitress.
            log_socket_errors=False)
        self._listening()
        self._handle = concurrency.spawn(self._run)

    def _listening(self) -> None:
        LOG.info('nova-api listening on http://%s:%d/', self.host,
                 self.port)
        if self.port_file:
            with open(self.port_file, 'w') as f:
                f.write(f'{self.port}\n')

    def _run(self) -> None:
        try:
            self._server.run()
        except OSError:
            # close() from stop() while the loop was in select().
            pass

    def stop(self) -> None:
        """Stop listening, close every connection (kept-alive ones
        included) and the worker threads; the I/O loop then ends."""
        if self._green_server is not None:
            self._green_server.stop()
        if self._server is not None:
            server, self._server = self._server, None
            server.close()
            for channel in list(self._map.values()):
                channel.close()
            server.task_dispatcher.shutdown()

    def wait(self) -> None:
        if self._green_server is not None:
            self._green_server.wait()
        if self._handle is not None:
            self._handle.wait()
