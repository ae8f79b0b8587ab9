"""Middleware of the API pipeline (see etc/nova/api-paste.ini).

Order matters and is set by the paste file: the request ID comes first so
that every later log line and error carries it, the fault wrapper next so
that nothing below it can answer with a traceback, then the body size
limit, authentication, and the router.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

import webob
import webob.dec
import webob.exc

import nova.conf
from nova.api.openstack import wsgi

LOG = logging.getLogger(__name__)
CONF = nova.conf.CONF

#: Where the request's ID is kept (the name oslo.middleware and
#: oslo.context use).
ENV_REQUEST_ID = 'openstack.request_id'
#: Where a caller's valid X-OpenStack-Request-ID is kept.
ENV_GLOBAL_REQUEST_ID = 'openstack.global_request_id'
REQUEST_ID_HEADER = 'x-openstack-request-id'
# Kept for clients that read the pre-2.46 header name.
COMPUTE_REQUEST_ID_HEADER = 'x-compute-request-id'
_INBOUND_REQUEST_ID = 'HTTP_X_OPENSTACK_REQUEST_ID'
_REQUEST_ID_FORMAT = re.compile(
    r'req-[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}')


class Middleware:
    """Base: wraps ``application``; paste builds it with ``factory``."""

    def __init__(self, application: Callable[..., Any]) -> None:
        self.application = application

    @classmethod
    def factory(cls, global_config: dict[str, Any],
                **local_config: Any) -> Callable[[Any], Middleware]:
        def _factory(app: Callable[..., Any]) -> Middleware:
            return cls(app)
        return _factory


class ComputeRequestId(Middleware):
    """Gives each request an ID (``req-<uuid>``), in the environ for every
    later layer and log line, and in the response as
    X-OpenStack-Request-ID and the legacy X-Compute-Request-ID (unless
    the application set them).  A caller's own X-OpenStack-Request-ID, if
    well formed, is kept as the global request ID.

    What oslo.middleware's RequestId does, as plain WSGI: that one wraps
    every request and response in webob objects, and importing it
    imports every oslo.middleware module (jinja2 and bcrypt among them)
    into each API process.
    """

    _headers = (REQUEST_ID_HEADER, COMPUTE_REQUEST_ID_HEADER)

    def __call__(self, environ: dict[str, Any],
                 start_response: Callable[..., Any]) -> Any:
        request_id = f'req-{uuid.uuid4()}'
        environ[ENV_REQUEST_ID] = request_id
        inbound = environ.get(_INBOUND_REQUEST_ID, '')
        if inbound and _REQUEST_ID_FORMAT.fullmatch(inbound):
            environ[ENV_GLOBAL_REQUEST_ID] = inbound

        def start_with_ids(status: str, headers: list[tuple[str, str]],
                           exc_info: Any = None) -> Any:
            present = {name.lower() for name, _value in headers}
            headers = list(headers) + [(name, request_id)
                                       for name in self._headers
                                       if name not in present]
            return start_response(status, headers, exc_info)

        return self.application(environ, start_with_ids)


class FaultWrapper(Middleware):
    """The last net: any exception below becomes an upstream error body."""

    # Plain WSGI on the way through (no webob request and response per
    # layer: they were a tenth of the API's CPU per request); webob only
    # to build an error.  The applications below answer with complete
    # bodies, so an exception can only come from the call itself.
    def __call__(self, environ: dict[str, Any],
                 start_response: Callable[..., Any]) -> Any:
        try:
            return self.application(environ, start_response)
        except Exception as exc:
            req = wsgi.Request(environ)
            return wsgi.exception_to_response(req, exc)(environ,
                                                        start_response)


class RequestBodySizeLimiter(Middleware):
    """413 ``overLimit`` for bodies over ``[api] max_request_body_size``.

    Checks Content-Length first and, for chunked bodies, reads at most one
    byte past the limit, so a huge body is never held in memory.
    """

    def __call__(self, environ: dict[str, Any],
                 start_response: Callable[..., Any]) -> Any:
        length = environ.get('CONTENT_LENGTH')
        if length and length.isdigit() and \
                int(length) <= CONF.api.max_request_body_size:
            return self.application(environ, start_response)
        if not length and not any(key in environ for key in (
                'HTTP_TRANSFER_ENCODING', 'wsgi.input_terminated',
                'webob.is_body_readable')):
            # No body at all (GET, DELETE ...).
            return self.application(environ, start_response)
        return self._limited(environ, start_response)

    @webob.dec.wsgify(RequestClass=wsgi.Request)
    def _limited(self, req: wsgi.Request) -> Any:
        limit = CONF.api.max_request_body_size
        too_large = wsgi.fault_response(
            req, 413, f'Request is too large: the body limit is {limit} '
                      f'bytes.')
        if req.content_length is not None and req.content_length > limit:
            return too_large
        if req.content_length is None and req.is_body_readable:
            data = req.body_file.read(limit + 1)
            if len(data) > limit:
                return too_large
            req.body = data
        return req.get_response(self.application)


class RequestLog(Middleware):
    """One log line per request: method, path, status, microversion, time.
    """

    def __call__(self, environ: dict[str, Any],
                 start_response: Callable[..., Any]) -> Any:
        if not CONF.wsgi.log_requests:
            return self.application(environ, start_response)
        start = time.monotonic()
        answered: list[tuple[str, list[tuple[str, str]]]] = []

        def start_and_remember(status: str, headers: list[tuple[str, str]],
                               exc_info: Any = None) -> Any:
            answered.append((status, headers))
            return start_response(status, headers, exc_info)

        body = self.application(environ, start_and_remember)
        status, headers = answered[-1] if answered else ('-', [])
        length = next((value for name, value in headers
                       if name.lower() == 'content-length'), None)
        req = webob.Request(environ)
        LOG.info('%s "%s %s" status: %s len: %s microversion: %s '
                 'time: %.4f', req.remote_addr, req.method, req.path_qs,
                 status.split(' ', 1)[0], length,
                 environ.get('nova.api_version', '-'),
                 time.monotonic() - start)
        return body
