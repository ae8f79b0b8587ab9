"""The Block Storage v3 router: each path and the controller method
serving it, also below ``/{project_id}`` (the URL form Cinder requires
before microversion 3.67 and accepts after it)."""

from __future__ import annotations

from typing import Any

import routes
import routes.middleware
import webob.dec

from nova.api.openstack import wsgi
from nova.api.openstack.volume import microversions, volumes

# (method, path, controller method), in match order.
ROUTES: tuple[tuple[str, str, str], ...] = (
    ('GET', '/volumes', 'index'),
    ('GET', '/volumes/detail', 'detail'),
    ('POST', '/volumes', 'create'),
    ('GET', '/volumes/{id}', 'show'),
    ('DELETE', '/volumes/{id}', 'delete'),
    ('POST', '/volumes/{id}/action', 'action'),
)


class APIRouterV3:
    """Routes ``/v3/...`` requests to the volume controller."""

    def __init__(self, volume_api: Any = None) -> None:
        if volume_api is None:
            # The local implementation, never [volume] backend (which may
            # be the REST client of this API).
            from nova.volume import local
            volume_api = local.LocalVolumeAPI()
        self.resource = microversions.VolumeResource(
            volumes.VolumeController(volume_api))
        self.map = routes.Mapper()
        for prefix in ('', '/{project_id}'):
            for method, path, action in ROUTES:
                self.map.connect(prefix + path, controller=self.resource,
                                 action=action,
                                 conditions={'method': [method]})
        # No "_method" override, as in the compute API's router: Routes
        # would parse a form post's body for it (a 500 on a malformed one).
        self._router = routes.middleware.RoutesMiddleware(
            self._dispatch, self.map, use_method_override=False)

    @classmethod
    def factory(cls, global_config: dict[str, Any],
                **local_config: Any) -> APIRouterV3:
        return cls()

    @webob.dec.wsgify(RequestClass=microversions.VolumeRequest)
    def __call__(self, req: microversions.VolumeRequest) -> Any:
        return self._router

    @webob.dec.wsgify(RequestClass=microversions.VolumeRequest)
    def _dispatch(self, req: microversions.VolumeRequest) -> Any:
        match = req.environ['wsgiorg.routing_args'][1]
        if match:
            return match['controller']
        if any(self.map.match(req.path_info,
                              environ={'REQUEST_METHOD': method})
               for method in ('GET', 'POST', 'PUT', 'DELETE')):
            resp = wsgi.fault_response(
                req, 405, f'The method {req.method} is not allowed for this '
                          f'resource.')
        else:
            resp = wsgi.fault_response(req, 404,
                                       'The resource could not be found.')
        microversions.set_version_headers(resp, req)
        return resp
