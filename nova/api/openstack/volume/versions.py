"""``GET /v3`` (and ``/v3/``): the v3 version document, without a token.

Cinder answers its versioned root ``200`` with the list of the one
version; keystoneauth's discovery reads it there when a client is given
the versioned endpoint (a catalog entry or an endpoint override ending in
``/v3``), sending no token, so it is served outside the auth pipeline
(an exact path of the ``volume_api`` composite).
"""

from __future__ import annotations

import json
from typing import Any

import webob
import webob.dec

from nova.api.openstack.volume import microversions

UPDATED = '2023-01-01T00:00:00Z'


def version_entry(href: str) -> dict[str, Any]:
    """The v3 entry of a version list (``href``: the v3 root)."""
    return {'id': 'v3.0', 'status': 'CURRENT',
            'version': microversions.MAX_VERSION,
            'min_version': microversions.MIN_VERSION,
            'updated': UPDATED,
            'media-types': [{'base': 'application/json',
                             'type': 'application/vnd.openstack.volume+json;'
                                     'version=3'}],
            'links': [{'rel': 'self', 'href': href}]}


@webob.dec.wsgify
def v3_root(req: webob.Request) -> webob.Response:
    if req.method not in ('GET', 'HEAD'):
        return webob.Response(status=405)
    href = req.host_url + (req.script_name + req.path_info).rstrip('/') + '/'
    resp = webob.Response(status=200, content_type='application/json',
                          charset='UTF-8')
    resp.text = json.dumps({'versions': [version_entry(href)]})
    return resp


def v3_factory(global_config: dict[str, Any], **local_config: Any) -> Any:
    return v3_root
