"""Schema fragments shared by the request schemas."""

from __future__ import annotations

from typing import Any

# Names: printable, no leading/trailing whitespace (upstream's rule for
# server and flavor names).
name: dict[str, Any] = {
    'type': 'string', 'minLength': 1, 'maxLength': 255,
    'pattern': r'^(?!\s)[^\x00-\x1f\x7f]*(?<!\s)$',
}

# Server names before 2.94 never had leading/trailing whitespace checks
# relaxed; they are the same as name.
server_name = name

description: dict[str, Any] = {
    'type': ['string', 'null'], 'minLength': 0, 'maxLength': 255,
    'pattern': r'^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$',
}

uuid: dict[str, Any] = {'type': 'string', 'format': 'uuid'}

image_id: dict[str, Any] = {'type': 'string', 'format': 'uuid'}

# imageRef may be empty (boot from volume) or a URL ending in the ID.
image_ref: dict[str, Any] = {'type': 'string', 'maxLength': 2048}

flavor_ref: dict[str, Any] = {'type': ['string', 'integer'],
                              'minLength': 1}

boolean: dict[str, Any] = {
    'type': ['boolean', 'string'],
    'enum': [True, 'True', 'TRUE', 'true', '1', 'ON', 'On', 'on', 'YES',
             'Yes', 'yes', 'y', 't', False, 'False', 'FALSE', 'false', '0',
             'OFF', 'Off', 'off', 'NO', 'No', 'no', 'n', 'f'],
}

positive_integer: dict[str, Any] = {
    'type': ['integer', 'string'], 'pattern': '^[0-9]*$', 'minimum': 1,
    'maximum': 0x7FFFFFFF, 'minLength': 1,
}

non_negative_integer: dict[str, Any] = {
    'type': ['integer', 'string'], 'pattern': '^[0-9]*$', 'minimum': 0,
    'maximum': 0x7FFFFFFF, 'minLength': 1,
}

hostname: dict[str, Any] = {
    'type': 'string', 'minLength': 1, 'maxLength': 255,
    'pattern': r'^[a-zA-Z0-9-._]*$',
}

# 2.90: a plain hostname label; 2.94: an FQDN.
hostname_v290: dict[str, Any] = {
    'type': 'string', 'minLength': 2, 'maxLength': 63,
    'pattern': r'^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$',
}
fqdn: dict[str, Any] = {
    'type': 'string', 'minLength': 2, 'maxLength': 255,
    'pattern': r'^([a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?\.)*'
               r'[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?\.?$',
}

ip_address: dict[str, Any] = {
    'type': 'string', 'oneOf': [{'format': 'ipv4'}, {'format': 'ipv6'}]}
ipv4: dict[str, Any] = {'type': 'string', 'format': 'ipv4'}
ipv6: dict[str, Any] = {'type': 'string', 'format': 'ipv6'}

metadata: dict[str, Any] = {
    'type': 'object',
    'patternProperties': {
        '^[a-zA-Z0-9-_:. ]{1,255}$': {'type': 'string', 'maxLength': 255},
    },
    'additionalProperties': False,
}

admin_password: dict[str, Any] = {'type': 'string'}

tag: dict[str, Any] = {
    'type': 'string', 'minLength': 1, 'maxLength': 60,
    'pattern': '^[^,/]*$',
}

tags: dict[str, Any] = {
    'type': 'array', 'items': tag, 'maxItems': 50, 'uniqueItems': True,
}

device_tag: dict[str, Any] = {
    'type': 'string', 'maxLength': 60, 'pattern': '^[^,/]*$',
}

keypair_name: dict[str, Any] = {
    'type': 'string', 'minLength': 1, 'maxLength': 255,
    'pattern': r'^[a-zA-Z0-9 _-]+$',
}

# 2.92: the name may hold any printable character but '/' (and not be
# blank).
keypair_name_v292: dict[str, Any] = {
    'type': 'string', 'minLength': 1, 'maxLength': 255,
    'pattern': r'^(?!\s*$)[^\x00-\x1f\x7f/]+$',
}

def single_param(schema: dict[str, Any]) -> dict[str, Any]:
    """A query parameter given once: ``?limit=10``."""
    return {'type': 'array', 'items': schema, 'maxItems': 1}


def multi_param(schema: dict[str, Any]) -> dict[str, Any]:
    """A query parameter that may repeat: ``?sort_key=a&sort_key=b``."""
    return {'type': 'array', 'items': schema}
