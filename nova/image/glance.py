"""The image service over the Image API v2 (Glance, or nova's own).

``[image] backend = nova.image.glance.GlanceImageAPI`` makes nova's flows
reach images through REST instead of the local store: a real Glance, or
nova-image-api (or /image on nova-api) in a split deployment.  The
client is a keystoneauth1 adapter configured by ``[glance]`` (catalog
lookup by ``service_type`` / ``valid_interfaces`` / ``region_name``, or
``endpoint_override``).

Authentication, as upstream nova: a request carrying the user's token
(``context.auth_token``, kept across RPC) is sent with that token, so the
image service applies the user's own rights; without one (periodic
tasks, noauth2 deployments) the ``[glance]`` auth plugin's credentials
are used (e.g. ``auth_type = admin_token`` with ``endpoint`` and
``token``, or ``password`` with Keystone).  Images created for a context
name its project as their owner either way.

Records come back as nova.image.api documents them: the Image API's
top-level custom properties are gathered in ``properties``; there is no
``path`` (the data is only reachable through :meth:`download`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from keystoneauth1 import loading as ks_loading
from oslo_log import log as logging
from oslo_utils import timeutils

import nova.conf
from nova import exception
from nova.image import api

LOG = logging.getLogger(__name__)
CONF = nova.conf.CONF

PATCH_TYPE = 'application/openstack-images-v2.1-json-patch'

#: The Image API's core attributes; every other key is a custom property.
CORE = frozenset({
    'id', 'name', 'status', 'visibility', 'protected', 'os_hidden',
    'checksum', 'os_hash_algo', 'os_hash_value', 'owner', 'size',
    'virtual_size', 'container_format', 'disk_format', 'created_at',
    'updated_at', 'tags', 'direct_url', 'min_ram', 'min_disk', 'self',
    'file', 'schema', 'locations', 'stores'})
#: Core attributes a client sets (image_meta keys nova.image.api allows).
SETTABLE = ('name', 'disk_format', 'container_format', 'min_disk',
            'min_ram', 'visibility', 'protected', 'owner')
#: Links and attributes of no use to nova.
_DROPPED = ('self', 'file', 'schema', 'locations', 'direct_url', 'stores',
            'os_hidden', 'tags', 'virtual_size')



def _property_text(value: Any) -> str:
    """Custom properties are strings in the Image API."""
    if isinstance(value, str):
        return value
    import json
    return json.dumps(value)


def _record(view: dict[str, Any]) -> dict[str, Any]:
    """nova's image dict from an Image API v2 image."""
    image = {k: v for k, v in view.items()
             if k in CORE and k not in _DROPPED}
    for key in ('created_at', 'updated_at'):
        if image.get(key):
            image[key] = timeutils.normalize_time(
                timeutils.parse_isotime(image[key]))
    image['properties'] = {k: v for k, v in view.items() if k not in CORE}
    return image


def _message(resp: Any) -> str:
    """The error text of a response (Glance's JSON or plain body)."""
    try:
        body = resp.json()
    except ValueError:
        return resp.text.strip()[:500]
    if isinstance(body, dict):
        message = body.get('message') or body.get('title') or body
        return str(message).replace('<br /><br />', '').strip()
    return str(body)


class GlanceImageAPI(api.ImageAPI):
    """nova.image.api.ImageAPI over the Image API v2 (``[glance]``)."""

    def __init__(self, conf: Any = CONF) -> None:
        self.conf = conf
        group = 'glance'
        self._auth = ks_loading.load_auth_from_conf_options(conf, group)
        self._session = ks_loading.load_session_from_conf_options(
            conf, group, auth=self._auth)
        self._adapter = ks_loading.load_adapter_from_conf_options(
            conf, group, session=self._session, auth=self._auth,
            min_version='2.0', max_version='2.latest',
            connect_retries=conf.glance.num_retries)
        self._root: str | None = None

    @property
    def root(self) -> str:
        """The versioned API root (``.../v2``): found once through
        keystoneauth's version discovery, from the catalog or
        ``endpoint_override`` (an unversioned Glance endpoint, as
        upstream configures it)."""
        if self._root is None:
            data = self._adapter.get_endpoint_data()
            if data is None or not data.url:
                raise exception.NovaException(
                    'No image service endpoint: set [glance] '
                    'endpoint_override or register one in the catalog.')
            self._root = data.url.rstrip('/')
        return self._root

    # -- transport ------------------------------------------------------------

    def _request(self, context: Any, method: str, url: str,
                 ok: tuple[int, ...] = (200,), **kwargs: Any) -> Any:
        """One request with the context's token (else ``[glance]``'s
        credentials); the response, or nova's exception for its error."""
        headers = dict(kwargs.pop('headers', {}))
        token = getattr(context, 'auth_token', None)
        if token:
            headers['X-Auth-Token'] = token
            kwargs['authenticated'] = False
        elif self._auth is None:
            raise exception.NovaException(
                'The image service needs a user token or [glance] '
                'credentials (auth_type); the request has neither.')
        headers.setdefault('Accept', 'application/json')
        resp = self._adapter.request(self.root + url, method,
                                     headers=headers, raise_exc=False,
                                     **kwargs)
        if resp.status_code not in ok:
            self._raise(resp, url)
        return resp

    @staticmethod
    def _raise(resp: Any, url: str) -> None:
        message = _message(resp)
        code = resp.status_code
        image_id = url.split('/')[2] if url.count('/') >= 2 else url
        if code == 404:
            raise exception.ImageNotFound(image_id=image_id)
        if code == 403:
            raise exception.ImageNotAuthorized(image_id=image_id)
        if code == 409:
            raise exception.InvalidImageState(
                image_id=image_id, expected='another status',
                actual=message)
        if code in (400, 413, 415):
            raise exception.Invalid(reason=message)
        raise exception.NovaException(
            f'The image service answered {code} to {resp.request.method} '
            f'{url}: {message}')

    # -- reads ----------------------------------------------------------------

    def get(self, context: Any, image_id: str) -> dict[str, Any]:
        return _record(self._request(context, 'GET',
                                     f'/images/{image_id}').json())

    def get_all(self, context: Any, filters: dict[str, Any] | None = None,
                limit: int | None = None, marker: str | None = None,
                sort_key: str = 'created_at', sort_dir: str = 'desc',
                ) -> list[dict[str, Any]]:
        params: dict[str, Any] = {'sort_key': sort_key,
                                  'sort_dir': sort_dir}
        for key, value in (filters or {}).items():
            if isinstance(value, (list, tuple, set)):
                value = 'in:' + ','.join(str(v) for v in value)
            elif isinstance(value, bool):
                value = str(value).lower()
            params[key] = value
        if marker is not None:
            params['marker'] = marker
        images: list[dict[str, Any]] = []
        url: str | None = '/images'
        while url is not None:
            if limit is not None:
                params['limit'] = limit - len(images)
            try:
                body = self._request(context, 'GET', url,
                                     params=params).json()
            except exception.Invalid as exc:
                # Glance's 400 for a marker it shows no image for names
                # the marker: "No image found with ID <marker>".
                if marker is not None and marker in str(exc):
                    raise exception.MarkerNotFound(marker=marker) from None
                raise
            images += [_record(view) for view in body.get('images', [])]
            url = None
            if body.get('next') and (limit is None or len(images) < limit):
                # "/v2/images?...": relative to the API root, and it
                # carries every parameter.
                url = '/' + body['next'].split('/', 2)[2]
                params = {}
        return images

    def download(self, context: Any, image_id: str,
                 dest_path: str | None = None,
                 ) -> Iterator[bytes] | None:
        resp = self._request(context, 'GET', f'/images/{image_id}/file',
                             ok=(200, 204), stream=True)
        if resp.status_code == 204:
            # No data yet (Glance's answer for a queued image).
            resp.close()
            raise exception.InvalidImageState(
                image_id=image_id, expected=api.ACTIVE, actual='no data')
        chunks = resp.iter_content(api.CHUNK)
        if dest_path is None:
            return chunks
        partial = f'{dest_path}.part'
        try:
            with open(partial, 'wb') as target:
                for chunk in chunks:
                    target.write(chunk)
            os.replace(partial, dest_path)
        finally:
            resp.close()
            if os.path.exists(partial):
                os.unlink(partial)
        return None

    # -- writes ---------------------------------------------------------------

    def _attributes(self, image_meta: dict[str, Any]) -> dict[str, Any]:
        unknown = set(image_meta) - set(SETTABLE) - {'id', 'properties'}
        if unknown:
            raise exception.Invalid(
                reason=f'Unknown image attribute(s): '
                       f'{", ".join(sorted(unknown))}')
        body = {k: image_meta[k] for k in ('id', *SETTABLE)
                if k in image_meta}
        for key, value in (image_meta.get('properties') or {}).items():
            body[key] = _property_text(value)
        return body

    def create(self, context: Any, image_meta: dict[str, Any],
               data: api.ImageData | None = None) -> dict[str, Any]:
        body = self._attributes(image_meta)
        body.setdefault('disk_format', 'raw')
        body.setdefault('container_format',
                        'aki' if body['disk_format'] == 'aki' else
                        'ari' if body['disk_format'] == 'ari' else
                        'ami' if body['disk_format'] == 'ami' else 'bare')
        image = _record(self._request(context, 'POST', '/images',
                                      ok=(201,), json=body).json())
        if data is None:
            return image
        return self.upload(context, image['id'], data)

    def create_snapshot(self, context: Any, name: str,
                        properties: dict[str, Any] | None = None,
                        **image_meta: Any) -> dict[str, Any]:
        """The record the snapshot fills.  The Image API has it
        ``queued`` until the data comes (the local store says
        ``saving``); both mean "not active yet" to the snapshot flow."""
        image_meta = dict(image_meta, name=name,
                          properties=dict(properties or {}))
        image_meta.setdefault('visibility', 'private')
        if getattr(context, 'project_id', None):
            # Sent even with the user's token: with [glance]'s (admin)
            # credentials the owner would otherwise be the service's.
            image_meta.setdefault('owner', context.project_id)
        return self.create(context, image_meta)

    def upload(self, context: Any, image_id: str,
               data: api.ImageData) -> dict[str, Any]:
        self._request(context, 'PUT', f'/images/{image_id}/file',
                      ok=(204,), data=api.chunks(data),
                      headers={'Content-Type': 'application/octet-stream'})
        return self.get(context, image_id)

    def update(self, context: Any, image_id: str,
               image_meta: dict[str, Any], data: api.ImageData | None = None,
               purge_props: bool = False) -> dict[str, Any]:
        wanted = self._attributes(image_meta)
        current = self.get(context, image_id)
        operations = [{'op': 'replace', 'path': f'/{k}', 'value': v}
                      for k, v in wanted.items() if k in SETTABLE]
        properties = {k: v for k, v in wanted.items() if k not in SETTABLE}
        for key, value in properties.items():
            operations.append({'op': 'add', 'path': f'/{_escape(key)}',
                               'value': value})
        if purge_props and 'properties' in image_meta:
            operations += [{'op': 'remove', 'path': f'/{_escape(key)}'}
                           for key in current['properties']
                           if key not in properties]
        if operations:
            self._request(context, 'PATCH', f'/images/{image_id}',
                          json=operations,
                          headers={'Content-Type': PATCH_TYPE})
        if data is not None:
            return self.upload(context, image_id, data)
        return self.get(context, image_id)

    def delete(self, context: Any, image_id: str) -> None:
        try:
            self._request(context, 'DELETE', f'/images/{image_id}',
                          ok=(204,))
        except exception.ImageNotAuthorized:
            # Glance answers 403 for both; the record says which.
            if self.get(context, image_id).get('protected'):
                raise exception.ImageProtected(image_id=image_id) from None
            raise


def _escape(key: str) -> str:
    """A property name as a JSON pointer token."""
    return key.replace('~', '~0').replace('/', '~1')
