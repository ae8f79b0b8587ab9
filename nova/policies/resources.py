"""Defaults of flavors, key pairs, instance actions, AZs, limits,
flow-extensions and the admin APIs (services, hypervisors)."""

from oslo_policy import policy

from nova.policies import base


def _op(name: str, check: str, method: str, path: str,
        description: str) -> policy.DocumentedRuleDefault:
    return policy.DocumentedRuleDefault(
        name, check, description, [{'method': method, 'path': path}])


FM = 'os_compute_api:os-flavor-manage:%s'
ES = 'os_compute_api:os-flavor-extra-specs:%s'
FA = 'os_compute_api:os-flavor-access'
KP = 'os_compute_api:os-keypairs:%s'
IA = 'os_compute_api:os-instance-actions:%s'
SV = 'os_compute_api:os-services:%s'
HV = 'os_compute_api:os-hypervisors:%s'
QS = 'os_compute_api:os-quota-sets:%s'

# Key pairs belong to users, not projects: the target is the user.
_KEYPAIR_OWNER = 'rule:context_is_admin or user_id:%(user_id)s'

rules: list[policy.RuleDefault] = [
    _op(FM % 'create', base.ADMIN, 'POST', '/flavors', 'Create a flavor'),
    _op(FM % 'update', base.ADMIN, 'PUT', '/flavors/{flavor_id}',
        'Update a flavor description (2.55+)'),
    _op(FM % 'delete', base.ADMIN, 'DELETE', '/flavors/{flavor_id}',
        'Delete a flavor'),
    _op(FA, base.ADMIN, 'GET', '/flavors/{flavor_id}/os-flavor-access',
        'List the projects a private flavor is shared with'),
    _op(FA + ':add_tenant_access', base.ADMIN, 'POST',
        '/flavors/{flavor_id}/action (addTenantAccess)',
        'Share a private flavor with a project'),
    _op(FA + ':remove_tenant_access', base.ADMIN, 'POST',
        '/flavors/{flavor_id}/action (removeTenantAccess)',
        'Stop sharing a private flavor with a project'),
    _op(ES % 'show', base.ANY, 'GET',
        '/flavors/{flavor_id}/os-extra_specs/{key}',
        'Show one extra spec of a flavor'),
    _op(ES % 'create', base.ADMIN, 'POST',
        '/flavors/{flavor_id}/os-extra_specs', 'Create extra specs'),
    _op(ES % 'update', base.ADMIN, 'PUT',
        '/flavors/{flavor_id}/os-extra_specs/{key}', 'Update an extra spec'),
    _op(ES % 'delete', base.ADMIN, 'DELETE',
        '/flavors/{flavor_id}/os-extra_specs/{key}', 'Delete an extra spec'),
    _op(KP % 'index', _KEYPAIR_OWNER, 'GET', '/os-keypairs',
        'List key pairs (admins may pass user_id, 2.10+)'),
    _op(KP % 'show', _KEYPAIR_OWNER, 'GET', '/os-keypairs/{name}',
        'Show a key pair'),
    _op(KP % 'create', _KEYPAIR_OWNER, 'POST', '/os-keypairs',
        'Create or import a key pair'),
    _op(KP % 'delete', _KEYPAIR_OWNER, 'DELETE', '/os-keypairs/{name}',
        'Delete a key pair'),
    _op(IA % 'list', base.PROJECT_READER_OR_ADMIN, 'GET',
        '/servers/{server_id}/os-instance-actions',
        'List the actions of a server'),
    _op(IA % 'show', base.PROJECT_READER_OR_ADMIN, 'GET',
        '/servers/{server_id}/os-instance-actions/{request_id}',
        'Show an action of a server with its events'),
    _op(IA % 'events', base.ADMIN, 'GET',
        '/servers/{server_id}/os-instance-actions/{request_id}',
        'See the traceback and host of action events'),
    _op(IA % 'events:details', base.PROJECT_READER_OR_ADMIN, 'GET',
        '/servers/{server_id}/os-instance-actions/{request_id}',
        'See the details of action events (2.84+)'),
    _op('os_compute_api:os-availability-zone:list', base.ANY, 'GET',
        '/os-availability-zone', 'List availability zones'),
    _op('os_compute_api:os-availability-zone:detail', base.ADMIN, 'GET',
        '/os-availability-zone/detail',
        'List availability zones with their hosts'),
    _op('os_compute_api:limits', base.ANY, 'GET', '/limits',
        'Show the caller\'s limits'),
    _op('os_compute_api:flow-extensions:index', base.ANY, 'GET',
        '/flow-extensions',
        'List the enabled vendor hooks with the namespaced request and '
        'response fields they add and the microversion of each'),
    _op(QS % 'show', base.PROJECT_READER_OR_ADMIN, 'GET',
        '/os-quota-sets/{tenant_id}', 'Show the quotas of a project'),
    _op(QS % 'detail', base.PROJECT_READER_OR_ADMIN, 'GET',
        '/os-quota-sets/{tenant_id}/detail',
        'Show the quotas of a project with their usage'),
    _op(QS % 'defaults', base.ANY, 'GET',
        '/os-quota-sets/{tenant_id}/defaults', 'Show the default quotas'),
    _op(QS % 'update', base.ADMIN, 'PUT', '/os-quota-sets/{tenant_id}',
        'Set the quotas of a project or of a user'),
    _op(QS % 'delete', base.ADMIN, 'DELETE', '/os-quota-sets/{tenant_id}',
        'Revert the quotas of a project or of a user to the defaults'),
    _op('os_compute_api:os-simple-tenant-usage:list', base.ADMIN, 'GET',
        '/os-simple-tenant-usage', 'The usage of every project'),
    _op('os_compute_api:os-simple-tenant-usage:show',
        base.PROJECT_READER_OR_ADMIN, 'GET',
        '/os-simple-tenant-usage/{tenant_id}', 'The usage of a project'),
    _op(SV % 'list', base.ADMIN, 'GET', '/os-services', 'List services'),
    _op(SV % 'update', base.ADMIN, 'PUT', '/os-services/{service_id}',
        'Enable, disable or force down a service'),
    _op(SV % 'delete', base.ADMIN, 'DELETE', '/os-services/{service_id}',
        'Delete a service'),
    _op(HV % 'list', base.ADMIN, 'GET', '/os-hypervisors',
        'List hypervisors'),
    _op(HV % 'list-detail', base.ADMIN, 'GET', '/os-hypervisors/detail',
        'List hypervisors with details'),
    _op(HV % 'show', base.ADMIN, 'GET', '/os-hypervisors/{hypervisor_id}',
        'Show a hypervisor'),
    _op(HV % 'statistics', base.ADMIN, 'GET',
        '/os-hypervisors/statistics',
        'Hypervisor statistics (before 2.88)'),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
