"""compute.detach_interface: remove a network interface from the guest
(``os-interface`` DELETE).

The API checked the port is one of the instance's and noted it in
``system_metadata['detaching_port_id']`` (what a restarted service reads
to know which port a cut run was detaching).  The flow unplugs the port
from the guest and finally deletes it, forgetting the note.  The
instance's states do not change.

Failure: every started stage is reverted (the port is plugged in again),
the fault is recorded and the note dropped; the server keeps the
interface.  Deleting the port is the last stage, after the
``interface_detach.end`` notification: its IP address could go to
someone else at once, so no revert could undo it and nothing may fail
after it.

Interrupted: resumed at restart: the user asked for the detach, and both
stages can run again (unplugging an unplugged port and deleting a deleted
one are no-ops).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from nova.compute.flows import base, shared
from nova.flow import RESUME, Flow, stage

NOTE = 'detaching_port_id'


@dataclasses.dataclass
class DetachInterfaceState(base.InstanceState):
    """Contract 1.0 of compute.detach_interface."""

    #: The port being detached.
    port_id: str = ''
    #: The port as network info (what the driver unplugs).
    vif: dict[str, Any] = dataclasses.field(default_factory=dict)


def _load_state(ctx: Any, run: Any,
                compute: base.ComputeServices) -> DetachInterfaceState:
    instance = compute.db.instance_get_by_uuid(ctx, run.subject)
    return DetachInterfaceState(
        compute=compute, instance=instance,
        port_id=(instance.get('system_metadata') or {}).get(NOTE) or '')


FLOW = Flow('compute.detach_interface', '1.0', DetachInterfaceState,
            on_interrupt=RESUME, subject=base.instance_subject,
            load_state=_load_state,
            doc='Detach a network interface from an instance.')
FLOW.stages(
    stage('notify_usage_start', base.notifier('interface_detach.start'),
          optional=True),
    'get_port',
    'driver_detach_interface',
    stage('notify_usage_end', base.notifier('interface_detach.end'),
          optional=True),
    'deallocate_port',
)
FLOW.on_failure(base.record_fault, 'forget_port')


@FLOW.stage(idempotent=True)
def get_port(ctx: Any, state: DetachInterfaceState) -> None:
    """The port as network info (empty if it is already gone)."""
    for vif in state.compute.network.get_instance_nw_info(
            ctx, state.instance['uuid']):
        if vif['id'] == state.port_id:
            state.vif = vif


@FLOW.stage
def driver_detach_interface(ctx: Any, state: DetachInterfaceState) -> None:
    """Unplug the port from the guest."""
    if state.vif:
        state.compute.driver.detach_interface(ctx, state.instance,
                                              state.vif)


@FLOW.revert('driver_detach_interface')
def driver_attach_interface(ctx: Any, state: DetachInterfaceState,
                            failure: Any) -> None:
    if state.vif:
        state.compute.driver.attach_interface(ctx, state.instance, None,
                                              state.vif)


@FLOW.stage
def deallocate_port(ctx: Any, state: DetachInterfaceState) -> None:
    """Delete the port (its IP address is free again)."""
    if state.port_id:
        state.compute.network.deallocate_port_for_instance(
            ctx, state.instance['uuid'], state.port_id)
    forget_port(ctx, state, None)


@FLOW.failure_handler
def forget_port(ctx: Any, state: DetachInterfaceState,
                failure: Any) -> None:
    """Drop the note of the port being detached."""
    base.instance_update(ctx, state, system_metadata=shared.system_metadata(
        state.instance, drop=(NOTE,)))
