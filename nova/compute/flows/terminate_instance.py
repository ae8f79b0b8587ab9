"""compute.terminate_instance: delete an instance and everything it holds.

Every stage is idempotent (destroying a guest that is gone, deallocating a
network that was deallocated, releasing a claim already released are
no-ops), which is what makes the interrupted-run policy ``resume`` safe: a
nova-compute that died mid-delete finishes the delete when it restarts.

Failure: deleting cannot be undone, so no stage reverts.  The instance goes
to ERROR with task_state cleared and a fault naming the stage; the user can
simply delete it again, which runs the remaining stages.  A failure after
``mark_deleted`` (the closing notification) leaves the instance deleted:
the delete itself is done.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from oslo_log import log as logging

from nova.compute import vm_states
from nova.compute.flows import base
from nova.flow import RESUME, Flow, contract

LOG = logging.getLogger(__name__)


@dataclasses.dataclass
class TerminateState:
    """Contract 1.0 of compute.terminate_instance."""

    #: The compute services the stages call (DB, driver, network, volume, image
    #: APIs).
    compute: base.ComputeServices = dataclasses.field(
        metadata=contract.READ_ONLY)
    #: The instance (its database row as a dict); stages keep it current after
    #: each update.
    instance: dict[str, Any] = dataclasses.field(metadata=contract.READ_ONLY)
    #: The block device mappings of the instance (volumes to detach, delete or
    #: keep).
    block_device_mapping: list[dict[str, Any]] = dataclasses.field(
        default_factory=list)
    #: The instance's network info, read before the ports are deallocated.
    network_info: list[dict[str, Any]] = dataclasses.field(
        default_factory=list)


def _subject(state: TerminateState) -> str:
    return state.instance['uuid']


def _load_state(ctx: Any, run: Any,
                compute: base.ComputeServices) -> TerminateState:
    """The instance (deleted or not) and what it still holds."""
    ctx.read_deleted = 'yes'
    instance = compute.db.instance_get_by_uuid(ctx, run.subject)
    ctx.read_deleted = 'no'
    return TerminateState(
        compute=compute, instance=instance,
        block_device_mapping=compute.db.block_device_mapping_get_all_by_instance(
            ctx, instance['uuid']),
        network_info=compute.network.get_instance_nw_info(
            ctx, instance['uuid']))


FLOW = Flow('compute.terminate_instance', '1.0', TerminateState,
            on_interrupt=RESUME, subject=_subject, load_state=_load_state,
            doc='Delete an instance: guest, volumes, network, resources.')
FLOW.stages(
    'notify_usage_start',
    'shutdown_instance',
    'detach_volumes',
    'deallocate_network',
    'driver_destroy',
    'free_resources',
    'mark_deleted',
    'notify_usage_end',
)
FLOW.on_failure(base.record_fault, base.set_error)


@FLOW.stage(optional=True, idempotent=True)
def notify_usage_start(ctx: Any, state: TerminateState) -> None:
    """compute.instance.delete.start notification."""
    base.notify(ctx, state, 'delete.start')


@FLOW.stage(idempotent=True)
def shutdown_instance(ctx: Any, state: TerminateState) -> None:
    """Power the guest off (at once: it is being deleted)."""
    driver = state.compute.driver
    if driver.instance_exists(state.instance):
        driver.power_off(state.instance, 0, 0)


@FLOW.stage(idempotent=True)
def detach_volumes(ctx: Any, state: TerminateState) -> None:
    """Detach every volume; delete those marked delete_on_termination."""
    for bdm in state.block_device_mapping:
        volume_id = bdm.get('volume_id')
        if bdm.get('destination_type') != 'volume' or not volume_id:
            continue
        state.compute.volume.detach(ctx, volume_id, state.instance['uuid'])
        if bdm.get('delete_on_termination'):
            state.compute.volume.delete(ctx, volume_id)


@FLOW.stage(idempotent=True)
def deallocate_network(ctx: Any, state: TerminateState) -> None:
    """Release the instance's fixed IPs and ports."""
    state.compute.network.deallocate_for_instance(ctx, state.instance['uuid'])


@FLOW.stage(idempotent=True)
def driver_destroy(ctx: Any, state: TerminateState) -> None:
    """Remove the guest and its disks from the hypervisor."""
    state.compute.driver.destroy(ctx, state.instance, state.network_info,
                                 block_device_info=None, destroy_disks=True)


@FLOW.stage(idempotent=True)
def free_resources(ctx: Any, state: TerminateState) -> None:
    """Give the claimed vCPUs, RAM and disk back to the node - and what
    an unfinished move of the instance still holds on its other host
    (the migration's share of a resize never confirmed)."""
    uuid = state.instance['uuid']
    state.compute.resource_tracker.release(ctx, uuid)
    for migration in state.compute.db.migration_get_in_progress_by_instance(
            ctx, uuid):
        state.compute.resource_tracker.release(ctx, migration['uuid'])


@FLOW.stage(idempotent=True)
def mark_deleted(ctx: Any, state: TerminateState) -> None:
    """DELETED in the database (soft delete, as upstream)."""
    state.compute.db.instance_destroy(ctx, state.instance['uuid'])
    state.instance.update(vm_state=vm_states.DELETED, task_state=None)


@FLOW.stage(optional=True, idempotent=True)
def notify_usage_end(ctx: Any, state: TerminateState) -> None:
    """compute.instance.delete.end notification."""
    base.notify(ctx, state, 'delete.end')
