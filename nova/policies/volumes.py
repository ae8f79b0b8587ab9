"""Defaults of the Block Storage API's rules, with Cinder's rule names.

Project-scoped like the compute API: a reader of the volume's project
reads it, a member acts on it, an admin does both everywhere.
"""

from oslo_policy import policy

from nova.policies import base

CREATE = 'volume:create'
GET = 'volume:get'
GET_ALL = 'volume:get_all'
DELETE = 'volume:delete'
EXTEND = 'volume:extend'
ACTION = 'volume_extension:volume_actions:%s'

_VOLUME = '/volumes/{volume_id}'
_ACTIONS = ('reserve', 'unreserve', 'initialize_connection',
            'terminate_connection', 'attach', 'begin_detaching',
            'roll_detaching', 'detach')


def _op(name: str, check: str, method: str, path: str,
        description: str) -> policy.DocumentedRuleDefault:
    return policy.DocumentedRuleDefault(
        name, check, description, [{'method': method, 'path': path}])


rules: list[policy.RuleDefault] = [
    _op(CREATE, base.PROJECT_MEMBER_OR_ADMIN, 'POST', '/volumes',
        'Create a volume'),
    _op(GET, base.PROJECT_READER_OR_ADMIN, 'GET', _VOLUME,
        'Show a volume'),
    _op(GET_ALL, base.PROJECT_READER_OR_ADMIN, 'GET', '/volumes',
        'List volumes (/volumes and /volumes/detail); only admins see '
        'other projects\' volumes, with all_tenants'),
    _op(DELETE, base.PROJECT_MEMBER_OR_ADMIN, 'DELETE', _VOLUME,
        'Delete a volume'),
    _op(EXTEND, base.PROJECT_MEMBER_OR_ADMIN, 'POST',
        f'{_VOLUME}/action (os-extend)', 'Extend a detached volume'),
]
rules += [
    _op(ACTION % name, base.PROJECT_MEMBER_OR_ADMIN, 'POST',
        f'{_VOLUME}/action (os-{name})',
        f'The os-{name} attachment action (what nova calls to attach '
        f'and detach)')
    for name in _ACTIONS
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
