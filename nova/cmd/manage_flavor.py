"""Flavor commands: create the standard flavors of a new cloud."""

from __future__ import annotations

import argparse
from typing import Any

from nova import context as nova_context
from nova.compute import flavors


def create_standard(args: argparse.Namespace) -> int:
    ctx = nova_context.get_admin_context()
    for name, flavorid, created in flavors.ensure_standard_flavors(ctx):
        print(f'created flavor {name} (id {flavorid})' if created
              else f'flavor {name} exists')
    return 0


def list_flavors(args: argparse.Namespace) -> int:
    from nova.db import api as db
    ctx = nova_context.get_admin_context()
    print(f'{"ID":<8} {"Name":<12} {"RAM":>7} {"vCPUs":>5} {"Disk":>5}')
    for flavor in db.flavor_get_all(ctx):
        print(f'{flavor["flavorid"]:<8} {flavor["name"]:<12} '
              f'{flavor["memory_mb"]:>7} {flavor["vcpus"]:>5} '
              f'{flavor["root_gb"]:>5}')
    return 0


def register(commands: Any) -> None:
    create = commands.add_parser(
        'create-standard',
        help='create the m1.tiny ... m1.xlarge flavors (existing ones are '
             'left as they are)')
    create.set_defaults(func=create_standard)
    listing = commands.add_parser('list', help='list flavors')
    listing.set_defaults(func=list_flavors)
