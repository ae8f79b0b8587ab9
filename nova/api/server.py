"""The HTTP server nova-api (and nova-all) runs the API in.

A threading WSGI server from the standard library: in eventlet mode
``nova.concurrency.setup()`` has monkey-patched ``socket`` and
``threading`` before this module is imported, so each request runs on a
green thread; in threading mode on a native one.  It reads whole request
bodies with Content-Length (what OpenStack clients send).
"""

from __future__ import annotations

import logging
import socket
import socketserver
from typing import Any
from wsgiref import simple_server

from nova import concurrency

LOG = logging.getLogger(__name__)


class _Handler(simple_server.WSGIRequestHandler):

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


class APIServer:
    """Serves a WSGI app on (host, port); ``start`` returns at once."""

    binary = 'nova-api'

    def __init__(self, app: Any, host: str = '0.0.0.0', port: int = 8774,
                 port_file: str | None = None) -> None:
        self.app = app
        self.host = host
        self.requested_port = port
        self.port_file = port_file
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
        self._server = simple_server.make_server(
            self.host, self.requested_port, self.app, server_class=_Server,
            handler_class=_Handler)
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
            self._server = None

    def wait(self) -> None:
        if self._handle is not None:
            self._handle.wait()
