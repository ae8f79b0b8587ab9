"""Networks and subnets users create in the local network service.

The flat network stays configuration (``[network] flat_network_*``);
these are the networks ``POST /v2.0/networks`` makes and their subnets.
A port of such a network is a row of ``fixed_ips`` whose ``network`` is
the network's ID, so the unique (network, address) key keeps its
allocation race-safe as on the flat network.

Revision ID: 0008_networks
Revises: 0007_security_groups
Create Date: 2026-12-12 00:00:00
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

from nova.db import types

revision = '0008_networks'
down_revision = '0007_security_groups'
branch_labels = None
depends_on = None

MYSQL: dict[str, Any] = {'mysql_engine': 'InnoDB', 'mysql_charset': 'utf8mb4'}


def _times() -> list[sa.Column]:
    return [sa.Column('created_at', types.DateTime()),
            sa.Column('updated_at', types.DateTime())]


def upgrade() -> None:
    op.create_table(
        'networks',
        sa.Column('id', sa.String(36), primary_key=True),
        sa.Column('name', sa.String(255), nullable=False),
        sa.Column('project_id', sa.String(255), nullable=False),
        sa.Column('shared', sa.Boolean, nullable=False,
                  server_default=sa.false()),
        sa.Column('admin_state_up', sa.Boolean, nullable=False,
                  server_default=sa.true()),
        *_times(),
        **MYSQL)
    op.create_index('networks_project_id_idx', 'networks', ['project_id'])
    op.create_table(
        'subnets',
        sa.Column('id', sa.String(36), primary_key=True),
        sa.Column('network_id', sa.String(36),
                  sa.ForeignKey('networks.id',
                                name='fk_subnets_network_id'),
                  nullable=False),
        sa.Column('name', sa.String(255), nullable=False),
        sa.Column('project_id', sa.String(255), nullable=False),
        sa.Column('cidr', sa.String(64), nullable=False),
        sa.Column('ip_version', sa.Integer, nullable=False),
        sa.Column('gateway_ip', sa.String(64)),
        sa.Column('enable_dhcp', sa.Boolean, nullable=False,
                  server_default=sa.true()),
        *_times(),
        **MYSQL)
    op.create_index('subnets_network_id_idx', 'subnets', ['network_id'])
