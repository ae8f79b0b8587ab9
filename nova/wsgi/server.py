"""The HTTP server nova-api and nova-all run the API in: waitress.

waitress is a maintained, pure-Python WSGI server: HTTP/1.1 with
keep-alive, chunked request bodies, many connections served by one
I/O loop, and a fixed pool of worker threads that only ever receive
complete requests (it buffers each request before handing it on), so a
client that sends slowly cannot tie a worker up.  Under eventlet
(nova's default concurrency mode) its threads and its ``select`` loop
are green, as monkey-patching made them; under native threads they are
native.

Options (upstream nova's names where it has them):
``[DEFAULT] osapi_compute_listen`` / ``osapi_compute_listen_port``: the
address; ``[DEFAULT] osapi_compute_workers``: worker threads;
``[wsgi] client_socket_timeout``: how long a connection may stay silent,
mid-request or between kept-alive requests, before it is closed;
``[wsgi] keep_alive`` is ignored (logged): waitress keeps HTTP/1.1
connections open as the client asks.
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
                 ) -> None:
        self.app = app
        if not keep_alive:
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
        if self._server is None:
            return self.requested_port
        return int(self._server.effective_port)

    def start(self) -> None:
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
        LOG.info('nova-api listening on http://%s:%d/', self.host,
                 self.port)
        if self.port_file:
            with open(self.port_file, 'w') as f:
                f.write(f'{self.port}\n')
        self._handle = concurrency.spawn(self._run)

    def _run(self) -> None:
        try:
            self._server.run()
        except OSError:
            # close() from stop() while the loop was in select().
            pass

    def stop(self) -> None:
        """Stop listening, close every connection (kept-alive ones
        included) and the worker threads; the I/O loop then ends."""
        if self._server is not None:
            server, self._server = self._server, None
            server.close()
            for channel in list(self._map.values()):
                channel.close()
            server.task_dispatcher.shutdown()

    def wait(self) -> None:
        if self._handle is not None:
            self._handle.wait()
