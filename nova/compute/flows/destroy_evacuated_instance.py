"""compute.destroy_evacuated_instance: the source's cleanup after an
evacuation (upstream's ``_destroy_evacuated_instances``).

nova-compute runs it at start (``ComputeManager.init_host``), before it
recovers its own runs, once for each evacuation away from this host
(migration_type 'evacuation', source_compute this host, status
'accepted', 'pre-migrating' or 'done') whose instance is now on another
host or deleted: the guest this host still has is destroyed, what the
migration held of this host's resources (the source's share, passed to
it by the destination's claim) is given back, and the migration is
'completed'.  Its disks are destroyed with it unless the instance's
host sees them too (storage the hosts share: the guest there runs on
them; upstream's ``_is_instance_storage_shared``): this host's driver
leaves a mark where the instance's files are, the instance's host is
asked whether it sees it (``check_instance_shared_storage``), and the
mark is removed.  A driver that cannot tell means the storage is not
shared; a host that does not answer (down, or an error) means it may
be: the disks are kept, and that is logged.  An instance still on this
host (its evacuation failed or has not finished: the destination moves
the record only at its end) is left alone.  The runs a crash of this
host left for an evacuated instance are closed, not recovered: the
instance is another host's now.

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

import dataclasses
from typing import Any

from oslo_log import log as logging

from nova import exception
from nova.compute.flows import base, moves
from nova.flow import RESUME, Flow, stage

LOG = logging.getLogger(__name__)

#: The statuses of an evacuation whose source has not cleaned up.
CLEANUP_STATUSES = ('accepted', 'pre-migrating', 'done')


@dataclasses.dataclass
class DestroyEvacuatedState(moves.MoveState):
    """Contract 1.1 of compute.destroy_evacuated_instance."""

    #: Where the question of check_instance_shared_storage goes
    #: (nova.compute.rpcapi.ComputeAPI).
    compute_rpcapi: Any = dataclasses.field(default=None, repr=False)
    #: Whether the instance's host sees the disks this host has of it
    #: (check_instance_shared_storage); None until asked.  destroy_guest
    #: destroys the disks only when this is False.
    shared_storage: bool | None = None


def load_state(ctx: Any, run: Any, compute: base.ComputeServices
               ) -> DestroyEvacuatedState:
    """The instance (deleted or not) and its newest evacuation away from
    this host."""
    from nova.compute import rpcapi
    migrations = compute.db.migration_get_all_by_filters(
        ctx, {'instance_uuid': run.subject, 'migration_type': 'evacuation',
              'source_compute': compute.host}, limit=1)
    if not migrations:
        raise exception.InstanceNotFound(instance_id=run.subject)
    return DestroyEvacuatedState(
        compute=compute,
        instance=instance_or_deleted(compute, ctx, run.subject),
        migration=migrations[0], compute_rpcapi=rpcapi.ComputeAPI())


def instance_or_deleted(compute: base.ComputeServices, ctx: Any,
                        uuid: str) -> dict[str, Any]:
    """The instance, also when it was deleted since it was evacuated."""
    reader = ctx.elevated()
    reader.read_deleted = 'yes'
    return compute.db.instance_get_by_uuid(reader, uuid)


FLOW = Flow('compute.destroy_evacuated_instance', '1.1',
            DestroyEvacuatedState,
            changes={'1.1': 'Stage check_instance_shared_storage and state '
                            'fields compute_rpcapi and shared_storage '
                            "added: destroy_guest keeps the guest's disks "
                            "when the instance's host sees them too "
                            '(shared storage) or could not be asked.'},
            on_interrupt=RESUME, subject=moves.subject,
            load_state=load_state,
            doc='Destroy the guest an evacuation left on its returning '
                'source; free what it held here.')
FLOW.stages(
    stage('load_network_info', base.load_network_info),
    'load_block_device_info',
    'check_instance_shared_storage',
    'destroy_guest',
    'release_source_claim',
    stage('update_migration_completed', moves.migration_status(
        'completed', "The migration is 'completed'.",
        also_from=('done',))),
)


@FLOW.stage(idempotent=True)
def load_block_device_info(ctx: Any, state: DestroyEvacuatedState) -> None:
    """Read the instance's volumes, which the driver disconnects here."""
    state.block_device_info = moves.block_device_info(ctx, state)


@FLOW.stage(idempotent=True)
def check_instance_shared_storage(ctx: Any,
                                  state: DestroyEvacuatedState) -> None:
    """Does the instance's host see the disks this host has of it?"""
    driver = state.compute.driver
    host = _instance_host(state)
    data = None
    shared = True
    try:
        data = driver.check_instance_shared_storage_local(ctx,
                                                          state.instance)
        if data:
            shared = bool(state.compute_rpcapi.check_instance_shared_storage(
                ctx, data, state.instance, host))
    except NotImplementedError:
        LOG.debug('The hypervisor driver cannot check whether %s is on '
                  'shared storage; taking it as not shared',
                  state.instance['uuid'])
        shared = False
    except Exception:
        LOG.exception('Failed to check if instance %s shared its storage '
                      'with %s; keeping its disks here',
                      state.instance['uuid'], host)
    finally:
        if data:
            driver.check_instance_shared_storage_cleanup(ctx, data)
    state.shared_storage = shared


def _instance_host(state: DestroyEvacuatedState) -> str:
    """The host the instance is on, else (deleted, or its record still
    names this host) the evacuation's destination."""
    host = state.instance.get('host')
    if host and host != state.compute.host:
        return str(host)
    return str(state.migration['dest_compute'])


@FLOW.stage(idempotent=True)
def destroy_guest(ctx: Any, state: DestroyEvacuatedState) -> None:
    """Destroy the guest, if the hypervisor still has it, and its disks
    unless the instance's host may use them (the volumes are only
    disconnected from this host)."""
    driver = state.compute.driver
    if not driver.instance_exists(state.instance):
        return
    driver.destroy(ctx, state.instance, state.network_info,
                   block_device_info=state.block_device_info,
                   destroy_disks=state.shared_storage is False)


@FLOW.stage(idempotent=True)
def release_source_claim(ctx: Any,
                         state: DestroyEvacuatedState) -> None:
    """Give back what the migration held on this host."""
    state.compute.resource_tracker.release(ctx, state.migration['uuid'])
