"""compute.rollback_live_migration_at_destination: undo the destination's
preparation of a live migration that failed or was aborted - the
driver removes what it prepared and the claim is dropped (the source's
share passes back from the migration to the instance).  An RPC call
from the revert of conductor.live_migrate_instance's
``pre_live_migration`` stage.

Failure: nothing to revert; the error goes back to the conductor, which
sets the instance to ERROR with the fault.  Interrupted: resumed at
restart.  Every stage can run again.
"""

from __future__ import annotations

from typing import Any

from nova.compute.flows import base, moves, pre_live_migration
from nova.flow import RESUME, Flow, stage

FLOW = Flow('compute.rollback_live_migration_at_destination', '1.0',
            moves.MoveState, on_interrupt=RESUME, subject=moves.subject,
            load_state=moves.load_state,
            doc='Undo the destination side of a failed live migration.')
FLOW.stages(
    stage('load_network_info', base.load_network_info),
    'load_block_device_info',
    'rollback_live_migration_at_destination',
    'drop_move_claim',
)


@FLOW.stage(idempotent=True)
def load_block_device_info(ctx: Any, state: moves.MoveState) -> None:
    """Read the instance's volumes for the driver."""
    state.block_device_info = moves.block_device_info(ctx, state)


@FLOW.stage(idempotent=True)
def rollback_live_migration_at_destination(ctx: Any,
                                           state: moves.MoveState) -> None:
    """The driver removes what it prepared here."""
    pre_live_migration.rollback_driver(ctx, state)


@FLOW.stage(idempotent=True)
def drop_move_claim(ctx: Any, state: moves.MoveState) -> None:
    """Release this host's claim; the source's passes back from the
    migration to the instance (one transaction)."""
    state.compute.resource_tracker.drop_move_claim(ctx, state.instance,
                                                   state.migration)
