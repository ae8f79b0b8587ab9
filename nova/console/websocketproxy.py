"""The console proxy of nova-novncproxy: websockets to console servers.

A browser (noVNC) opens a websocket to the proxy with the token of its
console URL; the proxy checks the token, connects to the console server
(a guest's VNC server on its compute host) the token names and relays
bytes both ways.  Built on websockify's public request handler and its
threading server (``websockify.websocketproxy``); the HTTP side serves the
noVNC client's files (``[DEFAULT] web``).

The checks, before the websocket is accepted (a refused request gets
``403 Forbidden`` and no websocket; nothing is connected to):

* a token, from the ``token`` query parameter, from the query of the
  ``path`` parameter (the console URL's form, for a client that opens
  the page's own URL) or from a ``token`` cookie (older noVNC);
* the token is stored and has not expired
  (:func:`nova.console.auth_tokens.validate`);
* the page's ``Origin``, when the browser sends one, is the host the
  proxy was reached by (or one of ``[console] allowed_origins``), with
  the scheme of the console URL: another site's page cannot use a token;
* the instance still exists and its host's nova-compute says the token's
  port is still its console's (``validate_console_port``): a token
  outlives a guest that moved, was restarted elsewhere or was deleted.

Tokens never reach the logs: every message of the handler goes through
:meth:`NovaProxyRequestHandler.log_message`, which masks them.
"""

from __future__ import annotations

import contextlib
import http.cookies
import os
import re
import socket
import urllib.parse
from typing import Any

from oslo_log import log as logging
from websockify import websocketproxy, websockifyserver

import nova.conf
from nova import concurrency, exception
from nova import context as nova_context
from nova.console import auth_tokens
from nova.db import api as db

LOG = logging.getLogger(__name__)
CONF = nova.conf.CONF

#: A token in a logged request line or URL, plain or URL-encoded.
_TOKEN_RE = re.compile(r'(token(?:=|%3D|%3d))[^&\s\'"]*')


def mask_tokens(text: str) -> str:
    return _TOKEN_RE.sub(r'\1***', text)


def token_from_request(path: str, cookie_header: str | None) -> str | None:
    """The console token of a websocket request (see the module doc)."""
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)
    token = (query.get('token') or [''])[0]
    if not token and query.get('path'):
        inner = urllib.parse.urlsplit(query['path'][0]).query
        token = (urllib.parse.parse_qs(inner).get('token') or [''])[0]
    if not token and cookie_header:
        cookie: http.cookies.SimpleCookie = http.cookies.SimpleCookie()
        try:
            cookie.load(cookie_header)
        except http.cookies.CookieError:
            # Never log a cookie's content: it may hold a token.
            LOG.warning('Ignored a malformed cookie')
        else:
            if 'token' in cookie:
                token = cookie['token'].value
    return token or None


class ConsoleRefused(Exception):
    """Why a console request is refused (never containing the token)."""


class NovaProxyRequestHandler(websocketproxy.ProxyRequestHandler):
    """One client connection of the proxy (a thread of the server)."""

    server: NovaWebSocketProxy

    def log_message(self, format: str, *args: Any) -> None:
        # Request lines and websockify's "Path: ..." carry the token.
        LOG.info('%s', mask_tokens(format % args))

    def translate_path(self, path: str) -> str:
        # The noVNC files, from [DEFAULT] web (not the process's cwd).
        self.directory = self.server.web
        return super().translate_path(path)

    def handle_upgrade(self) -> None:
        try:
            self.connect_info = self._authorize()
        except ConsoleRefused as exc:
            LOG.info('Refused a console connection from %s: %s',
                     self.client_address[0], exc)
            self.send_error(403, str(exc))
            return
        super().handle_upgrade()

    def _authorize(self) -> dict[str, Any]:
        token = token_from_request(self.path, self.headers.get('cookie'))
        if not token:
            raise ConsoleRefused('no console token in the request')
        ctx = nova_context.get_admin_context()
        try:
            connect_info = auth_tokens.validate(ctx, token)
        except exception.InvalidToken as exc:
            raise ConsoleRefused(str(exc)) from None
        self._check_origin(connect_info)
        self._check_console(ctx, connect_info)
        return connect_info

    def _check_origin(self, connect_info: dict[str, Any]) -> None:
        origin = self.headers.get('origin')
        if not origin:
            return  # not a browser: nothing for another site to abuse
        parsed = urllib.parse.urlsplit(origin)
        expected = urllib.parse.urlsplit(
            'http://' + (self.headers.get('host') or '')).hostname
        allowed = {name.lower() for name in CONF.console.allowed_origins}
        if expected:
            allowed.add(expected.lower())
        if not parsed.hostname or parsed.hostname.lower() not in allowed:
            raise ConsoleRefused(f'origin {parsed.hostname} is not allowed')
        scheme = urllib.parse.urlsplit(
            connect_info.get('access_url_base') or '').scheme
        if scheme and parsed.scheme != scheme:
            raise ConsoleRefused(f'origin scheme {parsed.scheme} does not '
                                 f'match the console URL\'s ({scheme})')

    def _check_console(self, ctx: Any, connect_info: dict[str, Any]) -> None:
        """The token's console is still its instance's, on its host."""
        uuid = connect_info['instance_uuid']
        try:
            instance = db.instance_get_by_uuid(ctx, uuid)
        except exception.InstanceNotFound:
            raise ConsoleRefused(f'instance {uuid} no longer '
                                 f'exists') from None
        if not instance.get('host'):
            raise ConsoleRefused(f'instance {uuid} has no host')
        try:
            valid = self.server.compute_rpcapi.validate_console_port(
                ctx, instance, str(connect_info['port']),
                connect_info['console_type'])
        except Exception as exc:
            raise ConsoleRefused(
                f'the console of instance {uuid} could not be checked on '
                f'{instance["host"]}: {type(exc).__name__}') from None
        if not valid:
            raise ConsoleRefused(f'the console of instance {uuid} is no '
                                 f'longer at the token\'s port')

    def new_websocket_client(self) -> None:
        host, port = self.connect_info['host'], self.connect_info['port']
        uuid = self.connect_info['instance_uuid']
        try:
            target = websockifyserver.WebSockifyServer.socket(
                host, port, connect=True)
        except OSError as exc:
            LOG.warning('Cannot connect to the console of %s at %s:%s: %s',
                        uuid, host, port, exc)
            raise self.CClose(1011, 'Failed to connect to the console '
                                    'server') from None
        LOG.info('%s: console of instance %s at %s:%s opened',
                 self.client_address[0], uuid, host, port)
        target.setsockopt(socket.SOL_TCP, socket.TCP_NODELAY, 1)
        try:
            self.do_proxy(target)
        finally:
            with contextlib.suppress(OSError):
                target.shutdown(socket.SHUT_RDWR)
            target.close()
            LOG.info('%s: console of instance %s closed',
                     self.client_address[0], uuid)


class NovaWebSocketProxy(websocketproxy.LibProxyServer):
    """The proxy's server: a thread per connection (green threads under
    eventlet), websockify's handler configuration as attributes."""

    daemon_threads = True

    def __init__(self, host: str, port: int, web: str | None = None,
                 compute_rpcapi: Any = None) -> None:
        super().__init__(RequestHandlerClass=NovaProxyRequestHandler,
                         listen_host=host, listen_port=port)
        if compute_rpcapi is None:
            from nova.compute import rpcapi
            compute_rpcapi = rpcapi.ComputeAPI()
        self.compute_rpcapi = compute_rpcapi
        self.web = web if web and os.path.isdir(web) else None
        # Files only: no directory listings; without noVNC's files, only
        # websocket requests (websockify's handler reads these).
        self.file_only = True
        self.only_upgrade = self.web is None

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def handle_error(self, request: Any, client_address: Any) -> None:
        LOG.exception('Error serving the console client %s',
                      client_address[0] if client_address else '?')


class NoVNCProxyService:
    """nova-novncproxy as a service of nova.cmd.common.serve."""

    binary = 'nova-novncproxy'

    def __init__(self, host: str | None = None,
                 port: int | None = None) -> None:
        self.host = CONF.vnc.novncproxy_host if host is None else host
        self.listen_port = (CONF.vnc.novncproxy_port if port is None
                            else port)
        self.server: NovaWebSocketProxy | None = None
        self._thread: concurrency.Handle | None = None

    @property
    def port(self) -> int:
        assert self.server is not None
        return self.server.port

    def start(self) -> None:
        self.server = NovaWebSocketProxy(self.host, self.listen_port,
                                         web=CONF.web)
        self._thread = concurrency.spawn(self.server.serve_forever)
        LOG.info('nova-novncproxy listening on %s:%s (noVNC files: %s)',
                 self.host, self.port, self.server.web or 'none')

    def stop(self) -> None:
        if self.server is None:
            return
        self.server.shutdown()
        if self._thread is not None:
            self._thread.wait()
        self.server.server_close()
        self.server = None
