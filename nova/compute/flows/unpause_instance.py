"""compute.unpause_instance: let a paused guest run again (``unpause``).

The API took the instance for the action (task_state ``unpausing``, from
PAUSED); the flow unpauses the guest on the hypervisor and records it
ACTIVE.

Failure: every started stage is reverted - the guest is paused again and the
record set back to PAUSED - then the fault is recorded and the task state
cleared: the server is PAUSED as before, ``server show`` shows the fault and
``server event show`` the stage that failed.

Interrupted: resumed at restart. The user asked for a running server and
unpausing a running guest is harmless; the final update accepts the record a
cut run already wrote.
"""

from __future__ import annotations

from typing import Any

from nova.compute import power_state, task_states, vm_states
from nova.compute.flows import base, shared
from nova.flow import RESUME, Flow, stage

FLOW = Flow('compute.unpause_instance', '1.0', base.InstanceState,
            on_interrupt=RESUME, subject=base.instance_subject,
            load_state=base.load_instance_state,
            doc='Unpause a paused instance.')
FLOW.stages(
    stage('notify_usage_start', base.notifier('unpause.start'),
          optional=True),
    'driver_unpause',
    stage('update_unpaused', shared.set_state_once(
        'update_unpaused', vm_state=vm_states.ACTIVE,
        power_state=power_state.RUNNING, task_state=None,
        expected_task_state=task_states.UNPAUSING),
        shared.restore_state(vm_state=vm_states.PAUSED,
                             power_state=power_state.PAUSED)),
    stage('notify_usage_end', base.notifier('unpause.end'),
          optional=True),
)
FLOW.on_failure(base.record_fault, base.clear_task_state)


@FLOW.stage(idempotent=True)
def driver_unpause(ctx: Any, state: base.InstanceState) -> None:
    """Let the paused guest run again."""
    state.compute.driver.unpause(state.instance)


@FLOW.revert('driver_unpause')
def driver_pause(ctx: Any, state: base.InstanceState,
                 failure: Any) -> None:
    """Pause the guest again if it was unpaused."""
    driver = state.compute.driver
    if driver.get_info(state.instance).state == power_state.RUNNING:
        driver.pause(state.instance)
