"""Defaults of os-server-groups, as upstream."""

from oslo_policy import policy

from nova.policies import base

SG = 'os_compute_api:os-server-groups:%s'


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
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
