"""conductor.revert_resize: revert a resize or cold migration - the
destination destroys the guest the move made there
(``compute.revert_resize``), then the source takes the instance back
with its old flavor and starts the original guest
(``compute.finish_revert_resize``), both RPC calls.

Failure: a revert goes on to the end or stops; nothing of it is
undone.  The fault is recorded, the instance goes to ERROR and the
migration to 'error'; each host finishes its missed part when its
nova-compute starts again (ComputeManager.finish_pending_move_reverts:
the source takes the instance back, the destination destroys its
guest), or an admin can rebuild or delete it.
Interrupted (nova-conductor died): resumed at restart; both hosts' flows
are idempotent.
"""

from __future__ import annotations

from typing import Any

from nova.conductor.flows import base
from nova.conductor.flows.confirm_resize import (
    ConfirmResizeState,
    load_state,
    set_migration_error,
    subject,
)
from nova.flow import RESUME, Flow

FLOW = Flow('conductor.revert_resize', '1.0', ConfirmResizeState,
            on_interrupt=RESUME, subject=subject, load_state=load_state,
            doc='Revert a resize or cold migration.')
FLOW.stages(
    'revert_on_destination',
    'finish_revert_on_source',
)
FLOW.on_failure(base.record_fault, base.set_error, set_migration_error)


@FLOW.stage(idempotent=True)
def revert_on_destination(ctx: Any, state: ConfirmResizeState) -> None:
    """Destination: destroy the new guest (compute.revert_resize)."""
    state.conductor.compute_rpcapi.revert_resize(ctx, state.instance,
                                                 state.migration)


@FLOW.stage(idempotent=True)
def finish_revert_on_source(ctx: Any, state: ConfirmResizeState) -> None:
    """Source: take the instance back, start the original guest
    (compute.finish_revert_resize)."""
    state.conductor.compute_rpcapi.finish_revert_resize(
        ctx, state.instance, state.migration)
