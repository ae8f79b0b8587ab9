"""conductor.confirm_resize: confirm a resize or cold migration - the
source deletes what the move left there and gives back what the
migration held (``compute.confirm_resize``, an RPC call); the instance
is then ACTIVE (or STOPPED, as it was) on its new host.

Started by the user's confirmResize, or by the destination's
``[DEFAULT] resize_confirm_window`` periodic task.

Failure: a confirm cannot be undone; the fault is recorded, the
instance goes to ERROR (on its new host, which has it) and the migration
to 'error'.  Interrupted
(nova-conductor died): resumed at restart; the source's flow is
idempotent, so calling it again is safe.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from nova.conductor.flows import base
from nova.flow import RESUME, Flow, contract


@dataclasses.dataclass
class ConfirmResizeState:
    """Contract 1.0 of conductor.confirm_resize and
    conductor.revert_resize."""

    #: The conductor services the stages call (DB, scheduler, compute RPC API).
    conductor: base.ConductorServices = dataclasses.field(
        metadata=contract.READ_ONLY)
    #: The instance (its database row as a dict).
    instance: dict[str, Any] = dataclasses.field(metadata=contract.READ_ONLY)
    #: The migration record being confirmed or reverted.
    migration: dict[str, Any] = dataclasses.field(metadata=contract.READ_ONLY)


def subject(state: ConfirmResizeState) -> str:
    return state.instance['uuid']


def load_state(ctx: Any, run: Any,
               services: base.ConductorServices) -> ConfirmResizeState:
    instance = services.db.instance_get_by_uuid(ctx, run.subject)
    migration = base.newest_migration(ctx, services, run.subject)
    return ConfirmResizeState(conductor=services, instance=instance,
                              migration=migration)


def set_migration_error(ctx: Any, state: ConfirmResizeState,
                        failure: Any) -> None:
    """The migration is 'error': the hosts' start-up finishes what their
    part missed (see ComputeManager.finish_pending_move_reverts)."""
    state.conductor.db.migration_update(ctx, state.migration['uuid'],
                                        {'status': 'error'})


FLOW = Flow('conductor.confirm_resize', '1.0', ConfirmResizeState,
            on_interrupt=RESUME, subject=subject, load_state=load_state,
            doc='Confirm a resize or cold migration.')
FLOW.stages(
    'confirm_on_source',
)
FLOW.on_failure(base.record_fault, base.set_error, set_migration_error)


@FLOW.stage(idempotent=True)
def confirm_on_source(ctx: Any, state: ConfirmResizeState) -> None:
    """Source: delete the old guest, free its resources
    (compute.confirm_resize)."""
    state.conductor.compute_rpcapi.confirm_resize(ctx, state.instance,
                                                  state.migration)
