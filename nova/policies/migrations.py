"""Defaults of os-migrations and of a server's live migrations
(``/servers/{server_id}/migrations``): admin only, as upstream."""

from oslo_policy import policy

from nova.policies import base

MIGRATIONS = 'os_compute_api:os-migrations:%s'
SERVER_MIGRATIONS = 'os_compute_api:servers:migrations:%s'

_SERVER = '/servers/{server_id}/migrations'


def _op(name: str, check: str, method: str, path: str,
        description: str) -> policy.DocumentedRuleDefault:
    return policy.DocumentedRuleDefault(
        name, check, description, [{'method': method, 'path': path}])


rules: list[policy.RuleDefault] = [
    _op(MIGRATIONS % 'index', base.ADMIN, 'GET', '/os-migrations',
        'List the migrations of every server (cold and live migrations, '
        'resizes, evacuations)'),
    _op(SERVER_MIGRATIONS % 'index', base.ADMIN, 'GET', _SERVER,
        'List the in-progress live migrations of a server (2.23+)'),
    _op(SERVER_MIGRATIONS % 'show', base.ADMIN, 'GET',
        _SERVER + '/{migration_id}',
        'Show an in-progress live migration of a server (2.23+)'),
    _op(SERVER_MIGRATIONS % 'force_complete', base.ADMIN, 'POST',
        _SERVER + '/{migration_id}/action (force_complete)',
        'Force an in-progress live migration to complete (2.22+)'),
    _op(SERVER_MIGRATIONS % 'delete', base.ADMIN, 'DELETE',
        _SERVER + '/{migration_id}',
        'Abort an in-progress live migration (2.24+; queued or preparing '
        'ones too from 2.65)'),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
