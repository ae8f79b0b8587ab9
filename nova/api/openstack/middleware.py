"""nova's own middleware of the API pipeline (see etc/nova/api-paste.ini);
the rest is oslo.middleware's (request IDs, body size limit, proxy
headers, CORS, healthcheck).

Order matters and is set by the paste file: the request ID comes first so
that every later log line and error carries it, the fault wrapper next so
that nothing below it can answer with a traceback, then the body size
limit, authentication, and the router.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any
from urllib import parse

import webob
import webob.dec
import webob.exc
from oslo_middleware import request_id

import nova.conf
from nova.api.openstack import wsgi

LOG = logging.getLogger(__name__)
CONF = nova.conf.CONF

#: Where the request's ID is kept (oslo.middleware's RequestId).
ENV_REQUEST_ID = request_id.ENV_REQUEST_ID
#: Where a caller's valid X-OpenStack-Request-ID is kept.
ENV_GLOBAL_REQUEST_ID = request_id.GLOBAL_REQ_ID
# Kept for clients that read the pre-2.46 header name.
COMPUTE_REQUEST_ID_HEADER = 'x-compute-request-id'


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


class ComputeRequestId(request_id.RequestId):
    """oslo.middleware's RequestId, answering also with nova's legacy
    X-Compute-Request-ID header (upstream nova's ``request_id`` filter).

    Each request gets an ID (``req-<uuid>``) in the environ for every
    later layer and log line; a caller's well-formed
    X-OpenStack-Request-ID is kept as the global request ID.
    """

    compat_headers = [COMPUTE_REQUEST_ID_HEADER]


_ERROR_MESSAGES = {
    413: 'Request is too large: the body is longer than [oslo_middleware] '
         'max_request_body_size allows.',
}


class FaultWrapper(Middleware):
    """The last net: any exception below becomes an upstream error body.

    The compute API's (and Cinder's) body; a service API whose upstream
    answers in another form (Glance, Neutron) subclasses this with its
    own ``fault``."""

    def fault(self, code: int, message: str,
              headers: dict[str, str] | None = None) -> Any:
        """The WSGI app answering error ``code`` with ``message``."""
        return wsgi.fault_response(None, code, message, headers)

    def exception_response(self, req: wsgi.Request,
                           exc: BaseException) -> Any:
        """The WSGI app answering for ``exc`` (logged when a 500)."""
        resp = wsgi.exception_to_response(req, exc)
        if type(self).fault is FaultWrapper.fault:
            return resp
        ((_name, fault),) = resp.json.items()
        headers = {k: v for k, v in resp.headers.items()
                   if k.lower() in ('retry-after', 'location', 'allow')}
        return self.fault(resp.status_int, fault['message'], headers)

    # Plain WSGI on the way through (no webob request and response per
    # layer: they were a tenth of the API's CPU per request); webob only
    # to build an error.  The applications below answer with complete
    # bodies, so an exception can only come from the call itself.
    def __call__(self, environ: dict[str, Any],
                 start_response: Callable[..., Any]) -> Any:
        problem = undecodable_part(environ)
        if problem is not None:
            return self.fault(
                400, f'The request {problem} is not valid UTF-8.',
            )(environ, start_response)
        replaced: list[int] = []

        def start_json_errors(status: str, headers: list[tuple[str, str]],
                              exc_info: Any = None) -> Any:
            code = int(status.split(' ', 1)[0])
            content_type = next((value for name, value in headers
                                 if name.lower() == 'content-type'), '')
            if code >= 400 and 'json' not in content_type.lower():
                # A layer that answers in HTML or plain text (the body
                # size limit's 413): re-answered below as upstream's
                # JSON error body.
                replaced.append(code)
                return lambda data: None
            return start_response(status, headers, exc_info)

        try:
            body = self.application(environ, start_json_errors)
            if not replaced:
                return body
            if hasattr(body, 'close'):
                body.close()
            code = replaced[-1]
            return self.fault(
                code, _ERROR_MESSAGES.get(
                    code, webob.exc.status_map.get(code, webob.exc.HTTPError
                                                   ).title),
            )(environ, start_response)
        except Exception as exc:
            req = wsgi.Request(environ)
            return self.exception_response(req, exc)(environ,
                                                     start_response)


def undecodable_part(environ: dict[str, Any]) -> str | None:
    """``'path'`` or ``'query string'`` if that part of the request is not
    UTF-8 once percent-decoded (every later layer decodes it as UTF-8),
    else None."""
    # PEP 3333: PATH_INFO holds the raw bytes as latin-1 characters.
    try:
        environ.get('PATH_INFO', '').encode('latin-1').decode('utf-8')
    except UnicodeError:
        return 'path'
    query = environ.get('QUERY_STRING', '')
    if query:
        try:
            parse.parse_qsl(query.encode('latin-1').decode('utf-8'),
                            keep_blank_values=True, encoding='utf-8',
                            errors='strict')
        except (UnicodeError, ValueError):
            return 'query string'
    return None


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
