"""Server tags (2.26+): /servers/{server_id}/tags and its items.

As upstream: at most 50 tags per server, each 1-60 characters without
``,`` or ``/``; a change needs the server in a settled state (active,
paused, suspended, stopped, shelved, shelved offloaded; 409 otherwise).
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

ST = 'os_compute_api:os-server-tags:%s'
MAX_TAGS = 50

_CHANGEABLE_VM_STATES = ('active', 'paused', 'suspended', 'stopped',
                         'shelved', 'shelved_offloaded')

UPDATE_ALL_SCHEMA = {
    'type': 'object',
    'properties': {'tags': copy.deepcopy(types.tags)},
    'required': ['tags'], 'additionalProperties': False}


def _require(req: wsgi.Request) -> None:
    """404 below 2.26, as upstream."""
    if not req.is_microversion('2.26'):
        raise webob.exc.HTTPNotFound(
            explanation='The resource could not be found.')


class ServerTagsController:

    def __init__(self, compute_api: Any) -> None:
        self.compute_api = compute_api

    def _instance(self, req: wsgi.Request, server_id: str,
                  rule: str) -> Any:
        _require(req)
        instance = helpers.get_instance(self.compute_api, req.context,
                                        server_id)
        helpers.authorize(req.context, ST % rule, instance)
        return instance

    @staticmethod
    def _tags(instance: Any) -> list[str]:
        return [t if isinstance(t, str) else common.get(t, 'tag')
                for t in common.get(instance, 'tags') or []]

    def _save(self, req: wsgi.Request, instance: Any, tags: list[str],
              action: str) -> None:
        vm_state = common.get(instance, 'vm_state')
        if vm_state not in _CHANGEABLE_VM_STATES:
            raise exception.InstanceInvalidState(
                attr='vm_state', instance_uuid=common.get(instance, 'uuid'),
                state=vm_state, method=action)
        if len(tags) > MAX_TAGS:
            raise webob.exc.HTTPBadRequest(
                explanation=f'The number of tags exceeded the per-server '
                            f'limit {MAX_TAGS}')
        self.compute_api.update(req.context, instance, tags=tags)

    @staticmethod
    def _not_found(instance: Any, tag: str) -> webob.exc.HTTPNotFound:
        return webob.exc.HTTPNotFound(
            explanation=f"Instance {common.get(instance, 'uuid')} has no "
                        f"tag '{tag}'")

    # -- the collection ---------------------------------------------------

    def index(self, req: wsgi.Request, server_id: str) -> dict[str, Any]:
        instance = self._instance(req, server_id, 'index')
        return {'tags': self._tags(instance)}

    def update_all(self, req: wsgi.Request, server_id: str,
                   body: dict[str, Any]) -> dict[str, Any]:
        _require(req)
        validators.validate(UPDATE_ALL_SCHEMA, body)
        instance = self._instance(req, server_id, 'update_all')
        tags = list(body['tags'])
        self._save(req, instance, tags, 'update tags')
        return {'tags': tags}

    def delete_all(self, req: wsgi.Request,
                   server_id: str) -> wsgi.ResponseObject:
        instance = self._instance(req, server_id, 'delete_all')
        self._save(req, instance, [], 'delete tags')
        return wsgi.ResponseObject(None, code=204)

    # -- one tag ----------------------------------------------------------

    def show(self, req: wsgi.Request, server_id: str,
             id: str) -> wsgi.ResponseObject:
        instance = self._instance(req, server_id, 'show')
        if id not in self._tags(instance):
            raise self._not_found(instance, id)
        return wsgi.ResponseObject(None, code=204)

    def update(self, req: wsgi.Request, server_id: str,
               id: str) -> wsgi.ResponseObject:
        """201 with a Location when added, 204 when already there."""
        _require(req)
        validators.validate(types.tag, id)
        instance = self._instance(req, server_id, 'update')
        tags = self._tags(instance)
        if id in tags:
            return wsgi.ResponseObject(None, code=204)
        self._save(req, instance, tags + [id], 'update tag')
        return wsgi.ResponseObject(None, code=201,
                                   headers={'Location': req.path_url})

    def delete(self, req: wsgi.Request, server_id: str,
               id: str) -> wsgi.ResponseObject:
        instance = self._instance(req, server_id, 'delete')
        tags = self._tags(instance)
        if id not in tags:
            raise self._not_found(instance, id)
        tags.remove(id)
        self._save(req, instance, tags, 'delete tag')
        return wsgi.ResponseObject(None, code=204)
