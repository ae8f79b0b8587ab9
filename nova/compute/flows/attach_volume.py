"""compute.attach_volume: attach a reserved volume to the guest
(``os-volume_attachments`` POST, second half).

Before the cast the API had compute.reserve_block_device_name create the
block device mapping (with its device name) and reserved the volume in
the volume service (``reserved``, for this instance).  The flow connects
the host to the volume (``attaching``; the connection info is saved in
the mapping), attaches it to the guest at the device and marks it
``in-use`` by the instance.  The instance's states do not change, as
upstream: an attach takes no task state.

Failure: every started stage is reverted (the volume is detached from the
guest), then the fault is recorded, the mapping deleted and the volume
made ``available`` again.  The user sees the volume available, no
attachment on the server, the fault, and the Error event.

Interrupted: resumed at restart: the user asked for the attach, and every
stage can run again (connecting and attaching a volume already attached
to this instance are no-ops).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from nova import exception
from nova.compute.flows import base, shared
from nova.flow import RESUME, Flow, stage
from nova.volume import api as volume_api


@dataclasses.dataclass
class AttachVolumeState(base.InstanceState):
    """Contract 1.0: the instance action state plus the mapping."""

    #: The block device mapping of the volume being attached.
    bdm: dict[str, Any] = dataclasses.field(default_factory=dict)
    #: Filled in by initialize_connection.
    connection_info: dict[str, Any] = dataclasses.field(
        default_factory=dict)


def _load_state(ctx: Any, run: Any,
                compute: base.ComputeServices) -> AttachVolumeState:
    """The mapping being attached: the one whose volume is still reserved
    or attaching for the instance, else (the cut run got as far as
    ``in-use``) its newest volume mapping."""
    instance = compute.db.instance_get_by_uuid(ctx, run.subject)
    bdms = shared.volume_bdms(
        compute.db.block_device_mapping_get_all_by_instance(
            ctx, instance['uuid']))
    found = bdms[-1] if bdms else {}
    for bdm in bdms:
        try:
            volume = compute.volume.get(ctx, bdm['volume_id'])
        except exception.VolumeNotFound:
            continue
        if volume['status'] in (volume_api.RESERVED, volume_api.ATTACHING) \
                and volume['instance_uuid'] in (None, instance['uuid']):
            found = bdm
    return AttachVolumeState(compute=compute, instance=instance, bdm=found,
                             connection_info=found.get('connection_info')
                             or {})


FLOW = Flow('compute.attach_volume', '1.0', AttachVolumeState,
            on_interrupt=RESUME, subject=base.instance_subject,
            load_state=_load_state,
            doc='Attach a volume to an instance.')
FLOW.stages(
    stage('notify_usage_start', base.notifier('volume_attach.start'),
          optional=True),
    'initialize_connection',
    'update_bdm',
    'driver_attach_volume',
    'volume_attach',
    stage('notify_usage_end', base.notifier('volume_attach.end'),
          optional=True),
)
FLOW.on_failure(base.record_fault, 'release_volume')


@FLOW.stage(idempotent=True)
def initialize_connection(ctx: Any, state: AttachVolumeState) -> None:
    """Connect this host to the volume: how the guest will reach it."""
    state.connection_info = state.compute.volume.initialize_connection(
        ctx, state.bdm['volume_id'])


@FLOW.stage
def update_bdm(ctx: Any, state: AttachVolumeState) -> None:
    """Save the connection info in the block device mapping."""
    state.compute.db.block_device_mapping_update(
        ctx, state.bdm['id'], {'connection_info': state.connection_info})
    state.bdm['connection_info'] = state.connection_info


@FLOW.stage
def driver_attach_volume(ctx: Any, state: AttachVolumeState) -> None:
    """Attach the volume to the guest at its device name."""
    state.compute.driver.attach_volume(
        ctx, state.connection_info, state.instance,
        state.bdm['device_name'], disk_bus=state.bdm.get('disk_bus'),
        device_type=state.bdm.get('device_type'))


@FLOW.revert('driver_attach_volume')
def driver_detach_volume(ctx: Any, state: AttachVolumeState,
                         failure: Any) -> None:
    state.compute.driver.detach_volume(ctx, state.connection_info,
                                       state.instance,
                                       state.bdm['device_name'])


@FLOW.stage
def volume_attach(ctx: Any, state: AttachVolumeState) -> None:
    """The volume service marks the volume in-use by the instance."""
    state.compute.volume.attach(ctx, state.bdm['volume_id'],
                                state.instance['uuid'],
                                state.bdm['device_name'])


@FLOW.failure_handler
def release_volume(ctx: Any, state: AttachVolumeState,
                   failure: Any) -> None:
    """The attach did not happen: volume available, mapping gone."""
    if not state.bdm:
        return
    state.compute.volume.detach(ctx, state.bdm['volume_id'],
                                state.instance['uuid'])
    state.compute.db.block_device_mapping_destroy_by_instance_and_volume(
        ctx, state.instance['uuid'], state.bdm['volume_id'])
