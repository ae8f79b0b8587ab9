"""compute.power_on_instance: the power-on phase of a boot in phases.

nova-conductor calls it on each host once every instance of a
multi-create is configured (compute.configure_instance).  It starts the
guest the configure phase defined (``driver.power_on_configured``) and
sets the instance ACTIVE, running, launched now - as the build's
``update_active`` - and the create action is finished with the run.

Failure: before ``update_active``, ``check_configured``'s revert undoes
the whole configured instance as compute.configure_instance's reverts
would (guest undefined, volumes detached, created volumes deleted,
network deallocated, claim released); then ``record_fault`` and the
build's ``reschedule_or_error``: another host (a one-instance build
there), or ERROR.  The error goes back to nova-conductor.  An instance
that is not (or no longer) configured here - unconfigured by the
periodic check, deleted, rescheduled - is refused by
``check_configured`` and left alone.

Point of no return: ``update_active``, as for the build: once the
instance is ACTIVE a failing ``notify_usage_end`` is recorded and
nothing is reverted.

Interrupted (nova-compute died mid-power-on): before ``update_active``
committed, the same revert runs at restart and the build is
rescheduled; after it, the run is resumed.
"""

from __future__ import annotations

from typing import Any

from oslo_log import log as logging

from nova import exception
from nova.compute import task_states, vm_states
from nova.compute.flows import base, shared
from nova.compute.flows import build_instance as build
from nova.compute.flows import configure_instance as configure
from nova.compute.flows.build_instance import BuildState
from nova.flow import REVERT, Flow, stage

LOG = logging.getLogger(__name__)

FLOW = Flow('compute.power_on_instance', '1.0', BuildState,
            on_interrupt=REVERT, subject=build._subject,
            load_state=build._load_state,
            point_of_no_return='update_active',
            doc='Power on an instance compute.configure_instance '
                'configured: the last phase of a boot in phases.')
FLOW.stages(
    'check_configured',
    stage('load_network_info', base.load_network_info),
    'driver_power_on',
    stage('update_active', build.update_active, transactional=True),
    stage('notify_usage_end', build.notify_usage_end, optional=True,
          idempotent=True),
)
FLOW.on_failure('record_fault', 'reschedule_or_error')


@FLOW.stage
def check_configured(ctx: Any, state: BuildState) -> None:
    """The instance is configured here: BUILDING, spawning, on this
    host (read from the database)."""
    uuid = state.instance['uuid']
    current = state.compute.db.instance_get_by_uuid(ctx, uuid)
    if (current.get('host'), current.get('vm_state'),
            current.get('task_state')) != (
            state.compute.host, vm_states.BUILDING, task_states.SPAWNING):
        raise exception.InstanceNotConfigured(
            instance_uuid=uuid, host=state.compute.host,
            actual=f'{current.get("vm_state")}/{current.get("task_state")}'
                   f' on {current.get("host")}')
    state.instance.update(current)
    state.block_device_info = shared.block_device_info(
        state.block_device_mapping or
        state.compute.db.block_device_mapping_get_all_by_instance(
            ctx, uuid))


@FLOW.revert('check_configured')
def undo_configure(ctx: Any, state: BuildState, failure: Any) -> None:
    """Undo the configured instance (only one this run found configured:
    the revert of a stage that completed)."""
    configure.undo_configure(ctx, state, failure)


@FLOW.failure_handler
def record_fault(ctx: Any, state: BuildState, failure: Any) -> None:
    """The fault, unless the instance was not configured here."""
    configure.record_fault(ctx, state, failure)


@FLOW.failure_handler
def reschedule_or_error(ctx: Any, state: BuildState, failure: Any) -> None:
    """The build's reschedule rules, for an instance configured here."""
    if configure.not_configured_here(failure):
        LOG.info('Instance %s is not configured on %s; not powered on',
                 state.instance['uuid'], state.compute.host)
        return
    build.reschedule_or_error(ctx, state, failure)


@FLOW.stage
def driver_power_on(ctx: Any, state: BuildState) -> None:
    """Start the guest compute.configure_instance defined."""
    state.compute.driver.power_on_configured(
        ctx, state.instance, state.network_info,
        block_device_info=state.block_device_info)
