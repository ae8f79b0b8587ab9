"""Schemas of the servers list query and the plain server actions."""

from __future__ import annotations

from typing import Any

from nova.api.validation import parameter_types as types

single = types.single_param
multi = types.multi_param

_STRING = {'type': 'string'}

# Filters every user may use, by the microversion that allowed them.
USER_FILTERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ('2.1', ('reservation_id', 'name', 'status', 'image', 'flavor', 'ip',
             'changes-since', 'all_tenants')),
    ('2.5', ('ip6',)),
    ('2.26', ('tags', 'tags-any', 'not-tags', 'not-tags-any')),
    ('2.66', ('changes-before',)),
    ('2.73', ('locked',)),
    ('2.83', ('availability_zone', 'config_drive', 'key_name',
              'created_at', 'launched_at', 'terminated_at', 'power_state',
              'task_state', 'vm_state', 'progress', 'user_id')),
)

# What an admin (servers:allow_all_filters) may filter on besides those.
ADMIN_FILTERS = ('host', 'node', 'uuid', 'project_id', 'tenant_id',
                 'deleted', 'hostname', 'description', 'access_ip_v4',
                 'access_ip_v6', 'kernel_id', 'ramdisk_id', 'launch_index',
                 'soft_deleted', 'auto_disk_config', 'root_device_name',
                 'display_name', 'display_description', 'locked_by',
                 'created_at', 'launched_at', 'terminated_at',
                 'availability_zone', 'config_drive', 'key_name',
                 'power_state', 'task_state', 'vm_state', 'progress',
                 'user_id')

SORT_KEYS = ('access_ip_v4', 'access_ip_v6', 'auto_disk_config',
             'availability_zone', 'config_drive', 'created_at',
             'display_description', 'display_name', 'host', 'hostname',
             'image_ref', 'instance_type_id', 'kernel_id', 'key_name',
             'launch_index', 'launched_at', 'locked', 'locked_by', 'node',
             'power_state', 'progress', 'project_id', 'ramdisk_id',
             'root_device_name', 'task_state', 'terminated_at',
             'updated_at', 'user_id', 'uuid', 'vm_state')
# Sorting by these would tell a non-admin where servers run.
ADMIN_SORT_KEYS = ('host', 'node')


def list_query(version: Any) -> dict[str, Any]:
    """Query string of GET /servers[/detail]; unknown parameters are
    ignored before 2.75 and rejected from 2.75 (as upstream)."""
    names = set(ADMIN_FILTERS)
    for _since, filters in USER_FILTERS:
        names.update(filters)
    properties: dict[str, Any] = {name: multi(_STRING) for name in names}
    properties.update({
        'limit': single(types.non_negative_integer),
        'marker': single(_STRING),
        'sort_key': multi({'type': 'string', 'enum': list(SORT_KEYS)}),
        'sort_dir': multi({'type': 'string', 'enum': ['asc', 'desc']}),
        'all_tenants': multi(_STRING),
        'deleted': multi(_STRING),
    })
    if version >= '2.75':
        return {'type': 'object', 'properties': properties,
                'additionalProperties': False}
    return {'type': 'object', 'properties': properties,
            'additionalProperties': True}


reboot: dict[str, Any] = {
    'type': 'object',
    'properties': {'reboot': {
        'type': 'object',
        'properties': {'type': {'type': 'string', 'enum': [
            'HARD', 'Hard', 'hard', 'SOFT', 'Soft', 'soft']}},
        'required': ['type'],
        'additionalProperties': False}},
    'required': ['reboot'],
    'additionalProperties': False,
}

create_image: dict[str, Any] = {
    'type': 'object',
    'properties': {'createImage': {
        'type': 'object',
        'properties': {'name': types.name, 'metadata': types.metadata},
        'required': ['name'],
        'additionalProperties': False}},
    'required': ['createImage'],
    'additionalProperties': False,
}


def null_action(name: str) -> dict[str, Any]:
    """An action whose value must be null (``{"os-stop": null}``)."""
    return {'type': 'object', 'properties': {name: {'type': 'null'}},
            'required': [name], 'additionalProperties': False}
