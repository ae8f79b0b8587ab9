"""Schemas of the admin and lifecycle server actions."""

from __future__ import annotations

import copy
from typing import Any

from nova.api.validation import parameter_types as types


def _action(name: str, properties: dict[str, Any] | None,
            required: list[str] | None = None,
            nullable: bool = True) -> dict[str, Any]:
    if properties is None:
        value: dict[str, Any] = {'type': 'null'}
    else:
        value = {'type': ['object', 'null'] if nullable else 'object',
                 'properties': properties, 'additionalProperties': False}
        if required:
            value['required'] = required
    return copy.deepcopy({'type': 'object', 'properties': {name: value},
                          'required': [name],
                          'additionalProperties': False})


def migrate(version: Any) -> dict[str, Any]:
    if version >= '2.56':
        return _action('migrate', {'host': {'type': ['string', 'null'],
                                            'minLength': 1,
                                            'maxLength': 255}})
    return _action('migrate', None)


def live_migrate(version: Any) -> dict[str, Any]:
    props: dict[str, Any] = {'host': {'type': ['string', 'null'],
                                      'minLength': 1, 'maxLength': 255}}
    if version >= '2.25':
        props['block_migration'] = {'oneOf': [
            types.boolean, {'type': 'string', 'enum': ['auto']}]}
        required = ['block_migration', 'host']
    else:
        props['block_migration'] = types.boolean
        props['disk_over_commit'] = types.boolean
        required = ['block_migration', 'disk_over_commit', 'host']
    if version.matches('2.30', '2.67'):
        props['force'] = types.boolean
    return _action('os-migrateLive', props, required, nullable=False)


def evacuate(version: Any) -> dict[str, Any]:
    props: dict[str, Any] = {'host': types.hostname,
                             'adminPass': types.admin_password}
    required: list[str] = []
    if version < '2.14':
        props['onSharedStorage'] = types.boolean
        required = ['onSharedStorage']
    if version.matches('2.29', '2.67'):
        props['force'] = types.boolean
    if version >= '2.95':
        props['targetState'] = {'type': 'string',
                                'enum': ['active', 'stopped']}
    return _action('evacuate', props, required, nullable=False)


def rescue(version: Any) -> dict[str, Any]:
    return _action('rescue', {'adminPass': types.admin_password,
                              'rescue_image_ref': types.image_id})


def unshelve(version: Any) -> dict[str, Any]:
    if version >= '2.91':
        return _action('unshelve', {
            'availability_zone': {'type': ['string', 'null']},
            'host': types.hostname})
    if version >= '2.77':
        return _action('unshelve', {
            'availability_zone': {'type': 'string', 'minLength': 1,
                                  'maxLength': 255}},
            ['availability_zone'])
    return _action('unshelve', None)


def lock(version: Any) -> dict[str, Any]:
    if version >= '2.73':
        return _action('lock', {'locked_reason': {
            'type': 'string', 'minLength': 1, 'maxLength': 255}})
    return _action('lock', None)


console_output: dict[str, Any] = _action('os-getConsoleOutput', {
    'length': {'type': ['integer', 'string', 'null'],
               'pattern': '^-?[0-9]+$', 'minimum': -1}}, nullable=False)


def null(name: str) -> dict[str, Any]:
    return _action(name, None)
