"""Defaults of os-migrations: admin only, as upstream."""

from oslo_policy import policy

from nova.policies import base

MIGRATIONS = 'os_compute_api:os-migrations:%s'


def _op(name: str, check: str, method: str, path: str,
        description: str) -> policy.DocumentedRuleDefault:
    return policy.DocumentedRuleDefault(
        name, check, description, [{'method': method, 'path': path}])


rules: list[policy.RuleDefault] = [
    _op(MIGRATIONS % 'index', base.ADMIN, 'GET', '/os-migrations',
        'List the migrations of every server (cold and live migrations, '
        'resizes, evacuations)'),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
