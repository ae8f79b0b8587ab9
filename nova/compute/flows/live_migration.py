"""compute.live_migration: the source's part of a live migration - the
driver moves the running guest to the destination (an RPC call from
conductor.live_migrate_instance).  The migration is 'running' meanwhile,
which is when the user may force it to complete or abort it (casts to
this host: ``compute.live_migration_force_complete`` and
``compute.live_migration_abort``).

The driver's callbacks do nothing here: on success the conductor's next
stages finish the move (``compute.post_live_migration_at_source`` here,
``compute.post_live_migration_at_destination`` there); on failure the
driver has left the guest running here and this flow's failure goes to
the conductor, which rolls the destination back.

Failure (an abort too): nothing to revert here - a driver whose
live_migration fails keeps the guest running on this host.  The error
goes back to the conductor, which reverts the move ('cancelled' for an
abort, 'error' otherwise).

Point of no return: ``live_migration``, once the guest has left this
host.  It can leave although the driver call did not return (this
process died while the driver was moving it), so its check asks the
hypervisor: a run interrupted in it is resumed when the guest is gone
(``update_migration_copied`` then records it) and reverted - nothing to
undo - when it is still here.
"""

from __future__ import annotations

from typing import Any

from oslo_log import log as logging

from nova.compute.flows import base, moves
from nova.flow import REVERT, Flow, stage

LOG = logging.getLogger(__name__)

FLOW = Flow('compute.live_migration', '2.0', moves.MoveState,
            on_interrupt=REVERT, subject=moves.subject,
            load_state=moves.load_state,
            point_of_no_return='live_migration',
            changes={'2.0': 'The point of no return is live_migration (the '
                             'guest left its source, checked when the stage '
                             'raised or was cut short), no longer '
                             'update_migration_copied: a failure or crash '
                             'after the guest left finishes the move.'},
            doc='Move the running guest to the destination.')
FLOW.stages(
    'update_migration_running',
    stage('load_network_info', base.load_network_info),
    'load_block_device_info',
    'live_migration',
    'update_migration_copied',
)


@FLOW.stage(transactional=True)
def update_migration_running(ctx: Any, state: moves.MoveState) -> None:
    """The migration is 'running' - unless an abort cancelled it while it
    was queued or preparing (a compare-and-swap: then this fails and the
    move is reverted)."""
    values = {'status': 'running'}
    state.compute.db.migration_update(
        ctx, state.migration['uuid'], values,
        expected_status=('accepted', 'queued', 'preparing'))
    state.migration.update(values)


@FLOW.stage(idempotent=True)
def load_block_device_info(ctx: Any, state: moves.MoveState) -> None:
    """Read the instance's volumes for the driver."""
    state.block_device_info = moves.block_device_info(ctx, state)


@FLOW.stage
def live_migration(ctx: Any, state: moves.MoveState) -> None:
    """The driver moves the running guest to the destination."""
    state.compute.driver.live_migration(
        ctx, state.instance, state.migration['dest_compute'],
        _moved, _not_moved, block_migration=bool(state.block_migration),
        migrate_data=state.migrate_data)


def _moved(ctx: Any, instance: Any, dest: str, block_migration: bool,
           migrate_data: Any) -> None:
    """The driver's post_method: the conductor's next stages finish."""


def _not_moved(ctx: Any, instance: Any, dest: str,
               migrate_data: Any) -> None:
    """The driver's recover_method: the conductor rolls back."""


@FLOW.verify('live_migration')
def guest_left(ctx: Any, state: moves.MoveState) -> bool:
    """Has the guest left this host?"""
    return not state.compute.driver.instance_exists(state.instance)


@FLOW.stage(transactional=True)
def update_migration_copied(ctx: Any, state: moves.MoveState) -> None:
    """The guest runs on the destination: nothing is left to copy."""
    values = {'memory_remaining': 0, 'disk_remaining': 0}
    state.compute.db.migration_update(ctx, state.migration['uuid'], values)
    state.migration.update(values)

