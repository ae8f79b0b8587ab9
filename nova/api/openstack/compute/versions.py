"""Version discovery: ``GET /`` and ``GET /v2.1[/]`` (no token needed).

SDK discovery sends no token and needs ``id``, ``status`` and a ``self``
link, plus ``version``/``min_version`` to negotiate a microversion at all.
"""

from __future__ import annotations

from typing import Any

import webob.dec

from nova.api.openstack import api_version_request as avr
from nova.api.openstack import wsgi

UPDATED = '2013-07-23T11:33:21Z'
MEDIA_TYPES = [{'base': 'application/json',
                'type': 'application/vnd.openstack.compute+json;'
                        'version=2.1'}]


def version_v21(req: wsgi.Request, *, detail: bool) -> dict[str, Any]:
    href = req.application_url.rstrip('/') + '/v2.1/'
    view: dict[str, Any] = {
        'id': 'v2.1',
        'status': 'CURRENT',
        'version': str(avr.max_api_version()),
        'min_version': avr.MIN_VERSION,
        'updated': UPDATED,
        'links': [{'rel': 'self', 'href': href}],
    }
    if detail:
        view['links'].append({
            'rel': 'describedby', 'type': 'text/html',
            'href': 'https://docs.openstack.org/'})
        view['media-types'] = MEDIA_TYPES
    return view


def _json(req: wsgi.Request, body: dict[str, Any]) -> webob.Response:
    import json
    resp = webob.Response(content_type='application/json', charset='UTF-8')
    resp.text = json.dumps(body)
    return resp


class Versions:
    """``GET /``: every API version (only v2.1 is served)."""

    @classmethod
    def factory(cls, global_config: dict[str, Any],
                **local_config: Any) -> Versions:
        return cls()

    @webob.dec.wsgify(RequestClass=wsgi.Request)
    def __call__(self, req: wsgi.Request) -> webob.Response:
        if req.method not in ('GET', 'HEAD'):
            return wsgi.fault_response(req, 405, 'Method not allowed')
        return _json(req, {'versions': [version_v21(req, detail=False)]})


class VersionV21:
    """``GET /v2.1`` and ``GET /v2.1/``: this version's document."""

    @classmethod
    def factory(cls, global_config: dict[str, Any],
                **local_config: Any) -> VersionV21:
        return cls()

    @webob.dec.wsgify(RequestClass=wsgi.Request)
    def __call__(self, req: wsgi.Request) -> webob.Response:
        if req.method not in ('GET', 'HEAD'):
            return wsgi.fault_response(req, 405, 'Method not allowed')
        # Mounted on the exact path, so the application URL is the API
        # root; the document describes .../v2.1/.
        return _json(req, {'version': version_v21(req, detail=True)})
