"""Server groups and host aggregates.

Revision ID: 0004_groups_aggregates
Revises: 0003_quotas_tags
Create Date: 2026-12-06 00:00:00
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

from nova.db import types

revision = '0004_groups_aggregates'
down_revision = '0003_quotas_tags'
branch_labels = None
depends_on = None

MYSQL: dict[str, Any] = {'mysql_engine': 'InnoDB', 'mysql_charset': 'utf8mb4'}


def _times(deleted: bool = True) -> list[sa.Column]:
    columns = [sa.Column('created_at', types.DateTime()),
               sa.Column('updated_at', types.DateTime())]
    if deleted:
        columns += [sa.Column('deleted_at', types.DateTime()),
                    sa.Column('deleted', sa.Integer)]
    return columns


def upgrade() -> None:
    op.create_table(
        'instance_groups',
        sa.Column('id', sa.Integer, primary_key=True, autoincrement=True),
        sa.Column('uuid', sa.String(36), nullable=False),
        sa.Column('name', sa.String(255)),
        sa.Column('user_id', sa.String(255)),
        sa.Column('project_id', sa.String(255)),
        sa.Column('policy', sa.String(255), nullable=False),
        sa.Column('rules', types.JSONEncoded),
        *_times(),
        sa.UniqueConstraint('uuid', 'deleted',
                            name='uniq_instance_groups0uuid0deleted'),
        **MYSQL)
    op.create_table(
        'instance_group_member',
        sa.Column('id', sa.Integer, primary_key=True, autoincrement=True),
        sa.Column('group_id', sa.Integer,
                  sa.ForeignKey('instance_groups.id',
                                name='fk_instance_group_member_group_id',
                                ondelete='CASCADE'),
                  nullable=False),
        sa.Column('instance_uuid', sa.String(36), nullable=False),
        *_times(deleted=False),
        sa.UniqueConstraint('instance_uuid',
                            name='uniq_instance_group_member0instance_uuid'),
        **MYSQL)
    op.create_index('instance_group_member_group_idx',
                    'instance_group_member', ['group_id'])
    op.create_table(
        'aggregates',
        sa.Column('id', sa.Integer, primary_key=True, autoincrement=True),
        sa.Column('uuid', sa.String(36), nullable=False),
        sa.Column('name', sa.String(255), nullable=False),
        sa.Column('metadata', types.JSONEncoded),
        *_times(),
        sa.UniqueConstraint('name', 'deleted',
                            name='uniq_aggregates0name0deleted'),
        **MYSQL)
    op.create_table(
        'aggregate_hosts',
        sa.Column('id', sa.Integer, primary_key=True, autoincrement=True),
        sa.Column('aggregate_id', sa.Integer,
                  sa.ForeignKey('aggregates.id',
                                name='fk_aggregate_hosts_aggregate_id',
                                ondelete='CASCADE'),
                  nullable=False),
        sa.Column('host', sa.String(255), nullable=False),
        *_times(deleted=False),
        sa.UniqueConstraint('host', 'aggregate_id',
                            name='uniq_aggregate_hosts0host0aggregate_id'),
        **MYSQL)
