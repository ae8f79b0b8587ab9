"""What the compute flows of a move share: their state, and the updates
of the migration record and of the instance's flavor.

A move (resize, cold migration) is orchestrated by nova-conductor
(``nova/conductor/flows/resize_instance.py``; a live migration by
``live_migrate_instance.py``): each of its stages is an
RPC call to the source or the destination nova-compute, which runs one
of the flows here for its part - ``compute.prep_resize``,
``compute.resize_instance``, ``compute.finish_resize`` - and the user's
confirm or revert runs ``compute.confirm_resize`` on the source, or
``compute.revert_resize`` on the destination and then
``compute.finish_revert_resize`` on the source.

Every compute-side move flow reverts itself when it fails or is
interrupted (its own stages, on its own host), and raises to the
conductor, which reverts the parts other hosts did.  Each revert works
from the database and the hypervisor, and is idempotent, because the
conductor and a restarted nova-compute may both run it.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from oslo_log import log as logging

from nova import exception
from nova.compute.flows import base
from nova.db import api as db_api
from nova.flow import contract, mark

LOG = logging.getLogger(__name__)

#: The instance columns a flavor sets (copied at create, as upstream).
FLAVOR_SIZES = ('memory_mb', 'vcpus', 'root_gb', 'ephemeral_gb', 'swap')


@dataclasses.dataclass
class MoveState:
    """Contract 1.0 of the compute flows of a move (resize, cold or live
    migration)."""

    #: The compute services the stages call (DB, driver, network, volume, image
    #: APIs).
    compute: base.ComputeServices = dataclasses.field(
        metadata=contract.READ_ONLY)
    #: The instance (its database row as a dict); stages keep it current after
    #: each update.
    instance: dict[str, Any] = dataclasses.field(metadata=contract.READ_ONLY)
    #: The migration record (``nova.db.models.Migration``).
    migration: dict[str, Any]
    #: The flavor the instance moves to (the old one for a revert).
    flavor: dict[str, Any] = dataclasses.field(default_factory=dict)
    #: The instance's network info (VIFs) for the driver calls.
    network_info: list[dict[str, Any]] = dataclasses.field(
        default_factory=list)
    #: The volumes as the driver takes them.
    block_device_info: dict[str, Any] = dataclasses.field(
        default_factory=dict)
    #: What the source's driver returned for the destination's.
    disk_info: str = ''
    #: The image the instance was built from.
    image_meta: dict[str, Any] = dataclasses.field(default_factory=dict)
    #: Live migration: what the drivers' checks and pre_live_migration
    #: said the other host needs (in memory only: a run recovered after
    #: a crash has none, and its stages say what they do without it).
    migrate_data: dict[str, Any] = dataclasses.field(default_factory=dict)
    #: Live migration: whether the disks go with the guest (None until
    #: the drivers' checks decided an 'auto').
    block_migration: bool | None = None


def subject(state: MoveState) -> str:
    return state.instance['uuid']


def load_state(ctx: Any, run: Any, compute: base.ComputeServices
               ) -> MoveState:
    """An interrupted move's state, from the database: the instance and
    its newest migration (the one the run worked on)."""
    instance = compute.db.instance_get_by_uuid(ctx, run.subject)
    migrations = compute.db.migration_get_all_by_filters(
        ctx, {'instance_uuid': run.subject}, limit=1)
    if not migrations:
        raise exception.MigrationNotFoundForInstance(
            migration_id='(newest)', instance_id=run.subject)
    migration = migrations[0]
    return MoveState(compute=compute, instance=instance,
                     migration=migration,
                     flavor=migration.get('new_flavor') or {})


def flavor_values(flavor: dict[str, Any]) -> dict[str, Any]:
    """The instance columns that say it has ``flavor``."""
    values: dict[str, Any] = {key: int(flavor.get(key) or 0)
                              for key in FLAVOR_SIZES}
    values['flavor'] = flavor
    return values


def set_migration(ctx: Any, state: MoveState, status: str, *,
                  unless_final: bool = False,
                  also_from: tuple[str, ...] = (), **values: Any) -> None:
    """Write the migration's status (and ``values``); the in-memory copy
    follows.  With ``unless_final``, a migration already in a final
    status keeps it (a late step of a move the conductor has given up
    on, run when its host came back, does not reopen the move); the
    final statuses in ``also_from`` are the exception (an evacuation's
    'done', which its source's cleanup completes)."""
    values['status'] = status
    expected: Any = db_api.UNSET
    if unless_final:
        expected = [s for s in _ALL_STATUSES
                    if s not in db_api.MIGRATION_FINAL_STATUSES or
                    s in also_from]
    try:
        state.compute.db.migration_update(ctx, state.migration['uuid'],
                                          values, expected_status=expected)
    except exception.UnexpectedMigrationStatusError as error:
        LOG.info('Migration %s stays %s: %s', state.migration['uuid'],
                 error.kwargs.get('actual'), error)
        return
    state.migration.update(values)


# Every status a migration can have (upstream's), for the compare-and-
# swap above: the database matches a list, not a negation.
_ALL_STATUSES = (
    'accepted', 'pre-migrating', 'migrating', 'post-migrating', 'finished',
    'confirming', 'confirmed', 'reverting', 'reverted', 'queued',
    'preparing', 'running', 'completed', 'failed', 'cancelled', 'error',
    'done')


def migration_status(status: str, doc: str,
                     also_from: tuple[str, ...] = ()) -> Any:
    """A transactional stage function setting the migration's status,
    unless it is already final (but for those in ``also_from``)."""
    def update(ctx: Any, state: MoveState) -> None:
        set_migration(ctx, state, status, unless_final=True,
                      also_from=also_from)
    update.__name__ = f'update_migration_{status.replace("-", "_")}'
    update.__doc__ = doc
    return mark(update, transactional=True)


def bind_ports(ctx: Any, state: MoveState, host: str) -> None:
    """Bind the instance's ports to ``host`` (``binding:host_id``):
    where the instance is, its ports are (idempotent)."""
    state.compute.network.setup_networks_on_host(
        ctx, state.instance['uuid'], host)


def block_device_info(ctx: Any, state: MoveState) -> dict[str, Any]:
    """The instance's volumes, as the driver's move calls want them."""
    volumes = []
    for bdm in state.compute.db.block_device_mapping_get_all_by_instance(
            ctx, state.instance['uuid']):
        if bdm.get('destination_type') == 'volume' and bdm.get(
                'connection_info'):
            volumes.append({'volume_id': bdm.get('volume_id'),
                            'mount_device': bdm.get('device_name'),
                            'connection_info': bdm['connection_info']})
    return {'block_device_mapping': volumes}
