"""conductor.revert_resize: revert a resize or cold migration - the
destination destroys the guest the move made there
(``compute.revert_resize``), then the source takes the instance back
with its old flavor and starts the original guest
(``compute.finish_revert_resize``), both RPC calls.  The source's part
starts only once the destination's has ended: with shared storage, the
two guests must never run at once (upstream's revert is the same chain:
destination, then a cast to the source).

A destination that does not answer is waited for.  Its call fails with
MessagingTimeout when its heartbeats stop (``[DEFAULT]
rpc_response_timeout``): its nova-compute is down, or died inside its
part.  Either way the revert the user asked for is still owed, and only
this conductor is there to finish it (the destination cannot answer a
call made to a process that is gone, and the source is not told), so
it is called once more, this time without the heartbeat watch: the call
waits in its queue up to ``[DEFAULT] long_rpc_timeout`` (as a live
migration's rollback and check_instance_exists do; see
ComputeAPI._waiting_call).  The restarted destination first finishes
its interrupted run (recovery holds the instance's lock before its RPC
server starts), then answers the call: its part is idempotent, so it
finds its work done.  The conductor alone calls the source, so the
source's part runs once.

Failure (an error from a host, or a destination still silent after
``long_rpc_timeout``): a revert goes on to the end or stops; nothing of
it is undone.  The fault is recorded, the instance goes to ERROR and the
migration to 'error'; each host finishes its missed part when its
nova-compute starts again (ComputeManager.finish_pending_move_reverts:
the source takes the instance back, the destination destroys its
guest), or an admin can rebuild or delete it.
Interrupted (nova-conductor died): resumed at restart; both hosts' flows
are idempotent.
"""

from __future__ import annotations

from typing import Any

import oslo_messaging as messaging
from oslo_log import log as logging

from nova.conductor.flows import base
from nova.conductor.flows.confirm_resize import (
    ConfirmResizeState,
    load_state,
    set_migration_error,
    subject,
)
from nova.flow import RESUME, Flow

LOG = logging.getLogger(__name__)

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
    """Destination: destroy the new guest (compute.revert_resize); a
    destination that does not answer is called once more, the call
    waiting for it up to ``[DEFAULT] long_rpc_timeout``."""
    rpcapi = state.conductor.compute_rpcapi
    try:
        rpcapi.revert_resize(ctx, state.instance, state.migration)
    except messaging.MessagingTimeout:
        LOG.warning('The destination %s of the revert of %s does not '
                    'answer (down, or died in its part); calling it again, '
                    'waiting for it to be back',
                    state.migration['dest_compute'], state.instance['uuid'])
        rpcapi.revert_resize(ctx, state.instance, state.migration,
                             wait_for_host=True)


@FLOW.stage(idempotent=True)
def finish_revert_on_source(ctx: Any, state: ConfirmResizeState) -> None:
    """Source: take the instance back, start the original guest
    (compute.finish_revert_resize)."""
    state.conductor.compute_rpcapi.finish_revert_resize(
        ctx, state.instance, state.migration)
