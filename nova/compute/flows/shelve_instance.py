"""compute.shelve_instance: power the guest off and keep a snapshot of it
(``shelve``).

The API created the snapshot image record (``<name>-shelved``), noted its
ID in ``system_metadata['shelved_image_id']`` and took the instance
(task_state ``shelving``, from ACTIVE, SHUTOFF, PAUSED or SUSPENDED).  The
flow powers the guest off, uploads its disk into that image (task state
``shelving_image_pending_upload`` then ``shelving_image_uploading``) and
records the instance SHELVED with ``shelved_at`` / ``shelved_host``; the
task state is then ``shelving_offloading`` and the last stage casts
compute.shelve_offload_instance to this host, which offloads it at once,
as upstream does with its default ``shelved_offload_time = 0``.  The cast
is a stage of this run, so a crash can never leave a shelved server
waiting for an offload that nobody will start; casting it twice (a
resumed run) is harmless, the offload being idempotent.

Failure: every started stage is reverted - the record goes back to the
vm_state it had and the guest is powered on again unless it was SHUTOFF
(a PAUSED or SUSPENDED guest lost its memory to the power-off, so it
comes back ACTIVE, freshly booted) - then the fault is recorded, the
snapshot image is deleted with the ``shelved_*`` keys, and the task state
is cleared.

Interrupted: resumed at restart.  The user asked for the server to be
shelved and every stage can run again: powering off twice is harmless, an
upload cut short is redone, one that had finished is kept (the stage
skips it), and the final update accepts the record a cut run wrote.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from oslo_utils import timeutils

from nova.compute import power_state, task_states, vm_states
from nova.compute.flows import base, shared
from nova.flow import RESUME, Flow, stage
from nova.image import api as image_api

_SHELVING = (task_states.SHELVING,
             task_states.SHELVING_IMAGE_PENDING_UPLOAD,
             task_states.SHELVING_IMAGE_UPLOADING)
# The driver reports snapshot progress in snapshot task states.
_AS_SHELVING = {task_states.IMAGE_PENDING_UPLOAD:
                task_states.SHELVING_IMAGE_PENDING_UPLOAD,
                task_states.IMAGE_UPLOADING:
                task_states.SHELVING_IMAGE_UPLOADING}


@dataclasses.dataclass
class ShelveState(base.InstanceState):
    """Contract 1.0: the instance action state plus the snapshot image."""

    #: The snapshot image the shelve uploads to (None when volume-backed).
    image_id: str | None = None
    #: The vm_state before the shelve (what a failure restores).
    original_vm_state: str = vm_states.ACTIVE
    #: Where the offload is cast (nova.compute.rpcapi.ComputeAPI).
    compute_rpcapi: Any = dataclasses.field(default=None, repr=False)


def _load_state(ctx: Any, run: Any,
                compute: base.ComputeServices) -> ShelveState:
    from nova.compute import rpcapi
    instance = compute.db.instance_get_by_uuid(ctx, run.subject)
    return ShelveState(
        compute=compute, instance=instance,
        image_id=(instance.get('system_metadata') or {}).get(
            'shelved_image_id'),
        original_vm_state=instance['vm_state'],
        compute_rpcapi=rpcapi.ComputeAPI())


def _shelved_metadata(state: ShelveState) -> dict[str, Any]:
    return shared.system_metadata(
        state.instance, shelved_at=timeutils.utcnow().isoformat(),
        shelved_image_id=state.image_id, shelved_host=state.compute.host)


def _restored_vm_state(state: ShelveState) -> str:
    return state.original_vm_state


FLOW = Flow('compute.shelve_instance', '1.0', ShelveState,
            on_interrupt=RESUME, subject=base.instance_subject,
            load_state=_load_state,
            doc='Shelve an instance: power off and snapshot.')
FLOW.stages(
    stage('notify_usage_start', base.notifier('shelve.start'),
          optional=True),
    'driver_power_off',
    'driver_snapshot',
    stage('update_shelved', shared.set_state_once(
        'update_shelved', vm_state=vm_states.SHELVED,
        power_state=power_state.SHUTDOWN,
        task_state=task_states.SHELVING_OFFLOADING,
        system_metadata=_shelved_metadata,
        expected_task_state=_SHELVING),
        shared.restore_state(
            vm_state=_restored_vm_state,
            power_state=lambda s: shared.POWER_OF.get(
                s.original_vm_state, power_state.NOSTATE))),
    stage('notify_usage_end', base.notifier('shelve.end'),
          optional=True),
    'cast_shelve_offload',
)
FLOW.on_failure(base.record_fault, 'discard_shelved_image',
                base.clear_task_state)


@FLOW.stage
def driver_power_off(ctx: Any, state: ShelveState) -> None:
    """Shut the guest down, so that its disk is consistent."""
    state.compute.driver.power_off(state.instance, 0, 0)


@FLOW.revert('driver_power_off')
def driver_power_on(ctx: Any, state: ShelveState, failure: Any) -> None:
    """Power the guest on again unless it was SHUTOFF."""
    if state.original_vm_state == vm_states.STOPPED:
        return
    state.compute.driver.power_on(ctx, state.instance, state.network_info)
    if state.original_vm_state != vm_states.ACTIVE:
        # Its memory went with the power-off: it is simply running now.
        base.instance_update(ctx, state, vm_state=vm_states.ACTIVE,
                             power_state=power_state.RUNNING)


@FLOW.stage
def driver_snapshot(ctx: Any, state: ShelveState) -> None:
    """Upload the guest's disk into the shelved image."""
    image = shared.get_image_or_none(ctx, state.compute.image,
                                     state.image_id)
    if image is not None and image['status'] == image_api.ACTIVE:
        return  # uploaded by the run a crash cut short

    def update_task_state(task_state: str,
                          expected_state: Any = None) -> None:
        base.instance_update(ctx, state,
                             task_state=_AS_SHELVING[task_state],
                             expected_task_state=_SHELVING)
    state.compute.driver.snapshot(ctx, state.instance, state.image_id,
                                  update_task_state)


@FLOW.stage
def cast_shelve_offload(ctx: Any, state: ShelveState) -> None:
    """Ask this host to offload the shelved guest (its own run)."""
    state.compute_rpcapi.shelve_offload_instance(ctx, state.instance)


@FLOW.failure_handler
def discard_shelved_image(ctx: Any, state: ShelveState,
                          failure: Any) -> None:
    """Delete the snapshot and forget it: the server is not shelved."""
    if shared.get_image_or_none(ctx, state.compute.image,
                                state.image_id) is not None:
        state.compute.image.delete(ctx, state.image_id)
    base.instance_update(ctx, state, system_metadata=shared.system_metadata(
        state.instance, drop=shared.SHELVED_KEYS))
