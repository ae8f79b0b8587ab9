"""The migrations table: moves of instances between hosts.

Revision ID: 0002_migrations
Revises: 0001_initial_schema
Create Date: 2026-12-05 00:00:00
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

from nova.db import types

revision = '0002_migrations'
down_revision = '0001_initial_schema'
branch_labels = None
depends_on = None

MYSQL: dict[str, Any] = {'mysql_engine': 'InnoDB', 'mysql_charset': 'utf8mb4'}


def _s(name: str, length: int = 255) -> sa.Column:
    return sa.Column(name, sa.String(length))


def upgrade() -> None:
    op.create_table(
        'migrations',
        sa.Column('id', sa.Integer, primary_key=True, autoincrement=True),
        sa.Column('uuid', sa.String(36), nullable=False),
        sa.Column('instance_uuid', sa.String(36), nullable=False),
        _s('source_compute'), _s('dest_compute'),
        _s('source_node'), _s('dest_node'), _s('dest_host'),
        sa.Column('old_instance_type_id', sa.Integer),
        sa.Column('new_instance_type_id', sa.Integer),
        sa.Column('old_flavor', types.JSONEncoded),
        sa.Column('new_flavor', types.JSONEncoded),
        _s('status'), _s('migration_type', 20),
        sa.Column('hidden', sa.Boolean),
        sa.Column('progress', sa.Integer),
        *(sa.Column(f'{kind}_{what}', sa.BigInteger)
          for kind in ('memory', 'disk')
          for what in ('total', 'processed', 'remaining')),
        _s('user_id'), _s('project_id'),
        sa.Column('created_at', types.DateTime()),
        sa.Column('updated_at', types.DateTime()),
        sa.Column('deleted_at', types.DateTime()),
        sa.Column('deleted', sa.Integer),
        sa.UniqueConstraint('uuid', name='uniq_migrations0uuid'),
        **MYSQL)
    op.create_index('migrations_instance_uuid_and_status_idx', 'migrations',
                    ['deleted', 'instance_uuid', 'status'])
    op.create_index('migrations_source_compute_status_idx', 'migrations',
                    ['deleted', 'source_compute', 'status'])
    op.create_index('migrations_dest_compute_status_idx', 'migrations',
                    ['deleted', 'dest_compute', 'status'])
    op.create_index('migrations_updated_at_idx', 'migrations',
                    ['updated_at'])
