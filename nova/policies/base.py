"""Base rules the per-resource defaults are written in."""

from oslo_policy import policy

ADMIN = 'rule:context_is_admin'
PROJECT_MEMBER = 'role:member and project_id:%(project_id)s'
PROJECT_READER = 'role:reader and project_id:%(project_id)s'
PROJECT_MEMBER_OR_ADMIN = 'rule:project_member_or_admin'
PROJECT_READER_OR_ADMIN = 'rule:project_reader_or_admin'
# Another OpenStack service's own user (neutron, cinder, ironic) calling
# nova's service-to-service APIs, as upstream's "service" role.
SERVICE_ROLE = 'role:service'
ADMIN_OR_SERVICE = f'rule:context_is_admin or {SERVICE_ROLE}'
# Any authenticated user (lists the caller may see anyway).
ANY = '@'

rules = [
    policy.RuleDefault(
        'context_is_admin', 'role:admin',
        description='Decides what "admin" means in every other rule.'),
    policy.RuleDefault(
        'admin_api', 'rule:context_is_admin',
        description='Admin-only APIs.'),
    policy.RuleDefault(
        'project_member_or_admin',
        f'rule:context_is_admin or ({PROJECT_MEMBER})',
        description='A member of the resource\'s project, or an admin.'),
    policy.RuleDefault(
        'project_reader_or_admin',
        f'rule:context_is_admin or ({PROJECT_READER})',
        description='A reader of the resource\'s project, or an admin.'),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
