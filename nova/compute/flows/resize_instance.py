"""compute.resize_instance: the source's part of a resize or cold
migration - power the guest off and hand its disks to the destination
(an RPC call from conductor.resize_instance; the answer is the disk
information the destination's ``compute.finish_resize`` needs).

Failure: the guest is brought back on this host as it was (powered on
again if it was running) and the error goes back to the conductor, which
reverts the move (its revert of this stage runs
``compute.finish_revert_resize`` here, which puts the instance's record
back too).

Interrupted (nova-compute died): the same revert at restart.
"""

from __future__ import annotations

from typing import Any

from nova.compute import task_states, vm_states
from nova.compute.flows import base, moves
from nova.flow import REVERT, Flow, stage

FLOW = Flow('compute.resize_instance', '1.0', moves.MoveState,
            on_interrupt=REVERT, subject=moves.subject,
            load_state=moves.load_state,
            doc='Power off the source guest of a move and hand over its '
                'disks.')
FLOW.stages(
    'update_resize_migrating',
    stage('load_network_info', base.load_network_info),
    'load_block_device_info',
    'migrate_disk_and_power_off',
    'update_resize_migrated',
)


@FLOW.stage(transactional=True)
def update_resize_migrating(ctx: Any, state: moves.MoveState) -> None:
    """Task RESIZE_MIGRATING; the migration is 'migrating'."""
    base.instance_update(ctx, state,
                         expected_task_state=task_states.RESIZE_PREP,
                         task_state=task_states.RESIZE_MIGRATING)
    moves.set_migration(ctx, state, 'migrating')


@FLOW.stage(idempotent=True)
def load_block_device_info(ctx: Any, state: moves.MoveState) -> None:
    """Read the instance's volumes for the driver."""
    state.block_device_info = moves.block_device_info(ctx, state)


@FLOW.stage
def migrate_disk_and_power_off(ctx: Any, state: moves.MoveState) -> None:
    """Power the guest off and move its disks to the destination."""
    state.disk_info = state.compute.driver.migrate_disk_and_power_off(
        ctx, state.instance, state.migration['dest_host'] or
        state.migration['dest_compute'], state.flavor, state.network_info,
        block_device_info=state.block_device_info)


@FLOW.revert('migrate_disk_and_power_off')
def restore_guest(ctx: Any, state: moves.MoveState, failure: Any) -> None:
    state.compute.driver.finish_revert_migration(
        ctx, state.instance, state.network_info, state.migration,
        block_device_info=state.block_device_info,
        power_on=state.instance.get('vm_state') != vm_states.STOPPED)


@FLOW.stage(transactional=True)
def update_resize_migrated(ctx: Any, state: moves.MoveState) -> None:
    """Task RESIZE_MIGRATED; the migration is 'post-migrating'."""
    base.instance_update(ctx, state,
                         expected_task_state=task_states.RESIZE_MIGRATING,
                         task_state=task_states.RESIZE_MIGRATED)
    moves.set_migration(ctx, state, 'post-migrating')
