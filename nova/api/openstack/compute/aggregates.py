"""Host aggregates: /os-aggregates (admin).

An aggregate groups compute hosts and carries metadata; its
``availability_zone`` metadata makes its hosts an availability zone
(see :mod:`nova.compute.availability_zones`).  The scheduler's
AvailabilityZoneFilter and AggregateInstanceExtraSpecsFilter read them.
"""

from __future__ import annotations

import copy
from typing import Any

import webob.exc

import nova.conf
from nova import exception
from nova.api.openstack import common, wsgi
from nova.api.validation import parameter_types as types
from nova.api.validation import validators
from nova.compute import availability_zones
from nova.policies import enforcer

CONF = nova.conf.CONF
AG = 'os_compute_api:os-aggregates:%s'

_NAME = {'type': 'string', 'minLength': 1, 'maxLength': 255,
         'pattern': r'^(?!\s)[^\x00-\x1f\x7f]*(?<!\s)$'}
_ZONE = {'type': ['string', 'null'], 'minLength': 1, 'maxLength': 255,
         'pattern': r'^(?!\s)[^\x00-\x1f\x7f:]*(?<!\s)$'}


def _body(key: str, properties: dict[str, Any],
          required: list[str] | None = None, **extra: Any,
          ) -> dict[str, Any]:
    inner: dict[str, Any] = {'type': 'object', 'properties': properties,
                             'additionalProperties': False, **extra}
    if required:
        inner['required'] = required
    return copy.deepcopy({'type': 'object', 'properties': {key: inner},
                          'required': [key], 'additionalProperties': False})


CREATE = _body('aggregate', {'name': _NAME, 'availability_zone': _ZONE},
               ['name'])
UPDATE = _body('aggregate', {'name': _NAME, 'availability_zone': _ZONE},
               minProperties=1)
HOST = {'host': types.hostname}
METADATA = _body('set_metadata', {'metadata': {
    'type': 'object',
    'patternProperties': {'^[a-zA-Z0-9-_:. ]{1,255}$': {
        'type': ['string', 'null'], 'maxLength': 255}},
    'additionalProperties': False}}, ['metadata'])


class AggregateController:

    def __init__(self, db: Any) -> None:
        self.db = db

    # -- views -----------------------------------------------------------

    def _view(self, req: wsgi.Request, aggregate: Any,
              full: bool = True) -> dict[str, Any]:
        metadata = dict(aggregate.get('metadata') or {})
        view: dict[str, Any] = {
            'id': aggregate['id'], 'name': aggregate['name'],
            'availability_zone': metadata.get(
                availability_zones.AZ_KEY),
            'created_at': common.isotime(aggregate.get('created_at')),
            'updated_at': common.isotime(aggregate.get('updated_at')),
            'deleted_at': None, 'deleted': False,
        }
        if full:
            view['hosts'] = list(aggregate.get('hosts') or [])
            view['metadata'] = metadata
        if req.is_microversion('2.41'):
            view['uuid'] = aggregate['uuid']
        return view

    def _id(self, id: str) -> int:
        # 400 past the database's integer column too (not a 500).
        return common.int_param(id, 'aggregate id')

    # -- checks ----------------------------------------------------------

    def _check_zone_name(self, zone: str | None) -> None:
        if zone and zone == CONF.internal_service_availability_zone:
            raise webob.exc.HTTPBadRequest(
                explanation='Aggregates with availability zone name '
                            f'{zone} are not allowed: it is the zone of '
                            'the internal services')

    def _check_zone_conflict(self, req: wsgi.Request, aggregate: Any,
                             hosts: list[str], zone: str | None) -> None:
        """A host is in at most one zone: no aggregate of another zone
        may hold a host of this one."""
        if not zone:
            return
        clashes = set()
        for other in self.db.aggregate_get_all(req.context):
            if other['id'] == aggregate['id']:
                continue
            other_zone = (other.get('metadata') or {}).get(
                availability_zones.AZ_KEY)
            if other_zone and other_zone != zone and set(
                    other['hosts']) & set(hosts):
                clashes.add(other_zone)
        if clashes:
            raise webob.exc.HTTPBadRequest(
                explanation=f'Cannot add host to aggregate '
                            f'{aggregate["id"]}. Reason: One or more hosts '
                            f'already in availability zone(s) '
                            f'{sorted(clashes)}.')

    # -- resources -------------------------------------------------------

    def index(self, req: wsgi.Request) -> dict[str, Any]:
        enforcer.authorize(req.context, AG % 'index')
        return {'aggregates': [self._view(req, a) for a in
                               self.db.aggregate_get_all(req.context)]}

    def show(self, req: wsgi.Request, id: str) -> dict[str, Any]:
        enforcer.authorize(req.context, AG % 'show')
        return {'aggregate': self._view(
            req, self.db.aggregate_get(req.context, self._id(id)))}

    def create(self, req: wsgi.Request,
               body: dict[str, Any]) -> dict[str, Any]:
        enforcer.authorize(req.context, AG % 'create')
        validators.validate(CREATE, body)
        entity = body['aggregate']
        zone = entity.get('availability_zone')
        self._check_zone_name(zone)
        metadata = {availability_zones.AZ_KEY: zone} if zone else {}
        aggregate = self.db.aggregate_create(req.context, entity['name'],
                                             metadata)
        return {'aggregate': self._view(req, aggregate, full=False)}

    def update(self, req: wsgi.Request, id: str,
               body: dict[str, Any]) -> dict[str, Any]:
        enforcer.authorize(req.context, AG % 'update')
        validators.validate(UPDATE, body)
        entity = body['aggregate']
        aggregate = self.db.aggregate_get(req.context, self._id(id))
        metadata = None
        if 'availability_zone' in entity:
            zone = entity['availability_zone']
            self._check_zone_name(zone)
            self._check_zone_conflict(req, aggregate, aggregate['hosts'],
                                      zone)
            metadata = {availability_zones.AZ_KEY: zone}
        aggregate = self.db.aggregate_update(
            req.context, aggregate['id'], name=entity.get('name'),
            metadata=metadata)
        return {'aggregate': self._view(req, aggregate)}

    def delete(self, req: wsgi.Request, id: str) -> wsgi.ResponseObject:
        enforcer.authorize(req.context, AG % 'delete')
        aggregate = self.db.aggregate_get(req.context, self._id(id))
        if aggregate['hosts']:
            raise webob.exc.HTTPBadRequest(
                explanation=f'Cannot remove aggregate {aggregate["id"]}. '
                            f'Reason: Host aggregate is not empty.')
        self.db.aggregate_delete(req.context, aggregate['id'])
        return wsgi.ResponseObject(None, code=200)

    @wsgi.action('add_host')
    def _add_host(self, req: wsgi.Request, id: str,
                  body: dict[str, Any]) -> dict[str, Any]:
        enforcer.authorize(req.context, AG % 'add_host')
        validators.validate(_body('add_host', HOST, ['host']), body)
        host = body['add_host']['host']
        aggregate = self.db.aggregate_get(req.context, self._id(id))
        if not self.db.compute_node_get_all_by_host(req.context, host):
            raise exception.ComputeHostNotFound(host=host)
        self._check_zone_conflict(
            req, aggregate, [host],
            aggregate['metadata'].get(availability_zones.AZ_KEY))
        self.db.aggregate_host_add(req.context, aggregate['id'], host)
        return {'aggregate': self._view(
            req, self.db.aggregate_get(req.context, aggregate['id']))}

    @wsgi.action('remove_host')
    def _remove_host(self, req: wsgi.Request, id: str,
                     body: dict[str, Any]) -> dict[str, Any]:
        enforcer.authorize(req.context, AG % 'remove_host')
        validators.validate(_body('remove_host', HOST, ['host']), body)
        host = body['remove_host']['host']
        aggregate = self.db.aggregate_get(req.context, self._id(id))
        self.db.aggregate_host_delete(req.context, aggregate['id'], host)
        return {'aggregate': self._view(
            req, self.db.aggregate_get(req.context, aggregate['id']))}

    @wsgi.action('set_metadata')
    def _set_metadata(self, req: wsgi.Request, id: str,
                      body: dict[str, Any]) -> dict[str, Any]:
        enforcer.authorize(req.context, AG % 'set_metadata')
        validators.validate(METADATA, body)
        metadata = body['set_metadata']['metadata']
        aggregate = self.db.aggregate_get(req.context, self._id(id))
        if availability_zones.AZ_KEY in metadata:
            zone = metadata[availability_zones.AZ_KEY]
            self._check_zone_name(zone)
            self._check_zone_conflict(req, aggregate, aggregate['hosts'],
                                      zone)
        aggregate = self.db.aggregate_update(req.context, aggregate['id'],
                                             metadata=metadata)
        return {'aggregate': self._view(req, aggregate)}
