"""compute.prep_resize: the destination's claim for a resize or cold
migration (an RPC call from conductor.resize_instance).

Failure: the claim is reverted (the destination's allocation released
and the source's handed back to the instance, in one transaction) and
the error goes back to the conductor, which reverts the move.

Interrupted (nova-compute died): the same revert at restart; the
conductor's call has failed meanwhile and it has reverted the move.
"""

from __future__ import annotations

from typing import Any

from nova import exception
from nova.compute.flows import moves
from nova.flow import REVERT, Flow

FLOW = Flow('compute.prep_resize', '1.0', moves.MoveState,
            on_interrupt=REVERT, subject=moves.subject,
            load_state=moves.load_state,
            doc='Claim the new flavor on the destination of a move.')
FLOW.stages(
    'check_can_move_here',
    'claim_resources',
)


@FLOW.stage
def check_can_move_here(ctx: Any, state: moves.MoveState) -> None:
    """A move to the host the instance is on needs the driver's support."""
    if state.instance.get('host') == state.compute.host and not \
            state.compute.driver.capabilities.get(
                'supports_migrate_to_same_host'):
        raise exception.MigrationPreCheckError(
            reason=f'the driver of {state.compute.host} cannot move an '
                   f'instance to the host it is on')


@FLOW.stage
def claim_resources(ctx: Any, state: moves.MoveState) -> None:
    """Claim the new flavor on this node; the source's claim passes to the
    migration in the same transaction."""
    state.compute.resource_tracker.move_claim(
        ctx, state.instance, state.migration, state.migration['dest_node'],
        state.flavor)


@FLOW.revert('claim_resources')
def drop_move_claim(ctx: Any, state: moves.MoveState, failure: Any) -> None:
    state.compute.resource_tracker.drop_move_claim(ctx, state.instance,
                                                   state.migration)
