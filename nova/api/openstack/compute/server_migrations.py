"""/servers/{server_id}/migrations (admin): a server's live migrations
under way - list (2.23+), show (2.23+), force completion (2.22+) and
abort (2.24+; a queued or preparing one too from 2.65).

2.59 adds the migration's ``uuid``, 2.80 its ``user_id`` and
``project_id``.  Other moves (resize, cold migration, evacuation) are
listed by os-migrations only.
"""

from __future__ import annotations

from typing import Any

import webob.exc

from nova import exception
from nova.api.openstack import common, wsgi
from nova.api.openstack.compute import helpers
from nova.api.openstack.compute.migrations import LIVE_MIGRATION_IN_PROGRESS
from nova.api.openstack.compute.schemas import migrations as schemas
from nova.api.validation import validators
from nova.policies.migrations import SERVER_MIGRATIONS

_FIELDS = {
    'id': 'id', 'server_uuid': 'instance_uuid',
    'source_node': 'source_node', 'dest_node': 'dest_node',
    'source_compute': 'source_compute', 'dest_compute': 'dest_compute',
    'dest_host': 'dest_host', 'status': 'status',
    'memory_total_bytes': 'memory_total',
    'memory_processed_bytes': 'memory_processed',
    'memory_remaining_bytes': 'memory_remaining',
    'disk_total_bytes': 'disk_total',
    'disk_processed_bytes': 'disk_processed',
    'disk_remaining_bytes': 'disk_remaining',
}


def _require(req: wsgi.Request, version: str) -> None:
    """404 below the microversion that added the method, as upstream."""
    if not req.is_microversion(version):
        raise webob.exc.HTTPNotFound(
            explanation='The resource could not be found.')


def _migration_id(text: str) -> int | None:
    """The integer ID a URL names, None when no row can have it."""
    if text.isascii() and text.isdigit() and len(text) < 19:
        return int(text)
    return None


class ServerMigrationsController:

    def __init__(self, compute_api: Any, db: Any) -> None:
        self.compute_api = compute_api
        self.db = db

    def _instance(self, req: wsgi.Request, server_id: str,
                  rule: str) -> Any:
        instance = helpers.get_instance(self.compute_api, req.context,
                                        server_id)
        helpers.authorize(req.context, SERVER_MIGRATIONS % rule, instance)
        return instance

    @staticmethod
    def _view(req: wsgi.Request, migration: Any) -> dict[str, Any]:
        view: dict[str, Any] = {name: common.get(migration, key)
                                for name, key in _FIELDS.items()}
        view['created_at'] = common.usage_time(
            common.get(migration, 'created_at'))
        view['updated_at'] = common.usage_time(
            common.get(migration, 'updated_at'))
        if req.is_microversion('2.59'):
            view['uuid'] = common.get(migration, 'uuid')
        if req.is_microversion('2.80'):
            view['user_id'] = common.get(migration, 'user_id')
            view['project_id'] = common.get(migration, 'project_id')
        return view

    def index(self, req: wsgi.Request, server_id: str) -> dict[str, Any]:
        """GET /servers/{id}/migrations: its live migrations under way."""
        _require(req, '2.23')
        ctx = req.context
        instance = self._instance(req, server_id, 'index')
        migrations = self.db.migration_get_in_progress_by_instance(
            ctx, common.get(instance, 'uuid'), 'live-migration')
        return {'migrations': [self._view(req, m) for m in migrations]}

    def show(self, req: wsgi.Request, server_id: str,
             id: str) -> dict[str, Any]:
        """GET /servers/{id}/migrations/{migration_id}."""
        _require(req, '2.23')
        ctx = req.context
        instance = self._instance(req, server_id, 'show')
        uuid = common.get(instance, 'uuid')
        migration = None
        migration_id = _migration_id(id)
        if migration_id is not None:
            try:
                migration = self.db.migration_get(ctx, migration_id)
            except exception.MigrationNotFound:
                pass
        if migration is None or \
                common.get(migration, 'instance_uuid') != uuid:
            raise webob.exc.HTTPNotFound(
                explanation=f'In-progress live migration {id} is not found '
                            f'for server {server_id}.')
        if common.get(migration, 'migration_type') != 'live-migration':
            raise webob.exc.HTTPNotFound(
                explanation=f'Migration {id} for server {server_id} is not '
                            f'live-migration.')
        if common.get(migration, 'status') not in \
                LIVE_MIGRATION_IN_PROGRESS:
            raise webob.exc.HTTPNotFound(
                explanation=f'Live migration {id} for server {server_id} '
                            f'is not in progress.')
        return {'migration': self._view(req, migration)}

    @wsgi.response(202)
    @wsgi.action('force_complete')
    def force_complete(self, req: wsgi.Request, server_id: str, id: str,
                       body: dict[str, Any]) -> None:
        """POST /servers/{id}/migrations/{migration_id}/action."""
        _require(req, '2.22')
        validators.validate(schemas.force_complete, body)
        instance = self._instance(req, server_id, 'force_complete')
        try:
            self.compute_api.live_migrate_force_complete(req.context,
                                                         instance, id)
        except (exception.MigrationNotFoundForInstance,
                exception.InstanceMigrationIsNotLiveMigration,
                exception.InvalidMigrationState) as error:
            # Upstream answers 400 for each (a conflict elsewhere).
            raise webob.exc.HTTPBadRequest(
                explanation=error.format_message()) from None

    @wsgi.response(202)
    def delete(self, req: wsgi.Request, server_id: str, id: str) -> None:
        """DELETE /servers/{id}/migrations/{migration_id}: abort it."""
        _require(req, '2.24')
        instance = self._instance(req, server_id, 'delete')
        try:
            self.compute_api.live_migrate_abort(
                req.context, instance, id,
                support_abort_in_queue=req.is_microversion('2.65'))
        except (exception.InstanceMigrationIsNotLiveMigration,
                exception.InvalidMigrationState) as error:
            raise webob.exc.HTTPBadRequest(
                explanation=error.format_message()) from None
