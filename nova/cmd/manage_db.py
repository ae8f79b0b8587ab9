"""Database schema: create and upgrade nova's tables.

``nova-manage db sync`` applies the alembic migrations up to the newest
(or ``--version``); ``nova-manage db version`` prints the schema's
revision.  Both use ``[database] connection``.
"""

from __future__ import annotations

import argparse

from nova.db import migration


def register(commands: argparse._SubParsersAction) -> None:
    sync = commands.add_parser(
        'sync', help='create or upgrade the database schema')
    sync.add_argument('--version', default=None,
                      help='revision to upgrade to (default: the newest)')
    sync.set_defaults(func=sync_command)
    version = commands.add_parser(
        'version', help='print the current schema revision')
    version.set_defaults(func=version_command)


def sync_command(args: argparse.Namespace) -> int:
    migration.db_sync(args.version)
    print(f'Database schema at revision {migration.db_version()}')
    return 0


def version_command(args: argparse.Namespace) -> int:
    current = migration.db_version()
    if current is None:
        print('None (not initialised: run "nova-manage db sync")')
        return 1
    head = migration.head_version()
    suffix = '' if current == head else f' (newest: {head})'
    print(f'{current}{suffix}')
    return 0
