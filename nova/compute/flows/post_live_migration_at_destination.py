"""compute.post_live_migration_at_destination: the destination takes the
instance after a live migration - its record says it is here, the
driver finishes (a persistent definition of the guest), the source's
share of the resources is given back, and the migration is 'completed'
(an RPC call from conductor.live_migrate_instance, past its point of no
return).  The instance keeps its vm_state (ACTIVE or PAUSED); its task
is cleared.  Its ports are bound to this host (``binding:host_id``,
``setup_networks_on_host``) as soon as its record says it is here.

Failure: nothing is reverted (the guest runs here); the error goes back
to the conductor, which records it and finishes the move's records
itself.  Interrupted: resumed at restart; every stage can run again.
"""

from __future__ import annotations

from typing import Any

from nova.compute import power_state, task_states, vm_states
from nova.compute.flows import base, moves
from nova.flow import RESUME, Flow, stage

FLOW = Flow('compute.post_live_migration_at_destination', '1.1',
            moves.MoveState,
            changes={'1.1': 'Stage setup_networks_on_host added: the '
                            "instance's ports are bound to this host."},
            on_interrupt=RESUME, subject=moves.subject,
            load_state=moves.load_state,
            doc='Take the instance on the destination of a live '
                'migration.')
FLOW.stages(
    'update_instance_host',
    'setup_networks_on_host',
    stage('load_network_info', base.load_network_info),
    'load_block_device_info',
    'post_live_migration_at_destination',
    'release_source_claim',
    'update_migrated',
)


@FLOW.stage(transactional=True, idempotent=True)
def update_instance_host(ctx: Any, state: moves.MoveState) -> None:
    """The instance is on this host and node."""
    base.instance_update(ctx, state, host=state.compute.host,
                         node=state.migration['dest_node'])


@FLOW.stage(idempotent=True)
def setup_networks_on_host(ctx: Any, state: moves.MoveState) -> None:
    """Bind the instance's ports to this host."""
    moves.bind_ports(ctx, state, state.compute.host)


@FLOW.stage(idempotent=True)
def load_block_device_info(ctx: Any, state: moves.MoveState) -> None:
    """Read the instance's volumes for the driver."""
    state.block_device_info = moves.block_device_info(ctx, state)


@FLOW.stage
def post_live_migration_at_destination(ctx: Any,
                                       state: moves.MoveState) -> None:
    """The driver takes the guest for good."""
    state.compute.driver.post_live_migration_at_destination(
        ctx, state.instance, state.network_info,
        block_migration=bool(state.block_migration),
        block_device_info=state.block_device_info)


@FLOW.stage(idempotent=True)
def release_source_claim(ctx: Any, state: moves.MoveState) -> None:
    """Give back what the migration held on the source."""
    finish_records(ctx, state.compute.db, state.migration)


@FLOW.stage(transactional=True, idempotent=True)
def update_migrated(ctx: Any, state: moves.MoveState) -> None:
    """Task cleared, the power state the guest had; the migration is
    'completed'."""
    paused = state.instance.get('vm_state') == vm_states.PAUSED
    base.instance_update(
        ctx, state, expected_task_state=(task_states.MIGRATING, None),
        task_state=None,
        power_state=power_state.PAUSED if paused else power_state.RUNNING)
    moves.set_migration(ctx, state, 'completed')


def finish_records(ctx: Any, db: Any, migration: dict[str, Any]) -> None:
    """Release the source's share (held by the migration); idempotent."""
    db.allocation_release(ctx, migration['uuid'])
