"""compute.destroy_evacuated_instance: the source's cleanup after an
evacuation (upstream's ``_destroy_evacuated_instances``).

nova-compute runs it at start (``ComputeManager.init_host``), before it
recovers its own runs, once for each evacuation away from this host
(migration_type 'evacuation', source_compute this host, status
'accepted', 'pre-migrating' or 'done') whose instance is now on another
host or deleted: the guest this host still has is destroyed (with its
local disks), what the migration held of this host's resources (the
source's share, passed to it by the destination's claim) is given back,
and the migration is 'completed'.  An instance still on this host (its
evacuation failed or has not finished: the destination moves the record
only at its end) is left alone.  The runs a crash of this host left for
an evacuated instance are closed, not recovered: the instance is
another host's now.

Failure: nothing is reverted (a destroyed guest cannot come back, and
each stage may run again); the run ends in error, the migration stays as
it was, and the next start of nova-compute runs the cleanup again.

Interrupted: at the next start the evacuation is found again (its
migration is not 'completed' yet): the cut run is closed and the
cleanup runs again; a run cut after the migration became 'completed'
is resumed at restart by recovery.  Every stage is idempotent:
destroying a guest that is gone, releasing an allocation already
released and writing 'completed' again change nothing.
"""

from __future__ import annotations

from typing import Any

from nova import exception
from nova.compute.flows import base, moves
from nova.flow import RESUME, Flow, stage

#: The statuses of an evacuation whose source has not cleaned up.
CLEANUP_STATUSES = ('accepted', 'pre-migrating', 'done')


def load_state(ctx: Any, run: Any,
               compute: base.ComputeServices) -> moves.MoveState:
    """The instance (deleted or not) and its newest evacuation away from
    this host."""
    migrations = compute.db.migration_get_all_by_filters(
        ctx, {'instance_uuid': run.subject, 'migration_type': 'evacuation',
              'source_compute': compute.host}, limit=1)
    if not migrations:
        raise exception.InstanceNotFound(instance_id=run.subject)
    return moves.MoveState(compute=compute,
                           instance=instance_or_deleted(compute, ctx,
                                                        run.subject),
                           migration=migrations[0])


def instance_or_deleted(compute: base.ComputeServices, ctx: Any,
                        uuid: str) -> dict[str, Any]:
    """The instance, also when it was deleted since it was evacuated."""
    reader = ctx.elevated()
    reader.read_deleted = 'yes'
    return compute.db.instance_get_by_uuid(reader, uuid)


FLOW = Flow('compute.destroy_evacuated_instance', '1.0', moves.MoveState,
            on_interrupt=RESUME, subject=moves.subject,
            load_state=load_state,
            doc='Destroy the guest an evacuation left on its returning '
                'source; free what it held here.')
FLOW.stages(
    stage('load_network_info', base.load_network_info),
    'load_block_device_info',
    'destroy_guest',
    'release_source_claim',
    stage('update_migration_completed', moves.migration_status(
        'completed', "The migration is 'completed'.",
        also_from=('done',))),
)


@FLOW.stage(idempotent=True)
def load_block_device_info(ctx: Any, state: moves.MoveState) -> None:
    """Read the instance's volumes, which the driver disconnects here."""
    state.block_device_info = moves.block_device_info(ctx, state)


@FLOW.stage(idempotent=True)
def destroy_guest(ctx: Any, state: moves.MoveState) -> None:
    """Destroy the guest and its local disks, if the hypervisor still has
    it (the volumes are only disconnected from this host)."""
    driver = state.compute.driver
    if not driver.instance_exists(state.instance):
        return
    driver.destroy(ctx, state.instance, state.network_info,
                   block_device_info=state.block_device_info,
                   destroy_disks=True)


@FLOW.stage(idempotent=True)
def release_source_claim(ctx: Any, state: moves.MoveState) -> None:
    """Give back what the migration held on this host."""
    state.compute.resource_tracker.release(ctx, state.migration['uuid'])
