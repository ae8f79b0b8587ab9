"""compute.rebuild_instance: re-create the guest on this host from a new
image (``rebuild``).

The API wrote the new image and fields (name, metadata, key ...) to the
instance and took it (task_state ``rebuilding``, from ACTIVE, SHUTOFF or
ERROR).  The flow reads the image, moves the task state through
``rebuild_block_device_mapping`` (volumes are connected again: they are
kept) and ``rebuild_spawning``, then re-creates the guest: with the
driver's own ``rebuild`` when it has one (``supports_rebuild``), else by
``destroy`` (the root disk is recreated; the ephemeral disk too unless
``preserve_ephemeral``) and ``spawn`` from the new image.  The instance
ends ACTIVE - or SHUTOFF, powered off, if it was SHUTOFF - launched now.

Failure: the guest being spawned is destroyed; the old one is already
gone (or in an unknown state after the driver's rebuild), so there is
nothing to go back to: the instance goes to ERROR with the fault, as
upstream.  The user can rebuild again (ERROR allows it) or delete.

Point of no return: ``update_rebuilt`` (recorded with its own UPDATE):
the rebuild is done and the closing notification is never a reason to
undo it.

Interrupted: reverted at restart if ``update_rebuilt`` had not
committed, ending in ERROR like a failure (upstream too sets a rebuild
cut by a restart to ERROR).  Resuming would spawn without the admin
password given with the request, which is not stored: the user would get
a server they cannot log in to.  After it, resumed: only the closing
notification is left.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from oslo_utils import timeutils

from nova.compute import power_state, task_states, vm_states
from nova.compute.flows import base, shared
from nova.flow import REVERT, Flow, stage


@dataclasses.dataclass
class RebuildState(base.InstanceState):
    """Contract 1.0 of compute.rebuild_instance."""

    #: The admin password to set in the rebuilt guest (never logged).
    admin_password: str | None = dataclasses.field(default=None,
                                                   repr=False)
    #: Keep the ephemeral disk (the request's ``preserve_ephemeral``).
    preserve_ephemeral: bool = False
    #: Personality files to inject (before 2.57).
    injected_files: list[Any] = dataclasses.field(default_factory=list)
    #: ACTIVE, STOPPED or ERROR: a STOPPED instance is rebuilt powered off.
    original_vm_state: str = vm_states.ACTIVE
    #: The block device mappings of the instance.
    block_device_mapping: list[dict[str, Any]] = dataclasses.field(
        default_factory=list)
    #: Filled in by get_image_meta / prep_block_device.
    image_meta: dict[str, Any] = dataclasses.field(default_factory=dict)
    #: The volumes as the driver takes them, filled in by prep_block_device.
    block_device_info: dict[str, Any] = dataclasses.field(
        default_factory=dict)


def _load_state(ctx: Any, run: Any,
                compute: base.ComputeServices) -> RebuildState:
    instance = compute.db.instance_get_by_uuid(ctx, run.subject)
    bdms = compute.db.block_device_mapping_get_all_by_instance(
        ctx, instance['uuid'])
    return RebuildState(
        compute=compute, instance=instance,
        original_vm_state=instance['vm_state'],
        network_info=compute.network.get_instance_nw_info(
            ctx, instance['uuid']),
        block_device_mapping=bdms,
        block_device_info=shared.block_device_info(bdms))


def _supports_rebuild(state: RebuildState) -> bool:
    return bool(state.compute.driver.capabilities.get('supports_rebuild'))


def _powered_on(state: RebuildState) -> bool:
    return state.original_vm_state != vm_states.STOPPED


FLOW = Flow('compute.rebuild_instance', '1.0', RebuildState,
            on_interrupt=REVERT, subject=base.instance_subject,
            point_of_no_return='update_rebuilt',
            load_state=_load_state,
            doc='Rebuild an instance from a new image on this host.')
FLOW.stages(
    stage('notify_usage_start', base.notifier('rebuild.start'),
          optional=True),
    'get_image_meta',
    stage('get_network_info', base.load_network_info),
    stage('update_rebuild_block_device_mapping', base.set_state(
        'update_rebuild_block_device_mapping',
        task_state=task_states.REBUILD_BLOCK_DEVICE_MAPPING,
        expected_task_state=task_states.REBUILDING)),
    'prep_block_device',
    stage('update_rebuild_spawning', base.set_state(
        'update_rebuild_spawning', task_state=task_states.REBUILD_SPAWNING,
        expected_task_state=task_states.REBUILD_BLOCK_DEVICE_MAPPING)),
    'driver_rebuild',
    'driver_destroy',
    'driver_spawn',
    'update_rebuilt',
    stage('notify_usage_end', base.notifier('rebuild.end'),
          optional=True),
)
FLOW.on_failure(base.record_fault, base.set_error)


@FLOW.stage
def get_image_meta(ctx: Any, state: RebuildState) -> None:
    """The new image the API recorded on the instance."""
    state.image_meta = state.compute.image.get(ctx,
                                               state.instance['image_ref'])


@FLOW.stage
def prep_block_device(ctx: Any, state: RebuildState) -> None:
    """Connect the instance's volumes again; describe its disks."""
    connections = {
        bdm['volume_id']: state.compute.volume.initialize_connection(
            ctx, bdm['volume_id'])
        for bdm in shared.volume_bdms(state.block_device_mapping)}
    state.block_device_info = shared.block_device_info(
        state.block_device_mapping, connections)


@FLOW.stage
def driver_rebuild(ctx: Any, state: RebuildState) -> None:
    """The driver's own rebuild, if it has one (else destroy + spawn)."""
    if not _supports_rebuild(state):
        return
    state.compute.driver.rebuild(
        ctx, state.instance, state.image_meta, state.injected_files,
        state.admin_password, None, network_info=state.network_info,
        block_device_info=state.block_device_info,
        preserve_ephemeral=state.preserve_ephemeral)


@FLOW.stage
def driver_destroy(ctx: Any, state: RebuildState) -> None:
    """Remove the old guest and its root disk (volumes stay)."""
    if _supports_rebuild(state):
        return
    state.compute.driver.destroy(
        ctx, state.instance, state.network_info,
        block_device_info=state.block_device_info,
        destroy_disks=not state.preserve_ephemeral)


@FLOW.stage
def driver_spawn(ctx: Any, state: RebuildState) -> None:
    """Create the guest from the new image (off if it was SHUTOFF)."""
    if _supports_rebuild(state):
        return
    state.compute.driver.spawn(
        ctx, state.instance, state.image_meta, state.injected_files,
        state.admin_password, None, network_info=state.network_info,
        block_device_info=state.block_device_info,
        power_on=_powered_on(state))


@FLOW.revert('driver_spawn')
def destroy_new_guest(ctx: Any, state: RebuildState, failure: Any) -> None:
    if _supports_rebuild(state):
        return
    state.compute.driver.destroy(ctx, state.instance, state.network_info,
                                 block_device_info=state.block_device_info)


@FLOW.stage(transactional=True)
def update_rebuilt(ctx: Any, state: RebuildState) -> None:
    """ACTIVE and running (SHUTOFF if it was), launched now."""
    on = _powered_on(state)
    base.instance_update(
        ctx, state, expected_task_state=task_states.REBUILD_SPAWNING,
        vm_state=vm_states.ACTIVE if on else vm_states.STOPPED,
        power_state=power_state.RUNNING if on else power_state.SHUTDOWN,
        task_state=None, launched_at=timeutils.utcnow())
