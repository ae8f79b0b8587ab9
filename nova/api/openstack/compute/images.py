"""The image proxy: /images, /images/detail, /images/{id} (until 2.35).

openstackclient resolves ``--image`` through it (without a microversion),
so it is served from the local image service; from 2.36 it answers 404
like upstream, where it was deprecated in favour of the image API.
"""

from __future__ import annotations

from typing import Any

import webob.exc

from nova.api.openstack import common, wsgi

# Image status as the proxy shows it.
_STATUS = {'active': 'ACTIVE', 'queued': 'SAVING', 'saving': 'SAVING',
           'deleted': 'DELETED', 'pending_delete': 'DELETED',
           'killed': 'ERROR', 'importing': 'SAVING', 'uploading': 'SAVING'}

# The proxy's status filter, in the image service's terms.
_STATUS_FILTER = {'ACTIVE': 'active', 'SAVING': 'saving',
                  'DELETED': 'deleted', 'ERROR': 'killed'}


class ImagesController:

    def __init__(self, image_api: Any) -> None:
        self.image_api = image_api

    @staticmethod
    def _check_version(req: wsgi.Request) -> None:
        if req.is_microversion('2.36'):
            raise webob.exc.HTTPNotFound(
                explanation='The image proxy API was removed in 2.36; use '
                            'the Image service API.')

    def _links(self, req: wsgi.Request, image_id: str) -> list[dict]:
        links = common.self_links(req, 'images', image_id)
        links.append({'rel': 'alternate',
                      'type': 'application/vnd.openstack.image',
                      'href': f'{req.host_url}/images/{image_id}'})
        return links

    def _detail(self, req: wsgi.Request, image: Any) -> dict[str, Any]:
        image_id = str(common.get(image, 'id'))
        status = _STATUS.get(str(common.get(image, 'status') or ''
                                 ).lower(), 'UNKNOWN')
        view: dict[str, Any] = {
            'id': image_id,
            'name': common.get(image, 'name'),
            'minRam': int(common.get(image, 'min_ram') or 0),
            'minDisk': int(common.get(image, 'min_disk') or 0),
            'metadata': dict(common.get(image, 'properties') or {}),
            'created': common.isotime(common.get(image, 'created_at')),
            'updated': common.isotime(common.get(image, 'updated_at')),
            'status': status,
            'progress': {'ACTIVE': 100, 'SAVING': 25}.get(status, 0),
            'links': self._links(req, image_id),
            'OS-EXT-IMG-SIZE:size': common.get(image, 'size'),
        }
        server = view['metadata'].get('instance_uuid')
        if server:
            view['server'] = {'id': server, 'links': common.self_links(
                req, 'servers', server)}
        return view

    def _basic(self, req: wsgi.Request, image: Any) -> dict[str, Any]:
        image_id = str(common.get(image, 'id'))
        return {'id': image_id, 'name': common.get(image, 'name'),
                'links': self._links(req, image_id)}

    def _list(self, req: wsgi.Request) -> list[Any]:
        """Images matching the proxy's filters: name, status and id go to
        the image service; the rest are applied here."""
        self._check_version(req)
        filters: dict[str, Any] = {}
        if 'name' in req.GET:
            filters['name'] = req.GET['name']
        if 'status' in req.GET:
            filters['status'] = _STATUS_FILTER.get(
                req.GET['status'].upper(), req.GET['status'].lower())
        wanted_ids = None
        id_filter = req.GET.get('id')
        if id_filter:
            # openstackclient asks for ?id=in:a,b,c after a server list.
            filters['id'] = id_filter
            wanted_ids = set(id_filter.removeprefix('in:').split(','))
        images = self.image_api.get_all(req.context, filters=filters)
        min_ram = self._int_param(req, 'minRam')
        min_disk = self._int_param(req, 'minDisk')
        since = req.GET.get('changes-since')
        since_time = common.parse_time(since, 'changes-since') \
            if since else None
        server = req.GET.get('server')
        result = []
        for image in images:
            props = common.get(image, 'properties') or {}
            if wanted_ids is not None and \
                    str(common.get(image, 'id')) not in wanted_ids:
                continue
            if 'name' in filters and common.get(image, 'name') != \
                    filters['name']:
                continue
            if int(common.get(image, 'min_ram') or 0) < min_ram or \
                    int(common.get(image, 'min_disk') or 0) < min_disk:
                continue
            if server and props.get('instance_uuid') != server.rsplit(
                    '/', 1)[-1]:
                continue
            if since_time is not None:
                updated = common.isotime(common.get(image, 'updated_at'))
                if updated and common.parse_time(updated, 'updated') < \
                        since_time:
                    continue
            result.append(image)
        return common.limited(result, req)

    @staticmethod
    def _int_param(req: wsgi.Request, name: str) -> int:
        return common.int_param(req.GET.get(name, 0), f'{name} filter')

    def index(self, req: wsgi.Request) -> dict[str, Any]:
        return {'images': [self._basic(req, i) for i in self._list(req)]}

    def detail(self, req: wsgi.Request) -> dict[str, Any]:
        return {'images': [self._detail(req, i) for i in self._list(req)]}

    def show(self, req: wsgi.Request, id: str) -> dict[str, Any]:
        self._check_version(req)
        return {'image': self._detail(req, self.image_api.get(req.context,
                                                              id))}

    @wsgi.response(204)
    def delete(self, req: wsgi.Request, id: str) -> None:
        self._check_version(req)
        self.image_api.delete(req.context, id)
