"""compute.finish_resize: the destination's part of a resize or cold
migration - take the instance and start its guest from the moved disks
(an RPC call from conductor.resize_instance).  The instance then waits
in VERIFY_RESIZE (vm_state RESIZED) for its user's confirm or revert.

The instance's ports are bound to this host (``binding:host_id``,
``setup_networks_on_host``) before its guest starts here.

Failure: a guest created here is destroyed, the ports are bound to the
source again, and the error goes back to the conductor, which reverts
the move; its revert gives the instance back to the source
(``compute.finish_revert_resize`` writes the host, node and flavor
back, and binds the ports there too), so ``update_resize_finish`` has
no revert of its own.

Interrupted (nova-compute died): the same at restart.  The point of no
return is ``update_resized``: once the instance is RESIZED the move is
done, and only the user's revert undoes it.
"""

from __future__ import annotations

from typing import Any

from nova.compute import power_state, task_states, vm_states
from nova.compute.flows import base, moves
from nova.flow import REVERT, Flow, stage

FLOW = Flow('compute.finish_resize', '1.1', moves.MoveState,
            changes={'1.1': 'Stage setup_networks_on_host added: the '
                            "instance's ports are bound to this host "
                            '(reverted: bound to the source again).'},
            on_interrupt=REVERT, subject=moves.subject,
            load_state=moves.load_state,
            point_of_no_return='update_resized',
            doc='Start the moved guest on the destination; VERIFY_RESIZE.')
FLOW.stages(
    'update_resize_finish',
    'setup_networks_on_host',
    stage('load_network_info', base.load_network_info),
    'load_block_device_info',
    'finish_migration',
    'update_resized',
)


@FLOW.stage(transactional=True)
def update_resize_finish(ctx: Any, state: moves.MoveState) -> None:
    """The instance is on this host and node with the new flavor; task
    RESIZE_FINISH."""
    base.instance_update(
        ctx, state, expected_task_state=task_states.RESIZE_MIGRATED,
        task_state=task_states.RESIZE_FINISH, host=state.compute.host,
        node=state.migration['dest_node'],
        **moves.flavor_values(state.flavor))


@FLOW.stage(idempotent=True)
def setup_networks_on_host(ctx: Any, state: moves.MoveState) -> None:
    """Bind the instance's ports to this host."""
    moves.bind_ports(ctx, state, state.compute.host)


@FLOW.revert('setup_networks_on_host')
def bind_ports_to_source(ctx: Any, state: moves.MoveState,
                         failure: Any) -> None:
    moves.bind_ports(ctx, state, state.migration['source_compute'])


@FLOW.stage(idempotent=True)
def load_block_device_info(ctx: Any, state: moves.MoveState) -> None:
    """Read the instance's volumes for the driver."""
    state.block_device_info = moves.block_device_info(ctx, state)


@FLOW.stage
def finish_migration(ctx: Any, state: moves.MoveState) -> None:
    """Create the guest from the moved disks; start it if it ran before."""
    state.compute.driver.finish_migration(
        ctx, state.migration, state.instance, state.disk_info,
        state.network_info, state.image_meta,
        state.migration['old_instance_type_id'] !=
        state.migration['new_instance_type_id'], None,
        block_device_info=state.block_device_info,
        power_on=state.instance.get('vm_state') != vm_states.STOPPED)


@FLOW.revert('finish_migration')
def destroy_guest(ctx: Any, state: moves.MoveState, failure: Any) -> None:
    if state.migration['source_compute'] == state.compute.host:
        # A resize on one host: the source's guest is this one, and the
        # source's revert brings it back as it was.
        return
    state.compute.driver.destroy(ctx, state.instance, state.network_info,
                                 block_device_info=state.block_device_info)


@FLOW.stage(transactional=True)
def update_resized(ctx: Any, state: moves.MoveState) -> None:
    """RESIZED (VERIFY_RESIZE), task cleared; the migration is
    'finished'."""
    running = state.instance.get('vm_state') != vm_states.STOPPED
    base.instance_update(
        ctx, state, expected_task_state=task_states.RESIZE_FINISH,
        vm_state=vm_states.RESIZED, task_state=None,
        power_state=power_state.RUNNING if running else
        power_state.SHUTDOWN)
    moves.set_migration(ctx, state, 'finished')
