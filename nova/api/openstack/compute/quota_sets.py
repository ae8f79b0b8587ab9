"""Quotas: /os-quota-sets/{project_id} (show, update, revert to the
defaults), /defaults and /detail, per project or, with ``?user_id=``,
per user (see :mod:`nova.quota` for the semantics)."""

from __future__ import annotations

import copy
from typing import Any

import webob.exc

from nova import exception, quota
from nova.api.openstack import wsgi
from nova.api.validation import validators
from nova.policies import enforcer

QS = 'os_compute_api:os-quota-sets:%s'
MAX_INT = 0x7FFFFFFF

_LIMIT = {'type': ['integer', 'string'], 'pattern': '^-?[0-9]+$',
          'minimum': -1, 'maximum': MAX_INT}


def update_schema(version: Any) -> dict[str, Any]:
    properties: dict[str, Any] = {
        name: _LIMIT for name in quota.resources_at(version)}
    properties['force'] = {'type': ['boolean', 'string'],
                           'enum': [True, False, 'True', 'False', 'true',
                                    'false', '1', '0', 'yes', 'no']}
    return copy.deepcopy({
        'type': 'object',
        'properties': {'quota_set': {
            'type': 'object', 'properties': properties,
            'additionalProperties': False}},
        'required': ['quota_set'], 'additionalProperties': False})


_QUERY = {'type': 'object',
          'properties': {'user_id': {'type': 'string', 'minLength': 1,
                                     'maxLength': 255}},
          'additionalProperties': True}


class QuotaSetsController:

    def __init__(self, db: Any) -> None:
        self.db = db
        self.quotas = quota.QuotaEngine(db)

    # -- helpers ----------------------------------------------------------

    @staticmethod
    def _user_id(req: wsgi.Request) -> str | None:
        values = req.GET.getall('user_id')
        if not values:
            return None
        validators.validate(_QUERY, {'user_id': values[-1]}, query=True)
        return values[-1]

    @staticmethod
    def _authorize(req: wsgi.Request, rule: str, project_id: str,
                   user_id: str | None = None) -> None:
        ctx = req.context
        enforcer.authorize(ctx, QS % rule, {
            'project_id': project_id,
            'user_id': user_id or ctx.user_id})

    @staticmethod
    def _format(req: wsgi.Request, project_id: str | None,
                values: dict[str, Any]) -> dict[str, Any]:
        shown = quota.resources_at(req.api_version_request)
        result: dict[str, Any] = {name: values[name] for name in shown
                                  if name in values}
        if project_id is not None:
            result['id'] = project_id
        return {'quota_set': result}

    def _quotas(self, ctx: Any, project_id: str, user_id: str | None,
                usages: bool = False) -> dict[str, Any]:
        if user_id:
            return self.quotas.get_user_quotas(ctx, project_id, user_id,
                                               usages=usages)
        return self.quotas.get_project_quotas(ctx, project_id,
                                              usages=usages)

    # -- the API ----------------------------------------------------------

    def show(self, req: wsgi.Request, id: str) -> dict[str, Any]:
        user_id = self._user_id(req)
        self._authorize(req, 'show', id, user_id)
        return self._format(req, id, self._quotas(req.context, id,
                                                  user_id))

    def detail(self, req: wsgi.Request, id: str) -> dict[str, Any]:
        """Each resource as {limit, in_use, reserved} (reserved is always
        0: usage is counted, never reserved)."""
        user_id = self._user_id(req)
        self._authorize(req, 'detail', id, user_id)
        return self._format(req, id, self._quotas(req.context, id, user_id,
                                                  usages=True))

    def defaults(self, req: wsgi.Request, id: str) -> dict[str, Any]:
        self._authorize(req, 'defaults', id)
        return self._format(req, id,
                            self.quotas.get_defaults(req.context))

    def update(self, req: wsgi.Request, id: str,
               body: dict[str, Any]) -> dict[str, Any]:
        """Store new limits.  Unless ``force`` is true, a limit must not
        be below what is in use, and a user's limit not above the
        project's (upstream's checks)."""
        validators.validate(update_schema(req.api_version_request), body)
        user_id = self._user_id(req)
        self._authorize(req, 'update', id, user_id)
        ctx = req.context
        values = dict(body['quota_set'])
        force = values.pop('force', False)
        if not isinstance(force, bool):
            force = str(force).lower() in ('true', '1', 'yes')
        limits = {name: _as_limit(name, value)
                  for name, value in values.items()}
        if not force and limits:
            current = self._quotas(ctx, id, user_id, usages=True)
            project_limits = (self.quotas.get_project_quotas(ctx, id)
                              if user_id else None)
            for name, limit in limits.items():
                maximum = project_limits[name] if project_limits else -1
                _validate_limit(name, limit, current[name]['in_use'],
                                maximum)
        if limits:
            self.db.quota_set(ctx, id, limits, user_id=user_id)
        return self._format(req, None, self._quotas(ctx, id, user_id))

    def delete(self, req: wsgi.Request, id: str) -> wsgi.ResponseObject:
        """Back to the defaults (a user: back to the project's)."""
        user_id = self._user_id(req)
        self._authorize(req, 'delete', id, user_id)
        if user_id:
            self.db.quota_destroy_all_by_project_and_user(req.context, id,
                                                          user_id)
        else:
            self.db.quota_destroy_all_by_project(req.context, id)
        return wsgi.ResponseObject(None, code=202)


def _as_limit(name: str, value: Any) -> int:
    try:
        limit = int(value)
    except (TypeError, ValueError):
        raise exception.ValidationError(
            detail=f"Invalid input for field/attribute {name}. Value: "
                   f"{value}. {value!r} is not valid") from None
    if not -1 <= limit <= MAX_INT:
        raise exception.ValidationError(
            detail=f'Invalid input for field/attribute {name}. Value: '
                   f'{value}. {limit} is not in the range -1 to '
                   f'{MAX_INT}')
    return limit


def _validate_limit(name: str, limit: int, minimum: int,
                    maximum: int) -> None:
    def unlimited_as_inf(value: int) -> float:
        return float('inf') if value == -1 else value

    if unlimited_as_inf(limit) < unlimited_as_inf(minimum):
        raise webob.exc.HTTPBadRequest(
            explanation=f'Quota limit {limit} for {name} must be greater '
                        f'than or equal to already used and reserved '
                        f'{minimum}.')
    if unlimited_as_inf(limit) > unlimited_as_inf(maximum):
        raise webob.exc.HTTPBadRequest(
            explanation=f'Quota limit {limit} for {name} must be less '
                        f'than or equal to {maximum}.')
