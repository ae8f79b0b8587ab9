"""Server groups: /os-server-groups.

A group has one policy (``policies`` with one item before 2.64,
``policy`` and ``rules`` from 2.64): affinity, anti-affinity and, from
2.15, soft-affinity and soft-anti-affinity.  Servers join a group with
the ``group`` scheduler hint (stage ``api.server_create.server_group``);
the scheduler's ServerGroup(Anti)AffinityFilter and soft weighers apply
the policy, and the compute host checks it again before it builds
(``compute.build_instance.validate_instance_group_policy``).
"""

from __future__ import annotations

import copy
from typing import Any

import webob.exc

from nova.api.openstack import common, wsgi
from nova.api.validation import parameter_types as types
from nova.api.validation import validators
from nova.policies import enforcer

SG = 'os_compute_api:os-server-groups:%s'

POLICIES = ('anti-affinity', 'affinity')
SOFT_POLICIES = ('soft-anti-affinity', 'soft-affinity')


def create_schema(version: Any) -> dict[str, Any]:
    known = list(POLICIES)
    if version >= '2.15':
        known += SOFT_POLICIES
    group: dict[str, Any] = {'name': types.name}
    if version >= '2.64':
        group['policy'] = {'type': 'string', 'enum': known}
        group['rules'] = {
            'type': 'object',
            'properties': {'max_server_per_host': {
                'type': ['integer', 'string'], 'pattern': '^[0-9]+$',
                'minimum': 1}},
            'additionalProperties': False}
        required = ['name', 'policy']
    else:
        group['policies'] = {
            'type': 'array', 'items': {'type': 'string', 'enum': known},
            'uniqueItems': True, 'minItems': 1, 'maxItems': 1}
        required = ['name', 'policies']
    return copy.deepcopy({
        'type': 'object',
        'properties': {'server_group': {
            'type': 'object', 'properties': group, 'required': required,
            'additionalProperties': False}},
        'required': ['server_group'], 'additionalProperties': False})


class ServerGroupController:

    def __init__(self, db: Any) -> None:
        self.db = db

    def _view(self, req: wsgi.Request, group: Any) -> dict[str, Any]:
        members = [m['instance_uuid'] for m in group['members']]
        view: dict[str, Any] = {'id': group['uuid'], 'name': group['name']}
        if req.is_microversion('2.64'):
            view['policy'] = group['policy']
            view['rules'] = {k: int(v) for k, v in
                             (group.get('rules') or {}).items()}
        else:
            view['policies'] = [group['policy']]
            view['metadata'] = {}
        # Upstream shows only the members a project may see; a group is
        # one project's, so that is all of them.
        view['members'] = members
        if req.is_microversion('2.13'):
            view['project_id'] = group['project_id']
            view['user_id'] = group['user_id']
        return view

    def _get(self, req: wsgi.Request, id: str, rule: str) -> Any:
        group = self.db.instance_group_get(req.context, id)
        enforcer.authorize(req.context, SG % rule,
                           {'project_id': group['project_id'],
                            'user_id': group['user_id']})
        return group

    def index(self, req: wsgi.Request) -> dict[str, Any]:
        ctx = req.context
        enforcer.authorize(ctx, SG % 'index')
        project_id: str | None = ctx.project_id
        if common.bool_from_string(req.GET.get('all_projects', False)) \
                and enforcer.authorize(ctx, SG % 'index:all_projects',
                                       fatal=False):
            project_id = None
        limit = offset = None
        try:
            if 'limit' in req.GET:
                limit = int(req.GET['limit'])
            if 'offset' in req.GET:
                offset = int(req.GET['offset'])
        except ValueError:
            raise webob.exc.HTTPBadRequest(
                explanation='limit and offset must be integers') from None
        if (limit is not None and limit < 1) or (offset is not None
                                                 and offset < 0):
            raise webob.exc.HTTPBadRequest(
                explanation='limit must be positive and offset must not '
                            'be negative')
        groups = self.db.instance_group_get_all(ctx, project_id,
                                                limit=limit, offset=offset)
        return {'server_groups': [self._view(req, g) for g in groups]}

    def show(self, req: wsgi.Request, id: str) -> dict[str, Any]:
        return {'server_group': self._view(req, self._get(req, id, 'show'))}

    def create(self, req: wsgi.Request,
               body: dict[str, Any]) -> dict[str, Any]:
        ctx = req.context
        enforcer.authorize(ctx, SG % 'create')
        validators.validate(create_schema(req.api_version_request), body)
        entity = body['server_group']
        if req.is_microversion('2.64'):
            policy = entity['policy']
            rules = {k: int(v) for k, v in
                     (entity.get('rules') or {}).items()}
            if rules and policy != 'anti-affinity':
                raise webob.exc.HTTPBadRequest(
                    explanation='Only anti-affinity policy supports '
                                '"max_server_per_host" rule.')
        else:
            policy = entity['policies'][0]
            rules = {}
        group = self.db.instance_group_create(ctx, {
            'name': entity['name'], 'policy': policy, 'rules': rules,
            'project_id': ctx.project_id, 'user_id': ctx.user_id})
        return {'server_group': self._view(req, group)}

    def delete(self, req: wsgi.Request, id: str) -> wsgi.ResponseObject:
        self._get(req, id, 'delete')
        self.db.instance_group_delete(req.context, id)
        return wsgi.ResponseObject(None, code=204)
