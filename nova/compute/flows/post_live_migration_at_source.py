"""compute.post_live_migration_at_source: the source's cleanup after a
live migration - the driver removes what the guest left here (an RPC
call from conductor.live_migrate_instance, past its point of no return:
the guest runs on the destination).

Failure: nothing is reverted (the guest has gone); the error goes back
to the conductor, which records it and still finishes the move.
Interrupted: resumed at restart (the driver's cleanup of a guest that
is gone is a no-op).
"""

from __future__ import annotations

from typing import Any

from nova.compute.flows import moves
from nova.flow import RESUME, Flow

FLOW = Flow('compute.post_live_migration_at_source', '1.0',
            moves.MoveState, on_interrupt=RESUME, subject=moves.subject,
            load_state=moves.load_state,
            doc='Clean up the source of a finished live migration.')
FLOW.stages(
    'load_block_device_info',
    'post_live_migration',
)


@FLOW.stage(idempotent=True)
def load_block_device_info(ctx: Any, state: moves.MoveState) -> None:
    """Read the instance's volumes for the driver."""
    state.block_device_info = moves.block_device_info(ctx, state)


@FLOW.stage(idempotent=True)
def post_live_migration(ctx: Any, state: moves.MoveState) -> None:
    """The driver removes what the guest left here (its files, unless
    the destination shares them)."""
    state.compute.driver.post_live_migration(
        ctx, state.instance, state.block_device_info,
        migrate_data=state.migrate_data)
