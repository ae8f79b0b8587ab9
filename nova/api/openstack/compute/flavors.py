"""Flavors: list, detail, show; create/update/delete (admin); extra specs;
the projects a private flavor is shared with (os-flavor-access).

A private flavor (``os-flavor-access:is_public`` false) is, for a
project it is not shared with, as if it did not exist: absent from the
lists, 404 on show, and "Invalid flavorRef provided." (400) for a boot or
resize, as upstream.  Admins see and use every flavor.
"""

from __future__ import annotations

import copy
from typing import Any

import webob.exc

from nova import exception
from nova.api.openstack import common, wsgi
from nova.api.openstack.compute.flows.base import flavor_public_id
from nova.api.validation import parameter_types as types
from nova.api.validation import validators
from nova.compute import flavors as compute_flavors
from nova.policies import enforcer

FM = 'os_compute_api:os-flavor-manage:%s'
ES = 'os_compute_api:os-flavor-extra-specs:%s'
FA = 'os_compute_api:os-flavor-access'

_SORT_KEYS = ('created_at', 'description', 'disabled', 'ephemeral_gb',
              'flavorid', 'id', 'is_public', 'memory_mb', 'name', 'root_gb',
              'rxtx_factor', 'swap', 'updated_at', 'vcpu_weight', 'vcpus')

_EXTRA_SPEC_KEY = {'type': 'string', 'minLength': 1, 'maxLength': 255,
                   'pattern': '^[a-zA-Z0-9-_:. ]+$'}
_EXTRA_SPEC_VALUE = {'type': ['string', 'number', 'boolean'],
                     'minLength': 0, 'maxLength': 255}


_MAX_INT = validators.MAX_INT


def create_schema(version: Any) -> dict[str, Any]:
    flavor: dict[str, Any] = {
        'name': types.name,
        'id': {'type': ['string', 'null'], 'minLength': 1, 'maxLength': 255,
               'pattern': r'^(?! )[a-zA-Z0-9. _-]+(?<! )$'},
        'ram': {'type': ['integer', 'string'], 'pattern': '^[0-9]+$',
                'minimum': 1, 'maximum': _MAX_INT},
        'vcpus': {'type': ['integer', 'string'], 'pattern': '^[0-9]+$',
                  'minimum': 1, 'maximum': _MAX_INT},
        'disk': {'type': ['integer', 'string'], 'pattern': '^[0-9]+$',
                 'minimum': 0, 'maximum': _MAX_INT},
        'OS-FLV-EXT-DATA:ephemeral': {'type': ['integer', 'string'],
                                      'pattern': '^[0-9]*$', 'minimum': 0,
                                      'maximum': _MAX_INT},
        'swap': {'type': ['integer', 'string'], 'pattern': '^[0-9]*$',
                 'minimum': 0, 'maximum': _MAX_INT},
        # A 4-byte float column upstream: its largest finite value.
        'rxtx_factor': {'type': ['number', 'string'],
                        'pattern': r'^[0-9]+(\.[0-9]+)?$',
                        'exclusiveMinimum': 0, 'maximum': 3.40282e+38},
        'os-flavor-access:is_public': types.boolean,
    }
    if version >= '2.55':
        flavor['description'] = types.description
    return copy.deepcopy({
        'type': 'object',
        'properties': {'flavor': {
            'type': 'object', 'properties': flavor,
            'required': ['name', 'ram', 'vcpus', 'disk'],
            'additionalProperties': False}},
        'required': ['flavor'], 'additionalProperties': False})


update_schema: dict[str, Any] = {
    'type': 'object',
    'properties': {'flavor': {
        'type': 'object',
        'properties': {'description': types.description},
        'required': ['description'], 'additionalProperties': False}},
    'required': ['flavor'], 'additionalProperties': False}

extra_specs_schema: dict[str, Any] = {
    'type': 'object',
    'properties': {'extra_specs': {
        'type': 'object',
        'patternProperties': {'^[a-zA-Z0-9-_:. ]{1,255}$':
                              _EXTRA_SPEC_VALUE},
        'additionalProperties': False}},
    'required': ['extra_specs'], 'additionalProperties': False}

extra_spec_item_schema: dict[str, Any] = {
    'type': 'object',
    'patternProperties': {'^[a-zA-Z0-9-_:. ]{1,255}$': _EXTRA_SPEC_VALUE},
    'additionalProperties': False, 'minProperties': 1, 'maxProperties': 1}


def _int(value: Any) -> int:
    return int(value) if value not in (None, '') else 0


class FlavorsController:

    def __init__(self, db: Any) -> None:
        self.db = db

    # -- views -------------------------------------------------------------

    def _links(self, req: wsgi.Request, flavor: Any) -> list[dict]:
        return common.self_links(req, 'flavors', flavor_public_id(flavor))

    def _basic(self, req: wsgi.Request, flavor: Any) -> dict[str, Any]:
        view = {'id': flavor_public_id(flavor),
                'name': common.get(flavor, 'name'),
                'links': self._links(req, flavor)}
        if req.is_microversion('2.55'):
            view['description'] = common.get(flavor, 'description')
        return view

    def _detail(self, req: wsgi.Request, flavor: Any,
                extra_specs_allowed: bool) -> dict[str, Any]:
        swap = common.get(flavor, 'swap') or 0
        view = {
            'id': flavor_public_id(flavor),
            'name': common.get(flavor, 'name'),
            'ram': common.get(flavor, 'memory_mb'),
            'disk': common.get(flavor, 'root_gb'),
            'vcpus': common.get(flavor, 'vcpus'),
            'links': self._links(req, flavor),
            'OS-FLV-EXT-DATA:ephemeral': common.get(flavor,
                                                    'ephemeral_gb') or 0,
            'OS-FLV-DISABLED:disabled': bool(common.get(flavor,
                                                        'disabled')),
            'os-flavor-access:is_public': bool(common.get(
                flavor, 'is_public', True)),
            # Before 2.75 an empty swap is "", as upstream.
            'swap': swap if swap or req.is_microversion('2.75') else '',
            'rxtx_factor': common.get(flavor, 'rxtx_factor') or 1.0,
        }
        if req.is_microversion('2.55'):
            view['description'] = common.get(flavor, 'description')
        if req.is_microversion('2.61') and extra_specs_allowed:
            view['extra_specs'] = dict(common.get(flavor, 'extra_specs')
                                       or {})
        return view

    def _specs_allowed(self, req: wsgi.Request) -> bool:
        return enforcer.authorize(req.context, ES % 'index', fatal=False)

    # -- reads -------------------------------------------------------------

    def _list(self, req: wsgi.Request) -> list[Any]:
        ctx = req.context
        filters: dict[str, Any] = {}
        is_public = req.GET.get('is_public')
        if ctx.is_admin:
            # Admins see private flavors too unless they ask otherwise.
            if is_public is None or is_public.lower() == 'none':
                filters['is_public'] = None
            else:
                filters['is_public'] = common.bool_from_string(is_public)
        else:
            # Public flavors and the private ones shared with the project.
            filters['project_id'] = ctx.project_id
        for key, field in (('minRam', 'min_memory_mb'),
                           ('minDisk', 'min_root_gb')):
            if key in req.GET:
                filters[field] = common.int_param(req.GET[key],
                                                  f'{key} filter')
        sort_key = req.GET.get('sort_key', 'flavorid')
        sort_dir = req.GET.get('sort_dir', 'asc')
        if sort_key not in _SORT_KEYS or sort_dir not in ('asc', 'desc'):
            raise webob.exc.HTTPBadRequest(
                explanation=f'Invalid sort_key or sort_dir: {sort_key} '
                            f'{sort_dir}')
        limit, marker = common.pagination_params(req)
        try:
            flavors = self.db.flavor_get_all(
                ctx, filters=filters, sort_key=sort_key, sort_dir=sort_dir,
                limit=limit, marker=marker)
        except exception.NotFound:
            if marker is None:
                raise
            raise webob.exc.HTTPBadRequest(
                explanation=f'marker [{marker}] not found') from None
        result = []
        for flavor in flavors:
            if common.get(flavor, 'disabled'):
                continue
            if filters.get('is_public') is not None and bool(common.get(
                    flavor, 'is_public', True)) != filters['is_public']:
                continue
            if common.get(flavor, 'memory_mb', 0) < filters.get(
                    'min_memory_mb', 0):
                continue
            if common.get(flavor, 'root_gb', 0) < filters.get(
                    'min_root_gb', 0):
                continue
            result.append(flavor)
        return result[:limit]

    def _page(self, req: wsgi.Request, views: list[dict[str, Any]],
              ) -> dict[str, Any]:
        result: dict[str, Any] = {'flavors': views}
        limit, _marker = common.pagination_params(req)
        links = common.next_link(req, 'flavors', views, limit)
        if links:
            result['flavors_links'] = links
        return result

    def index(self, req: wsgi.Request) -> dict[str, Any]:
        return self._page(req, [self._basic(req, f)
                                for f in self._list(req)])

    def detail(self, req: wsgi.Request) -> dict[str, Any]:
        allowed = self._specs_allowed(req)
        return self._page(req, [self._detail(req, f, allowed)
                                for f in self._list(req)])

    def _get(self, req: wsgi.Request, id: str) -> Any:
        return compute_flavors.get_flavor_for(self.db, req.context, id)

    def show(self, req: wsgi.Request, id: str) -> dict[str, Any]:
        return {'flavor': self._detail(req, self._get(req, id),
                                       self._specs_allowed(req))}

    # -- admin -------------------------------------------------------------

    def create(self, req: wsgi.Request, body: dict[str, Any],
               ) -> dict[str, Any]:
        ctx = req.context
        enforcer.authorize(ctx, FM % 'create')
        validators.validate(create_schema(req.api_version_request), body)
        entity = body['flavor']
        values = {
            'name': entity['name'].strip(),
            'flavorid': entity.get('id') or None,
            'memory_mb': _int(entity['ram']),
            'vcpus': _int(entity['vcpus']),
            'root_gb': _int(entity['disk']),
            'ephemeral_gb': _int(entity.get('OS-FLV-EXT-DATA:ephemeral')),
            'swap': _int(entity.get('swap')),
            'rxtx_factor': float(entity.get('rxtx_factor') or 1.0),
            'is_public': common.bool_from_string(entity.get(
                'os-flavor-access:is_public', True)),
            'description': entity.get('description'),
        }
        if values['flavorid'] is None:
            import uuid
            values['flavorid'] = str(uuid.uuid4())
        flavor = self.db.flavor_create(ctx, values)
        return {'flavor': self._detail(req, flavor, True)}

    def update(self, req: wsgi.Request, id: str,
               body: dict[str, Any]) -> dict[str, Any]:
        """PUT /flavors/{id} (2.55+): only the description changes."""
        ctx = req.context
        if not req.is_microversion('2.55'):
            raise webob.exc.HTTPNotFound(
                explanation='The resource could not be found.')
        enforcer.authorize(ctx, FM % 'update')
        validators.validate(update_schema, body)
        self._get(req, id)
        flavor = self.db.flavor_update(
            ctx, id, {'description': body['flavor']['description']})
        return {'flavor': self._detail(req, flavor, True)}

    @wsgi.response(202)
    def delete(self, req: wsgi.Request, id: str) -> None:
        ctx = req.context
        enforcer.authorize(ctx, FM % 'delete')
        self._get(req, id)
        self.db.flavor_destroy(ctx, id)


class FlavorExtraSpecsController:
    """/flavors/{flavor_id}/os-extra_specs[/{id}]."""

    def __init__(self, db: Any) -> None:
        self.db = db

    def _specs(self, req: wsgi.Request, flavor_id: str) -> dict[str, str]:
        flavor = compute_flavors.get_flavor_for(self.db, req.context,
                                                flavor_id)
        return dict(common.get(flavor, 'extra_specs') or {})

    def index(self, req: wsgi.Request, flavor_id: str) -> dict[str, Any]:
        enforcer.authorize(req.context, ES % 'index')
        return {'extra_specs': self._specs(req, flavor_id)}

    def show(self, req: wsgi.Request, flavor_id: str,
             id: str) -> dict[str, Any]:
        enforcer.authorize(req.context, ES % 'show')
        specs = self._specs(req, flavor_id)
        if id not in specs:
            raise exception.FlavorExtraSpecsNotFound(
                flavor_id=flavor_id, extra_specs_key=id)
        return {id: specs[id]}

    def create(self, req: wsgi.Request, flavor_id: str,
               body: dict[str, Any]) -> dict[str, Any]:
        enforcer.authorize(req.context, ES % 'create')
        validators.validate(extra_specs_schema, body)
        specs = {k: str(v) for k, v in body['extra_specs'].items()}
        self._specs(req, flavor_id)
        self.db.flavor_extra_specs_update_or_create(req.context, flavor_id,
                                                    specs)
        return {'extra_specs': specs}

    def update(self, req: wsgi.Request, flavor_id: str, id: str,
               body: dict[str, Any]) -> dict[str, Any]:
        enforcer.authorize(req.context, ES % 'update')
        validators.validate(extra_spec_item_schema, body)
        if id not in body:
            raise webob.exc.HTTPBadRequest(
                explanation='Request body and URI mismatch')
        self._specs(req, flavor_id)
        specs = {id: str(body[id])}
        self.db.flavor_extra_specs_update_or_create(req.context, flavor_id,
                                                    specs)
        return specs

    def delete(self, req: wsgi.Request, flavor_id: str, id: str) -> None:
        enforcer.authorize(req.context, ES % 'delete')
        if id not in self._specs(req, flavor_id):
            raise exception.FlavorExtraSpecsNotFound(
                flavor_id=flavor_id, extra_specs_key=id)
        self.db.flavor_extra_specs_delete(req.context, flavor_id, id)


def _access_schema(action: str) -> dict[str, Any]:
    return {
        'type': 'object',
        'properties': {action: {
            'type': 'object',
            'properties': {'tenant': {'type': 'string', 'minLength': 1,
                                      'maxLength': 255}},
            'required': ['tenant'], 'additionalProperties': False}},
        'required': [action], 'additionalProperties': False}


class FlavorAccessController:
    """GET /flavors/{flavor_id}/os-flavor-access, and the flavor actions
    ``addTenantAccess`` / ``removeTenantAccess`` (admin by default:
    policies ``os_compute_api:os-flavor-access[:add_tenant_access|
    :remove_tenant_access]``, upstream's names)."""

    def __init__(self, db: Any) -> None:
        self.db = db

    def _access(self, req: wsgi.Request, flavorid: str) -> dict[str, Any]:
        rows = self.db.flavor_access_get_by_flavor_id(req.context, flavorid)
        return {'flavor_access': [
            {'flavor_id': flavorid, 'tenant_id': row['project_id']}
            for row in rows]}

    def index(self, req: wsgi.Request, flavor_id: str) -> dict[str, Any]:
        enforcer.authorize(req.context, FA)
        flavor = self.db.flavor_get_by_flavor_id(req.context, flavor_id)
        if common.get(flavor, 'is_public'):
            raise webob.exc.HTTPNotFound(
                explanation='Access list not available for public flavors.')
        return self._access(req, flavor_id)

    @wsgi.action('addTenantAccess')
    def _add_tenant_access(self, req: wsgi.Request, id: str,
                           body: dict[str, Any]) -> dict[str, Any]:
        enforcer.authorize(req.context, FA + ':add_tenant_access')
        validators.validate(_access_schema('addTenantAccess'), body)
        flavor = self.db.flavor_get_by_flavor_id(req.context, id)
        if common.get(flavor, 'is_public'):
            raise webob.exc.HTTPConflict(
                explanation='Can not add access to a public flavor.')
        self.db.flavor_access_add(req.context, id,
                                  body['addTenantAccess']['tenant'])
        return self._access(req, id)

    @wsgi.action('removeTenantAccess')
    def _remove_tenant_access(self, req: wsgi.Request, id: str,
                              body: dict[str, Any]) -> dict[str, Any]:
        enforcer.authorize(req.context, FA + ':remove_tenant_access')
        validators.validate(_access_schema('removeTenantAccess'), body)
        self.db.flavor_access_remove(req.context, id,
                                     body['removeTenantAccess']['tenant'])
        return self._access(req, id)
