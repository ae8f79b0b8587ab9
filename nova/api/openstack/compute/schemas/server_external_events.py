"""Schema of POST /os-server-external-events: the event names each
microversion accepts, as upstream."""

from __future__ import annotations

import copy
from typing import Any

from nova.api.validation import parameter_types as types

#: Event names by the microversion that introduced them.
NAMES_BY_VERSION: tuple[tuple[str, tuple[str, ...]], ...] = (
    ('2.0', ('network-changed', 'network-vif-plugged',
             'network-vif-unplugged', 'network-vif-deleted')),
    ('2.51', ('volume-extended',)),
    ('2.76', ('power-update',)),
    ('2.82', ('accelerator-request-bound',)),
    ('2.93', ('volume-reimaged',)),
)

STATUSES = ('failed', 'completed', 'in-progress')

_CREATE: dict[str, Any] = {
    'type': 'object',
    'properties': {
        'events': {
            'type': 'array', 'minItems': 1,
            'items': {
                'type': 'object',
                'properties': {
                    'server_uuid': types.uuid,
                    'name': {'type': 'string', 'enum': []},
                    'status': {'type': 'string', 'enum': list(STATUSES)},
                    'tag': {'type': 'string', 'maxLength': 255},
                },
                'required': ['server_uuid', 'name'],
                'additionalProperties': False,
            },
        },
    },
    'required': ['events'],
    'additionalProperties': False,
}


def _create(names: list[str]) -> dict[str, Any]:
    schema = copy.deepcopy(_CREATE)
    schema['properties']['events']['items']['properties']['name'][
        'enum'] = names
    return schema


def create(version: Any) -> dict[str, Any]:
    """The body at ``version``: every name introduced up to it."""
    names: list[str] = []
    for since, added in NAMES_BY_VERSION:
        if version >= since:
            names.extend(added)
    return _create(names)
