"""compute.detach_volume: detach a volume from the guest
(``os-volume_attachments`` DELETE).

The API found the volume's block device mapping and moved the volume to
``detaching``.  The flow detaches it from the guest, ends this host's
connection to it, makes it ``available`` in the volume service and
finally deletes the mapping.  The instance's states do not change.

Failure: every started stage is reverted (the volume is attached to the
guest again and marked ``in-use``), then the fault is recorded and a
volume still ``detaching`` is rolled back to ``in-use``.  The user sees
the attachment as before, the fault, and the Error event.  The mapping is
deleted by the last stage, after the ``volume_detach.end`` notification:
it is the one step no revert could undo, so nothing may fail after it.

Interrupted: resumed at restart: the user asked for the detach, and every
stage can run again (detaching what is already detached is a no-op).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from nova import exception
from nova.compute.flows import base, shared
from nova.flow import RESUME, Flow, stage
from nova.volume import api as volume_api


@dataclasses.dataclass
class DetachVolumeState(base.InstanceState):
    """Contract 1.0: the instance action state plus the mapping."""

    #: The block device mapping of the volume being detached.
    bdm: dict[str, Any] = dataclasses.field(default_factory=dict)


def _load_state(ctx: Any, run: Any,
                compute: base.ComputeServices) -> DetachVolumeState:
    """The mapping being detached: the one whose volume is ``detaching``,
    else (the cut run got as far as ``available``) one whose volume is no
    longer attached to the instance."""
    instance = compute.db.instance_get_by_uuid(ctx, run.subject)
    found: dict[str, Any] = {}
    for bdm in shared.volume_bdms(
            compute.db.block_device_mapping_get_all_by_instance(
                ctx, instance['uuid'])):
        try:
            volume = compute.volume.get(ctx, bdm['volume_id'])
        except exception.VolumeNotFound:
            found = found or bdm
            continue
        if volume['status'] == volume_api.DETACHING:
            found = bdm
            break
        if volume['instance_uuid'] != instance['uuid']:
            found = found or bdm
    return DetachVolumeState(compute=compute, instance=instance, bdm=found)


FLOW = Flow('compute.detach_volume', '1.0', DetachVolumeState,
            on_interrupt=RESUME, subject=base.instance_subject,
            load_state=_load_state,
            doc='Detach a volume from an instance.')
FLOW.stages(
    stage('notify_usage_start', base.notifier('volume_detach.start'),
          optional=True),
    'driver_detach_volume',
    'terminate_connection',
    'volume_detach',
    stage('notify_usage_end', base.notifier('volume_detach.end'),
          optional=True),
    'destroy_bdm',
)
FLOW.on_failure(base.record_fault, 'roll_detaching')


def _connection_info(state: DetachVolumeState) -> dict[str, Any]:
    return state.bdm.get('connection_info') or {
        'serial': state.bdm.get('volume_id')}


@FLOW.stage
def driver_detach_volume(ctx: Any, state: DetachVolumeState) -> None:
    """Detach the volume from the guest."""
    if state.bdm:
        state.compute.driver.detach_volume(
            ctx, _connection_info(state), state.instance,
            state.bdm['device_name'])


@FLOW.revert('driver_detach_volume')
def driver_attach_volume(ctx: Any, state: DetachVolumeState,
                         failure: Any) -> None:
    if state.bdm:
        state.compute.driver.attach_volume(
            ctx, _connection_info(state), state.instance,
            state.bdm['device_name'])


@FLOW.stage
def terminate_connection(ctx: Any, state: DetachVolumeState) -> None:
    """This host no longer uses the volume."""
    if state.bdm:
        state.compute.volume.terminate_connection(ctx,
                                                  state.bdm['volume_id'])


@FLOW.stage
def volume_detach(ctx: Any, state: DetachVolumeState) -> None:
    """The volume service makes the volume available."""
    if state.bdm:
        state.compute.volume.detach(ctx, state.bdm['volume_id'],
                                    state.instance['uuid'])


@FLOW.revert('volume_detach')
def volume_attach(ctx: Any, state: DetachVolumeState, failure: Any) -> None:
    """In-use again, if the detach took effect (else roll_detaching
    does it)."""
    if state.bdm and state.compute.volume.get(
            ctx, state.bdm['volume_id'])['status'] == volume_api.AVAILABLE:
        state.compute.volume.attach(ctx, state.bdm['volume_id'],
                                    state.instance['uuid'],
                                    state.bdm['device_name'])


@FLOW.stage
def destroy_bdm(ctx: Any, state: DetachVolumeState) -> None:
    """Delete the block device mapping."""
    if state.bdm:
        state.compute.db.block_device_mapping_destroy_by_instance_and_volume(
            ctx, state.instance['uuid'], state.bdm['volume_id'])


@FLOW.failure_handler
def roll_detaching(ctx: Any, state: DetachVolumeState,
                   failure: Any) -> None:
    """A volume left ``detaching`` is attached again (``in-use``)."""
    if state.bdm:
        state.compute.volume.roll_detaching(ctx, state.bdm['volume_id'])
