"""Block Storage microversions: ``OpenStack-API-Version: volume 3.x``.

Cinder negotiates like nova, under its own service type and range: no
header means 3.0, ``latest`` the maximum, a version out of range is
``406``, and every response says which version it has.  The resource here
reuses the compute API's :class:`nova.api.openstack.wsgi.Resource` (routing
of actions, body checks, the ``{"itemNotFound": ...}`` error bodies, which
Cinder shares with nova) and only swaps the version handling.
"""

from __future__ import annotations

from typing import Any

import webob
import webob.dec

from nova import exception
from nova.api.openstack import api_version_request as avr
from nova.api.openstack import wsgi

SERVICE_TYPE = 'volume'
MIN_VERSION = '3.0'
#: The highest Block Storage microversion openstacksdk asks for volumes
#: (3.71); the changes up to it that touch the resources served here only
#: add fields, which the views add from the version that brought them.
MAX_VERSION = '3.71'

_ENVIRON_KEY = 'nova.api_version'


class VolumeRequest(wsgi.Request):
    """A request whose microversion is a Block Storage one."""

    def __init__(self, environ: dict[str, Any], *args: Any,
                 **kwargs: Any) -> None:
        super().__init__(environ, *args, **kwargs)
        if self.environ[_ENVIRON_KEY].major != 3:
            self.environ[_ENVIRON_KEY] = avr.APIVersionRequest(MIN_VERSION)

    def set_api_version_request(self) -> None:
        """Read ``OpenStack-API-Version: volume X``; 400 if malformed,
        406 if out of range (Cinder has no legacy header)."""
        text = None
        for item in self.headers.get(wsgi.VERSION_HEADER, '').split(','):
            service, _sep, version = item.strip().partition(' ')
            if service.lower() == SERVICE_TYPE:
                text = version.strip()
                break
        if not text:
            self.api_version_request = avr.APIVersionRequest(MIN_VERSION)
            return
        if text.lower() == 'latest':
            self.api_version_request = avr.APIVersionRequest(MAX_VERSION)
            return
        version = avr.APIVersionRequest(text)
        if not version.matches(MIN_VERSION, MAX_VERSION):
            raise exception.InvalidGlobalAPIVersion(
                req_ver=text, min_ver=MIN_VERSION, max_ver=MAX_VERSION)
        self.api_version_request = version


def set_version_headers(resp: webob.Response, req: wsgi.Request) -> None:
    """Replace the compute version headers the shared code wrote with
    Cinder's."""
    resp.headers.pop(wsgi.LEGACY_VERSION_HEADER, None)
    resp.headers[wsgi.VERSION_HEADER] = (
        f'{SERVICE_TYPE} {req.api_version_request}')
    resp.headers['Vary'] = wsgi.VERSION_HEADER


class VolumeResource(wsgi.Resource):
    """A controller's routes, with Block Storage microversions."""

    @webob.dec.wsgify(RequestClass=VolumeRequest)
    def __call__(self, req: VolumeRequest) -> webob.Response:
        try:
            resp = self._process(req)
        except Exception as exc:
            resp = wsgi.exception_to_response(req, exc)
        set_version_headers(resp, req)
        return resp
