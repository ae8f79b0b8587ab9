"""compute.pre_live_migration: the destination's preparation for a live
migration - claim the instance's flavor here and have the driver ready
to receive the guest (an RPC call from conductor.live_migrate_instance;
the answer is the migrate data the source's driver needs).

The local network service binds no port to a host, so there is no
network step: the guest's VIFs are plugged by the driver with it.

Failure: the driver's preparation is rolled back and the claim dropped
(the source's allocation passes back from the migration to the
instance), and the error goes back to the conductor, which reverts the
move.

Interrupted (nova-compute died): the same reverts at restart; the
conductor's call has failed meanwhile and it has reverted the move.
"""

from __future__ import annotations

from typing import Any

from nova.compute.flows import base, moves
from nova.flow import REVERT, Flow, stage

FLOW = Flow('compute.pre_live_migration', '1.0', moves.MoveState,
            on_interrupt=REVERT, subject=moves.subject,
            load_state=moves.load_state,
            doc='Claim and prepare the destination of a live migration.')
FLOW.stages(
    stage('update_migration_preparing', moves.migration_status(
        'preparing', "The migration is 'preparing'.")),
    'claim_resources',
    stage('load_network_info', base.load_network_info),
    'load_block_device_info',
    'pre_live_migration',
)


@FLOW.stage
def claim_resources(ctx: Any, state: moves.MoveState) -> None:
    """Claim the instance's flavor on this node; the source's claim
    passes to the migration in the same transaction."""
    state.compute.resource_tracker.move_claim(
        ctx, state.instance, state.migration, state.migration['dest_node'],
        state.instance['flavor'])


@FLOW.revert('claim_resources')
def drop_move_claim(ctx: Any, state: moves.MoveState, failure: Any) -> None:
    state.compute.resource_tracker.drop_move_claim(ctx, state.instance,
                                                   state.migration)


@FLOW.stage(idempotent=True)
def load_block_device_info(ctx: Any, state: moves.MoveState) -> None:
    """Read the instance's volumes for the driver."""
    state.block_device_info = moves.block_device_info(ctx, state)


@FLOW.stage
def pre_live_migration(ctx: Any, state: moves.MoveState) -> None:
    """The driver makes ready to receive the guest (its files, for a
    block migration); its migrate data goes to the source."""
    state.migrate_data = state.compute.driver.pre_live_migration(
        ctx, state.instance, state.block_device_info, state.network_info,
        None, state.migrate_data)


@FLOW.revert('pre_live_migration')
def rollback_at_destination(ctx: Any, state: moves.MoveState,
                            failure: Any) -> None:
    rollback_driver(ctx, state)


def rollback_driver(ctx: Any, state: moves.MoveState) -> None:
    """Undo the driver's preparation here.  Without the migrate data (a
    run recovered after a crash) the disks are kept: this host may share
    them with the source, whose guest still uses them."""
    data = state.migrate_data
    state.compute.driver.rollback_live_migration_at_destination(
        ctx, state.instance, state.network_info, state.block_device_info,
        destroy_disks=bool(data) and not data.get('is_shared_instance_path'),
        migrate_data=data)
