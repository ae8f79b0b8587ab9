"""compute.rescue_instance: boot the guest from a rescue image (``rescue``).

The API took the instance for the action (task_state ``rescuing``, from
ACTIVE, STOPPED or ERROR) and generated the rescue password, which it
returns to the user; the flow boots the guest from the rescue image (the
instance's own image unless the user named another) with its own disk
attached, and records it RESCUED.  The vm_state it had is kept in
``system_metadata['old_vm_state']``.

Failure: every started stage is reverted - the guest is taken out of
rescue (and powered off again if it was STOPPED) and the record set back
to its previous vm_state - then the fault is recorded and the task state
cleared.  The user sees the server as before, with the fault.

Interrupted: reverted at restart, like a failure.  Resuming is not
possible: the rescue password the user was given is not stored anywhere
(by design), so a rescue redone after a crash would boot with a password
the user does not know.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from nova.compute import power_state, task_states, vm_states
from nova.compute.flows import base, shared
from nova.flow import REVERT, Flow, stage


@dataclasses.dataclass
class RescueState(base.InstanceState):
    """Contract 1.0: the instance action state plus the rescue request."""

    #: The image to boot the rescue from (None: the instance's own image).
    rescue_image_ref: str | None = None
    #: The admin password of the rescue guest (never logged).
    rescue_password: str | None = dataclasses.field(default=None,
                                                    repr=False)
    #: The vm_state to go back to on failure (and what unrescue ends in
    #: is ACTIVE, as upstream).
    original_vm_state: str = vm_states.ACTIVE
    #: Filled in by get_rescue_image.
    rescue_image_meta: dict[str, Any] = dataclasses.field(
        default_factory=dict)


def _load_state(ctx: Any, run: Any,
                compute: base.ComputeServices) -> RescueState:
    """The interrupted rescue's state; the password is gone, which only
    matters to a resume (this flow reverts)."""
    instance = compute.db.instance_get_by_uuid(ctx, run.subject)
    original = instance['vm_state']
    if original == vm_states.RESCUED:
        original = (instance.get('system_metadata') or {}).get(
            'old_vm_state', vm_states.ACTIVE)
    return RescueState(compute=compute, instance=instance,
                       original_vm_state=original)


FLOW = Flow('compute.rescue_instance', '1.0', RescueState,
            on_interrupt=REVERT, subject=base.instance_subject,
            load_state=_load_state,
            doc='Boot an instance from a rescue image.')
FLOW.stages(
    stage('notify_usage_start', base.notifier('rescue.start'),
          optional=True),
    stage('get_network_info', base.load_network_info),
    'get_rescue_image',
    'driver_rescue',
    'update_rescued',
    stage('notify_usage_end', base.notifier('rescue.end'),
          optional=True),
)
FLOW.on_failure(base.record_fault, base.clear_task_state)


@FLOW.stage
def get_rescue_image(ctx: Any, state: RescueState) -> None:
    """The image to boot from: the one asked for, else the instance's."""
    image_ref = state.rescue_image_ref or state.instance.get('image_ref')
    if image_ref:
        state.rescue_image_meta = state.compute.image.get(ctx, image_ref)


@FLOW.stage
def driver_rescue(ctx: Any, state: RescueState) -> None:
    """Boot the guest from the rescue image, its own disk attached."""
    state.compute.driver.rescue(ctx, state.instance, state.network_info,
                                state.rescue_image_meta,
                                state.rescue_password)


@FLOW.revert('driver_rescue')
def driver_unrescue(ctx: Any, state: RescueState, failure: Any) -> None:
    """Back to the guest's own disk; off again if it was off."""
    driver = state.compute.driver
    driver.unrescue(ctx, state.instance)
    if state.original_vm_state == vm_states.STOPPED:
        driver.power_off(state.instance, 0, 0)


@FLOW.stage
def update_rescued(ctx: Any, state: RescueState) -> None:
    """RESCUED and running; remember the vm_state it had."""
    base.instance_update(
        ctx, state, expected_task_state=task_states.RESCUING,
        vm_state=vm_states.RESCUED, power_state=power_state.RUNNING,
        task_state=None, system_metadata=shared.system_metadata(
            state.instance, old_vm_state=state.original_vm_state))


@FLOW.revert('update_rescued')
def restore_vm_state(ctx: Any, state: RescueState, failure: Any) -> None:
    values: dict[str, Any] = {
        'vm_state': state.original_vm_state,
        'system_metadata': shared.system_metadata(
            state.instance, drop=('old_vm_state',))}
    if state.original_vm_state in shared.POWER_OF:
        values['power_state'] = shared.POWER_OF[state.original_vm_state]
    base.instance_update(ctx, state, **values)
