"""``/v2/images``: list, show, create, update (JSON patch), delete, and
the image data (``PUT`` / ``GET /v2/images/{id}/file``).

Served from the local image store (nova.image.local) directly, never
through ``[image] backend``: that may be the REST client of this very
API.  Records and bodies follow Glance's Image API v2: lowercase
``status``, custom properties as top-level string attributes, relative
``self`` / ``file`` / ``schema`` links, and a ``next`` link while pages
are full.

Errors are webob HTTP errors, which render themselves as Glance's do
(JSON ``{"code", "title", "message"}`` to a client accepting JSON, the
plain status page otherwise); the router turns nova's exceptions into
them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib import parse

import webob
import webob.exc

import nova.conf
from nova import exception
from nova.api.openstack import common
from nova.api.openstack.image import schemas
from nova.api.validation import validators
from nova.image import api as image_api
from nova.policies import enforcer

CONF = nova.conf.CONF

#: Glance's ``limit_param_default``: the page size when none is asked for
#: (``[api] max_limit`` caps any asked for).
DEFAULT_LIMIT = 25

PATCH_TYPES = ('application/openstack-images-v2.1-json-patch',
               'application/openstack-images-v2.0-json-patch')

#: Query parameters the store filters on; any other unknown one is a
#: custom property filter, as in Glance.
_DB_FILTERS = ('id', 'name', 'status', 'visibility', 'owner',
               'disk_format', 'container_format', 'protected')
_PAGING = ('limit', 'marker', 'sort', 'sort_key', 'sort_dir')
#: Accepted and without effect here: this store has no hidden images and
#: no image members.
_IGNORED = ('os_hidden', 'member_status')

#: Core attributes a client may change, and those the local store keeps.
_UPDATABLE = ('name', 'visibility', 'protected', 'min_disk', 'min_ram',
              'disk_format', 'container_format', 'owner')
_CHUNK = 64 * 1024
_UUID = re.compile('[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-'
                   '[0-9a-fA-F]{4}-[0-9a-fA-F]{12}')


def _target(image: dict[str, Any]) -> dict[str, Any]:
    """The policy target of an image: its owner and visibility."""
    return {'project_id': image.get('owner'),
            'visibility': image.get('visibility')}


def _property_text(value: Any) -> str | None:
    """Custom properties are strings in Image API v2; the snapshot flow
    may store other JSON values, shown as their JSON text."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value)


def view(image: dict[str, Any]) -> dict[str, Any]:
    """An image as Image API v2 shows it (never the store's ``path``)."""
    image_id = image['id']
    result: dict[str, Any] = {
        'id': image_id,
        'name': image.get('name'),
        'status': str(image.get('status') or '').lower(),
        'visibility': image.get('visibility'),
        'protected': bool(image.get('protected')),
        'os_hidden': False,
        'checksum': image.get('checksum'),
        'os_hash_algo': image.get('os_hash_algo'),
        'os_hash_value': image.get('os_hash_value'),
        'owner': image.get('owner'),
        'size': image.get('size'),
        'virtual_size': None,
        'min_disk': int(image.get('min_disk') or 0),
        'min_ram': int(image.get('min_ram') or 0),
        'disk_format': image.get('disk_format'),
        'container_format': image.get('container_format'),
        'created_at': common.isotime(image.get('created_at')),
        'updated_at': common.isotime(image.get('updated_at')),
        'tags': [],
        'self': f'/v2/images/{image_id}',
        'file': f'/v2/images/{image_id}/file',
        'schema': '/v2/schemas/image',
    }
    for key, value in (image.get('properties') or {}).items():
        if key not in result:
            result[key] = _property_text(value)
    return result


def _json(body: Any, status: int = 200) -> webob.Response:
    resp = webob.Response(status=status, content_type='application/json',
                          charset='UTF-8')
    resp.text = json.dumps(body)
    return resp


def _json_body(req: webob.Request) -> Any:
    try:
        return json.loads(req.body or b'null')
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise webob.exc.HTTPBadRequest(
            explanation='Malformed JSON in request body.') from None


def _check_attributes(names: Any) -> None:
    """403 for attributes the service sets or reserves (Glance's
    answer)."""
    for name in names:
        if name in schemas.READ_ONLY:
            raise webob.exc.HTTPForbidden(
                explanation=f"Attribute '{name}' is read-only.")
        if name in schemas.RESERVED:
            raise webob.exc.HTTPForbidden(
                explanation=f"Attribute '{name}' is reserved.")


def _int_param(req: webob.Request, name: str) -> int | None:
    text = req.GET.get(name)
    if text is None:
        return None
    try:
        value = int(text)
    except ValueError:
        raise webob.exc.HTTPBadRequest(
            explanation=f'{name} param must be an integer') from None
    if value < 0:
        raise webob.exc.HTTPBadRequest(
            explanation=f'{name} param must be positive')
    return value


def _sort(req: webob.Request) -> tuple[str, str]:
    """The sort key and direction: ``sort=key:dir,...`` or
    ``sort_key=...&sort_dir=...``.  The store sorts by one key (then
    ``id``): the first one asked for."""
    if 'sort' in req.GET:
        if 'sort_key' in req.GET or 'sort_dir' in req.GET:
            raise webob.exc.HTTPBadRequest(
                explanation='The "sort" parameter cannot be combined with '
                            '"sort_key" or "sort_dir".')
        key, _sep, direction = req.GET['sort'].split(',')[0].partition(':')
        direction = direction or 'desc'
    else:
        key = req.GET.getall('sort_key')[0] if 'sort_key' in req.GET \
            else 'created_at'
        direction = req.GET.getall('sort_dir')[0] if 'sort_dir' in req.GET \
            else 'desc'
    if direction not in ('asc', 'desc'):
        raise webob.exc.HTTPBadRequest(
            explanation=f'Invalid sort direction: {direction}')
    if key not in schemas.CORE or key in ('tags', 'self', 'file',
                                          'schema', 'os_hidden'):
        raise webob.exc.HTTPBadRequest(
            explanation=f'Invalid sort key: {key}. It must be one of the '
                        f'image attributes.')
    return key, direction


def _marker_not_found(marker: str) -> str:
    """Glance's 400 text for a marker naming no image it shows."""
    return f'No image found with ID {marker}'


class ImagesController:
    """The images collection of one local image store."""

    def __init__(self, images: Any) -> None:
        #: nova.image.local.LocalImageAPI (or anything with its methods).
        self.images = images

    # -- reads ----------------------------------------------------------------

    def _get(self, req: webob.Request, image_id: str,
             rule: str = 'get_image') -> dict[str, Any]:
        """The image, checked against ``rule``: 404 when the caller may
        not even see it (as Glance), 403 when it may see but not act."""
        image = self.images.get(req.environ['nova.context'], image_id)
        ctx = req.environ['nova.context']
        if not enforcer.authorize(ctx, 'get_image', _target(image),
                                  fatal=False):
            raise webob.exc.HTTPNotFound(
                explanation=f'No image found with ID {image_id}')
        if rule != 'get_image':
            enforcer.authorize(ctx, rule, _target(image))
        return image

    def index(self, req: webob.Request) -> webob.Response:
        ctx = req.environ['nova.context']
        enforcer.authorize(ctx, 'get_images')
        limit = _int_param(req, 'limit')
        limit = min(DEFAULT_LIMIT if limit is None else limit,
                    CONF.api.max_limit)
        marker = req.GET.get('marker')
        sort_key, sort_dir = _sort(req)
        filters: dict[str, Any] = {}
        properties: dict[str, str] = {}
        for key, value in req.GET.items():
            if key in _PAGING or key in _IGNORED:
                continue
            if key in _DB_FILTERS:
                if not (key == 'visibility' and value == 'all'):
                    filters[key] = value
            else:
                # size_min, size_max, tag, or a custom property.
                properties[key] = value
        try:
            if properties:
                images = self._filtered(ctx, filters, properties, limit,
                                        marker, sort_key, sort_dir)
            else:
                images = self.images.get_all(
                    ctx, filters=filters, limit=limit, marker=marker,
                    sort_key=sort_key, sort_dir=sort_dir)
        except exception.MarkerNotFound:
            # A bad request parameter, not a missing resource, and
            # Glance's text for it.
            raise webob.exc.HTTPBadRequest(
                explanation=_marker_not_found(marker)) from None
        body: dict[str, Any] = {
            'images': [view(i) for i in images],
            'first': '/v2/images',
            'schema': '/v2/schemas/images',
        }
        if images and len(images) == limit:
            query = [(k, v) for k, v in req.GET.items() if k != 'marker']
            query.append(('marker', images[-1]['id']))
            body['next'] = '/v2/images?' + parse.urlencode(query)
        return _json(body)

    def _filtered(self, ctx: Any, filters: dict[str, Any],
                  properties: dict[str, str], limit: int,
                  marker: str | None, sort_key: str, sort_dir: str,
                  ) -> list[dict[str, Any]]:
        """Filters the store cannot apply (custom properties, size range,
        tag) applied here over the sorted matches, then paged."""
        size_min = properties.pop('size_min', None)
        size_max = properties.pop('size_max', None)
        if 'tag' in properties:
            return []   # this store keeps no tags
        bounds = [int(v) if v.isdigit() else -1 for v in
                  (size_min or '0', size_max or '0')]
        if min(bounds) < 0:
            raise webob.exc.HTTPBadRequest(
                explanation='size_min and size_max must be integers')
        matches = []
        for image in self.images.get_all(ctx, filters=filters,
                                         sort_key=sort_key,
                                         sort_dir=sort_dir):
            shown = view(image)
            size = image.get('size') or 0
            if size_min is not None and size < bounds[0] or \
                    size_max is not None and size > bounds[1]:
                continue
            if all(shown.get(k) == v for k, v in properties.items()):
                matches.append(image)
        start = 0
        if marker is not None:
            ids = [i['id'] for i in matches]
            if marker not in ids:
                raise webob.exc.HTTPBadRequest(
                    explanation=_marker_not_found(marker))
            start = ids.index(marker) + 1
        return matches[start:start + limit]

    def show(self, req: webob.Request, image_id: str) -> webob.Response:
        return _json(view(self._get(req, image_id)))

    # -- writes ---------------------------------------------------------------

    def create(self, req: webob.Request) -> webob.Response:
        ctx = req.environ['nova.context']
        body = _json_body(req)
        if not isinstance(body, dict):
            raise webob.exc.HTTPBadRequest(
                explanation='Request body must be a JSON object.')
        _check_attributes(body)
        validators.validate(schemas.create_schema(), body)
        # The schema's pattern ends in "$", which lets a trailing newline
        # through (a 500 from the store).
        if 'id' in body and not _UUID.fullmatch(body['id']):
            raise webob.exc.HTTPBadRequest(
                explanation=f'Invalid image id: {body["id"]!r} is not a '
                            f'UUID.')
        meta = self._meta(ctx, body)
        enforcer.authorize(ctx, 'add_image', _target(
            {'owner': meta.get('owner', ctx.project_id),
             'visibility': meta.get('visibility')}))
        image = self.images.create(ctx, meta)
        resp = _json(view(image), 201)
        resp.location = f'{req.application_url}/images/{image["id"]}'
        return resp

    def _meta(self, ctx: Any, attributes: dict[str, Any]) -> dict[str, Any]:
        """The store's image_meta for Image API attributes: core ones
        as they are, the rest as custom properties."""
        if attributes.get('tags'):
            raise webob.exc.HTTPBadRequest(
                explanation='This image service keeps no image tags.')
        if 'owner' in attributes and not ctx.is_admin and \
                attributes['owner'] != ctx.project_id:
            raise webob.exc.HTTPForbidden(
                explanation='Only an admin may set the owner of an image.')
        if attributes.get('visibility') == 'public':
            enforcer.authorize(ctx, 'publicize_image')
        meta = {k: attributes[k] for k in ('id', *_UPDATABLE)
                if k in attributes}
        meta['properties'] = {k: v for k, v in attributes.items()
                              if k not in schemas.CORE}
        return meta

    def update(self, req: webob.Request, image_id: str) -> webob.Response:
        """``PATCH``: a JSON patch (add / replace / remove) of the
        image's attributes."""
        if req.content_type not in PATCH_TYPES:
            raise webob.exc.HTTPUnsupportedMediaType(
                explanation=f'Content type {req.content_type} is not '
                            f'supported; send {PATCH_TYPES[0]}.')
        ctx = req.environ['nova.context']
        image = self._get(req, image_id, 'modify_image')
        operations = _json_body(req)
        if not isinstance(operations, list):
            raise webob.exc.HTTPBadRequest(
                explanation='Request body must be a JSON array of '
                            'operation objects.')
        current = view(image)
        attributes = {k: v for k, v in current.items()
                      if k in _UPDATABLE or k not in schemas.CORE}
        for operation in operations:
            _apply(attributes, operation)
        validators.validate(schemas.create_schema(), attributes)
        if attributes.get('tags'):
            raise webob.exc.HTTPBadRequest(
                explanation='This image service keeps no image tags.')
        changed = {k: v for k, v in attributes.items()
                   if k in _UPDATABLE and v != current.get(k)}
        if changed.get('visibility') == 'public':
            enforcer.authorize(ctx, 'publicize_image')
        if 'owner' in changed and not ctx.is_admin:
            raise webob.exc.HTTPForbidden(
                explanation='Only an admin may change the owner of an '
                            'image.')
        changed['properties'] = {k: v for k, v in attributes.items()
                                 if k not in schemas.CORE}
        updated = self.images.update(ctx, image_id, changed,
                                     purge_props=True)
        return _json(view(updated))

    def delete(self, req: webob.Request, image_id: str) -> webob.Response:
        self._get(req, image_id, 'delete_image')
        self.images.delete(req.environ['nova.context'], image_id)
        return webob.Response(status=204)

    # -- data ---------------------------------------------------------------

    def upload(self, req: webob.Request, image_id: str) -> webob.Response:
        """``PUT /file``: store the request body as the image's data
        (Glance's direct upload, what clients use without the import
        API)."""
        if req.content_type != 'application/octet-stream':
            raise webob.exc.HTTPUnsupportedMediaType(
                explanation='The image data must be sent as '
                            'application/octet-stream.')
        image = self._get(req, image_id, 'upload_image')
        # Glance takes data for queued images only; nova's own snapshot
        # records wait in "saving" (nova.image.api.create_snapshot) for
        # the compute host, which may upload through this API.
        if image['status'] not in (image_api.QUEUED, image_api.SAVING):
            raise webob.exc.HTTPConflict(
                explanation=f'Image status transition from '
                            f'{image["status"]} to saving is not allowed')
        self.images.upload(req.environ['nova.context'], image_id,
                           _body_chunks(req))
        return webob.Response(status=204)

    def download(self, req: webob.Request, image_id: str) -> webob.Response:
        image = self._get(req, image_id, 'download_image')
        if image['status'] != image_api.ACTIVE:
            # Glance: an image without data answers 204 No Content.
            return webob.Response(status=204)
        resp = webob.Response(status=200,
                              content_type='application/octet-stream')
        resp.app_iter = self.images.download(req.environ['nova.context'],
                                             image_id)
        resp.content_length = image.get('size')
        if image.get('checksum'):
            resp.headers['Content-MD5'] = image['checksum']
        return resp


def _body_chunks(req: webob.Request) -> Iterator[bytes]:
    """The request body as chunks, never all of it in memory."""
    if req.content_length is None and 'chunked' in req.headers.get(
            'Transfer-Encoding', '').lower():
        # A chunked body (a client streaming data of unknown size): the
        # server decodes it, but only waitress tells webob it may read
        # it (wsgi.input_terminated); eventlet.wsgi does not.
        req.is_body_readable = True
    source = req.body_file
    while True:
        chunk = source.read(_CHUNK)
        if not chunk:
            return
        yield chunk


def _pointer(path: Any) -> str:
    """The attribute a JSON pointer names: ``/name`` -> ``name``
    (``~1`` is ``/``, ``~0`` is ``~``); Image API patches are one level
    deep, but ``/tags`` paths may name an item."""
    if not isinstance(path, str) or not path.startswith('/') or \
            path.count('/') != 1:
        raise webob.exc.HTTPBadRequest(
            explanation=f'Invalid JSON pointer for this resource: {path}')
    return path[1:].replace('~1', '/').replace('~0', '~')


def _apply(attributes: dict[str, Any], operation: Any) -> None:
    """Apply one JSON patch operation to the changeable attributes."""
    if not isinstance(operation, dict) or \
            operation.get('op') not in ('add', 'replace', 'remove'):
        raise webob.exc.HTTPBadRequest(
            explanation='Operations must be JSON objects with an "op" of '
                        'add, replace or remove.')
    op = operation['op']
    name = _pointer(operation.get('path'))
    _check_attributes([name])
    if name in ('id', 'os_hidden'):
        raise webob.exc.HTTPForbidden(
            explanation=f"Attribute '{name}' is read-only.")
    core = name in schemas.CORE
    if op == 'remove':
        if core:
            raise webob.exc.HTTPForbidden(
                explanation=f"Attribute '{name}' is a core attribute and "
                            f"cannot be removed.")
        if name not in attributes:
            raise webob.exc.HTTPConflict(
                explanation=f'Property {name} does not exist.')
        del attributes[name]
        return
    if 'value' not in operation:
        raise webob.exc.HTTPBadRequest(
            explanation=f'Operation "{op}" requires a member named '
                        f'"value".')
    if op == 'replace' and not core and name not in attributes:
        raise webob.exc.HTTPConflict(
            explanation=f'Property {name} does not exist.')
    attributes[name] = operation['value']
