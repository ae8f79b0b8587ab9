"""compute.unconfigure_instance: undo a configured instance.

A configured instance (compute.configure_instance succeeded: BUILDING,
task ``spawning``, on this host, its guest defined but not started) is
undone when its power-on will not come: nova-conductor reverts the
multi-create it belongs to (a cast, so a host that is down does it when
it is back), or the host's periodic check finds it configured for
longer than ``[compute] configured_instance_timeout`` (the conductor
died and could not revert).  The guest is undefined, the volumes
detached (those the build created deleted), the network deallocated,
the claim released - as the configure flow's reverts - and the
instance goes to ERROR with the reason as its fault and its create
action finished as Error.

``check_configured`` refuses an instance that is not configured here
(powered on meanwhile, deleted, rescheduled, already undone): nothing
is touched.

Failure: nothing to revert (each step is an undo); the fault is recorded
and the instance set to ERROR, so a delete cleans up whatever is left.

Interrupted: resumed at restart; every step is idempotent.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from oslo_log import log as logging

from nova import exception
from nova.compute import task_states, vm_states
from nova.compute.flows import base, shared
from nova.compute.flows import build_instance as build
from nova.compute.flows import configure_instance as configure
from nova.flow import RESUME, Flow, contract, stage

LOG = logging.getLogger(__name__)


@dataclasses.dataclass
class UnconfigureState(build.BuildState):
    """Contract 1.0 of compute.unconfigure_instance: the build's state
    and why the instance is undone."""

    #: Why the instance is undone (its fault's message).
    reason: str = dataclasses.field(default='',
                                    metadata=contract.READ_ONLY)


def _load_state(ctx: Any, run: Any,
                compute: base.ComputeServices) -> UnconfigureState:
    loaded = build._load_state(ctx, run, compute)
    return UnconfigureState(**{
        f.name: getattr(loaded, f.name)
        for f in dataclasses.fields(build.BuildState)},
        reason='its boot was interrupted while it was undone')


FLOW = Flow('compute.unconfigure_instance', '1.0', UnconfigureState,
            on_interrupt=RESUME, subject=build._subject,
            load_state=_load_state,
            doc='Undo a configured instance whose power-on will not come.')
FLOW.stages(
    'check_configured',
    stage('driver_unconfigure', configure.undo(configure.unconfigure_guest)),
    stage('detach_block_devices', configure.undo(build.detach_block_devices)),
    stage('delete_created_volumes',
          configure.undo(build.delete_created_volumes)),
    stage('forget_group_check', configure.undo(build.forget_group_check)),
    stage('deallocate_network', configure.undo(build.deallocate_network)),
    stage('release_claim', configure.undo(build.release_claim)),
    'update_error',
)
FLOW.on_failure('record_fault', 'set_error')


@FLOW.stage(idempotent=True)
def check_configured(ctx: Any, state: UnconfigureState) -> None:
    """The instance is configured here (BUILDING, spawning, on this
    host, never launched); else nothing is done."""
    uuid = state.instance['uuid']
    current = state.compute.db.instance_get_by_uuid(ctx, uuid)
    if (current.get('host'), current.get('vm_state'),
            current.get('task_state'), current.get('launched_at')) != (
            state.compute.host, vm_states.BUILDING, task_states.SPAWNING,
            None):
        raise exception.InstanceNotConfigured(
            instance_uuid=uuid, host=state.compute.host,
            actual=f'{current.get("vm_state")}/{current.get("task_state")}'
                   f' on {current.get("host")}')
    state.instance.update(current)
    state.block_device_info = shared.block_device_info(
        state.block_device_mapping)
    state.network_info = state.compute.network.get_instance_nw_info(
        ctx, uuid)


@FLOW.failure_handler
def record_fault(ctx: Any, state: UnconfigureState, failure: Any) -> None:
    """The fault, unless the instance was not configured here."""
    configure.record_fault(ctx, state, failure)


@FLOW.failure_handler
def set_error(ctx: Any, state: UnconfigureState, failure: Any) -> None:
    """ERROR after a failed undo, so a delete cleans up what is left."""
    if configure.not_configured_here(failure):
        LOG.info('Instance %s is not configured on %s; nothing to undo',
                 state.instance['uuid'], state.compute.host)
        return
    base.set_error(ctx, state, failure)


@FLOW.stage(transactional=True)
def update_error(ctx: Any, state: UnconfigureState) -> None:
    """ERROR with the reason as the fault; the create action finished
    as Error."""
    base.instance_update(ctx, state, expected_task_state=task_states.SPAWNING,
                         vm_state=vm_states.ERROR, task_state=None)
    state.compute.db.instance_fault_create(
        ctx, state.instance['uuid'],
        exception.NovaException(state.reason), state.compute.host)
    db = state.compute.db
    for action in db.actions_get(ctx, state.instance['uuid']):
        if action['action'] == 'create' and action['finish_time'] is None:
            db.action_finish(ctx, state.instance['uuid'],
                             action['request_id'], message='Error')
