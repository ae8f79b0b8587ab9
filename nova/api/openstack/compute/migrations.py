"""os-migrations (admin): every move of every server - cold and live
migrations, resizes, evacuations - with upstream's filters and fields.

By microversion: 2.23 adds ``migration_type`` and, for a live migration
under way, ``links`` to it below its server; 2.59 the ``uuid``, paging by
``limit``/``marker`` (a migration UUID), ``changes-since`` and a stable
newest-first order; 2.66 ``changes-before``; 2.80 ``user_id`` and
``project_id``, as fields and as filters.  Hidden migrations (the
internal half of a cross-cell move upstream) are never listed.
"""

from __future__ import annotations

from typing import Any

import webob.exc

from nova import exception
from nova.api.openstack import common, wsgi
from nova.api.openstack.compute.schemas import migrations as schemas
from nova.api.validation import query_dict, validators
from nova.policies import enforcer
from nova.policies.migrations import MIGRATIONS

#: Statuses of a live migration that can still be shown, forced or
#: aborted under /servers/{id}/migrations (upstream's list).
LIVE_MIGRATION_IN_PROGRESS = ('queued', 'preparing', 'running',
                              'post-migrating')

#: The filters of every microversion, passed to the DB as given.
_FILTERS = ('host', 'instance_uuid', 'source_compute', 'status',
            'migration_type')

_FIELDS = ('id', 'source_node', 'dest_node', 'source_compute',
           'dest_compute', 'dest_host', 'status', 'instance_uuid',
           'old_instance_type_id', 'new_instance_type_id')


def server_migrations_collection(instance_uuid: str) -> str:
    return f'servers/{instance_uuid}/migrations'


class MigrationsController:

    def __init__(self, db: Any) -> None:
        self.db = db

    def _view(self, req: wsgi.Request, migration: Any) -> dict[str, Any]:
        view: dict[str, Any] = {key: common.get(migration, key)
                                for key in _FIELDS}
        view['created_at'] = common.usage_time(
            common.get(migration, 'created_at'))
        view['updated_at'] = common.usage_time(
            common.get(migration, 'updated_at'))
        if req.is_microversion('2.23'):
            view['migration_type'] = common.get(migration,
                                                'migration_type')
            if view['migration_type'] == 'live-migration' and \
                    view['status'] in LIVE_MIGRATION_IN_PROGRESS:
                view['links'] = common.self_links(
                    req, server_migrations_collection(
                        view['instance_uuid']), view['id'])
        if req.is_microversion('2.59'):
            view['uuid'] = common.get(migration, 'uuid')
        if req.is_microversion('2.80'):
            view['user_id'] = common.get(migration, 'user_id')
            view['project_id'] = common.get(migration, 'project_id')
        return view

    def _filters(self, req: wsgi.Request) -> dict[str, Any]:
        filters: dict[str, Any] = {'hidden': False}
        for key in _FILTERS:
            # The last of a repeated key, as upstream's dict(req.GET).
            if key in req.GET:
                filters[key] = req.GET[key]
        if 'host' in filters:
            # Upstream matches host on either side and then ignores
            # source_compute.
            filters.pop('source_compute', None)
        if req.is_microversion('2.80'):
            for key in ('user_id', 'project_id'):
                if key in req.GET:
                    filters[key] = req.GET[key]
        # Before 2.59 (2.66) the time filters were accepted and ignored.
        if req.is_microversion('2.59') and 'changes-since' in req.GET:
            filters['changes-since'] = common.parse_time(
                req.GET['changes-since'], 'changes-since')
        if req.is_microversion('2.66') and 'changes-before' in req.GET:
            filters['changes-before'] = common.parse_time(
                req.GET['changes-before'], 'changes-before')
            since = filters.get('changes-since')
            if since is not None and filters['changes-before'] < since:
                raise webob.exc.HTTPBadRequest(
                    explanation='The value of changes-since must be less '
                                'than or equal to changes-before.')
        return filters

    def index(self, req: wsgi.Request) -> dict[str, Any]:
        """GET /os-migrations."""
        ctx = req.context
        validators.validate(schemas.list_query(req.api_version_request),
                            query_dict(req), query=True)
        enforcer.authorize(ctx, MIGRATIONS % 'index')
        filters = self._filters(req)
        if not req.is_microversion('2.59'):
            migrations = self.db.migration_get_all_by_filters(ctx, filters)
            return {'migrations': [self._view(req, m) for m in migrations]}
        limit, marker = common.pagination_params(req)
        try:
            migrations = self.db.migration_get_all_by_filters(
                ctx, filters, sort_keys=['created_at', 'id'],
                sort_dirs=['desc', 'desc'], limit=limit, marker=marker)
        except exception.MarkerNotFound as error:
            raise webob.exc.HTTPBadRequest(
                explanation=error.format_message()) from None
        views = [self._view(req, m) for m in migrations]
        result: dict[str, Any] = {'migrations': views}
        links = common.next_link(req, 'os-migrations', views, limit,
                                 key='uuid')
        if links:
            result['migrations_links'] = links
        return result
