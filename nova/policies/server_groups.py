"""Defaults of os-server-groups and os-aggregates, as upstream."""

from oslo_policy import policy

from nova.policies import base

SG = 'os_compute_api:os-server-groups:%s'
AG = 'os_compute_api:os-aggregates:%s'


def _op(name: str, check: str, method: str, path: str,
        description: str) -> policy.DocumentedRuleDefault:
    return policy.DocumentedRuleDefault(
        name, check, description, [{'method': method, 'path': path}])


rules: list[policy.RuleDefault] = [
    _op(SG % 'create', base.PROJECT_MEMBER_OR_ADMIN, 'POST',
        '/os-server-groups', 'Create a server group'),
    _op(SG % 'delete', base.PROJECT_MEMBER_OR_ADMIN, 'DELETE',
        '/os-server-groups/{server_group_id}', 'Delete a server group'),
    _op(SG % 'index', base.PROJECT_READER_OR_ADMIN, 'GET',
        '/os-server-groups', 'List the server groups of the project'),
    _op(SG % 'index:all_projects', base.ADMIN, 'GET',
        '/os-server-groups', 'List the server groups of every project '
                             '(all_projects)'),
    _op(SG % 'show', base.PROJECT_READER_OR_ADMIN, 'GET',
        '/os-server-groups/{server_group_id}', 'Show a server group'),
    _op(AG % 'index', base.ADMIN, 'GET', '/os-aggregates',
        'List host aggregates'),
    _op(AG % 'create', base.ADMIN, 'POST', '/os-aggregates',
        'Create a host aggregate'),
    _op(AG % 'show', base.ADMIN, 'GET', '/os-aggregates/{aggregate_id}',
        'Show a host aggregate'),
    _op(AG % 'update', base.ADMIN, 'PUT', '/os-aggregates/{aggregate_id}',
        'Rename a host aggregate or change its availability zone'),
    _op(AG % 'delete', base.ADMIN, 'DELETE',
        '/os-aggregates/{aggregate_id}', 'Delete a host aggregate'),
    _op(AG % 'add_host', base.ADMIN, 'POST',
        '/os-aggregates/{aggregate_id}/action (add_host)',
        'Add a host to an aggregate'),
    _op(AG % 'remove_host', base.ADMIN, 'POST',
        '/os-aggregates/{aggregate_id}/action (remove_host)',
        'Remove a host from an aggregate'),
    _op(AG % 'set_metadata', base.ADMIN, 'POST',
        '/os-aggregates/{aggregate_id}/action (set_metadata)',
        'Set or unset metadata of an aggregate'),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
