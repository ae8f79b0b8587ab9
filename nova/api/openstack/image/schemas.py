"""The Image API v2 schema documents and the request body schema.

Glance serves JSON schemas of an image (``GET /v2/schemas/image``) and of
an image list (``/v2/schemas/images``); python-glanceclient builds its
models from them, and openstacksdk exposes them (``get_images_schema``).
The documents below describe the image record this service shows: the
core attributes, and custom properties as additional string attributes.
"""

from __future__ import annotations

import copy
from typing import Any

#: Attributes the service computes: a client may read, never set them
#: (Glance answers 403 "Attribute '<name>' is read-only.").
READ_ONLY = ('checksum', 'created_at', 'direct_url', 'file',
             'os_hash_algo', 'os_hash_value', 'schema', 'self', 'size',
             'status', 'updated_at', 'virtual_size', 'locations',
             'stores')

#: Attributes no image may carry as a custom property (Glance's reserved
#: names): 403 when a request tries.
RESERVED = ('deleted', 'deleted_at', 'location', 'path', 'properties')

_NULLABLE_STRING = {'type': ['null', 'string']}

_PROPERTIES: dict[str, Any] = {
    'id': {'type': 'string', 'pattern': (
        '^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}'
        '-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$'),
        'description': 'An identifier for the image'},
    'name': {'type': ['null', 'string'], 'maxLength': 255,
             'description': 'Descriptive name for the image'},
    'status': {'type': 'string', 'readOnly': True,
               'enum': ['queued', 'saving', 'active', 'killed', 'deleted',
                        'uploading', 'importing', 'pending_delete',
                        'deactivated'],
               'description': 'Status of the image'},
    'visibility': {'type': 'string',
                   'enum': ['community', 'public', 'private', 'shared'],
                   'description': 'Scope of image accessibility'},
    'protected': {'type': 'boolean',
                  'description': 'If true, image will not be deletable.'},
    'os_hidden': {'type': 'boolean',
                  'description': 'If true, image will not appear in '
                                 'default image list response.'},
    'checksum': dict(_NULLABLE_STRING, readOnly=True, maxLength=32,
                     description='md5 hash of image contents.'),
    'os_hash_algo': dict(_NULLABLE_STRING, readOnly=True, maxLength=64,
                         description='Algorithm of os_hash_value'),
    'os_hash_value': dict(_NULLABLE_STRING, readOnly=True, maxLength=128,
                          description='Hexdigest of the image contents '
                                      'using os_hash_algo'),
    'owner': dict(_NULLABLE_STRING, maxLength=255,
                  description='Owner of the image'),
    'size': {'type': ['null', 'integer'], 'readOnly': True,
             'description': 'Size of image file in bytes'},
    'virtual_size': {'type': ['null', 'integer'], 'readOnly': True,
                     'description': 'Virtual size of image in bytes'},
    'container_format': {'type': ['null', 'string'],
                         'description': 'Format of the container'},
    'disk_format': {'type': ['null', 'string'],
                    'description': 'Format of the disk'},
    'created_at': {'type': 'string', 'readOnly': True,
                   'description': 'Date and time of image registration'},
    'updated_at': {'type': 'string', 'readOnly': True,
                   'description': 'Date and time of the last image '
                                  'modification'},
    'tags': {'type': 'array', 'items': {'type': 'string', 'maxLength': 255},
             'description': 'List of strings related to the image'},
    'direct_url': {'type': 'string', 'readOnly': True,
                   'description': 'URL to access the image file kept in '
                                  'external store'},
    'min_ram': {'type': 'integer', 'minimum': 0,
                'description': 'Amount of ram (in MB) required to boot '
                               'image.'},
    'min_disk': {'type': 'integer', 'minimum': 0,
                 'description': 'Amount of disk space (in GB) required to '
                                'boot image.'},
    'self': {'type': 'string', 'readOnly': True,
             'description': 'An image self url'},
    'file': {'type': 'string', 'readOnly': True,
             'description': 'An image file url'},
    'schema': {'type': 'string', 'readOnly': True,
               'description': 'An image schema url'},
}

#: Core attributes: the rest of an image's top-level keys are its custom
#: properties.
CORE = frozenset(_PROPERTIES)

_LINKS = [{'rel': 'self', 'href': '{self}'},
          {'rel': 'enclosure', 'href': '{file}'},
          {'rel': 'describedby', 'href': '{schema}'}]


def image_schema() -> dict[str, Any]:
    """``GET /v2/schemas/image``."""
    return {'name': 'image',
            'properties': copy.deepcopy(_PROPERTIES),
            'additionalProperties': {'type': 'string'},
            'links': copy.deepcopy(_LINKS)}


def images_schema() -> dict[str, Any]:
    """``GET /v2/schemas/images``."""
    return {'name': 'images',
            'properties': {
                'images': {'type': 'array', 'items': image_schema()},
                'schema': {'type': 'string'},
                'first': {'type': 'string'},
                'next': {'type': 'string'}},
            'links': [{'rel': 'first', 'href': '{first}'},
                      {'rel': 'next', 'href': '{next}'},
                      {'rel': 'describedby', 'href': '{schema}'}]}


def create_schema() -> dict[str, Any]:
    """The ``POST /v2/images`` body: settable core attributes with their
    types, custom properties as strings."""
    settable = {k: v for k, v in _PROPERTIES.items()
                if not v.get('readOnly')}
    settable = copy.deepcopy(settable)
    for value in settable.values():
        value.pop('description', None)
    return {'type': 'object', 'properties': settable,
            'additionalProperties': {'type': 'string', 'maxLength': 255}}
