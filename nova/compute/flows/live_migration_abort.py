"""compute.live_migration_abort: the user's abort of a live migration
(a cast to the source host from the server migrations API, which
recorded the ``live_migration_cancel`` action).

A migration not yet running (queued or preparing, 2.65) is cancelled in
its record: the source's ``compute.live_migration`` then refuses to
start it and the conductor reverts the move.  A running one is aborted
by the driver: its live_migration fails with the guest still on this
host, and the conductor reverts the move with the migration
'cancelled'.

Runs beside the live migration it aborts, not after it: it does not
wait for the instance's lock, which that migration holds.

Failure: nothing to revert (the migration goes on); the error is in the
action's events.  Interrupted: reverted (there is nothing to revert):
the migration it was to abort died with the process anyway.
"""

from __future__ import annotations

from typing import Any

from oslo_log import log as logging

from nova import exception
from nova.compute.flows import moves
from nova.flow import REVERT, Flow

LOG = logging.getLogger(__name__)

#: The statuses of a live migration not yet in the driver's hands.
NOT_STARTED = ('accepted', 'queued', 'preparing')

FLOW = Flow('compute.live_migration_abort', '1.0', moves.MoveState,
            on_interrupt=REVERT, subject=moves.subject,
            load_state=moves.load_state,
            doc='Abort a live migration under way.')
FLOW.stages(
    'cancel_queued_migration',
    'abort_running_migration',
)


@FLOW.stage(transactional=True)
def cancel_queued_migration(ctx: Any, state: moves.MoveState) -> None:
    """A migration not yet running is 'cancelled' (a compare-and-swap:
    one that started meanwhile is aborted by the next stage)."""
    if state.migration.get('status') not in NOT_STARTED:
        return
    try:
        state.compute.db.migration_update(
            ctx, state.migration['uuid'], {'status': 'cancelled'},
            expected_status=NOT_STARTED)
    except exception.UnexpectedMigrationStatusError as error:
        LOG.info('Live migration of %s started meanwhile: %s',
                 state.instance['uuid'], error)
        state.migration['status'] = 'running'
        return
    state.migration['status'] = 'cancelled'


@FLOW.stage
def abort_running_migration(ctx: Any, state: moves.MoveState) -> None:
    """The driver aborts the running migration."""
    if state.migration.get('status') == 'cancelled':
        return
    state.compute.driver.live_migration_abort(state.instance)
