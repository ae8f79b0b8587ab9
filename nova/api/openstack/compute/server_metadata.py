"""Server metadata: /servers/{server_id}/metadata and its items.

As upstream: ``POST`` merges, ``PUT`` replaces the whole set, an item is
read, set and deleted by key; a change needs the server active, paused,
suspended or stopped with no task running (409 otherwise) and not locked
(409), and the resulting set must fit the ``metadata_items`` quota (403).
"""

from __future__ import annotations

import copy
from typing import Any

import webob.exc

from nova import exception, quota
from nova.api.openstack import common, wsgi
from nova.api.openstack.compute import helpers
from nova.api.validation import parameter_types as types
from nova.api.validation import validators

SM = 'os_compute_api:server-metadata:%s'

_CHANGEABLE_VM_STATES = ('active', 'paused', 'suspended', 'stopped')

METADATA_SCHEMA = {
    'type': 'object',
    'properties': {'metadata': types.metadata},
    'required': ['metadata'], 'additionalProperties': False}

_ITEM = copy.deepcopy(types.metadata)
_ITEM.update(minProperties=1, maxProperties=1)
ITEM_SCHEMA = {
    'type': 'object',
    'properties': {'meta': _ITEM},
    'required': ['meta'], 'additionalProperties': False}


class ServerMetadataController:

    def __init__(self, compute_api: Any, db: Any) -> None:
        self.compute_api = compute_api
        self.quotas = quota.QuotaEngine(db)

    def _instance(self, req: wsgi.Request, server_id: str,
                  rule: str) -> Any:
        instance = helpers.get_instance(self.compute_api, req.context,
                                        server_id)
        helpers.authorize(req.context, SM % rule, instance)
        return instance

    @staticmethod
    def _metadata(instance: Any) -> dict[str, str]:
        return dict(common.get(instance, 'metadata') or {})

    def _save(self, req: wsgi.Request, instance: Any,
              metadata: dict[str, str], method: str) -> None:
        ctx = req.context
        uuid = common.get(instance, 'uuid')
        for attr, allowed in (('vm_state', _CHANGEABLE_VM_STATES),
                              ('task_state', (None,))):
            if common.get(instance, attr) not in allowed:
                raise exception.InstanceInvalidState(
                    attr=attr, instance_uuid=uuid,
                    state=common.get(instance, attr), method=method)
        if common.get(instance, 'locked') and not ctx.is_admin:
            raise exception.InstanceIsLocked(instance_uuid=uuid)
        self.quotas.check_metadata(
            ctx, metadata, common.get(instance, 'project_id'),
            common.get(instance, 'user_id'))
        self.compute_api.update(ctx, instance, metadata=metadata)

    # -- the collection ---------------------------------------------------

    def index(self, req: wsgi.Request, server_id: str) -> dict[str, Any]:
        instance = self._instance(req, server_id, 'index')
        return {'metadata': self._metadata(instance)}

    def create(self, req: wsgi.Request, server_id: str,
               body: dict[str, Any]) -> dict[str, Any]:
        """Merge the items into the server's metadata."""
        validators.validate(METADATA_SCHEMA, body)
        instance = self._instance(req, server_id, 'create')
        metadata = self._metadata(instance)
        metadata.update(body['metadata'])
        self._save(req, instance, metadata, 'update_instance_metadata')
        return {'metadata': metadata}

    def update_all(self, req: wsgi.Request, server_id: str,
                   body: dict[str, Any]) -> dict[str, Any]:
        """Replace the whole set."""
        validators.validate(METADATA_SCHEMA, body)
        instance = self._instance(req, server_id, 'update_all')
        metadata = dict(body['metadata'])
        self._save(req, instance, metadata, 'update_instance_metadata')
        return {'metadata': metadata}

    # -- one item ---------------------------------------------------------

    def show(self, req: wsgi.Request, server_id: str,
             id: str) -> dict[str, Any]:
        instance = self._instance(req, server_id, 'show')
        metadata = self._metadata(instance)
        if id not in metadata:
            raise webob.exc.HTTPNotFound(
                explanation='Metadata item was not found')
        return {'meta': {id: metadata[id]}}

    def update(self, req: wsgi.Request, server_id: str, id: str,
               body: dict[str, Any]) -> dict[str, Any]:
        """Set one item; the body's key must be the URL's."""
        validators.validate(ITEM_SCHEMA, body)
        if id not in body['meta']:
            raise webob.exc.HTTPBadRequest(
                explanation='Request body and URI mismatch')
        instance = self._instance(req, server_id, 'update')
        metadata = self._metadata(instance)
        metadata[id] = body['meta'][id]
        self._save(req, instance, metadata, 'update_instance_metadata')
        return {'meta': {id: metadata[id]}}

    def delete(self, req: wsgi.Request, server_id: str,
               id: str) -> wsgi.ResponseObject:
        instance = self._instance(req, server_id, 'delete')
        metadata = self._metadata(instance)
        if id not in metadata:
            raise webob.exc.HTTPNotFound(
                explanation='Metadata item was not found')
        del metadata[id]
        self._save(req, instance, metadata, 'delete_instance_metadata')
        return wsgi.ResponseObject(None, code=204)
