"""Schema migrations: ``nova-manage db sync`` and ``db version``.

Alembic is configured in code (no alembic.ini); the scripts live in
``nova/db/migrations``.
"""

from __future__ import annotations

import os

import sqlalchemy as sa
from alembic import command as alembic_command
from alembic import config as alembic_config
from alembic import migration as alembic_migration
from alembic import script as alembic_script

MIGRATIONS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                              'migrations')


def _config(connection: sa.Connection | None = None) -> alembic_config.Config:
    config = alembic_config.Config()
    config.set_main_option('script_location', MIGRATIONS_DIR)
    if connection is not None:
        config.attributes['connection'] = connection
    return config


def _engine(engine: sa.Engine | None) -> sa.Engine:
    if engine is not None:
        return engine
    from nova.db import api as db_api
    return db_api.get_engine()


def db_sync(version: str | None = None,
            engine: sa.Engine | None = None) -> None:
    """Upgrade the schema to ``version`` (default: the newest)."""
    with _engine(engine).begin() as connection:
        alembic_command.upgrade(_config(connection), version or 'heads')


def db_version(engine: sa.Engine | None = None) -> str | None:
    """The schema's current revision; None for a database never synced."""
    with _engine(engine).connect() as connection:
        context = alembic_migration.MigrationContext.configure(connection)
        return context.get_current_revision()


def head_version() -> str:
    """The newest revision this code knows."""
    script = alembic_script.ScriptDirectory.from_config(_config())
    head = script.get_current_head()
    assert head is not None
    return head
