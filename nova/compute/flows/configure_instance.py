"""compute.configure_instance: the configure phase of a boot in phases.

nova-conductor calls it on each host of a multi-create once every
instance of the request is reserved (conductor.build_instances'
``configure_on_hosts``), and powers the instances on only when all of
them are configured (``compute.power_on_instance``).  The stages are the
build's (nova/compute/flows/build_instance.py) up to and including the
block devices, then the guest is defined on the hypervisor but not
started (``driver.configure_guest``: the guest's disks, config drive and
metadata are prepared with it; a driver that cannot define a guest
without starting it keeps the arguments and spawns at power-on).  The
instance ends BUILDING, task ``spawning``, on this host: configured,
waiting for its power-on.

Failure: as the build's - every started stage is reverted newest first
(the guest undefined, volumes detached, the volumes the build created
deleted, the network deallocated, the claim released, also the claim
and ports nova-conductor made before the call, which this run owns from
``update_building`` on); then ``record_fault`` and the build's
``reschedule_or_error`` (another host, or ERROR).  The error goes back
to nova-conductor, which does not power the instance on.

A configured instance whose power-on never comes (nova-conductor died
and could not revert) is undone by the host's periodic check after
``[compute] configured_instance_timeout``: compute.unconfigure_instance.

Interrupted (nova-compute died mid-configure): the same reverts run at
restart from what the database and the hypervisor say, and the build is
rescheduled (the build's ``_load_state``).  There is no point of no
return: until the power-on, all of it can be undone.
"""

from __future__ import annotations

from typing import Any

from nova import exception
from nova.compute import task_states
from nova.compute.flows import base
from nova.compute.flows import build_instance as build
from nova.compute.flows.build_instance import BuildState
from nova.flow import REVERT, Flow, spec, stage

FLOW = Flow('compute.configure_instance', '1.0', BuildState,
            on_interrupt=REVERT, subject=build._subject,
            load_state=build._load_state,
            doc='Configure an instance on this host (the guest defined, '
                'not started): the first phase of a boot in phases.')
FLOW.stages(
    stage('check_instance_not_already_created',
          build.check_instance_not_already_created),
    stage('check_image_size', build.check_image_size),
    stage('notify_usage_start', build.notify_usage_start, optional=True),
    stage('update_building', build.update_building),
    stage('claim_resources', build.claim_resources, build.release_claim),
    stage('validate_instance_group_policy',
          build.validate_instance_group_policy, build.forget_group_check,
          optional=True),
    stage('allocate_network', build.allocate_network,
          build.deallocate_network),
    stage('create_volumes', build.create_volumes,
          build.delete_created_volumes),
    stage('prep_block_device', build.prep_block_device,
          build.detach_block_devices),
    stage('update_spawning', base.set_state(
        'update_spawning', task_state=task_states.SPAWNING,
        expected_task_state=None)),
    'configure_guest',
)
FLOW.on_failure(base.record_fault, build.reschedule_or_error)


@FLOW.stage
def configure_guest(ctx: Any, state: BuildState) -> None:
    """Define the guest on the hypervisor, not started."""
    state.compute.driver.configure_guest(
        ctx, state.instance, state.image_meta, state.injected_files,
        state.admin_password, None, network_info=state.network_info,
        block_device_info=state.block_device_info)


@FLOW.revert('configure_guest')
def unconfigure_guest(ctx: Any, state: BuildState, failure: Any) -> None:
    """Undefine the guest (idempotent: nothing there, nothing done)."""
    state.compute.driver.unconfigure_guest(
        ctx, state.instance, state.network_info,
        block_device_info=state.block_device_info)


def undo(revert: Any) -> Any:
    """A stage function running ``revert`` (one of this flow's reverts)
    as a step of its own, for compute.unconfigure_instance."""
    def step(ctx: Any, state: Any) -> None:
        revert(ctx, state, None)
    step.__name__ = revert.__name__
    step.__doc__ = revert.__doc__ or f'{revert.__name__} (an undo).'
    return spec.mark(step, idempotent=True)


def undo_configure(ctx: Any, state: BuildState, failure: Any) -> None:
    """Undo everything this flow did for a configured instance, newest
    first, as its reverts would: for compute.power_on_instance's revert
    and compute.unconfigure_instance.  Each step is idempotent and works
    from the database (the state of a later run)."""
    unconfigure_guest(ctx, state, failure)
    build.detach_block_devices(ctx, state, failure)
    build.delete_created_volumes(ctx, state, failure)
    build.forget_group_check(ctx, state, failure)
    build.deallocate_network(ctx, state, failure)
    build.release_claim(ctx, state, failure)


def not_configured_here(failure: Any) -> bool:
    """Whether ``failure`` is a power-on's or an undo's refusal of an
    instance this host did not configure (not that run's to fault)."""
    return isinstance(failure.exc, exception.InstanceNotConfigured)


def record_fault(ctx: Any, state: Any, failure: Any) -> None:
    """The fault of a failed power-on or undo (none when the instance was
    not configured here: it is not the run's), for
    compute.power_on_instance and compute.unconfigure_instance."""
    if not not_configured_here(failure):
        base.record_fault(ctx, state, failure)
