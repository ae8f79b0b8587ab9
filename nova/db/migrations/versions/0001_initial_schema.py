"""Initial schema: every table of nova.db.models.

Revision ID: 0001_initial_schema
Revises:
Create Date: 2025-01-01 00:00:00
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

from nova.db import types

revision = '0001_initial_schema'
down_revision = None
branch_labels = None
depends_on = None

# Written out rather than generated from the models: a migration must keep
# creating this schema whatever the models become later.
#: Table options for MySQL/MariaDB (create_table's dialect keyword
#: arguments; typed Any because its stub types only its named ones).
MYSQL: dict[str, Any] = {'mysql_engine': 'InnoDB', 'mysql_charset': 'utf8mb4'}


def _timestamps() -> list[sa.Column]:
    return [sa.Column('created_at', types.DateTime()),
            sa.Column('updated_at', types.DateTime())]


def _soft_delete() -> list[sa.Column]:
    return [sa.Column('deleted_at', types.DateTime()),
            sa.Column('deleted', sa.Integer)]


def _id() -> sa.Column:
    return sa.Column('id', sa.Integer, primary_key=True, autoincrement=True)


def _s(name: str, length: int = 255, **kw) -> sa.Column:
    return sa.Column(name, sa.String(length), **kw)


def upgrade() -> None:
    op.create_table(
        'instances',
        _id(),
        _s('uuid', 36, nullable=False),
        _s('user_id'), _s('project_id'),
        _s('display_name'), sa.Column('display_description', sa.Text),
        _s('hostname'), _s('host'), _s('node'), _s('launched_on'),
        _s('vm_state'), _s('task_state'),
        sa.Column('power_state', sa.Integer),
        sa.Column('memory_mb', sa.Integer),
        sa.Column('vcpus', sa.Integer),
        sa.Column('root_gb', sa.Integer),
        sa.Column('ephemeral_gb', sa.Integer),
        sa.Column('swap', sa.Integer),
        sa.Column('flavor', types.JSONEncoded),
        _s('image_ref'), _s('kernel_id'), _s('ramdisk_id'),
        _s('availability_zone'), _s('key_name'),
        sa.Column('key_data', types.MediumText()),
        sa.Column('user_data', types.MediumText()),
        sa.Column('metadata', types.JSONEncoded),
        sa.Column('system_metadata', types.JSONEncoded),
        sa.Column('config_drive', sa.Boolean),
        _s('access_ip_v4', 39), _s('access_ip_v6', 39),
        sa.Column('locked', sa.Boolean),
        _s('locked_by'),
        sa.Column('launch_index', sa.Integer),
        _s('reservation_id'),
        sa.Column('progress', sa.Integer),
        sa.Column('tags', types.JSONEncoded),
        sa.Column('security_groups', types.JSONEncoded),
        sa.Column('launched_at', types.DateTime()),
        sa.Column('terminated_at', types.DateTime()),
        *_timestamps(), *_soft_delete(),
        sa.UniqueConstraint('uuid', name='uniq_instances0uuid'),
        **MYSQL)
    op.create_index('instances_project_id_deleted_idx', 'instances',
                    ['project_id', 'deleted'])
    op.create_index('instances_host_node_deleted_idx', 'instances',
                    ['host', 'node', 'deleted'])
    op.create_index('instances_deleted_created_at_idx', 'instances',
                    ['deleted', 'created_at'])
    op.create_index('instances_updated_at_project_id_idx', 'instances',
                    ['updated_at', 'project_id'])
    op.create_index('instances_reservation_id_idx', 'instances',
                    ['reservation_id'])
    op.create_index('instances_uuid_deleted_idx', 'instances',
                    ['uuid', 'deleted'])

    op.create_table(
        'instance_faults',
        _id(),
        sa.Column('instance_uuid', sa.String(36),
                  sa.ForeignKey('instances.uuid',
                                name='fk_instance_faults_instance_uuid')),
        sa.Column('code', sa.Integer, nullable=False),
        _s('message'),
        sa.Column('details', types.MediumText()),
        _s('host'),
        *_timestamps(), *_soft_delete(),
        **MYSQL)
    op.create_index('instance_faults_instance_uuid_deleted_created_at_idx',
                    'instance_faults',
                    ['instance_uuid', 'deleted', 'created_at'])

    op.create_table(
        'instance_actions',
        _id(),
        _s('action'),
        sa.Column('instance_uuid', sa.String(36),
                  sa.ForeignKey('instances.uuid',
                                name='fk_instance_actions_instance_uuid')),
        _s('request_id'), _s('user_id'), _s('project_id'),
        sa.Column('start_time', types.DateTime()),
        sa.Column('finish_time', types.DateTime()),
        _s('message'),
        *_timestamps(), *_soft_delete(),
        **MYSQL)
    op.create_index('instance_actions_instance_uuid_idx', 'instance_actions',
                    ['instance_uuid'])
    op.create_index('instance_actions_request_id_idx', 'instance_actions',
                    ['request_id'])
    op.create_index('instance_actions_instance_uuid_updated_at_idx',
                    'instance_actions', ['instance_uuid', 'updated_at'])

    op.create_table(
        'instance_actions_events',
        _id(),
        _s('event'),
        sa.Column('action_id', sa.Integer,
                  sa.ForeignKey('instance_actions.id',
                                name='fk_instance_actions_events_action_id')),
        sa.Column('start_time', types.DateTime()),
        sa.Column('finish_time', types.DateTime()),
        _s('result'),
        sa.Column('traceback', types.MediumText()),
        _s('host'),
        sa.Column('details', types.MediumText()),
        _s('run_id', 36),
        sa.Column('seq', sa.Integer),
        _s('revert_result', 32),
        *_timestamps(), *_soft_delete(),
        sa.UniqueConstraint('run_id', 'seq',
                            name='uniq_instance_actions_events0run_id0seq'),
        **MYSQL)
    op.create_index('instance_actions_events_action_id_idx',
                    'instance_actions_events', ['action_id'])

    op.create_table(
        'flow_runs',
        sa.Column('id', sa.String(36), primary_key=True),
        _s('flow', nullable=False),
        _s('version', 32),
        _s('instance_uuid', 36),
        _s('request_id'), _s('user_id'), _s('project_id'), _s('host'),
        _s('status', 16, nullable=False),
        _s('current_stage'),
        sa.Column('started_at', types.DateTime()),
        sa.Column('finished_at', types.DateTime()),
        sa.Column('message', sa.Text),
        sa.Column('action_id', sa.Integer,
                  sa.ForeignKey('instance_actions.id',
                                name='fk_flow_runs_action_id')),
        sa.Column('recovering', sa.Boolean),
        **MYSQL)
    op.create_index('flow_runs_host_status_idx', 'flow_runs',
                    ['host', 'status'])
    op.create_index('flow_runs_instance_uuid_idx', 'flow_runs',
                    ['instance_uuid'])
    op.create_index('flow_runs_action_id_idx', 'flow_runs', ['action_id'])

    op.create_table(
        'block_device_mappings',
        _id(),
        _s('uuid', 36),
        sa.Column('instance_uuid', sa.String(36),
                  sa.ForeignKey(
                      'instances.uuid',
                      name='fk_block_device_mappings_instance_uuid')),
        _s('source_type'), _s('destination_type'), _s('guest_format'),
        _s('device_type'), _s('disk_bus'),
        sa.Column('boot_index', sa.Integer),
        _s('device_name'),
        sa.Column('delete_on_termination', sa.Boolean),
        _s('snapshot_id', 36), _s('volume_id', 36),
        sa.Column('volume_size', sa.Integer),
        _s('image_id', 36),
        sa.Column('no_device', sa.Boolean),
        sa.Column('connection_info', types.JSONEncoded),
        _s('attachment_id', 36), _s('tag'), _s('volume_type'),
        *_timestamps(), *_soft_delete(),
        sa.UniqueConstraint('uuid', name='uniq_block_device_mappings0uuid'),
        **MYSQL)
    op.create_index('block_device_mapping_instance_uuid_idx',
                    'block_device_mappings', ['instance_uuid'])
    op.create_index('block_device_mapping_instance_uuid_volume_id_idx',
                    'block_device_mappings', ['instance_uuid', 'volume_id'])
    op.create_index('block_device_mapping_snapshot_id_idx',
                    'block_device_mappings', ['snapshot_id'])
    op.create_index('block_device_mapping_volume_id_idx',
                    'block_device_mappings', ['volume_id'])

    op.create_table(
        'services',
        _id(),
        _s('uuid', 36), _s('host'), _s('binary'), _s('topic'),
        sa.Column('report_count', sa.Integer, nullable=False),
        sa.Column('disabled', sa.Boolean),
        _s('disabled_reason'),
        sa.Column('last_seen_up', types.DateTime()),
        sa.Column('forced_down', sa.Boolean),
        sa.Column('version', sa.Integer),
        *_timestamps(), *_soft_delete(),
        sa.UniqueConstraint('host', 'topic', 'deleted',
                            name='uniq_services0host0topic0deleted'),
        sa.UniqueConstraint('host', 'binary', 'deleted',
                            name='uniq_services0host0binary0deleted'),
        sa.UniqueConstraint('uuid', name='uniq_services0uuid'),
        **MYSQL)

    op.create_table(
        'compute_nodes',
        _id(),
        _s('uuid', 36), _s('host'), _s('hypervisor_hostname'),
        _s('hypervisor_type'),
        sa.Column('hypervisor_version', sa.Integer),
        _s('availability_zone'),
        sa.Column('vcpus', sa.Integer, nullable=False),
        sa.Column('memory_mb', sa.Integer, nullable=False),
        sa.Column('local_gb', sa.Integer, nullable=False),
        sa.Column('vcpus_used', sa.Integer, nullable=False),
        sa.Column('memory_mb_used', sa.Integer, nullable=False),
        sa.Column('local_gb_used', sa.Integer, nullable=False),
        sa.Column('running_vms', sa.Integer, nullable=False),
        sa.Column('cpu_allocation_ratio', sa.Double, nullable=False),
        sa.Column('ram_allocation_ratio', sa.Double, nullable=False),
        sa.Column('disk_allocation_ratio', sa.Double, nullable=False),
        *_timestamps(), *_soft_delete(),
        sa.UniqueConstraint(
            'host', 'hypervisor_hostname', 'deleted',
            name='uniq_compute_nodes0host0hypervisor_hostname0deleted'),
        sa.UniqueConstraint('uuid', name='compute_nodes_uuid_idx'),
        **MYSQL)

    op.create_table(
        'allocations',
        _id(),
        _s('instance_uuid', 36, nullable=False),
        sa.Column('compute_node_id', sa.Integer,
                  sa.ForeignKey('compute_nodes.id',
                                name='fk_allocations_compute_node_id'),
                  nullable=False),
        sa.Column('vcpus', sa.Integer, nullable=False),
        sa.Column('memory_mb', sa.Integer, nullable=False),
        sa.Column('disk_gb', sa.Integer, nullable=False),
        *_timestamps(),
        sa.UniqueConstraint('instance_uuid',
                            name='uniq_allocations0instance_uuid'),
        **MYSQL)
    op.create_index('allocations_compute_node_id_idx', 'allocations',
                    ['compute_node_id'])

    op.create_table(
        'flavors',
        _id(),
        _s('flavorid', nullable=False), _s('name', nullable=False),
        sa.Column('memory_mb', sa.Integer, nullable=False),
        sa.Column('vcpus', sa.Integer, nullable=False),
        sa.Column('root_gb', sa.Integer),
        sa.Column('ephemeral_gb', sa.Integer),
        sa.Column('swap', sa.Integer, nullable=False),
        sa.Column('rxtx_factor', sa.Float),
        sa.Column('is_public', sa.Boolean),
        sa.Column('disabled', sa.Boolean),
        sa.Column('description', sa.Text),
        sa.Column('extra_specs', types.JSONEncoded),
        *_timestamps(),
        sa.UniqueConstraint('flavorid', name='uniq_flavors0flavorid'),
        sa.UniqueConstraint('name', name='uniq_flavors0name'),
        **MYSQL)

    op.create_table(
        'flavor_projects',
        _id(),
        sa.Column('flavor_id', sa.Integer,
                  sa.ForeignKey('flavors.id',
                                name='fk_flavor_projects_flavor_id',
                                ondelete='CASCADE'),
                  nullable=False),
        _s('project_id', nullable=False),
        *_timestamps(),
        sa.UniqueConstraint('flavor_id', 'project_id',
                            name='uniq_flavor_projects0flavor_id0project_id'),
        **MYSQL)

    op.create_table(
        'key_pairs',
        _id(),
        _s('name', nullable=False), _s('user_id'), _s('fingerprint'),
        sa.Column('public_key', sa.Text),
        _s('type', 16, nullable=False),
        *_timestamps(), *_soft_delete(),
        sa.UniqueConstraint('user_id', 'name', 'deleted',
                            name='uniq_key_pairs0user_id0name0deleted'),
        **MYSQL)

    op.create_table(
        'fixed_ips',
        _id(),
        _s('network', nullable=False),
        _s('address', 39, nullable=False),
        _s('instance_uuid', 36),
        _s('mac', 17),
        _s('port_id', 36, nullable=False),
        *_timestamps(),
        sa.UniqueConstraint('network', 'address',
                            name='uniq_fixed_ips0network0address'),
        sa.UniqueConstraint('port_id', name='uniq_fixed_ips0port_id'),
        **MYSQL)
    op.create_index('fixed_ips_instance_uuid_idx', 'fixed_ips',
                    ['instance_uuid'])

    op.create_table(
        'volumes',
        sa.Column('id', sa.String(36), primary_key=True),
        _s('display_name'),
        sa.Column('size', sa.Integer, nullable=False),
        _s('status', nullable=False),
        _s('attach_status', nullable=False),
        _s('instance_uuid', 36),
        _s('mountpoint'),
        _s('path', 1024),
        _s('project_id'), _s('user_id'),
        *_timestamps(),
        **MYSQL)
    op.create_index('volumes_instance_uuid_idx', 'volumes',
                    ['instance_uuid'])
    op.create_index('volumes_project_id_idx', 'volumes', ['project_id'])

    op.create_table(
        'images',
        sa.Column('id', sa.String(36), primary_key=True),
        _s('name'),
        _s('status', 30, nullable=False),
        _s('disk_format', 20), _s('container_format', 20),
        sa.Column('size', sa.BigInteger),
        sa.Column('min_disk', sa.Integer, nullable=False),
        sa.Column('min_ram', sa.Integer, nullable=False),
        _s('checksum', 32), _s('os_hash_algo', 64), _s('os_hash_value', 128),
        _s('path', 1024),
        sa.Column('properties', types.JSONEncoded),
        _s('owner'),
        _s('visibility', 20, nullable=False),
        sa.Column('protected', sa.Boolean, nullable=False),
        *_timestamps(),
        sa.Column('deleted_at', types.DateTime()),
        sa.Column('deleted', sa.Boolean, nullable=False),
        **MYSQL)
    op.create_index('images_deleted_visibility_idx', 'images',
                    ['deleted', 'visibility'])
    op.create_index('images_owner_idx', 'images', ['owner'])
