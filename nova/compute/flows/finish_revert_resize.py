"""compute.finish_revert_resize: the source's part of reverting a resize
or cold migration - take the instance back with its old flavor, hand
the destination's resources back and start the original guest again (an
RPC call from conductor.revert_resize, or from the revert of a failed
conductor.resize_instance).

The instance's ports are bound to this host again
(``setup_networks_on_host``) once its record says it is here.

Failure: nothing to revert (the instance's record names this host from
``update_reverted_host`` on, and its ports follow it: binding them back
to the destination, whose guest is gone, would leave them on the wrong
host); the error goes back to the conductor, which sets the instance to
ERROR with the fault.  Interrupted: resumed at
restart.  Every stage can run again: the claim's revert is a no-op once
done, and the others write what they wrote.
"""

from __future__ import annotations

from typing import Any

from nova.compute import task_states, vm_states
from nova.compute.flows import base, confirm_resize, moves
from nova.flow import RESUME, Flow, stage

FLOW = Flow('compute.finish_revert_resize', '1.1', moves.MoveState,
            changes={'1.1': 'Stage setup_networks_on_host added: the '
                            "instance's ports are bound to this host "
                            'again.'},
            on_interrupt=RESUME, subject=moves.subject,
            load_state=moves.load_state,
            doc='Bring the source guest of a reverted move back.')
FLOW.stages(
    'drop_move_claim',
    'update_reverted_host',
    'setup_networks_on_host',
    stage('load_network_info', base.load_network_info),
    'load_block_device_info',
    'finish_revert_migration',
    'update_reverted',
)


@FLOW.stage(idempotent=True)
def drop_move_claim(ctx: Any, state: moves.MoveState) -> None:
    """Release the destination's claim; this host's passes back from the
    migration to the instance (one transaction)."""
    state.compute.resource_tracker.drop_move_claim(ctx, state.instance,
                                                   state.migration)


@FLOW.stage(transactional=True, idempotent=True)
def update_reverted_host(ctx: Any, state: moves.MoveState) -> None:
    """The instance is on this host and node again, with its old flavor;
    task RESIZE_REVERTING."""
    base.instance_update(
        ctx, state, task_state=task_states.RESIZE_REVERTING,
        host=state.compute.host, node=state.migration['source_node'],
        **moves.flavor_values(state.migration['old_flavor']))


@FLOW.stage(idempotent=True)
def setup_networks_on_host(ctx: Any, state: moves.MoveState) -> None:
    """Bind the instance's ports to this host again."""
    moves.bind_ports(ctx, state, state.compute.host)


@FLOW.stage(idempotent=True)
def load_block_device_info(ctx: Any, state: moves.MoveState) -> None:
    """Read the instance's volumes for the driver."""
    state.block_device_info = moves.block_device_info(ctx, state)


@FLOW.stage(idempotent=True)
def finish_revert_migration(ctx: Any, state: moves.MoveState) -> None:
    """Bring the original guest back; start it if it ran before."""
    values = confirm_resize.confirmed_values(state.instance)
    state.compute.driver.finish_revert_migration(
        ctx, state.instance, state.network_info, state.migration,
        block_device_info=state.block_device_info,
        power_on=values['vm_state'] != vm_states.STOPPED)


@FLOW.stage(transactional=True)
def update_reverted(ctx: Any, state: moves.MoveState) -> None:
    """ACTIVE (STOPPED if it was stopped), task cleared; the migration is
    'reverted'."""
    base.instance_update(ctx, state,
                         **confirm_resize.confirmed_values(state.instance))
    moves.set_migration(ctx, state, 'reverted')
