"""os-services (admin): list, enable/disable/force down, delete."""

from __future__ import annotations

from typing import Any

import webob.exc

import nova.conf
from nova import exception
from nova.api.openstack import common, wsgi
from nova.api.openstack.compute import helpers
from nova.api.validation import parameter_types as types
from nova.api.validation import validators
from nova.compute import availability_zones
from nova.policies import enforcer
from nova.servicegroup import service_is_up

CONF = nova.conf.CONF
SV = 'os_compute_api:os-services:%s'

update_schema: dict[str, Any] = {
    'type': 'object',
    'properties': {
        'status': {'type': 'string', 'enum': ['enabled', 'disabled']},
        'disabled_reason': {'type': 'string', 'minLength': 1,
                            'maxLength': 255},
        'forced_down': types.boolean,
    },
    'additionalProperties': False,
}

legacy_schema: dict[str, Any] = {
    'type': 'object',
    'properties': {
        'host': types.hostname,
        'binary': {'type': 'string', 'minLength': 1, 'maxLength': 255},
        'disabled_reason': {'type': 'string', 'minLength': 1,
                            'maxLength': 255},
        'forced_down': types.boolean,
    },
    'required': ['host', 'binary'],
    'additionalProperties': False,
}


def service_zone(service: Any) -> str:
    if common.get(service, 'binary') == 'nova-compute':
        return common.get(service, 'availability_zone') or \
            CONF.default_availability_zone
    return CONF.internal_service_availability_zone


class ServicesController:

    def __init__(self, db: Any) -> None:
        self.db = db

    def _view(self, req: wsgi.Request, service: Any) -> dict[str, Any]:
        view = {
            'id': common.get(service, 'uuid') if req.is_microversion('2.53')
            else common.get(service, 'id'),
            'binary': common.get(service, 'binary'),
            'host': common.get(service, 'host'),
            'zone': service_zone(service),
            'status': 'disabled' if common.get(service, 'disabled')
            else 'enabled',
            'state': 'up' if service_is_up(service) else 'down',
            'updated_at': common.usage_time(
                common.get(service, 'updated_at')),
            'disabled_reason': common.get(service, 'disabled_reason'),
        }
        if req.is_microversion('2.11'):
            view['forced_down'] = bool(common.get(service, 'forced_down'))
        return view

    def index(self, req: wsgi.Request) -> dict[str, Any]:
        enforcer.authorize(req.context, SV % 'list')
        services = self.db.service_get_all(
            req.context, binary=req.GET.get('binary') or None,
            host=req.GET.get('host') or None)
        # A compute host's zone is its aggregate's, when one names it.
        zones = availability_zones.aggregate_zones(req.context, self.db)
        services = [
            dict(s, availability_zone=zones[common.get(s, 'host')])
            if common.get(s, 'binary') == 'nova-compute'
            and common.get(s, 'host') in zones else s for s in services]
        return {'services': [self._view(req, s) for s in services]}

    def _find(self, req: wsgi.Request, id: str) -> Any:
        ctx = req.context
        if req.is_microversion('2.53'):
            if not helpers.is_uuid_like(id):
                raise webob.exc.HTTPBadRequest(
                    explanation=f'Invalid uuid {id}')
            return self.db.service_get_by_uuid(ctx, id)
        return self.db.service_get(ctx, common.int_param(id, 'service id'))

    def update(self, req: wsgi.Request, id: str,
               body: dict[str, Any]) -> dict[str, Any]:
        """PUT /os-services/{uuid} (2.53+) or the legacy
        enable/disable/disable-log-reason/force-down actions."""
        ctx = req.context
        enforcer.authorize(ctx, SV % 'update')
        if not req.is_microversion('2.53'):
            return self._legacy_update(req, id, body)
        validators.validate(update_schema, body)
        if not body:
            raise webob.exc.HTTPBadRequest(
                explanation='At least one of status or forced_down is '
                            'needed')
        if 'disabled_reason' in body and body.get('status') != 'disabled':
            raise webob.exc.HTTPBadRequest(
                explanation='disabled_reason needs status "disabled"')
        service = self._find(req, id)
        values: dict[str, Any] = {}
        if 'status' in body:
            values['disabled'] = body['status'] == 'disabled'
            values['disabled_reason'] = body.get('disabled_reason') \
                if values['disabled'] else None
        if 'forced_down' in body:
            values['forced_down'] = common.bool_from_string(
                body['forced_down'])
        self.db.service_update(ctx, common.get(service, 'id'), values)
        service = dict(service, **values)
        return {'service': self._view(req, service)}

    def _legacy_update(self, req: wsgi.Request, action: str,
                       body: dict[str, Any]) -> dict[str, Any]:
        if action not in ('enable', 'disable', 'disable-log-reason',
                          'force-down'):
            raise webob.exc.HTTPNotFound(explanation='Unknown action')
        if action == 'force-down' and not req.is_microversion('2.11'):
            raise webob.exc.HTTPNotFound(explanation='Unknown action')
        validators.validate(legacy_schema, body)
        ctx = req.context
        found = self.db.service_get_all(ctx, binary=body['binary'],
                                        host=body['host'])
        if not found:
            raise exception.ServiceNotFound(
                service_id=f"{body['binary']} on {body['host']}")
        service = found[0]
        values: dict[str, Any]
        if action == 'enable':
            values = {'disabled': False, 'disabled_reason': None}
            status = 'enabled'
        elif action == 'force-down':
            values = {'forced_down': common.bool_from_string(
                body.get('forced_down', True))}
            status = 'disabled' if common.get(service, 'disabled') \
                else 'enabled'
        else:
            values = {'disabled': True,
                      'disabled_reason': body.get('disabled_reason')}
            status = 'disabled'
        self.db.service_update(ctx, common.get(service, 'id'), values)
        view: dict[str, Any] = {'host': body['host'],
                                'binary': body['binary']}
        if action == 'force-down':
            view['forced_down'] = values['forced_down']
        else:
            view['status'] = status
        if action == 'disable-log-reason':
            view['disabled_reason'] = values['disabled_reason']
        return {'service': view}

    @wsgi.response(204)
    def delete(self, req: wsgi.Request, id: str) -> None:
        ctx = req.context
        enforcer.authorize(ctx, SV % 'delete')
        service = self._find(req, id)
        self.db.service_destroy(ctx, common.get(service, 'id'))
