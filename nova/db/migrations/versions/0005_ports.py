"""Ports of the network API: a name, an owner and a binding.

The rows of ``fixed_ips`` are the flat network's ports.  The Networking
API creates ports before any server exists (``openstack port create``)
and shows who owns them, so a port gets the Neutron fields it lacked:
``name``, ``project_id``, ``host`` (``binding:host_id``) and
``preserve_on_delete``
(a port the user created outlives the server: deleting the server only
unbinds it, as nova does with Neutron).

Revision ID: 0005_ports
Revises: 0004_groups_aggregates
Create Date: 2026-12-06 00:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0005_ports'
down_revision = '0004_groups_aggregates'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('fixed_ips', sa.Column('name', sa.String(255)))
    op.add_column('fixed_ips', sa.Column('project_id', sa.String(255)))
    op.add_column('fixed_ips', sa.Column('host', sa.String(255)))
    op.add_column('fixed_ips', sa.Column(
        'preserve_on_delete', sa.Boolean, nullable=False,
        server_default=sa.false()))
