"""Authentication: building the RequestContext from the request.

Two strategies, picked by ``[api] auth_strategy`` through
:func:`pipeline_factory`:

* ``noauth2``: ``X-Auth-Token: user:project`` (a token without ``:`` is
  both); the user named ``admin`` gets the admin role.  No secret is
  checked: for tests and the embedded all-in-one cloud only.
* ``keystone``: keystonemiddleware's ``authtoken`` validates the token and
  sets ``X-User-Id``/``X-Project-Id``/``X-Roles``; :class:`KeystoneContext`
  turns those into the context.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from typing import Any

import webob.dec
from oslo_config import cfg

import nova.conf
from nova import context
from nova.api.openstack import middleware, wsgi

CONF = nova.conf.CONF


def pipeline_factory(loader: Any, global_config: dict[str, Any],
                     **local_config: str) -> Callable[..., Any]:
    """Paste composite: the pipeline named by ``[api] auth_strategy``."""
    pipeline = local_config[CONF.api.auth_strategy].split()
    filters = [loader.get_filter(name) for name in pipeline[:-1]]
    app = loader.get_app(pipeline[-1])
    for filter_ in reversed(filters):
        app = filter_(app)
    return app


class InsecureAuthStrategy(cfg.Error):
    """noauth2 on an address other hosts can reach."""


def _is_loopback(host: str) -> bool:
    """Whether every address ``host`` (an IP address or a name) stands
    for is a loopback address; "" and unresolvable names are not."""
    if not host:
        return False
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except OSError:
        return False
    return bool(infos) and all(
        ipaddress.ip_address(str(info[4][0]).split('%')[0]).is_loopback
        for info in infos)


def check_auth_strategy(conf: cfg.ConfigOpts,
                        listen_option: str = 'osapi_compute_listen') -> None:
    """Refuse ``[api] auth_strategy = noauth2`` unless the API listens on
    a loopback address only (``[DEFAULT] listen_option``).

    noauth2 believes whatever user and project the token names, admin
    included: served beyond this host it would hand the cloud to anyone
    who can reach the port. Upstream nova only warns; here the default
    strategy is keystone (as upstream) and noauth2 stays for tests and the
    embedded local cloud, which listen on 127.0.0.1.  Called by nova-api
    and nova-all before they start anything.
    """
    if conf.api.auth_strategy != 'noauth2':
        return
    listen = conf[listen_option]
    if _is_loopback(listen):
        return
    raise InsecureAuthStrategy(
        f'[api] auth_strategy = noauth2 trusts any X-Auth-Token (admin '
        f'included), but [DEFAULT] {listen_option} = {listen!r} is '
        f'not a loopback address: set [api] auth_strategy = keystone (and '
        f'[keystone_authtoken]), or set [DEFAULT] {listen_option} to '
        f'127.0.0.1 or ::1.')


def _request_id(req: wsgi.Request) -> str | None:
    return req.environ.get(middleware.ENV_REQUEST_ID)


class NoAuthMiddleware(middleware.Middleware):
    """noauth2: trust ``X-Auth-Token: user:project``."""

    # Plain WSGI (see middleware.FaultWrapper for why).
    def __call__(self, environ: dict[str, Any],
                 start_response: Callable[..., Any]) -> Any:
        token = environ.get('HTTP_X_AUTH_TOKEN', '').strip()
        if not token:
            return wsgi.fault_response(
                wsgi.Request(environ), 401,
                'Authentication required: send X-Auth-Token '
                '"user:project".')(environ, start_response)
        user_id, _sep, project_id = token.partition(':')
        project_id = project_id or user_id
        is_admin = user_id == 'admin'
        roles = ['admin', 'member', 'reader'] if is_admin else [
            'member', 'reader']
        environ['nova.context'] = context.RequestContext(
            user_id=user_id, project_id=project_id, is_admin=is_admin,
            roles=roles, auth_token=token,
            request_id=environ.get(middleware.ENV_REQUEST_ID),
            global_request_id=environ.get(middleware.ENV_GLOBAL_REQUEST_ID))
        environ['nova.remote_address'] = _environ_remote_address(environ)
        return self.application(environ, start_response)


def _environ_remote_address(environ: dict[str, Any]) -> str | None:
    if CONF.api.use_forwarded_for:
        forwarded = environ.get('HTTP_X_FORWARDED_FOR')
        if forwarded:
            return forwarded.split(',')[0].strip()
    return environ.get('REMOTE_ADDR')


class KeystoneContext(middleware.Middleware):
    """Context from the headers keystonemiddleware's authtoken sets."""

    @webob.dec.wsgify(RequestClass=wsgi.Request)
    def __call__(self, req: wsgi.Request) -> Any:
        if req.headers.get('X-Identity-Status', 'Confirmed') != 'Confirmed':
            return wsgi.fault_response(req, 401,
                                       'Authentication required.')
        user_id = req.headers.get('X-User-Id') or req.headers.get('X-User')
        project_id = (req.headers.get('X-Project-Id') or
                      req.headers.get('X-Tenant-Id'))
        if not user_id or not project_id:
            return wsgi.fault_response(
                req, 401, 'The token names no user or no project.')
        roles = [r.strip() for r in req.headers.get('X-Roles', '').split(',')
                 if r.strip()]
        req.environ['nova.context'] = context.RequestContext(
            user_id=user_id, project_id=project_id, roles=roles,
            user_name=req.headers.get('X-User-Name'),
            project_name=req.headers.get('X-Project-Name'),
            auth_token=req.headers.get('X-Auth-Token'),
            request_id=_request_id(req),
            global_request_id=req.environ.get(
                middleware.ENV_GLOBAL_REQUEST_ID))
        req.environ['nova.remote_address'] = _environ_remote_address(
            req.environ)
        return req.get_response(self.application)
