"""The quotas and project_user_quotas tables: stored quota limits.

Revision ID: 0003_quotas_tags
Revises: 0002_migrations
Create Date: 2026-12-06 00:00:00
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

from nova.db import types

revision = '0003_quotas_tags'
down_revision = '0002_migrations'
branch_labels = None
depends_on = None

MYSQL: dict[str, Any] = {'mysql_engine': 'InnoDB', 'mysql_charset': 'utf8mb4'}


def _common() -> list[sa.Column]:
    return [
        sa.Column('id', sa.Integer, primary_key=True, autoincrement=True),
        sa.Column('project_id', sa.String(255), nullable=False),
        sa.Column('resource', sa.String(255), nullable=False),
        sa.Column('hard_limit', sa.Integer),
        sa.Column('created_at', types.DateTime()),
        sa.Column('updated_at', types.DateTime()),
    ]


def upgrade() -> None:
    op.create_table(
        'quotas', *_common(),
        sa.UniqueConstraint('project_id', 'resource',
                            name='uniq_quotas0project_id0resource'),
        **MYSQL)
    op.create_table(
        'project_user_quotas', *_common(),
        sa.Column('user_id', sa.String(255), nullable=False),
        sa.UniqueConstraint(
            'user_id', 'project_id', 'resource',
            name='uniq_project_user_quotas0user_id0project_id0resource'),
        **MYSQL)
    op.create_index('project_user_quotas_project_id_idx',
                    'project_user_quotas', ['project_id'])


def downgrade() -> None:
    op.drop_table('project_user_quotas')
    op.drop_table('quotas')
