"""compute.start_instance: power a stopped guest on (``os-start``).

Failure: the guest is powered off again if it had started (revert of
``driver_power_on``), the fault is recorded and the task state cleared, so
the server is SHUTOFF as before.

Interrupted: resumed at restart; powering on a running guest is harmless.
"""

from __future__ import annotations

from typing import Any

from nova.compute import power_state, task_states, vm_states
from nova.compute.flows import base
from nova.flow import RESUME, Flow, stage

FLOW = Flow('compute.start_instance', '1.0', base.InstanceState,
            on_interrupt=RESUME, subject=base.instance_subject,
            load_state=base.load_instance_state,
            doc='Power a stopped instance on.')
FLOW.stages(
    stage('notify_usage_start', base.notifier('power_on.start'),
          optional=True),
    stage('get_network_info', base.load_network_info),
    'driver_power_on',
    stage('update_started', base.set_state(
        'update_started', vm_state=vm_states.ACTIVE,
        power_state=power_state.RUNNING, task_state=None,
        expected_task_state=task_states.POWERING_ON)),
    stage('notify_usage_end', base.notifier('power_on.end'),
          optional=True),
)
FLOW.on_failure(base.record_fault, base.clear_task_state)


@FLOW.stage(idempotent=True)
def driver_power_on(ctx: Any, state: base.InstanceState) -> None:
    """Boot the guest on the hypervisor."""
    state.compute.driver.power_on(ctx, state.instance, state.network_info)


@FLOW.revert('driver_power_on')
def driver_power_off(ctx: Any, state: base.InstanceState,
                     failure: Any) -> None:
    state.compute.driver.power_off(state.instance, 0, 0)
