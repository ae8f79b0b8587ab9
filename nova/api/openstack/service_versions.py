"""Version documents of the in-tree image, volume and network APIs.

Each is what the real service answers at its root, so that keystoneauth's
discovery (which sends no token) finds the version clients ask for:

* image (Glance): ``300 Multiple Choices``, ``{"versions": [{"id":
  "v2.N", "status": "CURRENT", "links": [{"rel": "self", "href":
  ".../v2/"}]}]}``, also at ``/versions``;
* volume (Cinder): ``300``, the v3 entry with ``version`` and
  ``min_version`` (Block Storage microversions);
* network (Neutron): ``200``, ``{"versions": [{"id": "v2.0", ...}]}``.
"""

from __future__ import annotations

import json
from typing import Any

import webob
import webob.dec


class VersionsApp:
    """``GET /``: the service's version list."""

    def __init__(self, status: int, versions: list[dict[str, Any]]) -> None:
        self.status = status
        self.versions = versions

    @webob.dec.wsgify
    def __call__(self, req: webob.Request) -> webob.Response:
        if req.method not in ('GET', 'HEAD'):
            return webob.Response(status=405)
        root = req.application_url.rstrip('/')
        body = {'versions': [
            dict(version, links=[{'rel': 'self',
                                  'href': f'{root}/{version["path"]}/'}])
            for version in self.versions]}
        for version in body['versions']:
            version.pop('path')
        resp = webob.Response(status=self.status,
                              content_type='application/json',
                              charset='UTF-8')
        resp.text = json.dumps(body)
        return resp


def image_factory(global_config: dict[str, Any],
                  **local_config: Any) -> VersionsApp:
    # Glance lists each v2 minor it supports; clients take the highest.
    return VersionsApp(300, [{'id': 'v2.16', 'status': 'CURRENT',
                              'path': 'v2'}])


def volume_factory(global_config: dict[str, Any],
                   **local_config: Any) -> VersionsApp:
    from nova.api.openstack.volume import microversions
    return VersionsApp(300, [{'id': 'v3.0', 'status': 'CURRENT',
                              'version': microversions.MAX_VERSION,
                              'min_version': microversions.MIN_VERSION,
                              'updated': '2023-01-01T00:00:00Z',
                              'path': 'v3'}])


def network_factory(global_config: dict[str, Any],
                    **local_config: Any) -> VersionsApp:
    return VersionsApp(200, [{'id': 'v2.0', 'status': 'CURRENT',
                              'path': 'v2.0'}])
