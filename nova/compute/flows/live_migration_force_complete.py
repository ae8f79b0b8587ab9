"""compute.live_migration_force_complete: the user's request to finish a
running live migration now (a cast to the source host from the server
migrations API, which recorded the ``live_migration_force_complete``
action).  The driver makes it converge (libvirt upstream pauses the
guest for its last pages; the fake finishes at once); the migration
still ends through the conductor's stages.

Runs beside the live migration, not after it: it does not wait for the
instance's lock, which that migration holds.

Failure: nothing to revert (the migration goes on at its own pace); the
error is in the action's events.  Interrupted: reverted (nothing to
revert).
"""

from __future__ import annotations

from typing import Any

from nova.compute.flows import moves
from nova.flow import REVERT, Flow

FLOW = Flow('compute.live_migration_force_complete', '1.0',
            moves.MoveState, on_interrupt=REVERT, subject=moves.subject,
            load_state=moves.load_state,
            doc='Have a running live migration finish now.')
FLOW.stages(
    'force_complete',
)


@FLOW.stage
def force_complete(ctx: Any, state: moves.MoveState) -> None:
    """The driver finishes the migration now."""
    state.compute.driver.live_migration_force_complete(state.instance)
