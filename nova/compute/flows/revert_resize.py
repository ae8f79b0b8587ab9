"""compute.revert_resize: the destination's part of reverting a resize
or cold migration - destroy the guest the move made here (an RPC call
from conductor.revert_resize, or from the revert of a failed
conductor.resize_instance).  ``compute.finish_revert_resize`` on the
source then brings the original back.

Failure: nothing to revert; the error goes back to the conductor.
Interrupted: resumed at restart (destroying a guest that is gone is a
no-op).  The conductor's call to the killed process fails when its
heartbeats stop, and the conductor calls again (see
conductor.revert_resize): the new call waits for this recovery (the
instance's lock), finds the work done and answers, and the conductor
then calls the source.  The recovered run answers nobody and calls no
other host, so the source's part runs once, from the conductor.
"""

from __future__ import annotations

from typing import Any

from nova.compute.flows import base, moves
from nova.flow import RESUME, Flow, stage

FLOW = Flow('compute.revert_resize', '1.0', moves.MoveState,
            on_interrupt=RESUME, subject=moves.subject,
            load_state=moves.load_state,
            doc='Destroy the destination guest of a move being reverted.')
FLOW.stages(
    stage('update_migration_reverting', moves.migration_status(
        'reverting', "The migration is 'reverting'.")),
    stage('load_network_info', base.load_network_info),
    'load_block_device_info',
    'destroy_guest',
)


@FLOW.stage(idempotent=True)
def load_block_device_info(ctx: Any, state: moves.MoveState) -> None:
    """Read the instance's volumes for the driver."""
    state.block_device_info = moves.block_device_info(ctx, state)


@FLOW.stage(idempotent=True)
def destroy_guest(ctx: Any, state: moves.MoveState) -> None:
    """Destroy the guest here (not on a resize within one host: the
    source's guest is this one)."""
    if state.migration['source_compute'] == state.compute.host:
        return
    state.compute.driver.destroy(ctx, state.instance, state.network_info,
                                 block_device_info=state.block_device_info)
