"""os-volume_attachments: a server's volumes; attach and detach.

``POST`` runs compute.reserve_block_device_name on the server's host (the
device name is in the response) and casts compute.attach_volume;
``DELETE`` casts compute.detach_volume.  Views follow the request's
microversion: ``tag`` from 2.70, ``delete_on_termination`` from 2.79,
``attachment_id`` and ``bdm_uuid`` instead of ``id`` from 2.89.
"""

from __future__ import annotations

import copy
from typing import Any

import webob.exc

from nova import exception
from nova.api.openstack import common, wsgi
from nova.api.openstack.compute import helpers
from nova.api.validation import parameter_types as types
from nova.api.validation import validators

VA = 'os_compute_api:os-volumes-attachments:%s'


def create_schema(version: Any) -> dict[str, Any]:
    attachment: dict[str, Any] = {
        'volumeId': types.uuid,
        'device': {'type': ['string', 'null'],
                   'pattern': r'(^/dev/x{0,1}[a-z]{0,1}d{0,1})([a-z]+)'
                              r'[0-9]*$'},
    }
    if version >= '2.49':
        attachment['tag'] = types.device_tag
    if version >= '2.79':
        attachment['delete_on_termination'] = types.boolean
    return copy.deepcopy({
        'type': 'object',
        'properties': {'volumeAttachment': {
            'type': 'object', 'properties': attachment,
            'required': ['volumeId'], 'additionalProperties': False}},
        'required': ['volumeAttachment'], 'additionalProperties': False})


class VolumeAttachmentsController:

    def __init__(self, compute_api: Any) -> None:
        self.compute_api = compute_api

    def _instance(self, req: wsgi.Request, server_id: str,
                  rule: str) -> Any:
        instance = helpers.get_instance(self.compute_api, req.context,
                                        server_id)
        helpers.authorize(req.context, VA % rule, instance)
        return instance

    def _view(self, req: wsgi.Request, bdm: Any) -> dict[str, Any]:
        volume_id = common.get(bdm, 'volume_id')
        view: dict[str, Any] = {}
        if not req.is_microversion('2.89'):
            view['id'] = volume_id
        view['volumeId'] = volume_id
        view['serverId'] = common.get(bdm, 'instance_uuid')
        if common.get(bdm, 'device_name'):
            view['device'] = common.get(bdm, 'device_name')
        if req.is_microversion('2.70'):
            view['tag'] = common.get(bdm, 'tag')
        if req.is_microversion('2.79'):
            view['delete_on_termination'] = bool(
                common.get(bdm, 'delete_on_termination'))
        if req.is_microversion('2.89'):
            view['attachment_id'] = common.get(bdm, 'attachment_id')
            view['bdm_uuid'] = common.get(bdm, 'uuid')
        return view

    def _find(self, req: wsgi.Request, instance: Any,
              volume_id: str) -> Any:
        for bdm in self.compute_api.get_volume_attachments(req.context,
                                                           instance):
            if common.get(bdm, 'volume_id') == volume_id:
                return bdm
        raise webob.exc.HTTPNotFound(
            explanation=f'volume_id not found: {volume_id}')

    def index(self, req: wsgi.Request, server_id: str) -> dict[str, Any]:
        """GET /servers/{id}/os-volume_attachments."""
        instance = self._instance(req, server_id, 'index')
        bdms = self.compute_api.get_volume_attachments(req.context,
                                                       instance)
        limit, offset = _limit_offset(req)
        bdms = bdms[offset:offset + limit if limit is not None else None]
        return {'volumeAttachments': [self._view(req, b) for b in bdms]}

    def show(self, req: wsgi.Request, server_id: str,
             id: str) -> dict[str, Any]:
        """GET /servers/{id}/os-volume_attachments/{volume_id}."""
        instance = self._instance(req, server_id, 'show')
        return {'volumeAttachment': self._view(
            req, self._find(req, instance, id))}

    def create(self, req: wsgi.Request, server_id: str,
               body: dict[str, Any]) -> dict[str, Any]:
        """POST: attach a volume; 200 with the attachment (upstream)."""
        validators.validate(create_schema(req.api_version_request), body)
        instance = self._instance(req, server_id, 'create')
        entity = body['volumeAttachment']
        delete_on_termination = entity.get('delete_on_termination', False)
        if not isinstance(delete_on_termination, bool):
            delete_on_termination = common.bool_from_string(
                delete_on_termination)
        try:
            bdm = self.compute_api.attach_volume(
                req.context, instance, entity['volumeId'],
                device=entity.get('device'), tag=entity.get('tag'),
                delete_on_termination=delete_on_termination)
        except (exception.DevicePathInUse,
                exception.ServiceUnavailable) as exc:
            # ServiceUnavailable: the server's nova-compute is down or did
            # not answer; 409 as upstream maps it for other actions.
            raise webob.exc.HTTPConflict(
                explanation=exc.format_message()) from None
        view = self._view(req, bdm)
        # The attach response always has the volume ID as ``id``.
        view.pop('attachment_id', None)
        view.pop('bdm_uuid', None)
        return {'volumeAttachment': dict({'id': entity['volumeId']},
                                         **view)}

    @wsgi.response(202)
    def delete(self, req: wsgi.Request, server_id: str, id: str) -> None:
        """DELETE: detach the volume."""
        instance = self._instance(req, server_id, 'delete')
        self._find(req, instance, id)
        try:
            self.compute_api.detach_volume(req.context, instance, id)
        except exception.VolumeBDMNotFound:
            raise webob.exc.HTTPNotFound(
                explanation=f'volume_id not found: {id}') from None
        except exception.InvalidVolume as exc:
            raise webob.exc.HTTPBadRequest(
                explanation=exc.format_message()) from None


def _limit_offset(req: wsgi.Request) -> tuple[int | None, int]:
    limit = common.int_param(req.GET['limit'], 'limit') \
        if 'limit' in req.GET else None
    offset = common.int_param(req.GET.get('offset', 0), 'offset')
    if (limit is not None and limit < 0) or offset < 0:
        raise webob.exc.HTTPBadRequest(
            explanation='limit and offset must not be negative')
    return limit, offset
