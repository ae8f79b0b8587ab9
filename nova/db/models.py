"""nova's tables, as SQLAlchemy 2 declarative models.

The models define the schema; :mod:`nova.db.api` queries the tables
through them with Core statements and returns plain dicts, so nothing
here is ever lazily loaded after a session ends.

Conventions, as upstream nova:

* timestamps are naive UTC (``created_at`` / ``updated_at`` set by the
  column defaults);
* a soft-deleted row keeps ``deleted_at`` and has ``deleted`` set to its
  own ``id`` (0 while alive), so unique constraints that include
  ``deleted`` let a name be reused after a delete;
* JSON documents are text columns (:class:`nova.db.types.JSONEncoded`).

Every change here needs a migration in ``nova/db/migrations/versions``;
``nova.tests.unit.db.test_migrations`` fails when the two drift apart.
"""

from __future__ import annotations

import datetime
from typing import Any

import sqlalchemy as sa
from oslo_utils import timeutils
from sqlalchemy import orm
from sqlalchemy.orm import Mapped, mapped_column

from nova.db import types

#: Table options for MySQL/MariaDB; ignored by the other backends.
MYSQL_TABLE_ARGS = {'mysql_engine': 'InnoDB', 'mysql_charset': 'utf8mb4'}


def _args(*items: Any) -> tuple[Any, ...]:
    return (*items, MYSQL_TABLE_ARGS)


class Base(orm.DeclarativeBase):
    pass


class TimestampMixin:
    created_at: Mapped[datetime.datetime | None] = mapped_column(
        types.DateTime(), default=timeutils.utcnow)
    updated_at: Mapped[datetime.datetime | None] = mapped_column(
        types.DateTime(), onupdate=timeutils.utcnow)


class SoftDeleteMixin:
    deleted_at: Mapped[datetime.datetime | None] = mapped_column(
        types.DateTime())
    #: 0 while the row is alive, its own id once soft-deleted.
    deleted: Mapped[int | None] = mapped_column(sa.Integer, default=0)


# -- instances and what hangs off them ----------------------------------------


class Instance(TimestampMixin, SoftDeleteMixin, Base):
    """A server.  Flavor sizes are copied in at create time."""

    __tablename__ = 'instances'
    __table_args__ = _args(
        sa.UniqueConstraint('uuid', name='uniq_instances0uuid'),
        sa.Index('instances_project_id_deleted_idx', 'project_id',
                 'deleted'),
        sa.Index('instances_host_node_deleted_idx', 'host', 'node',
                 'deleted'),
        sa.Index('instances_deleted_created_at_idx', 'deleted',
                 'created_at'),
        sa.Index('instances_updated_at_project_id_idx', 'updated_at',
                 'project_id'),
        sa.Index('instances_reservation_id_idx', 'reservation_id'),
        sa.Index('instances_uuid_deleted_idx', 'uuid', 'deleted'),
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True,
                                    autoincrement=True)
    uuid: Mapped[str] = mapped_column(sa.String(36), nullable=False)
    user_id: Mapped[str | None] = mapped_column(sa.String(255))
    project_id: Mapped[str | None] = mapped_column(sa.String(255))
    display_name: Mapped[str | None] = mapped_column(sa.String(255))
    display_description: Mapped[str | None] = mapped_column(sa.Text)
    hostname: Mapped[str | None] = mapped_column(sa.String(255))
    host: Mapped[str | None] = mapped_column(sa.String(255))
    node: Mapped[str | None] = mapped_column(sa.String(255))
    launched_on: Mapped[str | None] = mapped_column(sa.String(255))
    vm_state: Mapped[str | None] = mapped_column(sa.String(255))
    task_state: Mapped[str | None] = mapped_column(sa.String(255))
    power_state: Mapped[int | None] = mapped_column(sa.Integer)
    memory_mb: Mapped[int | None] = mapped_column(sa.Integer)
    vcpus: Mapped[int | None] = mapped_column(sa.Integer)
    root_gb: Mapped[int | None] = mapped_column(sa.Integer)
    ephemeral_gb: Mapped[int | None] = mapped_column(sa.Integer)
    #: MiB, as the flavor's swap.
    swap: Mapped[int | None] = mapped_column(sa.Integer)
    #: The whole flavor (extra_specs included) as it was at create time.
    flavor: Mapped[dict[str, Any] | None] = mapped_column(types.JSONEncoded)
    image_ref: Mapped[str | None] = mapped_column(sa.String(255))
    kernel_id: Mapped[str | None] = mapped_column(sa.String(255))
    ramdisk_id: Mapped[str | None] = mapped_column(sa.String(255))
    availability_zone: Mapped[str | None] = mapped_column(sa.String(255))
    key_name: Mapped[str | None] = mapped_column(sa.String(255))
    key_data: Mapped[str | None] = mapped_column(types.MediumText())
    #: Secret: never logged, never put in notifications or records.
    user_data: Mapped[str | None] = mapped_column(types.MediumText())
    # ``metadata`` is taken by the declarative base; the column keeps the
    # name, so the dicts the DB API returns say 'metadata'.
    metadata_: Mapped[dict[str, Any] | None] = mapped_column(
        'metadata', types.JSONEncoded)
    system_metadata: Mapped[dict[str, Any] | None] = mapped_column(
        types.JSONEncoded)
    config_drive: Mapped[bool | None] = mapped_column(sa.Boolean,
                                                      default=False)
    access_ip_v4: Mapped[str | None] = mapped_column(sa.String(39))
    access_ip_v6: Mapped[str | None] = mapped_column(sa.String(39))
    locked: Mapped[bool | None] = mapped_column(sa.Boolean, default=False)
    locked_by: Mapped[str | None] = mapped_column(sa.String(255))
    launch_index: Mapped[int | None] = mapped_column(sa.Integer)
    reservation_id: Mapped[str | None] = mapped_column(sa.String(255))
    progress: Mapped[int | None] = mapped_column(sa.Integer)
    tags: Mapped[list[str] | None] = mapped_column(types.JSONEncoded)
    security_groups: Mapped[list[str] | None] = mapped_column(
        types.JSONEncoded)
    launched_at: Mapped[datetime.datetime | None] = mapped_column(
        types.DateTime())
    terminated_at: Mapped[datetime.datetime | None] = mapped_column(
        types.DateTime())


class InstanceFault(TimestampMixin, SoftDeleteMixin, Base):
    __tablename__ = 'instance_faults'
    __table_args__ = _args(
        sa.Index('instance_faults_instance_uuid_deleted_created_at_idx',
                 'instance_uuid', 'deleted', 'created_at'),
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True,
                                    autoincrement=True)
    instance_uuid: Mapped[str | None] = mapped_column(
        sa.String(36), sa.ForeignKey('instances.uuid',
                                     name='fk_instance_faults_instance_uuid'))
    code: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    message: Mapped[str | None] = mapped_column(sa.String(255))
    details: Mapped[str | None] = mapped_column(types.MediumText())
    host: Mapped[str | None] = mapped_column(sa.String(255))


class InstanceAction(TimestampMixin, SoftDeleteMixin, Base):
    """A user request on an instance (os-instance-actions)."""

    __tablename__ = 'instance_actions'
    __table_args__ = _args(
        sa.Index('instance_actions_instance_uuid_idx', 'instance_uuid'),
        sa.Index('instance_actions_request_id_idx', 'request_id'),
        sa.Index('instance_actions_instance_uuid_updated_at_idx',
                 'instance_uuid', 'updated_at'),
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True,
                                    autoincrement=True)
    action: Mapped[str | None] = mapped_column(sa.String(255))
    instance_uuid: Mapped[str | None] = mapped_column(
        sa.String(36),
        sa.ForeignKey('instances.uuid',
                      name='fk_instance_actions_instance_uuid'))
    request_id: Mapped[str | None] = mapped_column(sa.String(255))
    user_id: Mapped[str | None] = mapped_column(sa.String(255))
    project_id: Mapped[str | None] = mapped_column(sa.String(255))
    start_time: Mapped[datetime.datetime | None] = mapped_column(
        types.DateTime(), default=timeutils.utcnow)
    finish_time: Mapped[datetime.datetime | None] = mapped_column(
        types.DateTime())
    message: Mapped[str | None] = mapped_column(sa.String(255))


class InstanceActionEvent(TimestampMixin, SoftDeleteMixin, Base):
    """One stage of a flow run (or an upstream-style event).

    ``run_id`` and ``seq`` (the event's position in its run) identify the
    row for the recorder's upserts; ``event`` is the stage ID.
    """

    __tablename__ = 'instance_actions_events'
    __table_args__ = _args(
        sa.UniqueConstraint('run_id', 'seq',
                            name='uniq_instance_actions_events0run_id0seq'),
        sa.Index('instance_actions_events_action_id_idx', 'action_id'),
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True,
                                    autoincrement=True)
    event: Mapped[str | None] = mapped_column(sa.String(255))
    action_id: Mapped[int | None] = mapped_column(
        sa.Integer, sa.ForeignKey('instance_actions.id',
                                  name='fk_instance_actions_events_action_id'))
    start_time: Mapped[datetime.datetime | None] = mapped_column(
        types.DateTime())
    finish_time: Mapped[datetime.datetime | None] = mapped_column(
        types.DateTime())
    #: 'Success' / 'Error' as upstream; NULL while running.
    result: Mapped[str | None] = mapped_column(sa.String(255))
    traceback: Mapped[str | None] = mapped_column(types.MediumText())
    host: Mapped[str | None] = mapped_column(sa.String(255))
    details: Mapped[str | None] = mapped_column(types.MediumText())
    run_id: Mapped[str | None] = mapped_column(sa.String(36))
    seq: Mapped[int | None] = mapped_column(sa.Integer)
    #: 'reverted' / 'revert_failed' once the stage was undone.
    revert_result: Mapped[str | None] = mapped_column(sa.String(32))


class FlowRun(Base):
    """One run of a flow; its stages are instance_actions_events rows."""

    __tablename__ = 'flow_runs'
    __table_args__ = _args(
        sa.Index('flow_runs_host_status_idx', 'host', 'status'),
        sa.Index('flow_runs_instance_uuid_idx', 'instance_uuid'),
        sa.Index('flow_runs_action_id_idx', 'action_id'),
    )

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    flow: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    version: Mapped[str | None] = mapped_column(sa.String(32))
    #: The run's subject (an instance UUID for compute flows).
    instance_uuid: Mapped[str | None] = mapped_column(sa.String(36))
    request_id: Mapped[str | None] = mapped_column(sa.String(255))
    user_id: Mapped[str | None] = mapped_column(sa.String(255))
    project_id: Mapped[str | None] = mapped_column(sa.String(255))
    host: Mapped[str | None] = mapped_column(sa.String(255))
    #: running | success | error | reverted
    status: Mapped[str] = mapped_column(sa.String(16), nullable=False)
    #: The stage the run ended in (set at the end: while the run is going
    #: its newest event row says where it is, at no extra write).
    current_stage: Mapped[str | None] = mapped_column(sa.String(255))
    started_at: Mapped[datetime.datetime | None] = mapped_column(
        types.DateTime())
    finished_at: Mapped[datetime.datetime | None] = mapped_column(
        types.DateTime())
    message: Mapped[str | None] = mapped_column(sa.Text)
    action_id: Mapped[int | None] = mapped_column(
        sa.Integer, sa.ForeignKey('instance_actions.id',
                                  name='fk_flow_runs_action_id'))
    recovering: Mapped[bool | None] = mapped_column(sa.Boolean,
                                                    default=False)


class BlockDeviceMapping(TimestampMixin, SoftDeleteMixin, Base):
    __tablename__ = 'block_device_mappings'
    __table_args__ = _args(
        sa.UniqueConstraint('uuid', name='uniq_block_device_mappings0uuid'),
        sa.Index('block_device_mapping_instance_uuid_idx', 'instance_uuid'),
        sa.Index('block_device_mapping_instance_uuid_volume_id_idx',
                 'instance_uuid', 'volume_id'),
        sa.Index('block_device_mapping_snapshot_id_idx', 'snapshot_id'),
        sa.Index('block_device_mapping_volume_id_idx', 'volume_id'),
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True,
                                    autoincrement=True)
    uuid: Mapped[str | None] = mapped_column(sa.String(36))
    instance_uuid: Mapped[str | None] = mapped_column(
        sa.String(36),
        sa.ForeignKey('instances.uuid',
                      name='fk_block_device_mappings_instance_uuid'))
    source_type: Mapped[str | None] = mapped_column(sa.String(255))
    destination_type: Mapped[str | None] = mapped_column(sa.String(255))
    guest_format: Mapped[str | None] = mapped_column(sa.String(255))
    device_type: Mapped[str | None] = mapped_column(sa.String(255))
    disk_bus: Mapped[str | None] = mapped_column(sa.String(255))
    boot_index: Mapped[int | None] = mapped_column(sa.Integer)
    device_name: Mapped[str | None] = mapped_column(sa.String(255))
    delete_on_termination: Mapped[bool | None] = mapped_column(
        sa.Boolean, default=False)
    snapshot_id: Mapped[str | None] = mapped_column(sa.String(36))
    volume_id: Mapped[str | None] = mapped_column(sa.String(36))
    volume_size: Mapped[int | None] = mapped_column(sa.Integer)
    image_id: Mapped[str | None] = mapped_column(sa.String(36))
    no_device: Mapped[bool | None] = mapped_column(sa.Boolean)
    #: May hold credentials (CHAP secrets): never logged.
    connection_info: Mapped[dict[str, Any] | None] = mapped_column(
        types.JSONEncoded)
    attachment_id: Mapped[str | None] = mapped_column(sa.String(36))
    tag: Mapped[str | None] = mapped_column(sa.String(255))
    volume_type: Mapped[str | None] = mapped_column(sa.String(255))


# -- hosts and capacity -------------------------------------------------------


class Service(TimestampMixin, SoftDeleteMixin, Base):
    __tablename__ = 'services'
    __table_args__ = _args(
        sa.UniqueConstraint('host', 'topic', 'deleted',
                            name='uniq_services0host0topic0deleted'),
        sa.UniqueConstraint('host', 'binary', 'deleted',
                            name='uniq_services0host0binary0deleted'),
        sa.UniqueConstraint('uuid', name='uniq_services0uuid'),
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True,
                                    autoincrement=True)
    uuid: Mapped[str | None] = mapped_column(sa.String(36))
    host: Mapped[str | None] = mapped_column(sa.String(255))
    binary: Mapped[str | None] = mapped_column(sa.String(255))
    topic: Mapped[str | None] = mapped_column(sa.String(255))
    report_count: Mapped[int] = mapped_column(sa.Integer, nullable=False,
                                              default=0)
    disabled: Mapped[bool | None] = mapped_column(sa.Boolean, default=False)
    disabled_reason: Mapped[str | None] = mapped_column(sa.String(255))
    last_seen_up: Mapped[datetime.datetime | None] = mapped_column(
        types.DateTime())
    forced_down: Mapped[bool | None] = mapped_column(sa.Boolean,
                                                     default=False)
    version: Mapped[int | None] = mapped_column(sa.Integer, default=0)


class ComputeNode(TimestampMixin, SoftDeleteMixin, Base):
    """A hypervisor node: its capacity and the usage claimed against it."""

    __tablename__ = 'compute_nodes'
    __table_args__ = _args(
        sa.UniqueConstraint(
            'host', 'hypervisor_hostname', 'deleted',
            name='uniq_compute_nodes0host0hypervisor_hostname0deleted'),
        sa.UniqueConstraint('uuid', name='compute_nodes_uuid_idx'),
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True,
                                    autoincrement=True)
    uuid: Mapped[str | None] = mapped_column(sa.String(36))
    host: Mapped[str | None] = mapped_column(sa.String(255))
    hypervisor_hostname: Mapped[str | None] = mapped_column(sa.String(255))
    hypervisor_type: Mapped[str | None] = mapped_column(sa.String(255))
    hypervisor_version: Mapped[int | None] = mapped_column(sa.Integer)
    availability_zone: Mapped[str | None] = mapped_column(sa.String(255))
    vcpus: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    memory_mb: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    local_gb: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    vcpus_used: Mapped[int] = mapped_column(sa.Integer, nullable=False,
                                            default=0)
    memory_mb_used: Mapped[int] = mapped_column(sa.Integer, nullable=False,
                                                default=0)
    local_gb_used: Mapped[int] = mapped_column(sa.Integer, nullable=False,
                                               default=0)
    running_vms: Mapped[int] = mapped_column(sa.Integer, nullable=False,
                                             default=0)
    cpu_allocation_ratio: Mapped[float] = mapped_column(
        sa.Double, nullable=False, default=16.0)
    ram_allocation_ratio: Mapped[float] = mapped_column(
        sa.Double, nullable=False, default=1.5)
    disk_allocation_ratio: Mapped[float] = mapped_column(
        sa.Double, nullable=False, default=1.0)


class Allocation(TimestampMixin, Base):
    """What one instance holds on one compute node (a claim)."""

    __tablename__ = 'allocations'
    __table_args__ = _args(
        sa.UniqueConstraint('instance_uuid',
                            name='uniq_allocations0instance_uuid'),
        sa.Index('allocations_compute_node_id_idx', 'compute_node_id'),
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True,
                                    autoincrement=True)
    instance_uuid: Mapped[str] = mapped_column(sa.String(36),
                                               nullable=False)
    compute_node_id: Mapped[int] = mapped_column(
        sa.Integer, sa.ForeignKey('compute_nodes.id',
                                  name='fk_allocations_compute_node_id'),
        nullable=False)
    vcpus: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    memory_mb: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    disk_gb: Mapped[int] = mapped_column(sa.Integer, nullable=False)


class Migration(TimestampMixin, SoftDeleteMixin, Base):
    """One move of an instance between hosts (or on one host): a resize,
    a cold or live migration or an evacuation, as upstream's table.

    ``uuid`` is also the consumer that holds the source host's allocation
    while the move is under way (see ``db.allocation_move_claim``).
    The flavors are stored whole, as the instance's ``flavor``.
    """

    __tablename__ = 'migrations'
    __table_args__ = _args(
        sa.UniqueConstraint('uuid', name='uniq_migrations0uuid'),
        sa.Index('migrations_instance_uuid_and_status_idx', 'deleted',
                 'instance_uuid', 'status'),
        # Upstream's single host/node index is too long a key for
        # MariaDB with utf8mb4; one per side serves the same queries.
        sa.Index('migrations_source_compute_status_idx', 'deleted',
                 'source_compute', 'status'),
        sa.Index('migrations_dest_compute_status_idx', 'deleted',
                 'dest_compute', 'status'),
        sa.Index('migrations_updated_at_idx', 'updated_at'),
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True,
                                    autoincrement=True)
    uuid: Mapped[str] = mapped_column(sa.String(36), nullable=False)
    instance_uuid: Mapped[str] = mapped_column(sa.String(36),
                                               nullable=False)
    source_compute: Mapped[str | None] = mapped_column(sa.String(255))
    dest_compute: Mapped[str | None] = mapped_column(sa.String(255))
    source_node: Mapped[str | None] = mapped_column(sa.String(255))
    dest_node: Mapped[str | None] = mapped_column(sa.String(255))
    dest_host: Mapped[str | None] = mapped_column(sa.String(255))
    old_instance_type_id: Mapped[int | None] = mapped_column(sa.Integer)
    new_instance_type_id: Mapped[int | None] = mapped_column(sa.Integer)
    old_flavor: Mapped[dict[str, Any] | None] = mapped_column(
        types.JSONEncoded)
    new_flavor: Mapped[dict[str, Any] | None] = mapped_column(
        types.JSONEncoded)
    status: Mapped[str | None] = mapped_column(sa.String(255))
    #: 'migration', 'resize', 'live-migration' or 'evacuation'.
    migration_type: Mapped[str | None] = mapped_column(sa.String(20))
    hidden: Mapped[bool | None] = mapped_column(sa.Boolean, default=False)
    progress: Mapped[int | None] = mapped_column(sa.Integer)
    memory_total: Mapped[int | None] = mapped_column(sa.BigInteger)
    memory_processed: Mapped[int | None] = mapped_column(sa.BigInteger)
    memory_remaining: Mapped[int | None] = mapped_column(sa.BigInteger)
    disk_total: Mapped[int | None] = mapped_column(sa.BigInteger)
    disk_processed: Mapped[int | None] = mapped_column(sa.BigInteger)
    disk_remaining: Mapped[int | None] = mapped_column(sa.BigInteger)
    user_id: Mapped[str | None] = mapped_column(sa.String(255))
    project_id: Mapped[str | None] = mapped_column(sa.String(255))


# -- flavors, key pairs -------------------------------------------------------


class Flavor(TimestampMixin, Base):
    __tablename__ = 'flavors'
    __table_args__ = _args(
        sa.UniqueConstraint('flavorid', name='uniq_flavors0flavorid'),
        sa.UniqueConstraint('name', name='uniq_flavors0name'),
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True,
                                    autoincrement=True)
    flavorid: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    name: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    memory_mb: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    vcpus: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    root_gb: Mapped[int | None] = mapped_column(sa.Integer, default=0)
    ephemeral_gb: Mapped[int | None] = mapped_column(sa.Integer, default=0)
    swap: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    rxtx_factor: Mapped[float | None] = mapped_column(sa.Float, default=1.0)
    is_public: Mapped[bool | None] = mapped_column(sa.Boolean, default=True)
    disabled: Mapped[bool | None] = mapped_column(sa.Boolean, default=False)
    description: Mapped[str | None] = mapped_column(sa.Text)
    extra_specs: Mapped[dict[str, str] | None] = mapped_column(
        types.JSONEncoded, default=dict)


class FlavorProject(TimestampMixin, Base):
    """A project allowed to use a private flavor."""

    __tablename__ = 'flavor_projects'
    __table_args__ = _args(
        sa.UniqueConstraint('flavor_id', 'project_id',
                            name='uniq_flavor_projects0flavor_id0project_id'),
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True,
                                    autoincrement=True)
    flavor_id: Mapped[int] = mapped_column(
        sa.Integer, sa.ForeignKey('flavors.id',
                                  name='fk_flavor_projects_flavor_id',
                                  ondelete='CASCADE'),
        nullable=False)
    project_id: Mapped[str] = mapped_column(sa.String(255), nullable=False)


class KeyPair(TimestampMixin, SoftDeleteMixin, Base):
    __tablename__ = 'key_pairs'
    __table_args__ = _args(
        sa.UniqueConstraint('user_id', 'name', 'deleted',
                            name='uniq_key_pairs0user_id0name0deleted'),
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True,
                                    autoincrement=True)
    name: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    user_id: Mapped[str | None] = mapped_column(sa.String(255))
    fingerprint: Mapped[str | None] = mapped_column(sa.String(255))
    public_key: Mapped[str | None] = mapped_column(sa.Text)
    #: 'ssh' or 'x509'
    type: Mapped[str] = mapped_column(sa.String(16), nullable=False,
                                      default='ssh')


# -- quotas -------------------------------------------------------------------


class Quota(TimestampMixin, Base):
    """A project's limit of one resource (over the ``[quota]`` default).
    """

    __tablename__ = 'quotas'
    __table_args__ = _args(
        sa.UniqueConstraint('project_id', 'resource',
                            name='uniq_quotas0project_id0resource'),
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True,
                                    autoincrement=True)
    project_id: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    resource: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    hard_limit: Mapped[int | None] = mapped_column(sa.Integer)


class ProjectUserQuota(TimestampMixin, Base):
    """A user's limit of one resource within a project."""

    __tablename__ = 'project_user_quotas'
    __table_args__ = _args(
        sa.UniqueConstraint(
            'user_id', 'project_id', 'resource',
            name='uniq_project_user_quotas0user_id0project_id0resource'),
        sa.Index('project_user_quotas_project_id_idx', 'project_id'),
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True,
                                    autoincrement=True)
    project_id: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    user_id: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    resource: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    hard_limit: Mapped[int | None] = mapped_column(sa.Integer)


# -- local network, volume and image services ---------------------------------


class FixedIP(TimestampMixin, Base):
    """A port of the flat network: one address, one MAC, one instance."""

    __tablename__ = 'fixed_ips'
    __table_args__ = _args(
        sa.UniqueConstraint('network', 'address',
                            name='uniq_fixed_ips0network0address'),
        sa.UniqueConstraint('port_id', name='uniq_fixed_ips0port_id'),
        sa.Index('fixed_ips_instance_uuid_idx', 'instance_uuid'),
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True,
                                    autoincrement=True)
    network: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    address: Mapped[str] = mapped_column(sa.String(39), nullable=False)
    instance_uuid: Mapped[str | None] = mapped_column(sa.String(36))
    mac: Mapped[str | None] = mapped_column(sa.String(17))
    port_id: Mapped[str] = mapped_column(sa.String(36), nullable=False)
    #: The Networking API's fields of the port (migration 0005).
    name: Mapped[str | None] = mapped_column(sa.String(255))
    project_id: Mapped[str | None] = mapped_column(sa.String(255))
    host: Mapped[str | None] = mapped_column(sa.String(255))
    #: True for a port the user created: a server's delete unbinds it.
    preserve_on_delete: Mapped[bool] = mapped_column(
        sa.Boolean, nullable=False, default=False,
        server_default=sa.false())


class Volume(TimestampMixin, Base):
    __tablename__ = 'volumes'
    __table_args__ = _args(
        sa.Index('volumes_instance_uuid_idx', 'instance_uuid'),
        sa.Index('volumes_project_id_idx', 'project_id'),
    )

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    display_name: Mapped[str | None] = mapped_column(sa.String(255))
    size: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    #: creating | available | reserved | attaching | in-use | detaching |
    #: deleting | error
    status: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    #: detached | attached
    attach_status: Mapped[str] = mapped_column(sa.String(255),
                                               nullable=False,
                                               default='detached')
    instance_uuid: Mapped[str | None] = mapped_column(sa.String(36))
    mountpoint: Mapped[str | None] = mapped_column(sa.String(255))
    path: Mapped[str | None] = mapped_column(sa.String(1024))
    project_id: Mapped[str | None] = mapped_column(sa.String(255))
    user_id: Mapped[str | None] = mapped_column(sa.String(255))


class Image(TimestampMixin, Base):
    """A local image (glance v2 field names)."""

    __tablename__ = 'images'
    __table_args__ = _args(
        sa.Index('images_deleted_visibility_idx', 'deleted', 'visibility'),
        sa.Index('images_owner_idx', 'owner'),
    )

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    name: Mapped[str | None] = mapped_column(sa.String(255))
    #: queued | saving | active | killed | deleted
    status: Mapped[str] = mapped_column(sa.String(30), nullable=False)
    disk_format: Mapped[str | None] = mapped_column(sa.String(20))
    container_format: Mapped[str | None] = mapped_column(sa.String(20))
    size: Mapped[int | None] = mapped_column(sa.BigInteger)
    min_disk: Mapped[int] = mapped_column(sa.Integer, nullable=False,
                                          default=0)
    min_ram: Mapped[int] = mapped_column(sa.Integer, nullable=False,
                                         default=0)
    #: MD5 of the data, as glance's ``checksum``.
    checksum: Mapped[str | None] = mapped_column(sa.String(32))
    os_hash_algo: Mapped[str | None] = mapped_column(sa.String(64))
    os_hash_value: Mapped[str | None] = mapped_column(sa.String(128))
    path: Mapped[str | None] = mapped_column(sa.String(1024))
    properties: Mapped[dict[str, Any] | None] = mapped_column(
        types.JSONEncoded, default=dict)
    owner: Mapped[str | None] = mapped_column(sa.String(255))
    #: public | private | shared | community
    visibility: Mapped[str] = mapped_column(sa.String(20), nullable=False,
                                            default='shared')
    protected: Mapped[bool] = mapped_column(sa.Boolean, nullable=False,
                                            default=False)
    deleted_at: Mapped[datetime.datetime | None] = mapped_column(
        types.DateTime())
    #: Glance's boolean soft delete (the key is a UUID, not an integer).
    deleted: Mapped[bool] = mapped_column(sa.Boolean, nullable=False,
                                          default=False)


# -- server groups and host aggregates ----------------------------------------


class InstanceGroup(TimestampMixin, SoftDeleteMixin, Base):
    """A server group: one policy (2.64's ``policy``) and its ``rules``
    (``max_server_per_host`` for anti-affinity)."""

    __tablename__ = 'instance_groups'
    __table_args__ = _args(
        sa.UniqueConstraint('uuid', 'deleted',
                            name='uniq_instance_groups0uuid0deleted'),
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True,
                                    autoincrement=True)
    uuid: Mapped[str] = mapped_column(sa.String(36), nullable=False)
    name: Mapped[str | None] = mapped_column(sa.String(255))
    user_id: Mapped[str | None] = mapped_column(sa.String(255))
    project_id: Mapped[str | None] = mapped_column(sa.String(255))
    #: affinity, anti-affinity, soft-affinity or soft-anti-affinity.
    policy: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    rules: Mapped[dict[str, Any] | None] = mapped_column(
        types.JSONEncoded, default=dict)


class InstanceGroupMember(TimestampMixin, Base):
    """An instance of a server group (until it is deleted)."""

    __tablename__ = 'instance_group_member'
    __table_args__ = _args(
        sa.UniqueConstraint('instance_uuid',
                            name='uniq_instance_group_member0instance_uuid'),
        sa.Index('instance_group_member_group_idx', 'group_id'),
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True,
                                    autoincrement=True)
    group_id: Mapped[int] = mapped_column(
        sa.Integer, sa.ForeignKey('instance_groups.id',
                                  name='fk_instance_group_member_group_id',
                                  ondelete='CASCADE'),
        nullable=False)
    instance_uuid: Mapped[str] = mapped_column(sa.String(36),
                                               nullable=False)


class Aggregate(TimestampMixin, SoftDeleteMixin, Base):
    """A host aggregate; its ``availability_zone`` metadata makes it a
    zone."""

    __tablename__ = 'aggregates'
    __table_args__ = _args(
        sa.UniqueConstraint('name', 'deleted',
                            name='uniq_aggregates0name0deleted'),
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True,
                                    autoincrement=True)
    uuid: Mapped[str] = mapped_column(sa.String(36), nullable=False)
    name: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    metadata_: Mapped[dict[str, str] | None] = mapped_column(
        'metadata', types.JSONEncoded, default=dict)


class AggregateHost(TimestampMixin, Base):
    __tablename__ = 'aggregate_hosts'
    __table_args__ = _args(
        sa.UniqueConstraint('host', 'aggregate_id',
                            name='uniq_aggregate_hosts0host0aggregate_id'),
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True,
                                    autoincrement=True)
    aggregate_id: Mapped[int] = mapped_column(
        sa.Integer, sa.ForeignKey('aggregates.id',
                                  name='fk_aggregate_hosts_aggregate_id',
                                  ondelete='CASCADE'),
        nullable=False)
    host: Mapped[str] = mapped_column(sa.String(255), nullable=False)


# -- remote consoles ----------------------------------------------------------


class ConsoleAuthToken(TimestampMixin, Base):
    """A token that opens an instance's remote console through a proxy.

    Only the token's SHA-256 hash is stored; the token itself is in the
    console URL the user got.  ``host``/``port`` is the console server
    (a guest's VNC server on its compute host) the proxy connects to;
    ``expires`` is a Unix time.
    """

    __tablename__ = 'console_auth_tokens'
    __table_args__ = _args(
        sa.UniqueConstraint('token_hash',
                            name='uniq_console_auth_tokens0token_hash'),
        sa.Index('console_auth_tokens_instance_uuid_idx', 'instance_uuid'),
        sa.Index('console_auth_tokens_host_expires_idx', 'host', 'expires'),
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True,
                                    autoincrement=True)
    token_hash: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    #: novnc ...
    console_type: Mapped[str] = mapped_column(sa.String(255),
                                              nullable=False)
    host: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    port: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    internal_access_path: Mapped[str | None] = mapped_column(
        sa.String(255))
    instance_uuid: Mapped[str] = mapped_column(sa.String(36),
                                               nullable=False)
    expires: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    access_url_base: Mapped[str | None] = mapped_column(sa.String(255))
# -- networks and subnets (nova.network's local service) ----------------------


class Network(TimestampMixin, Base):
    """A network a user created (``POST /v2.0/networks``); the flat
    network is configuration and has no row."""

    __tablename__ = 'networks'
    __table_args__ = _args(
        sa.Index('networks_project_id_idx', 'project_id'),
    )

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(255), nullable=False,
                                      default='')
    project_id: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    shared: Mapped[bool] = mapped_column(
        sa.Boolean, nullable=False, default=False,
        server_default=sa.false())
    admin_state_up: Mapped[bool] = mapped_column(
        sa.Boolean, nullable=False, default=True, server_default=sa.true())


class Subnet(TimestampMixin, Base):
    """A subnet of a user's network; its allocation pool is its CIDR's
    host addresses but the gateway's."""

    __tablename__ = 'subnets'
    __table_args__ = _args(
        sa.Index('subnets_network_id_idx', 'network_id'),
    )

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    network_id: Mapped[str] = mapped_column(
        sa.String(36), sa.ForeignKey('networks.id',
                                     name='fk_subnets_network_id'),
        nullable=False)
    name: Mapped[str] = mapped_column(sa.String(255), nullable=False,
                                      default='')
    project_id: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    cidr: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    ip_version: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    gateway_ip: Mapped[str | None] = mapped_column(sa.String(64))
    enable_dhcp: Mapped[bool] = mapped_column(
        sa.Boolean, nullable=False, default=True, server_default=sa.true())


# -- security groups (nova.network's local service) ---------------------------


class SecurityGroup(TimestampMixin, Base):
    """A Neutron security group of the local network service."""

    __tablename__ = 'security_groups'
    __table_args__ = _args(
        sa.UniqueConstraint('default_for',
                            name='uniq_security_groups0default_for'),
        sa.Index('security_groups_project_id_idx', 'project_id'),
    )

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(255), nullable=False,
                                      default='')
    description: Mapped[str | None] = mapped_column(sa.String(255))
    project_id: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    #: The project whose ``default`` group this is (NULL for the others):
    #: the unique key keeps two first uses from making two defaults.
    default_for: Mapped[str | None] = mapped_column(sa.String(255))


class SecurityGroupRule(TimestampMixin, Base):
    """A rule of a security group (Neutron's fields)."""

    __tablename__ = 'security_group_rules'
    __table_args__ = _args(
        sa.Index('security_group_rules_group_idx', 'security_group_id'),
    )

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    security_group_id: Mapped[str] = mapped_column(
        sa.String(36), sa.ForeignKey(
            'security_groups.id',
            name='fk_security_group_rules_security_group_id',
            ondelete='CASCADE'),
        nullable=False)
    project_id: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    #: ingress | egress
    direction: Mapped[str] = mapped_column(sa.String(16), nullable=False)
    #: IPv4 | IPv6
    ethertype: Mapped[str] = mapped_column(sa.String(40), nullable=False)
    protocol: Mapped[str | None] = mapped_column(sa.String(40))
    port_range_min: Mapped[int | None] = mapped_column(sa.Integer)
    port_range_max: Mapped[int | None] = mapped_column(sa.Integer)
    remote_ip_prefix: Mapped[str | None] = mapped_column(sa.String(255))
    remote_group_id: Mapped[str | None] = mapped_column(
        sa.String(36), sa.ForeignKey(
            'security_groups.id',
            name='fk_security_group_rules_remote_group_id',
            ondelete='CASCADE'))
    description: Mapped[str | None] = mapped_column(sa.String(255))


class SecurityGroupPortBinding(Base):
    """A port's security group.  Deleting the port deletes its
    bindings; a group with ports cannot be deleted (the foreign key)."""

    __tablename__ = 'security_group_port_bindings'
    __table_args__ = _args(
        sa.Index('security_group_port_bindings_group_idx',
                 'security_group_id'),
    )

    port_id: Mapped[str] = mapped_column(
        sa.String(36), sa.ForeignKey(
            'fixed_ips.port_id',
            name='fk_security_group_port_bindings_port_id',
            ondelete='CASCADE'),
        primary_key=True)
    security_group_id: Mapped[str] = mapped_column(
        sa.String(36), sa.ForeignKey(
            'security_groups.id',
            name='fk_security_group_port_bindings_security_group_id'),
        primary_key=True)
