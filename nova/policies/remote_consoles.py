"""Defaults of the remote consoles API (upstream's rule name)."""

from oslo_policy import policy

from nova.policies import base

BASE_POLICY_NAME = 'os_compute_api:os-remote-consoles'

rules: list[policy.RuleDefault] = [
    policy.DocumentedRuleDefault(
        BASE_POLICY_NAME, base.PROJECT_MEMBER_OR_ADMIN,
        'Generate a URL to access a remote server console (the '
        'os-getVNCConsole action before 2.6, POST '
        '/servers/{server_id}/remote-consoles from 2.6)',
        [{'method': 'POST', 'path': '/servers/{server_id}/action '
                                    '(os-getVNCConsole)'},
         {'method': 'POST',
          'path': '/servers/{server_id}/remote-consoles'}]),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
