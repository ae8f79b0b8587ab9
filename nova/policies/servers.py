"""Defaults of the servers API and the server actions."""

from oslo_policy import policy

from nova.policies import base

S = 'os_compute_api:servers:%s'


def _op(name: str, check: str, method: str, path: str,
        description: str) -> policy.DocumentedRuleDefault:
    return policy.DocumentedRuleDefault(
        name, check, description, [{'method': method, 'path': path}])


rules: list[policy.RuleDefault] = [
    _op(S % 'index', base.PROJECT_READER_OR_ADMIN, 'GET', '/servers',
        'List servers'),
    _op(S % 'detail', base.PROJECT_READER_OR_ADMIN, 'GET',
        '/servers/detail', 'List servers with details'),
    _op(S % 'index:get_all_tenants', base.ADMIN, 'GET', '/servers',
        'List servers of all projects (all_tenants)'),
    _op(S % 'detail:get_all_tenants', base.ADMIN, 'GET', '/servers/detail',
        'List servers of all projects with details (all_tenants)'),
    _op(S % 'allow_all_filters', base.ADMIN, 'GET', '/servers',
        'Filter servers by every field (host, node ...)'),
    _op(S % 'show', base.PROJECT_READER_OR_ADMIN, 'GET',
        '/servers/{server_id}', 'Show a server'),
    _op(S % 'show:host_status', base.ADMIN, 'GET', '/servers/{server_id}',
        'Show host_status (2.16+)'),
    _op(S % 'create', base.PROJECT_MEMBER_OR_ADMIN, 'POST', '/servers',
        'Create servers'),
    _op(S % 'create:forced_host', base.ADMIN, 'POST', '/servers',
        'Create on a given host with availability_zone "zone:host"'),
    _op(S % 'create:requested_destination', base.ADMIN, 'POST', '/servers',
        'Create with "host"/"hypervisor_hostname" (2.74+)'),
    _op(S % 'update', base.PROJECT_MEMBER_OR_ADMIN, 'PUT',
        '/servers/{server_id}', 'Update a server'),
    _op(S % 'delete', base.PROJECT_MEMBER_OR_ADMIN, 'DELETE',
        '/servers/{server_id}', 'Delete a server'),
    _op('os_compute_api:os-extended-server-attributes', base.ADMIN, 'GET',
        '/servers/{server_id}', 'Show OS-EXT-SRV-ATTR:* (host, node, ...)'),
    _op('os_compute_api:os-flavor-extra-specs:index',
        base.PROJECT_READER_OR_ADMIN, 'GET', '/servers/{server_id}',
        'See extra_specs of flavors and of the flavor embedded in a '
        'server (2.47+)'),
]

SM = 'os_compute_api:server-metadata:%s'
rules += [
    _op(SM % 'index', base.PROJECT_READER_OR_ADMIN, 'GET',
        '/servers/{server_id}/metadata', 'List the metadata of a server'),
    _op(SM % 'show', base.PROJECT_READER_OR_ADMIN, 'GET',
        '/servers/{server_id}/metadata/{key}',
        'Show one metadata item of a server'),
    _op(SM % 'create', base.PROJECT_MEMBER_OR_ADMIN, 'POST',
        '/servers/{server_id}/metadata', 'Add metadata items to a server'),
    _op(SM % 'update_all', base.PROJECT_MEMBER_OR_ADMIN, 'PUT',
        '/servers/{server_id}/metadata',
        'Replace the metadata of a server'),
    _op(SM % 'update', base.PROJECT_MEMBER_OR_ADMIN, 'PUT',
        '/servers/{server_id}/metadata/{key}',
        'Set one metadata item of a server'),
    _op(SM % 'delete', base.PROJECT_MEMBER_OR_ADMIN, 'DELETE',
        '/servers/{server_id}/metadata/{key}',
        'Delete one metadata item of a server'),
]

rules += [
    _op('os_compute_api:os-server-diagnostics', base.ADMIN, 'GET',
        '/servers/{server_id}/diagnostics', 'Show the diagnostics of a '
        'server'),
]

SP = 'os_compute_api:os-server-password:%s'
rules += [
    _op(SP % 'show', base.PROJECT_READER_OR_ADMIN, 'GET',
        '/servers/{server_id}/os-server-password',
        'Show the encrypted password of a server'),
    _op(SP % 'clear', base.PROJECT_MEMBER_OR_ADMIN, 'DELETE',
        '/servers/{server_id}/os-server-password',
        'Clear the encrypted password of a server'),
]

rules += [
    _op('os_compute_api:os-server-external-events:create',
        base.ADMIN_OR_SERVICE, 'POST', '/os-server-external-events',
        'Create one or more external events (the network, volume and '
        'bare metal services telling nova of a change)'),
]

ST = 'os_compute_api:os-server-tags:%s'
rules += [
    _op(ST % 'index', base.PROJECT_READER_OR_ADMIN, 'GET',
        '/servers/{server_id}/tags', 'List the tags of a server'),
    _op(ST % 'show', base.PROJECT_READER_OR_ADMIN, 'GET',
        '/servers/{server_id}/tags/{tag}', 'Check a tag of a server'),
    _op(ST % 'update_all', base.PROJECT_MEMBER_OR_ADMIN, 'PUT',
        '/servers/{server_id}/tags', 'Replace the tags of a server'),
    _op(ST % 'update', base.PROJECT_MEMBER_OR_ADMIN, 'PUT',
        '/servers/{server_id}/tags/{tag}', 'Add a tag to a server'),
    _op(ST % 'delete_all', base.PROJECT_MEMBER_OR_ADMIN, 'DELETE',
        '/servers/{server_id}/tags', 'Delete every tag of a server'),
    _op(ST % 'delete', base.PROJECT_MEMBER_OR_ADMIN, 'DELETE',
        '/servers/{server_id}/tags/{tag}', 'Delete a tag of a server'),
]

_ACTION = '/servers/{server_id}/action (%s)'
for _name, _check, _action in (
        (S % 'reboot', base.PROJECT_MEMBER_OR_ADMIN, 'reboot'),
        (S % 'stop', base.PROJECT_MEMBER_OR_ADMIN, 'os-stop'),
        (S % 'start', base.PROJECT_MEMBER_OR_ADMIN, 'os-start'),
        (S % 'rebuild', base.PROJECT_MEMBER_OR_ADMIN, 'rebuild'),
        (S % 'create_image', base.PROJECT_MEMBER_OR_ADMIN, 'createImage'),
        (S % 'resize', base.PROJECT_MEMBER_OR_ADMIN, 'resize'),
        (S % 'confirm_resize', base.PROJECT_MEMBER_OR_ADMIN,
         'confirmResize'),
        (S % 'revert_resize', base.PROJECT_MEMBER_OR_ADMIN,
         'revertResize'),
        (S % 'trigger_crash_dump', base.PROJECT_MEMBER_OR_ADMIN,
         'trigger_crash_dump'),
        ('os_compute_api:os-pause-server:pause',
         base.PROJECT_MEMBER_OR_ADMIN, 'pause'),
        ('os_compute_api:os-pause-server:unpause',
         base.PROJECT_MEMBER_OR_ADMIN, 'unpause'),
        ('os_compute_api:os-suspend-server:suspend',
         base.PROJECT_MEMBER_OR_ADMIN, 'suspend'),
        ('os_compute_api:os-suspend-server:resume',
         base.PROJECT_MEMBER_OR_ADMIN, 'resume'),
        ('os_compute_api:os-migrate-server:migrate', base.ADMIN,
         'migrate'),
        ('os_compute_api:os-migrate-server:migrate_live', base.ADMIN,
         'os-migrateLive'),
        ('os_compute_api:os-evacuate', base.ADMIN, 'evacuate'),
        ('os_compute_api:os-rescue', base.PROJECT_MEMBER_OR_ADMIN,
         'rescue'),
        ('os_compute_api:os-unrescue', base.PROJECT_MEMBER_OR_ADMIN,
         'unrescue'),
        ('os_compute_api:os-shelve:shelve', base.PROJECT_MEMBER_OR_ADMIN,
         'shelve'),
        ('os_compute_api:os-shelve:unshelve', base.PROJECT_MEMBER_OR_ADMIN,
         'unshelve'),
        ('os_compute_api:os-shelve:unshelve_to_host', base.ADMIN,
         'unshelve with host (2.91+)'),
        ('os_compute_api:os-shelve:shelve_offload', base.ADMIN,
         'shelveOffload'),
        ('os_compute_api:os-lock-server:lock', base.PROJECT_MEMBER_OR_ADMIN,
         'lock'),
        ('os_compute_api:os-lock-server:unlock',
         base.PROJECT_MEMBER_OR_ADMIN, 'unlock'),
        ('os_compute_api:os-lock-server:unlock:unlock_override', base.ADMIN,
         'unlock a server another user locked'),
        ('os_compute_api:os-console-output', base.PROJECT_MEMBER_OR_ADMIN,
         'os-getConsoleOutput'),
):
    rules.append(_op(_name, _check, 'POST', _ACTION % _action,
                     f'Server action {_action}'))


_VOLUMES = '/servers/{server_id}/os-volume_attachments'
_INTERFACES = '/servers/{server_id}/os-interface'
for _name, _check, _method, _path, _what in (
        ('index', base.PROJECT_READER_OR_ADMIN, 'GET', _VOLUMES,
         'List the volumes attached to a server'),
        ('show', base.PROJECT_READER_OR_ADMIN, 'GET', _VOLUMES + '/{id}',
         'Show a volume attachment'),
        ('create', base.PROJECT_MEMBER_OR_ADMIN, 'POST', _VOLUMES,
         'Attach a volume to a server'),
        ('delete', base.PROJECT_MEMBER_OR_ADMIN, 'DELETE',
         _VOLUMES + '/{id}', 'Detach a volume from a server')):
    rules.append(_op(f'os_compute_api:os-volumes-attachments:{_name}',
                     _check, _method, _path, _what))
for _name, _check, _method, _path, _what in (
        ('list', base.PROJECT_READER_OR_ADMIN, 'GET', _INTERFACES,
         "List a server's network interfaces"),
        ('show', base.PROJECT_READER_OR_ADMIN, 'GET',
         _INTERFACES + '/{port_id}', 'Show a network interface'),
        ('create', base.PROJECT_MEMBER_OR_ADMIN, 'POST', _INTERFACES,
         'Attach a network interface to a server'),
        ('delete', base.PROJECT_MEMBER_OR_ADMIN, 'DELETE',
         _INTERFACES + '/{port_id}', 'Detach a network interface')):
    rules.append(_op(f'os_compute_api:os-attach-interfaces:{_name}',
                     _check, _method, _path, _what))

_SECURITY_GROUPS = 'os_compute_api:os-security-groups:%s'
rules += [
    _op(_SECURITY_GROUPS % 'list', base.PROJECT_READER_OR_ADMIN, 'GET',
        '/servers/{server_id}/os-security-groups',
        'List the security groups of a server'),
    _op(_SECURITY_GROUPS % 'add', base.PROJECT_MEMBER_OR_ADMIN, 'POST',
        _ACTION % 'addSecurityGroup', 'Add a security group to a server'),
    _op(_SECURITY_GROUPS % 'remove', base.PROJECT_MEMBER_OR_ADMIN, 'POST',
        _ACTION % 'removeSecurityGroup',
        'Remove a security group from a server'),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
