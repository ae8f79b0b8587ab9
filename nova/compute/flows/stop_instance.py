"""compute.stop_instance: power the guest off (``os-stop``).

Failure: nothing to revert (a guest half shut down is either running or
off, and the next stop or start handles both); the fault is recorded and
the task state cleared, so the server shows its previous status again.

Interrupted: resumed at restart; powering off twice is harmless.
"""

from __future__ import annotations

from typing import Any

from nova.compute import power_state, task_states, vm_states
from nova.compute.flows import base
from nova.flow import RESUME, Flow, stage

FLOW = Flow('compute.stop_instance', '1.0', base.InstanceState,
            on_interrupt=RESUME, subject=base.instance_subject,
            load_state=base.load_instance_state,
            doc='Power an instance off.')
FLOW.stages(
    stage('notify_usage_start', base.notifier('power_off.start'),
          optional=True),
    'driver_power_off',
    stage('update_stopped', base.set_state(
        'update_stopped', vm_state=vm_states.STOPPED,
        power_state=power_state.SHUTDOWN, task_state=None,
        expected_task_state=task_states.POWERING_OFF)),
    stage('notify_usage_end', base.notifier('power_off.end'),
          optional=True),
)
FLOW.on_failure(base.record_fault, base.clear_task_state)


@FLOW.stage(idempotent=True)
def driver_power_off(ctx: Any, state: base.InstanceState) -> None:
    """Shut the guest down on the hypervisor."""
    state.compute.driver.power_off(state.instance, 0, 0)
