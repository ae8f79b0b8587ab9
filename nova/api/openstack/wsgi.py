"""Request, Resource and faults: how a routed request reaches a controller.

A controller method receives ``(req, **path_args)`` plus ``body`` for
requests that carry one, and returns a dict (serialised as JSON), None (an
empty body) or a :class:`ResponseObject` (to set headers).  Its status code
is 200 unless decorated with :func:`response`.  Server actions
(``POST /servers/{id}/action``) are methods decorated with :func:`action`;
the key of the request body picks the method.

Every error leaves this module as an upstream-shaped JSON body
(``{"itemNotFound": {"code": 404, "message": ...}}``): a NovaException is
mapped by its ``code``, webob HTTP errors keep theirs, and anything else
becomes a 500 ``computeFault`` whose body never carries a traceback.
"""

from __future__ import annotations

import functools
import inspect
import json
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import webob
import webob.dec
import webob.exc

from nova import exception
from nova.api.openstack import api_version_request as avr
from nova.flow import hooks as flow_hooks

LOG = logging.getLogger(__name__)

JSON_TYPE = 'application/json'
LEGACY_VERSION_HEADER = 'X-OpenStack-Nova-API-Version'
VERSION_HEADER = 'OpenStack-API-Version'
SERVICE_TYPE = 'compute'

# The error body key of each status, as upstream nova names them; clients
# and tempest read ``body[<key>]['message']``.
FAULT_NAMES: Mapping[int, str] = {
    400: 'badRequest',
    401: 'unauthorized',
    403: 'forbidden',
    404: 'itemNotFound',
    405: 'badMethod',
    409: 'conflictingRequest',
    413: 'overLimit',
    415: 'badMediaType',
    429: 'overLimit',
    501: 'notImplemented',
    503: 'serviceUnavailable',
}


class Request(webob.Request):
    """A request with its nova context and its microversion."""

    def __init__(self, environ: dict[str, Any], *args: Any,
                 **kwargs: Any) -> None:
        super().__init__(environ, *args, **kwargs)
        self.environ.setdefault('nova.api_version',
                                avr.min_api_version())

    @property
    def context(self) -> Any:
        return self.environ.get('nova.context')

    @property
    def api_version_request(self) -> avr.APIVersionRequest:
        return self.environ['nova.api_version']

    @api_version_request.setter
    def api_version_request(self, value: avr.APIVersionRequest) -> None:
        self.environ['nova.api_version'] = value

    def is_microversion(self, min_version: str | None = None,
                        max_version: str | None = None) -> bool:
        """True if the request's microversion is in the given range."""
        return self.api_version_request.matches(min_version, max_version)

    def set_api_version_request(self) -> None:
        """Read the microversion headers; 400 if malformed, 406 if out of
        range.  ``OpenStack-API-Version: compute X`` wins over the legacy
        ``X-OpenStack-Nova-API-Version: X`` when both are sent."""
        text = None
        new_header = self.headers.get(VERSION_HEADER)
        if new_header:
            for item in new_header.split(','):
                service, _sep, version = item.strip().partition(' ')
                if service.lower() == SERVICE_TYPE:
                    text = version.strip()
                    break
        if text is None:
            text = self.headers.get(LEGACY_VERSION_HEADER)
        if not text:
            self.api_version_request = avr.min_api_version()
            return
        if text.lower() == 'latest':
            self.api_version_request = avr.max_api_version()
            return
        version = avr.APIVersionRequest(text)
        if not avr.is_supported(version):
            raise exception.InvalidGlobalAPIVersion(
                req_ver=text, min_ver=str(avr.min_api_version()),
                max_ver=str(avr.max_api_version()))
        self.api_version_request = version

    def application_url_for(self, *parts: str) -> str:
        """An absolute link below the API root (``.../v2.1/...``)."""
        import nova.conf
        base = self.application_url.rstrip('/')
        prefix = nova.conf.CONF.api.compute_link_prefix
        if prefix:
            base = _replace_host(base, prefix)
        return '/'.join([base] + [p.strip('/') for p in parts if p])


def _replace_host(url: str, prefix: str) -> str:
    from urllib import parse
    parsed = parse.urlsplit(url)
    new = parse.urlsplit(prefix)
    path = new.path.rstrip('/') + parsed.path
    return parse.urlunsplit((new.scheme, new.netloc, path, parsed.query,
                             parsed.fragment))


class ResponseObject:
    """A controller result with a status code and headers."""

    def __init__(self, obj: Any = None, code: int | None = None,
                 headers: Mapping[str, str] | None = None) -> None:
        self.obj = obj
        self.code = code
        self.headers = dict(headers or {})


def response(code: int) -> Callable[[Callable[..., Any]],
                                    Callable[..., Any]]:
    """Set the success status code of a controller method."""
    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        fn.wsgi_code = code  # type: ignore[attr-defined]
        return fn
    return decorate


def action(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a method as the server action whose body key is ``name``."""
    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        fn.wsgi_action = name  # type: ignore[attr-defined]
        return fn
    return decorate


def actions_of(controller: object) -> dict[str, Callable[..., Any]]:
    """Action name -> bound method of every @action method."""
    found: dict[str, Callable[..., Any]] = {}
    for attr in dir(type(controller)):
        member = getattr(type(controller), attr, None)
        name = getattr(member, 'wsgi_action', None)
        if name:
            found[name] = getattr(controller, attr)
    return found


# -- faults ---------------------------------------------------------------

def fault_body(code: int, message: str) -> dict[str, Any]:
    name = FAULT_NAMES.get(code, 'computeFault')
    return {name: {'code': code, 'message': message}}


def fault_response(req: webob.Request | None, code: int, message: str,
                   headers: Mapping[str, str] | None = None,
                   ) -> webob.Response:
    resp = webob.Response(status=code, content_type=JSON_TYPE,
                          charset='UTF-8')
    resp.text = json.dumps(fault_body(code, message))
    for key, value in (headers or {}).items():
        resp.headers[key] = value
    if req is not None and 'nova.api_version' in req.environ:
        add_version_headers(resp, req.environ['nova.api_version'])
    return resp


def add_version_headers(resp: webob.Response,
                        version: avr.APIVersionRequest) -> None:
    resp.headers[VERSION_HEADER] = f'{SERVICE_TYPE} {version}'
    resp.headers[LEGACY_VERSION_HEADER] = str(version)
    resp.headers['Vary'] = f'{VERSION_HEADER}, {LEGACY_VERSION_HEADER}'


def exception_to_response(req: webob.Request | None,
                          exc: BaseException) -> webob.Response:
    """The response for an exception raised while serving ``req``."""
    if isinstance(exc, webob.exc.HTTPException):
        code = exc.code
        message = exc.explanation or exc.title
        if exc.detail:
            message = exc.detail
        headers = {k: v for k, v in exc.headers.items()
                   if k.lower() in ('retry-after', 'location', 'allow')}
        return fault_response(req, code, message, headers)
    if isinstance(exc, flow_hooks.RunRefused):
        # A hook of an API flow refused the request: its code (400 by
        # default) and its message, written for the user, as they are.
        code = exc.code if 400 <= exc.code <= 599 else 400
        return fault_response(req, code, exc.user_message)
    if isinstance(exc, exception.NovaException):
        code = int(getattr(exc, 'code', 500) or 500)
        if code < 400 or code > 599:
            code = 500
        if code >= 500:
            LOG.error('API request failed: %s', exc, exc_info=exc)
        return fault_response(req, code, exc.format_message())
    request_id = req.environ.get('openstack.request_id') if req else None
    LOG.error('Unexpected error serving %s %r (request %s)',
              req.method if req else '?',
              req.environ.get('PATH_INFO') if req else '?',
              request_id, exc_info=exc)
    # No exception text: it may name internals; the log has everything.
    return fault_response(
        req, 500, 'Unexpected API Error. The error was logged with request '
                  f'ID {request_id}; please report it to the operator.')


# -- the resource ---------------------------------------------------------

class Resource:
    """The WSGI application serving one controller's routes."""

    def __init__(self, controller: object,
                 action_controllers: Iterable[object] = ()) -> None:
        self.controller = controller
        self.actions: dict[str, Callable[..., Any]] = {}
        for source in (controller, *action_controllers):
            for name, method in actions_of(source).items():
                if name in self.actions:
                    raise ValueError(f'server action {name!r} is defined '
                                     f'twice')
                self.actions[name] = method

    @webob.dec.wsgify(RequestClass=Request)
    def __call__(self, req: Request) -> webob.Response:
        try:
            return self._process(req)
        except Exception as exc:
            return exception_to_response(req, exc)

    def _process(self, req: Request) -> webob.Response:
        args = dict(req.environ['wsgiorg.routing_args'][1])
        action_name = args.pop('action')
        args.pop('controller', None)
        args.pop('format', None)
        project_id = args.pop('project_id', None)
        req.set_api_version_request()
        ctx = req.context
        if project_id is not None and ctx is not None and \
                project_id != ctx.project_id:
            raise webob.exc.HTTPBadRequest(
                explanation=f"Malformed request URL: URL's project_id "
                            f"'{project_id}' doesn't match Context's "
                            f"project_id '{ctx.project_id}'")
        body = self._body(req)
        if action_name == 'action':
            method = self._action_method(body)
        else:
            method = getattr(self.controller, action_name)
        if _accepts_body(method):
            # A missing body is validated like an empty one, so the schema
            # names the missing field.
            args['body'] = body if body is not None else {}
        result = method(req, **args)
        return self._serialize(req, method, result)

    @staticmethod
    def _body(req: Request) -> dict[str, Any] | None:
        if req.method not in ('POST', 'PUT', 'PATCH') or (
                not req.content_length and not req.is_body_readable):
            return None
        raw = req.body
        if not raw:
            return None
        content_type = (req.content_type or JSON_TYPE).lower()
        if content_type not in (JSON_TYPE, 'text/plain') and \
                not content_type.endswith('+json'):
            raise webob.exc.HTTPUnsupportedMediaType(
                explanation=f'Unsupported Content-Type {content_type}; '
                            f'send {JSON_TYPE}')
        try:
            body = json.loads(raw, parse_float=_finite_float,
                              parse_constant=_no_constant)
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise webob.exc.HTTPBadRequest(
                explanation='Malformed request body: not valid JSON'
            ) from None
        problem = _body_problem(body, MAX_BODY_DEPTH)
        if problem:
            # Checked before any controller runs: schema validation and
            # every later layer recurse into the body, and the database
            # refuses what UTF-8 cannot encode.
            raise webob.exc.HTTPBadRequest(
                explanation=f'Malformed request body: {problem}')
        if not isinstance(body, dict):
            raise webob.exc.HTTPBadRequest(
                explanation='Malformed request body: expected a JSON '
                            'object')
        return body

    def _action_method(self, body: dict[str, Any] | None,
                       ) -> Callable[..., Any]:
        if not body:
            raise webob.exc.HTTPBadRequest(
                explanation='Malformed request body: the action body is '
                            'empty')
        if len(body) != 1:
            raise webob.exc.HTTPBadRequest(
                explanation='Malformed request body: an action body has '
                            'exactly one key, the action name')
        name = next(iter(body))
        method = self.actions.get(name)
        if method is None:
            raise webob.exc.HTTPBadRequest(
                explanation=f'There is no such action: {name}')
        return method

    @staticmethod
    def _serialize(req: Request, method: Callable[..., Any],
                   result: Any) -> webob.Response:
        code = getattr(method, 'wsgi_code', 200)
        headers: dict[str, str] = {}
        if isinstance(result, ResponseObject):
            code = result.code or code
            headers = result.headers
            result = result.obj
        if isinstance(result, webob.Response):
            resp = result
        else:
            resp = webob.Response(status=code)
            if result is not None and code != 204:
                resp.content_type = JSON_TYPE
                resp.charset = 'UTF-8'
                resp.text = json.dumps(result, default=_json_default)
            else:
                resp.content_type = None
                resp.body = b''
        for key, value in headers.items():
            resp.headers[key] = value
        add_version_headers(resp, req.api_version_request)
        return resp


#: How deeply a request body's objects and arrays may nest (the deepest
#: body upstream's API documents, scheduler hints included, needs 5).
MAX_BODY_DEPTH = 32


def _finite_float(text: str) -> float:
    value = float(text)
    if value != value or value in (float('inf'), float('-inf')):
        # 1e999: stored as infinity, it would come back as the invalid
        # JSON token Infinity.
        raise ValueError(f'number out of range: {text[:40]}')
    return value


def _no_constant(text: str) -> Any:
    raise ValueError(f'{text} is not JSON')


def _body_problem(value: Any, limit: int) -> str | None:
    """What makes a parsed body unacceptable: containers nested more than
    ``limit`` deep, or a string (key or value) holding an unpaired UTF-16
    surrogate (``"\\ud800"``), which no UTF-8 column can store.  Walked
    iteratively: nothing recurses into a body before this passes."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if not _is_utf8(item):
                return 'a string is not valid Unicode (unpaired surrogate)'
            continue
        if isinstance(item, dict):
            children: list[Any] = [*item.keys(), *item.values()]
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return f'nested deeper than {limit} levels'
        stack.extend((child, depth + 1) for child in children)
    return None


def _is_utf8(text: str) -> bool:
    try:
        text.encode('utf-8')
    except UnicodeEncodeError:
        return False
    return True


def _accepts_body(method: Callable[..., Any]) -> bool:
    # By the function behind the bound method: a signature costs more
    # than the rest of routing a request, and controllers never change.
    function = getattr(method, '__func__', method)
    try:
        return _takes_body(function)
    except TypeError:  # not hashable
        return _takes_body.__wrapped__(function)


@functools.lru_cache(maxsize=1024)
def _takes_body(function: Callable[..., Any]) -> bool:
    try:
        return 'body' in inspect.signature(function).parameters
    except (TypeError, ValueError):
        return False


def _json_default(value: Any) -> Any:
    import datetime
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f'{type(value).__name__} is not JSON serialisable')
