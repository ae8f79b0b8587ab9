"""Images of the local image store: add, list, show, delete.

``nova-manage image create --name cirros --file cirros.img
--disk-format qcow2 --property hw_disk_bus=virtio`` copies the file into
``[image] images_path`` and prints the new image's ID.  These commands
act as an administrator; images they create are public unless
``--private``.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from nova import context as nova_context
from nova import exception
from nova.image import api as image_api

_COLUMNS = ('id', 'name', 'status', 'disk_format', 'container_format',
            'size', 'visibility')


def register(commands: argparse._SubParsersAction) -> None:
    create = commands.add_parser(
        'create', help='create an image from a local file')
    create.add_argument('--name', required=True, help='image name')
    create.add_argument('--file', required=True, dest='path',
                        help='file holding the image data (copied)')
    create.add_argument('--disk-format', default='raw',
                        help='qcow2, raw, ami, aki, ari, ... (default raw)')
    create.add_argument('--container-format', default=None,
                        help='bare, ovf, ami, aki, ari, ... (default: '
                             'bare, or the disk format for ami/aki/ari)')
    create.add_argument('--property', action='append', default=[],
                        metavar='KEY=VALUE', dest='properties',
                        help='custom property (may be repeated)')
    create.add_argument('--min-disk', type=int, default=0,
                        help='minimum root disk (GiB) to boot it')
    create.add_argument('--min-ram', type=int, default=0,
                        help='minimum RAM (MiB) to boot it')
    create.add_argument('--id', default=None,
                        help='image ID (default: a new UUID)')
    create.add_argument('--private', action='store_true',
                        help='visible to no project but the owner')
    create.add_argument('--protected', action='store_true',
                        help='refuse deletion')
    create.set_defaults(func=create_command)

    listing = commands.add_parser('list', help='list the images')
    listing.add_argument('--name', default=None, help='only this name')
    listing.set_defaults(func=list_command)

    show = commands.add_parser('show', help='print one image as JSON')
    show.add_argument('image_id')
    show.set_defaults(func=show_command)

    delete = commands.add_parser('delete', help='delete an image')
    delete.add_argument('image_id')
    delete.set_defaults(func=delete_command)


def _properties(pairs: list[str]) -> dict[str, str]:
    properties = {}
    for pair in pairs:
        key, sep, value = pair.partition('=')
        if not sep or not key:
            raise ValueError(f'--property {pair!r} is not KEY=VALUE')
        properties[key] = value
    return properties


def create_command(args: argparse.Namespace) -> int:
    try:
        properties = _properties(args.properties)
    except ValueError as error:
        print(f'nova-manage image create: {error}')
        return 2
    meta: dict[str, Any] = {
        'name': args.name, 'disk_format': args.disk_format,
        'min_disk': args.min_disk, 'min_ram': args.min_ram,
        'visibility': 'private' if args.private else 'public',
        'protected': args.protected, 'properties': properties}
    if args.container_format:
        meta['container_format'] = args.container_format
    if args.id:
        meta['id'] = args.id
    # Only the local image service stores a file given by path.
    create_from_file = getattr(image_api.API(), 'create_from_file', None)
    if create_from_file is None:
        print('nova-manage image create: [image] backend is not the local '
              'image service; upload the image to your image service')
        return 2
    try:
        image = create_from_file(
            nova_context.get_admin_context(), args.path, **meta)
    except exception.NovaException as error:
        print(f'nova-manage image create: {error.format_message()}')
        return 1
    print(image['id'])
    return 0


def list_command(args: argparse.Namespace) -> int:
    filters = {'name': args.name} if args.name else None
    images = image_api.API().get_all(nova_context.get_admin_context(),
                                     filters, sort_key='name',
                                     sort_dir='asc')
    rows = [[str(image[c] if image[c] is not None else '') for c in _COLUMNS]
            for image in images]
    widths = [max([len(c)] + [len(r[i]) for r in rows])
              for i, c in enumerate(_COLUMNS)]
    for line in [list(_COLUMNS), *rows]:
        print('  '.join(value.ljust(width) for value, width in
                        zip(line, widths, strict=True)).rstrip())
    return 0


def show_command(args: argparse.Namespace) -> int:
    try:
        image = image_api.API().get(nova_context.get_admin_context(),
                                    args.image_id)
    except exception.NotFound as error:
        print(error.format_message())
        return 1
    print(json.dumps(image, indent=2, sort_keys=True, default=str))
    return 0


def delete_command(args: argparse.Namespace) -> int:
    try:
        image_api.API().delete(nova_context.get_admin_context(),
                               args.image_id)
    except exception.NovaException as error:
        print(error.format_message())
        return 1
    return 0
