"""``/v3/volumes``: create, list, show, delete, and the volume actions.

Backed by :class:`nova.volume.local.LocalVolumeAPI` directly, never by
``[volume] backend``: that may be the REST client of this very API.

Views have Cinder's field names and forms (``status`` lowercase,
``bootable`` the string ``"true"``/``"false"``, timestamps with
microseconds, ``os-vol-tenant-attr:tenant_id``), adding from the
microversion that brought them ``group_id`` (3.13), ``service_uuid`` and
``shared_targets`` (3.48), ``volume_type_id`` (3.63) and
``consumes_quota`` (3.65).

The actions are Cinder's: ``os-extend`` (only while ``available``: the
local volumes have no online extend) and the attachment actions nova's
volume interface (:class:`nova.volume.api.VolumeAPI`) is made of
(``os-reserve``, ``os-unreserve``, ``os-initialize_connection``,
``os-attach``, ``os-begin_detaching``, ``os-roll_detaching``,
``os-detach``, ``os-terminate_connection``), which the REST client
:mod:`nova.volume.cinder` calls.

A volume may be created from an image (``imageRef``): the image's data
is copied into it.  What the local volumes cannot hold (descriptions,
metadata, volume types, snapshots, clones, multiattach) is refused with
400 rather than accepted and dropped, so a request never loses what it
asked for.
"""

from __future__ import annotations

import uuid
from typing import Any

import webob.exc

from nova import exception
from nova.api.openstack import common, wsgi
from nova.api.validation import validators
from nova.policies import enforcer
from nova.policies import volumes as policies

#: Cinder's default volume type name and availability zone.
DEFAULT_TYPE = '__DEFAULT__'
DEFAULT_ZONE = 'nova'
#: Cinder's limit on a name or description.
NAME_LENGTH = 255
#: Names the attachment ID of a volume's one attachment (a volume here
#: has one attachment at a time, without a record of its own).
_ATTACHMENT_NS = uuid.UUID('0c6b3b36-8ff4-4f5f-a7a1-4e3b8fb0f1d5')

_NULLABLE_STRING = {'type': ['string', 'null'], 'maxLength': NAME_LENGTH}

CREATE_SCHEMA: dict[str, Any] = {
    'type': 'object',
    'properties': {'volume': {
        'type': 'object',
        'properties': {
            'size': {'type': ['integer', 'string'],
                     'pattern': r'^[0-9]+$', 'minimum': 1},
            'name': _NULLABLE_STRING,
            'display_name': _NULLABLE_STRING,
            'description': {'type': ['string', 'null'], 'maxLength': 0},
            'display_description': {'type': ['string', 'null'],
                                    'maxLength': 0},
            'availability_zone': {'enum': [DEFAULT_ZONE, None]},
            'volume_type': {'enum': [DEFAULT_TYPE, None]},
            'metadata': {'type': ['object', 'null'], 'maxProperties': 0},
            'multiattach': {'enum': [False, None]},
            'imageRef': {'type': ['string', 'null'], 'format': 'uuid'},
            'snapshot_id': {'type': 'null'},
            'source_volid': {'type': 'null'},
            'backup_id': {'type': 'null'},
            'consistencygroup_id': {'type': 'null'},
            'group_id': {'type': 'null'},
        },
        'required': ['size'],
        'additionalProperties': False}},
    'required': ['volume'],
    'additionalProperties': True,  # scheduler hints, as Cinder allows
}

EXTEND_SCHEMA: dict[str, Any] = {
    'type': 'object',
    'properties': {'os-extend': {
        'type': 'object',
        'properties': {'new_size': {'type': ['integer', 'string'],
                                    'pattern': r'^[0-9]+$', 'minimum': 1}},
        'required': ['new_size'], 'additionalProperties': False}},
}

_CONNECTOR_SCHEMA: dict[str, Any] = {'type': ['object', 'null']}


def _action_schema(name: str, properties: dict[str, Any],
                   required: list[str] | None = None) -> dict[str, Any]:
    return {'type': 'object', 'properties': {name: {
        'type': ['object', 'null'], 'properties': properties,
        'required': required or []}}}


ATTACH_SCHEMA = _action_schema('os-attach', {
    'instance_uuid': {'type': 'string', 'format': 'uuid'},
    'mountpoint': {'type': ['string', 'null']},
    'mode': {'enum': ['rw']}}, ['instance_uuid'])
# os-attach needs its instance_uuid: no null body.
ATTACH_SCHEMA['properties']['os-attach']['type'] = 'object'
RESERVE_SCHEMA = _action_schema('os-reserve', {
    'instance_uuid': {'type': ['string', 'null'], 'format': 'uuid'}})
DETACH_SCHEMA = _action_schema('os-detach', {
    'instance_uuid': {'type': ['string', 'null'], 'format': 'uuid'},
    'attachment_id': {'type': ['string', 'null']}})
CONNECTION_SCHEMA = {
    name: _action_schema(name, {'connector': _CONNECTOR_SCHEMA})
    for name in ('os-initialize_connection', 'os-terminate_connection')}

LIST_FILTERS = ('name', 'status', 'all_tenants', 'project_id', 'limit',
                'marker', 'sort', 'sort_key', 'sort_dir', 'offset',
                'with_count')


def _datetime(value: Any) -> str | None:
    """Cinder's timestamp form: ``2018-11-28T06:21:12.000000``."""
    return common.usage_time(value)


def _size(value: Any, name: str) -> int:
    size = int(value)
    if size > common.MAX_INT:
        raise webob.exc.HTTPBadRequest(
            explanation=f'Invalid input received: {name} {size} is too '
                        f'large')
    return size


class VolumeController:
    """The volumes of the caller's project (every project for admins
    asking with ``all_tenants``)."""

    def __init__(self, volume_api: Any) -> None:
        self.volume_api = volume_api

    # -- views ---------------------------------------------------------------

    def _links(self, req: wsgi.Request, volume: Any,
               ) -> list[dict[str, str]]:
        base = req.application_url.rstrip('/')
        root = base.rsplit('/v3', 1)[0]
        return [{'rel': 'self', 'href': f'{base}/volumes/{volume["id"]}'},
                {'rel': 'bookmark',
                 'href': f'{root}/volumes/{volume["id"]}'}]

    def _attachments(self, volume: Any) -> list[dict[str, Any]]:
        server = common.get(volume, 'instance_uuid')
        if not server or common.get(volume, 'attach_status') != 'attached':
            return []
        return [{'id': volume['id'], 'volume_id': volume['id'],
                 'attachment_id': str(uuid.uuid5(
                     _ATTACHMENT_NS, f'{volume["id"]}/{server}')),
                 'server_id': server, 'host_name': None,
                 'device': common.get(volume, 'mountpoint'),
                 'attached_at': _datetime(common.get(volume,
                                                     'updated_at'))}]

    def _summary(self, req: wsgi.Request, volume: Any) -> dict[str, Any]:
        return {'id': volume['id'],
                'name': common.get(volume, 'display_name'),
                'links': self._links(req, volume)}

    def _detail(self, req: wsgi.Request, volume: Any) -> dict[str, Any]:
        view = self._summary(req, volume)
        view.update({
            'status': volume['status'],
            'size': volume['size'],
            'availability_zone': DEFAULT_ZONE,
            'created_at': _datetime(common.get(volume, 'created_at')),
            'updated_at': _datetime(common.get(volume, 'updated_at')),
            'attachments': self._attachments(volume),
            'description': None,
            'volume_type': DEFAULT_TYPE,
            'snapshot_id': None,
            'source_volid': None,
            'metadata': {},
            'user_id': common.get(volume, 'user_id'),
            'bootable': 'false',
            'encrypted': False,
            'replication_status': None,
            'consistencygroup_id': None,
            'multiattach': False,
            'os-vol-tenant-attr:tenant_id': common.get(volume,
                                                       'project_id'),
        })
        if req.is_microversion('3.13'):
            view['group_id'] = None
        if req.is_microversion('3.48'):
            view['service_uuid'] = None
            view['shared_targets'] = False
        if req.is_microversion('3.63'):
            view['volume_type_id'] = None
        if req.is_microversion('3.65'):
            view['consumes_quota'] = True
        return view

    # -- lookups -------------------------------------------------------------

    def _get(self, req: wsgi.Request, volume_id: str, rule: str) -> Any:
        ctx = req.context
        try:
            uuid.UUID(volume_id)
        except ValueError:
            # A name: 404, so clients fall back to a search by name.
            raise exception.VolumeNotFound(volume_id=volume_id) from None
        volume = self.volume_api.get(ctx, volume_id)
        enforcer.authorize(ctx, rule, {
            'project_id': common.get(volume, 'project_id'),
            'user_id': common.get(volume, 'user_id')})
        return volume

    def _list(self, req: wsgi.Request) -> list[Any]:
        ctx = req.context
        enforcer.authorize(ctx, policies.GET_ALL)
        unknown = sorted(set(req.GET) - set(LIST_FILTERS))
        if unknown:
            raise webob.exc.HTTPBadRequest(
                explanation=f'Invalid filter keys: {", ".join(unknown)}')
        filters: dict[str, Any] = {}
        all_projects = common.bool_from_string(
            req.GET.get('all_tenants', ''))
        # As Cinder: all_tenants from anyone but an admin is ignored.
        if all_projects and enforcer.authorize(ctx, 'context_is_admin',
                                               fatal=False):
            if req.GET.get('project_id'):
                filters['project_id'] = req.GET['project_id']
        else:
            filters['project_id'] = ctx.project_id
        if req.GET.get('status'):
            filters['status'] = req.GET['status']
        volumes = self.volume_api.get_all(ctx, filters)
        if req.GET.get('name'):
            volumes = [v for v in volumes
                       if common.get(v, 'display_name') == req.GET['name']]
        volumes.sort(key=lambda v: (common.get(v, 'created_at') or 0,
                                    v['id']), reverse=True)
        return list(common.limited(volumes, req, key='id'))

    # -- resources -----------------------------------------------------------

    def index(self, req: wsgi.Request) -> dict[str, Any]:
        return {'volumes': [self._summary(req, v) for v in self._list(req)]}

    def detail(self, req: wsgi.Request) -> dict[str, Any]:
        return {'volumes': [self._detail(req, v) for v in self._list(req)]}

    def show(self, req: wsgi.Request, id: str) -> dict[str, Any]:
        return {'volume': self._detail(req, self._get(req, id,
                                                      policies.GET))}

    @wsgi.response(202)
    def create(self, req: wsgi.Request, body: dict[str, Any],
               ) -> dict[str, Any]:
        ctx = req.context
        enforcer.authorize(ctx, policies.CREATE)
        validators.validate(CREATE_SCHEMA, body)
        spec = body['volume']
        name = spec.get('name') or spec.get('display_name')
        try:
            volume = self.volume_api.create(
                ctx, _size(spec['size'], 'size'), name,
                image_id=spec.get('imageRef'))
        except exception.ImageNotFound:
            raise webob.exc.HTTPBadRequest(
                explanation='Invalid image identifier or unable to access '
                            'requested image.') from None
        return {'volume': self._detail(req, volume)}

    @wsgi.response(202)
    def delete(self, req: wsgi.Request, id: str) -> None:
        self._get(req, id, policies.DELETE)
        self.volume_api.delete(req.context, id)

    # -- actions -------------------------------------------------------------

    @wsgi.response(202)
    @wsgi.action('os-extend')
    def extend(self, req: wsgi.Request, id: str,
               body: dict[str, Any]) -> None:
        validators.validate(EXTEND_SCHEMA, body)
        self._get(req, id, policies.EXTEND)
        self.volume_api.extend(req.context, id, _size(
            body['os-extend']['new_size'], 'new_size'))

    @wsgi.response(202)
    @wsgi.action('os-reserve')
    def reserve(self, req: wsgi.Request, id: str,
                body: dict[str, Any]) -> None:
        validators.validate(RESERVE_SCHEMA, body)
        self._get(req, id, policies.ACTION % 'reserve')
        self.volume_api.reserve(req.context, id,
                                (body['os-reserve'] or {}).get(
                                    'instance_uuid'))

    @wsgi.response(202)
    @wsgi.action('os-unreserve')
    def unreserve(self, req: wsgi.Request, id: str) -> None:
        self._get(req, id, policies.ACTION % 'unreserve')
        self.volume_api.unreserve(req.context, id)

    @wsgi.action('os-initialize_connection')
    def initialize_connection(self, req: wsgi.Request, id: str,
                              body: dict[str, Any]) -> dict[str, Any]:
        name = 'os-initialize_connection'
        validators.validate(CONNECTION_SCHEMA[name], body)
        self._get(req, id, policies.ACTION % 'initialize_connection')
        info = self.volume_api.initialize_connection(
            req.context, id, (body[name] or {}).get('connector'))
        return {'connection_info': info}

    @wsgi.response(202)
    @wsgi.action('os-terminate_connection')
    def terminate_connection(self, req: wsgi.Request, id: str,
                             body: dict[str, Any]) -> None:
        name = 'os-terminate_connection'
        validators.validate(CONNECTION_SCHEMA[name], body)
        self._get(req, id, policies.ACTION % 'terminate_connection')
        self.volume_api.terminate_connection(
            req.context, id, (body[name] or {}).get('connector'))

    @wsgi.action('os-attach')
    def attach(self, req: wsgi.Request, id: str,
               body: dict[str, Any]) -> Any:
        """202 as Cinder; the body carries the connection info, which
        nova's interface returns from ``attach`` (Cinder's clients ignore
        a 202's body)."""
        validators.validate(ATTACH_SCHEMA, body)
        self._get(req, id, policies.ACTION % 'attach')
        spec = body['os-attach']
        info = self.volume_api.attach(req.context, id,
                                      spec['instance_uuid'],
                                      spec.get('mountpoint'))
        return wsgi.ResponseObject({'connection_info': info}, code=202)

    @wsgi.response(202)
    @wsgi.action('os-begin_detaching')
    def begin_detaching(self, req: wsgi.Request, id: str) -> None:
        self._get(req, id, policies.ACTION % 'begin_detaching')
        self.volume_api.begin_detaching(req.context, id)

    @wsgi.response(202)
    @wsgi.action('os-roll_detaching')
    def roll_detaching(self, req: wsgi.Request, id: str) -> None:
        self._get(req, id, policies.ACTION % 'roll_detaching')
        self.volume_api.roll_detaching(req.context, id)

    @wsgi.response(202)
    @wsgi.action('os-detach')
    def detach(self, req: wsgi.Request, id: str,
               body: dict[str, Any]) -> None:
        validators.validate(DETACH_SCHEMA, body)
        self._get(req, id, policies.ACTION % 'detach')
        self.volume_api.detach(req.context, id,
                               (body['os-detach'] or {}).get(
                                   'instance_uuid'))

