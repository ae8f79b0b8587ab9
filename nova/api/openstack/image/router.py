"""The Image API v2 router: ``/v2/images...`` and ``/v2/schemas/...``.

Mounted below ``/v2`` by the ``image_api`` paste composite, behind the
same authentication pipelines as the compute API.  nova's exceptions
become webob HTTP errors here, answered in the JSON body Glance's errors
have for a client accepting JSON (``{"message", "code", "title"}``, the
code being the status line), whatever the client accepts: the pipeline
turns a body that is not JSON into the compute API's, which would lose
the message.
"""

from __future__ import annotations

import json
from typing import Any

import routes
import routes.middleware
import webob
import webob.dec
import webob.exc
from oslo_log import log as logging

from nova import exception
from nova.api.openstack import middleware
from nova.api.openstack.image import images, schemas

LOG = logging.getLogger(__name__)

# (method, path, controller method), in match order.
ROUTES: tuple[tuple[str, str, str], ...] = (
    ('GET', '/images', 'index'),
    ('POST', '/images', 'create'),
    ('GET', '/images/{image_id}', 'show'),
    ('PATCH', '/images/{image_id}', 'update'),
    ('DELETE', '/images/{image_id}', 'delete'),
    ('PUT', '/images/{image_id}/file', 'upload'),
    ('GET', '/images/{image_id}/file', 'download'),
    ('GET', '/schemas/image', 'image_schema'),
    ('GET', '/schemas/images', 'images_schema'),
)


class SchemasController:
    """``/v2/schemas/image`` and ``/v2/schemas/images`` (no policy: the
    documents are the same for everyone, as in Glance)."""

    @staticmethod
    def _json(body: dict[str, Any]) -> webob.Response:
        resp = webob.Response(content_type='application/json',
                              charset='UTF-8')
        resp.text = json.dumps(body)
        return resp

    def image_schema(self, req: webob.Request) -> webob.Response:
        return self._json(schemas.image_schema())

    def images_schema(self, req: webob.Request) -> webob.Response:
        return self._json(schemas.images_schema())


def http_error(exc: exception.NovaException) -> webob.exc.HTTPException:
    """The webob error of a nova exception, by its ``code``."""
    code = int(getattr(exc, 'code', 500) or 500)
    error_class = webob.exc.status_map.get(code)
    if error_class is None or code < 400:
        error_class = webob.exc.HTTPInternalServerError
    if code >= 500:
        LOG.error('Image API request failed: %s', exc, exc_info=exc)
    return error_class(explanation=exc.format_message())


def error_response(exc: webob.exc.HTTPException) -> webob.Response:
    """Glance's JSON error body for a webob HTTP error (without the
    ``<br /><br />`` webob's formatter leaves in Glance's messages)."""
    resp = webob.Response(status=exc.status, content_type='application/json',
                          charset='UTF-8')
    for name in ('Allow', 'Location'):
        if name in exc.headers:
            resp.headers[name] = exc.headers[name]
    resp.text = json.dumps({'message': exc.explanation or exc.title,
                            'code': exc.status, 'title': exc.title})
    return resp


class FaultWrapper(middleware.FaultWrapper):
    """The pipeline's last net, answering in Glance's error body."""

    def fault(self, code: int, message: str,
              headers: dict[str, str] | None = None) -> Any:
        error_class = webob.exc.status_map.get(
            code, webob.exc.HTTPInternalServerError)
        return error_response(error_class(explanation=message,
                                          headers=headers or {}))


class APIRouterV2:
    """Routes ``/v2/...`` requests of the Image API to the controllers."""

    def __init__(self, image_store: Any = None) -> None:
        if image_store is None:
            # The local store itself, never [image] backend (which may be
            # the REST client of this API).
            from nova.image import local
            image_store = local.LocalImageAPI()
        # Routes keeps route arguments as strings: routes name the
        # controller, this dict holds it.
        self.controllers: dict[str, Any] = {
            'images': images.ImagesController(image_store),
            'schemas': SchemasController()}
        self.map = routes.Mapper()
        for method, path, action in ROUTES:
            key = 'schemas' if path.startswith('/schemas') else 'images'
            self.map.connect(path, handler=key,
                             operation=action, conditions={'method': [method]})
        # No "_method" override, as in the compute API's router: Routes
        # would parse a form post's body for it (a 500 on a malformed one).
        self._router = routes.middleware.RoutesMiddleware(
            self._dispatch, self.map, use_method_override=False)

    @classmethod
    def factory(cls, global_config: dict[str, Any],
                **local_config: Any) -> APIRouterV2:
        return cls()

    @webob.dec.wsgify
    def __call__(self, req: webob.Request) -> Any:
        return self._router

    def _allowed(self, path: str) -> list[str]:
        return [method for method in ('GET', 'POST', 'PUT', 'PATCH',
                                      'DELETE')
                if self.map.match(path, environ={'REQUEST_METHOD': method})]

    @webob.dec.wsgify
    def _dispatch(self, req: webob.Request) -> Any:
        result = self._serve(req)
        if isinstance(result, webob.exc.HTTPException) and \
                result.code >= 400:
            return error_response(result)
        return result

    def _serve(self, req: webob.Request) -> Any:
        match = dict(req.environ['wsgiorg.routing_args'][1] or {})
        if not match:
            allowed = self._allowed(req.path_info)
            if allowed:
                return webob.exc.HTTPMethodNotAllowed(
                    headers=[('Allow', ', '.join(allowed))])
            return webob.exc.HTTPNotFound()
        handler = self.controllers[match.pop('handler')]
        operation = match.pop('operation')
        args = {k: v for k, v in match.items() if k == 'image_id'}
        try:
            return getattr(handler, operation)(req, **args)
        except webob.exc.HTTPException as exc:
            return exc
        except exception.NovaException as exc:
            return http_error(exc)
