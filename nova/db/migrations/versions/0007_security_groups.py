"""Security groups of the local network service.

Neutron's security groups, their rules and the groups of each port (a
row of ``fixed_ips``).  A project's ``default`` group is made on first
use; ``default_for`` (unique) keeps two first uses from making two.

Revision ID: 0007_security_groups
Revises: 0006_console_auth_tokens
Create Date: 2026-12-07 00:00:00
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

from nova.db import types

revision = '0007_security_groups'
down_revision = '0006_console_auth_tokens'
branch_labels = None
depends_on = None

MYSQL: dict[str, Any] = {'mysql_engine': 'InnoDB', 'mysql_charset': 'utf8mb4'}


def _times() -> list[sa.Column]:
    return [sa.Column('created_at', types.DateTime()),
            sa.Column('updated_at', types.DateTime())]


def upgrade() -> None:
    op.create_table(
        'security_groups',
        sa.Column('id', sa.String(36), primary_key=True),
        sa.Column('name', sa.String(255), nullable=False),
        sa.Column('description', sa.String(255)),
        sa.Column('project_id', sa.String(255), nullable=False),
        sa.Column('default_for', sa.String(255)),
        *_times(),
        sa.UniqueConstraint('default_for',
                            name='uniq_security_groups0default_for'),
        **MYSQL)
    op.create_index('security_groups_project_id_idx', 'security_groups',
                    ['project_id'])
    op.create_table(
        'security_group_rules',
        sa.Column('id', sa.String(36), primary_key=True),
        sa.Column('security_group_id', sa.String(36),
                  sa.ForeignKey(
                      'security_groups.id',
                      name='fk_security_group_rules_security_group_id',
                      ondelete='CASCADE'),
                  nullable=False),
        sa.Column('project_id', sa.String(255), nullable=False),
        sa.Column('direction', sa.String(16), nullable=False),
        sa.Column('ethertype', sa.String(40), nullable=False),
        sa.Column('protocol', sa.String(40)),
        sa.Column('port_range_min', sa.Integer),
        sa.Column('port_range_max', sa.Integer),
        sa.Column('remote_ip_prefix', sa.String(255)),
        sa.Column('remote_group_id', sa.String(36),
                  sa.ForeignKey(
                      'security_groups.id',
                      name='fk_security_group_rules_remote_group_id',
                      ondelete='CASCADE')),
        sa.Column('description', sa.String(255)),
        *_times(),
        **MYSQL)
    op.create_index('security_group_rules_group_idx',
                    'security_group_rules', ['security_group_id'])
    op.create_table(
        'security_group_port_bindings',
        sa.Column('port_id', sa.String(36),
                  sa.ForeignKey(
                      'fixed_ips.port_id',
                      name='fk_security_group_port_bindings_port_id',
                      ondelete='CASCADE'),
                  primary_key=True),
        sa.Column('security_group_id', sa.String(36),
                  sa.ForeignKey(
                      'security_groups.id',
                      name='fk_security_group_port_bindings_'
                           'security_group_id'),
                  primary_key=True),
        **MYSQL)
    op.create_index('security_group_port_bindings_group_idx',
                    'security_group_port_bindings', ['security_group_id'])
