"""compute.unshelve_instance: bring a shelved server back (``unshelve``).

The API took the instance (task_state ``unshelving``) and asked the
conductor, which sends a SHELVED_OFFLOADED instance to the host the
scheduler picks, with its snapshot's image record, and a SHELVED one back
to the host that still has its guest.  On that host the flow takes the
instance (``spawning``, on this host and node), claims resources and
spawns the guest from the snapshot (offloaded) or powers the kept guest
on (shelved), connects its volumes, records it ACTIVE, and finally
deletes the snapshot and the ``shelved_*`` keys.

Failure: every started stage is reverted - the spawned guest destroyed
(or the kept one powered off again), the claim released, the record put
back to SHELVED / SHELVED_OFFLOADED (with no host when offloaded) - then
the fault is recorded and the task state cleared.  The snapshot is still
there: it is deleted only by the last stage, which nothing can fail
after.  The user sees the server shelved, with the fault, and can
unshelve again.

Interrupted: resumed at restart.  The user asked for the server back and
the snapshot exists until the very end, so finishing is always possible,
whereas reverting after the snapshot was deleted would strand the
server.  Every stage can run again: the claim and the volume connections
are idempotent, a guest the cut run already spawned is not spawned twice,
the final update accepts the record a cut run wrote, and deleting the
snapshot twice is harmless.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from oslo_log import log as logging
from oslo_utils import timeutils

from nova import exception
from nova.compute import power_state, task_states, vm_states
from nova.compute.flows import base, shared
from nova.flow import RESUME, Flow, stage

LOG = logging.getLogger(__name__)


@dataclasses.dataclass
class UnshelveState(base.InstanceState):
    """Contract 1.0 of compute.unshelve_instance."""

    #: The compute node the scheduler chose on this host (SHELVED_OFFLOADED
    #: only).
    node: str | None = None
    #: The snapshot to spawn from (SHELVED_OFFLOADED only).
    image_meta: dict[str, Any] = dataclasses.field(default_factory=dict)
    #: SHELVED or SHELVED_OFFLOADED: what the instance was.
    shelved_vm_state: str = vm_states.SHELVED_OFFLOADED
    #: The block device mappings of the instance.
    block_device_mapping: list[dict[str, Any]] = dataclasses.field(
        default_factory=list)
    #: Filled in by prep_block_device.
    block_device_info: dict[str, Any] = dataclasses.field(
        default_factory=dict)

    @property
    def offloaded(self) -> bool:
        return self.shelved_vm_state == vm_states.SHELVED_OFFLOADED


def _load_state(ctx: Any, run: Any,
                compute: base.ComputeServices) -> UnshelveState:
    instance = compute.db.instance_get_by_uuid(ctx, run.subject)
    sysmeta = instance.get('system_metadata') or {}
    shelved = instance['vm_state']
    if shelved not in (vm_states.SHELVED, vm_states.SHELVED_OFFLOADED):
        # Past update_active: which it was no longer matters.
        shelved = vm_states.SHELVED_OFFLOADED
    image = shared.get_image_or_none(ctx, compute.image,
                                     sysmeta.get('shelved_image_id'))
    return UnshelveState(
        compute=compute, instance=instance,
        node=instance.get('node') or compute.host,
        image_meta=image or {}, shelved_vm_state=shelved,
        block_device_mapping=compute.db
        .block_device_mapping_get_all_by_instance(ctx, instance['uuid']))


FLOW = Flow('compute.unshelve_instance', '1.0', UnshelveState,
            on_interrupt=RESUME, subject=base.instance_subject,
            load_state=_load_state,
            doc='Bring a shelved instance back on this host.')
FLOW.stages(
    stage('notify_usage_start', base.notifier('unshelve.start'),
          optional=True),
    'update_spawning',
    'claim_resources',
    stage('get_network_info', base.load_network_info),
    'prep_block_device',
    'driver_spawn',
    'driver_power_on',
    stage('update_active', shared.set_state_once(
        'update_active', vm_state=vm_states.ACTIVE,
        power_state=power_state.RUNNING, task_state=None,
        launched_at=lambda state: timeutils.utcnow(),
        expected_task_state=task_states.SPAWNING),
        shared.restore_state(
            vm_state=lambda state: state.shelved_vm_state,
            power_state=power_state.SHUTDOWN)),
    stage('notify_usage_end', base.notifier('unshelve.end'),
          optional=True),
    'delete_shelved_image',
)
FLOW.on_failure(base.record_fault, base.clear_task_state)


@FLOW.stage
def update_spawning(ctx: Any, state: UnshelveState) -> None:
    """Take the instance: spawning, on this host and node."""
    shared.instance_update_once(
        ctx, state, (task_states.UNSHELVING, task_states.SPAWNING),
        task_state=task_states.SPAWNING, host=state.compute.host,
        node=state.node)


@FLOW.revert('update_spawning')
def release_host(ctx: Any, state: UnshelveState, failure: Any) -> None:
    if state.offloaded:
        base.instance_update(ctx, state, host=None, node=None)


@FLOW.stage
def claim_resources(ctx: Any, state: UnshelveState) -> None:
    """Claim vCPUs, RAM and disk (offloaded: shelving kept the claim of a
    guest still on its host)."""
    if state.offloaded:
        state.compute.resource_tracker.instance_claim(ctx, state.instance,
                                                      state.node)


@FLOW.revert('claim_resources')
def release_claim(ctx: Any, state: UnshelveState, failure: Any) -> None:
    if state.offloaded:
        state.compute.resource_tracker.release(ctx, state.instance['uuid'])


@FLOW.stage
def prep_block_device(ctx: Any, state: UnshelveState) -> None:
    """Connect this host to the instance's volumes; describe them."""
    connections = {}
    for bdm in shared.volume_bdms(state.block_device_mapping):
        connections[bdm['volume_id']] = \
            state.compute.volume.initialize_connection(ctx, bdm['volume_id'])
    state.block_device_info = shared.block_device_info(
        state.block_device_mapping, connections)


@FLOW.revert('prep_block_device')
def terminate_volume_connections(ctx: Any, state: UnshelveState,
                                 failure: Any) -> None:
    if state.offloaded:
        for bdm in shared.volume_bdms(state.block_device_mapping):
            state.compute.volume.terminate_connection(ctx, bdm['volume_id'])


@FLOW.stage
def driver_spawn(ctx: Any, state: UnshelveState) -> None:
    """Offloaded: create and boot the guest from the snapshot."""
    driver = state.compute.driver
    if not state.offloaded or driver.instance_exists(state.instance):
        return  # shelved on this host, or spawned by a run cut short
    driver.spawn(ctx, state.instance, state.image_meta, [], None, None,
                 network_info=state.network_info,
                 block_device_info=state.block_device_info)


@FLOW.revert('driver_spawn')
def driver_destroy(ctx: Any, state: UnshelveState, failure: Any) -> None:
    if state.offloaded:
        state.compute.driver.destroy(
            ctx, state.instance, state.network_info,
            block_device_info=state.block_device_info)


@FLOW.stage
def driver_power_on(ctx: Any, state: UnshelveState) -> None:
    """Shelved on this host: power the kept guest on."""
    if not state.offloaded:
        state.compute.driver.power_on(ctx, state.instance,
                                      state.network_info)


@FLOW.revert('driver_power_on')
def driver_power_off(ctx: Any, state: UnshelveState, failure: Any) -> None:
    if not state.offloaded:
        state.compute.driver.power_off(state.instance, 0, 0)


@FLOW.stage
def delete_shelved_image(ctx: Any, state: UnshelveState) -> None:
    """Delete the snapshot and forget the shelved_* keys (last: nothing
    may fail after it, since it cannot be undone)."""
    uuid = state.instance['uuid']
    image_id = (state.instance.get('system_metadata') or {}).get(
        'shelved_image_id')
    try:
        if image_id:
            try:
                state.compute.image.delete(ctx, image_id)
            except exception.ImageNotFound:
                pass
        base.instance_update(
            ctx, state, system_metadata=shared.system_metadata(
                state.instance, drop=shared.SHELVED_KEYS))
    except Exception:
        # As upstream: the server is back, which a leftover snapshot or
        # key must not undo; the operator deletes what is left.
        LOG.exception('Could not delete snapshot %s of unshelved instance '
                      '%s', image_id, uuid)
