"""compute.suspend_instance: save the guest to disk and stop it (``suspend``).

The API took the instance for the action (task_state ``suspending``, from
ACTIVE); the flow suspends the guest on the hypervisor and records it
SUSPENDED.

Failure: every started stage is reverted - the guest is resumed and the
record set back to ACTIVE - then the fault is recorded and the task state
cleared: the server is ACTIVE and running as before, ``server show`` shows
the fault and ``server event show`` the stage that failed.

Interrupted: resumed at restart. The user asked for a suspended server and
suspending a suspended guest is harmless; the final update accepts the
record a cut run already wrote.
"""

from __future__ import annotations

from typing import Any

from nova.compute import power_state, task_states, vm_states
from nova.compute.flows import base, shared
from nova.flow import RESUME, Flow, stage

FLOW = Flow('compute.suspend_instance', '1.0', base.InstanceState,
            on_interrupt=RESUME, subject=base.instance_subject,
            load_state=base.load_instance_state,
            doc='Suspend an instance.')
FLOW.stages(
    stage('notify_usage_start', base.notifier('suspend.start'),
          optional=True),
    stage('get_network_info', base.load_network_info),
    'driver_suspend',
    stage('update_suspended', shared.set_state_once(
        'update_suspended', vm_state=vm_states.SUSPENDED,
        power_state=power_state.SUSPENDED, task_state=None,
        expected_task_state=task_states.SUSPENDING),
        shared.restore_state(vm_state=vm_states.ACTIVE,
                             power_state=power_state.RUNNING)),
    stage('notify_usage_end', base.notifier('suspend.end'),
          optional=True),
)
FLOW.on_failure(base.record_fault, base.clear_task_state)


@FLOW.stage(idempotent=True)
def driver_suspend(ctx: Any, state: base.InstanceState) -> None:
    """Save the guest's memory to disk and stop it."""
    state.compute.driver.suspend(ctx, state.instance)


@FLOW.revert('driver_suspend')
def driver_resume(ctx: Any, state: base.InstanceState,
                  failure: Any) -> None:
    """Resume the guest if the suspend took effect."""
    driver = state.compute.driver
    if driver.get_info(state.instance).state == power_state.SUSPENDED:
        driver.resume(ctx, state.instance, state.network_info)
