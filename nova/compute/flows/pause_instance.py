"""compute.pause_instance: freeze the guest in memory (``pause``).

The API took the instance for the action (task_state ``pausing``, from
ACTIVE); the flow pauses the guest on the hypervisor and records it PAUSED.

Failure: every started stage is reverted - the guest is unpaused and the
record set back to ACTIVE - then the fault is recorded and the task state
cleared: the server is ACTIVE and running as before, ``server show`` shows
the fault and ``server event show`` the stage that failed.

Interrupted: resumed at restart. The user asked for a paused server and
pausing a paused guest is harmless; the final update accepts the record a
cut run already wrote.
"""

from __future__ import annotations

from typing import Any

from nova.compute import power_state, task_states, vm_states
from nova.compute.flows import base, shared
from nova.flow import RESUME, Flow, stage

FLOW = Flow('compute.pause_instance', '1.0', base.InstanceState,
            on_interrupt=RESUME, subject=base.instance_subject,
            load_state=base.load_instance_state,
            doc='Pause an instance.')
FLOW.stages(
    stage('notify_usage_start', base.notifier('pause.start'),
          optional=True),
    'driver_pause',
    stage('update_paused', shared.set_state_once(
        'update_paused', vm_state=vm_states.PAUSED,
        power_state=power_state.PAUSED, task_state=None,
        expected_task_state=task_states.PAUSING),
        shared.restore_state(vm_state=vm_states.ACTIVE,
                             power_state=power_state.RUNNING)),
    stage('notify_usage_end', base.notifier('pause.end'),
          optional=True),
)
FLOW.on_failure(base.record_fault, base.clear_task_state)


@FLOW.stage(idempotent=True)
def driver_pause(ctx: Any, state: base.InstanceState) -> None:
    """Pause the guest: its vCPUs stop, its memory stays."""
    state.compute.driver.pause(state.instance)


@FLOW.revert('driver_pause')
def driver_unpause(ctx: Any, state: base.InstanceState,
                   failure: Any) -> None:
    """Unpause the guest if the pause took effect."""
    driver = state.compute.driver
    if driver.get_info(state.instance).state == power_state.PAUSED:
        driver.unpause(state.instance)
