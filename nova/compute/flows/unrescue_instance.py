"""compute.unrescue_instance: boot the guest from its own disk again
(``unrescue``).

The API took the instance for the action (task_state ``unrescuing``, from
RESCUED); the flow leaves rescue on the hypervisor and records the
instance ACTIVE and running, as upstream does whatever state it was
rescued from.

Failure: nothing is reverted - a rescue cannot be redone without the
rescue password, which is not stored.  The fault is recorded and the task
state cleared; the server stays RESCUE (or is ACTIVE if the failure came
after the update).  Unrescuing again is safe: leaving rescue is a no-op
for a guest that already left it.

Interrupted: resumed at restart, for the same reason: unrescuing twice is
harmless, and the final update accepts the record a cut run already
wrote.
"""

from __future__ import annotations

from typing import Any

from nova.compute import power_state, task_states, vm_states
from nova.compute.flows import base, shared
from nova.flow import RESUME, Flow, stage

FLOW = Flow('compute.unrescue_instance', '1.0', base.InstanceState,
            on_interrupt=RESUME, subject=base.instance_subject,
            load_state=base.load_instance_state,
            doc='Take an instance out of rescue.')
FLOW.stages(
    stage('notify_usage_start', base.notifier('unrescue.start'),
          optional=True),
    'driver_unrescue',
    stage('update_unrescued', shared.set_state_once(
        'update_unrescued', vm_state=vm_states.ACTIVE,
        power_state=power_state.RUNNING, task_state=None,
        system_metadata=lambda state: shared.system_metadata(
            state.instance, drop=('old_vm_state',)),
        expected_task_state=task_states.UNRESCUING)),
    stage('notify_usage_end', base.notifier('unrescue.end'),
          optional=True),
)
FLOW.on_failure(base.record_fault, base.clear_task_state)


@FLOW.stage(idempotent=True)
def driver_unrescue(ctx: Any, state: base.InstanceState) -> None:
    """Boot the guest from its own disk again."""
    state.compute.driver.unrescue(ctx, state.instance)
