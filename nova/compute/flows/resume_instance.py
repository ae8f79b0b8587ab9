"""compute.resume_instance: bring a suspended guest back (``resume``).

The API took the instance for the action (task_state ``resuming``, from
SUSPENDED); the flow resumes the guest on the hypervisor and records it
ACTIVE.

Failure: every started stage is reverted - the guest is suspended again and
the record set back to SUSPENDED - then the fault is recorded and the task
state cleared: the server is SUSPENDED as before, ``server show`` shows the
fault and ``server event show`` the stage that failed.

Interrupted: resumed at restart. The user asked for a running server and
resuming a running guest is harmless; the final update accepts the record a
cut run already wrote.
"""

from __future__ import annotations

from typing import Any

from nova.compute import power_state, task_states, vm_states
from nova.compute.flows import base, shared
from nova.flow import RESUME, Flow, stage

FLOW = Flow('compute.resume_instance', '1.0', base.InstanceState,
            on_interrupt=RESUME, subject=base.instance_subject,
            load_state=base.load_instance_state,
            doc='Resume a suspended instance.')
FLOW.stages(
    stage('notify_usage_start', base.notifier('resume.start'),
          optional=True),
    stage('get_network_info', base.load_network_info),
    'driver_resume',
    stage('update_resumed', shared.set_state_once(
        'update_resumed', vm_state=vm_states.ACTIVE,
        power_state=power_state.RUNNING, task_state=None,
        expected_task_state=task_states.RESUMING),
        shared.restore_state(vm_state=vm_states.SUSPENDED,
                             power_state=power_state.SUSPENDED)),
    stage('notify_usage_end', base.notifier('resume.end'),
          optional=True),
)
FLOW.on_failure(base.record_fault, base.clear_task_state)


@FLOW.stage(idempotent=True)
def driver_resume(ctx: Any, state: base.InstanceState) -> None:
    """Restore the guest's memory from disk and run it."""
    state.compute.driver.resume(ctx, state.instance,
                                state.network_info)


@FLOW.revert('driver_resume')
def driver_suspend(ctx: Any, state: base.InstanceState,
                   failure: Any) -> None:
    """Suspend the guest again if it was resumed."""
    driver = state.compute.driver
    if driver.get_info(state.instance).state == power_state.RUNNING:
        driver.suspend(ctx, state.instance)
