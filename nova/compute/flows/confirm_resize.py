"""compute.confirm_resize: the source's part of confirming a resize or
cold migration - delete what the move left here and give back the
resources the migration held on this host (an RPC call from
conductor.confirm_resize).

Failure: nothing is reverted (a deleted guest cannot come back); the
error goes back to the conductor, which records it and sets the
instance to ERROR.  Confirming again runs the flow again.

Interrupted (nova-compute died): resumed at restart.  Every stage is
idempotent: deleting a guest that is gone and releasing an allocation
already released change nothing.
"""

from __future__ import annotations

from typing import Any

from nova.compute import power_state, vm_states
from nova.compute.flows import base, moves
from nova.flow import RESUME, Flow, stage

FLOW = Flow('compute.confirm_resize', '1.0', moves.MoveState,
            on_interrupt=RESUME, subject=moves.subject,
            load_state=moves.load_state,
            doc='Delete the source guest of a move; free its resources.')
FLOW.stages(
    stage('update_migration_confirming', moves.migration_status(
        'confirming', "The migration is 'confirming'.")),
    stage('load_network_info', base.load_network_info),
    'confirm_migration',
    'release_source_claim',
    'update_confirmed',
)


@FLOW.stage(idempotent=True)
def confirm_migration(ctx: Any, state: moves.MoveState) -> None:
    """Delete the source guest and its disks."""
    state.compute.driver.confirm_migration(ctx, state.migration,
                                           state.instance,
                                           state.network_info)


@FLOW.stage(idempotent=True)
def release_source_claim(ctx: Any, state: moves.MoveState) -> None:
    """Give back what the migration held on this host."""
    state.compute.resource_tracker.release(ctx, state.migration['uuid'])


@FLOW.stage(transactional=True)
def update_confirmed(ctx: Any, state: moves.MoveState) -> None:
    """ACTIVE (STOPPED if it was stopped), task cleared; the migration is
    'confirmed'."""
    base.instance_update(ctx, state, **confirmed_values(state.instance))
    moves.set_migration(ctx, state, 'confirmed')


def confirmed_values(instance: dict[str, Any]) -> dict[str, Any]:
    """The instance after its move was confirmed: in the vm_state it had
    before the move (kept in system_metadata ``old_vm_state``)."""
    old = (instance.get('system_metadata') or {}).get('old_vm_state')
    if old == vm_states.STOPPED:
        return {'vm_state': vm_states.STOPPED, 'task_state': None,
                'power_state': power_state.SHUTDOWN}
    return {'vm_state': vm_states.ACTIVE, 'task_state': None,
            'power_state': power_state.RUNNING}
