"""Console authorization tokens of remote consoles.

A row per console URL handed out (``POST /servers/{id}/remote-consoles``):
the hash of its token, the console server it opens and when it expires,
as upstream nova's table of the same name.

Revision ID: 0006_console_auth_tokens
Revises: 0005_ports
Create Date: 2026-12-10 00:00:00
"""

import sqlalchemy as sa
from alembic import op

from nova.db import types

revision = '0006_console_auth_tokens'
down_revision = '0005_ports'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'console_auth_tokens',
        sa.Column('created_at', types.DateTime()),
        sa.Column('updated_at', types.DateTime()),
        sa.Column('id', sa.Integer, primary_key=True, autoincrement=True),
        sa.Column('token_hash', sa.String(255), nullable=False),
        sa.Column('console_type', sa.String(255), nullable=False),
        sa.Column('host', sa.String(255), nullable=False),
        sa.Column('port', sa.Integer, nullable=False),
        sa.Column('internal_access_path', sa.String(255)),
        sa.Column('instance_uuid', sa.String(36), nullable=False),
        sa.Column('expires', sa.Integer, nullable=False),
        sa.Column('access_url_base', sa.String(255)),
        sa.UniqueConstraint('token_hash',
                            name='uniq_console_auth_tokens0token_hash'),
        mysql_engine='InnoDB', mysql_charset='utf8mb4')
    op.create_index('console_auth_tokens_instance_uuid_idx',
                    'console_auth_tokens', ['instance_uuid'])
    op.create_index('console_auth_tokens_host_expires_idx',
                    'console_auth_tokens', ['host', 'expires'])
