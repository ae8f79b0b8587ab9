"""compute.shelve_offload_instance: remove a shelved guest from its host
(``shelveOffload``, and the second half of every ``shelve``).

The instance is SHELVED (its snapshot taken) with task_state
``shelving_offloading``.  The flow destroys the guest and its disks,
releases the volume connections on this host and the claimed vCPUs, RAM
and disk, and records the instance SHELVED_OFFLOADED with no host.  Its
IP addresses and volume attachments are kept (upstream keeps the ports
and the volumes attached), so unshelving elsewhere gets them back.

Failure: nothing is reverted - a destroyed guest cannot be rebuilt here -
and nothing needs to be: the snapshot holds the server.  The fault is
recorded and the task state cleared; the server stays SHELVED (or is
SHELVED_OFFLOADED if the failure came after the update).  Offloading
again (``shelveOffload``, admin) finishes the job: every stage is
idempotent.

Interrupted: resumed at restart, for the same reason.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from nova.compute import power_state, task_states, vm_states
from nova.compute.flows import base, shared
from nova.flow import RESUME, Flow, stage


@dataclasses.dataclass
class ShelveOffloadState(base.InstanceState):
    """Contract 1.0: the instance action state plus its block devices."""

    #: The block device mappings of the instance (volumes to detach from the
    #: host).
    block_device_mapping: list[dict[str, Any]] = dataclasses.field(
        default_factory=list)


def _load_state(ctx: Any, run: Any,
                compute: base.ComputeServices) -> ShelveOffloadState:
    instance = compute.db.instance_get_by_uuid(ctx, run.subject)
    return ShelveOffloadState(
        compute=compute, instance=instance,
        block_device_mapping=compute.db
        .block_device_mapping_get_all_by_instance(ctx, instance['uuid']))


FLOW = Flow('compute.shelve_offload_instance', '1.0', ShelveOffloadState,
            on_interrupt=RESUME, subject=base.instance_subject,
            load_state=_load_state,
            doc='Remove a shelved instance from its host.')
FLOW.stages(
    stage('notify_usage_start', base.notifier('shelve_offload.start'),
          optional=True),
    'driver_power_off',
    stage('get_network_info', base.load_network_info),
    'driver_destroy',
    'terminate_volume_connections',
    'free_resources',
    stage('update_offloaded', shared.set_state_once(
        'update_offloaded', vm_state=vm_states.SHELVED_OFFLOADED,
        power_state=power_state.SHUTDOWN, task_state=None, host=None,
        node=None, expected_task_state=(task_states.SHELVING,
                                        task_states.SHELVING_OFFLOADING))),
    stage('notify_usage_end', base.notifier('shelve_offload.end'),
          optional=True),
)
FLOW.on_failure(base.record_fault, base.clear_task_state)


@FLOW.stage
def driver_power_off(ctx: Any, state: ShelveOffloadState) -> None:
    """Make sure the guest is off (it is, unless shelved by hand)."""
    driver = state.compute.driver
    if driver.instance_exists(state.instance):
        driver.power_off(state.instance, 0, 0)


@FLOW.stage
def driver_destroy(ctx: Any, state: ShelveOffloadState) -> None:
    """Remove the guest and its disks from the hypervisor."""
    state.compute.driver.destroy(
        ctx, state.instance, state.network_info,
        block_device_info=shared.block_device_info(
            state.block_device_mapping), destroy_disks=True)


@FLOW.stage
def terminate_volume_connections(ctx: Any,
                                 state: ShelveOffloadState) -> None:
    """This host no longer reaches the volumes (they stay attached)."""
    for bdm in shared.volume_bdms(state.block_device_mapping):
        state.compute.volume.terminate_connection(ctx, bdm['volume_id'])


@FLOW.stage
def free_resources(ctx: Any, state: ShelveOffloadState) -> None:
    """Give the claimed vCPUs, RAM and disk back to the node."""
    state.compute.resource_tracker.release(ctx, state.instance['uuid'])
