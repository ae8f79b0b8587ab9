"""Schemas of the security group server actions (upstream's: the action
object takes ``name`` only; other top-level keys are tolerated)."""

from __future__ import annotations

import copy
from typing import Any


def _action(name: str) -> dict[str, Any]:
    return copy.deepcopy({
        'type': 'object',
        'properties': {name: {
            'type': 'object',
            'properties': {'name': {'type': 'string', 'minLength': 1}},
            'required': ['name'],
            'additionalProperties': False}},
        'required': [name],
        'additionalProperties': True,
    })


add_security_group = _action('addSecurityGroup')
remove_security_group = _action('removeSecurityGroup')
