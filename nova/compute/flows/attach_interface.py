"""compute.attach_interface: add a network interface to the guest
(``os-interface`` POST).

The compute API calls this over RPC (a call, as upstream: the new port is
in the API's response).  The flow allocates a port on the requested
network (with the requested IP address, if any), plugs it into the guest
and returns its VIF.  The instance's states do not change.

Failure: every started stage is reverted (the port is unplugged and
deleted), the fault is recorded and the error goes back to the user; the
server has its interfaces as before.

Interrupted: reverted at restart.  The API's call has failed (timed out)
meanwhile, so the user was told the attach did not happen; an interface
appearing later would contradict that.  The port to delete is the one the
cut run allocated: the instance's port created after the run started.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from nova.compute.flows import base
from nova.flow import REVERT, Flow, stage


@dataclasses.dataclass
class AttachInterfaceState(base.InstanceState):
    """Contract 1.1 of compute.attach_interface."""

    #: The network to create the port on (None: a given port or any network).
    network_id: str | None = None
    #: An existing port to attach (``server add port``) instead of a new
    #: one; the revert gives it back unbound rather than deleting it.
    port_id: str | None = None
    #: The fixed IP requested for the new port.
    requested_ip: str | None = None
    #: The device tag the user gave the interface (2.49+).
    tag: str | None = None
    #: Filled in by allocate_port: the new port as network info.
    vif: dict[str, Any] | None = None


def _load_state(ctx: Any, run: Any,
                compute: base.ComputeServices) -> AttachInterfaceState:
    instance = compute.db.instance_get_by_uuid(ctx, run.subject)
    state = AttachInterfaceState(compute=compute, instance=instance)
    started = run.started_at
    # The port the cut run allocated (created) or bound (updated).
    new = [row['port_id'] for row in compute.db.fixed_ip_get_by_instance(
        ctx, instance['uuid'])
        if started is not None and any(
            row.get(key) is not None and row[key] >= started
            for key in ('created_at', 'updated_at'))]
    if new:
        for vif in compute.network.get_instance_nw_info(ctx,
                                                        instance['uuid']):
            if vif['id'] == new[-1]:
                state.vif = vif
    return state


FLOW = Flow('compute.attach_interface', '1.1', AttachInterfaceState,
            changes={'1.1': 'State port_id added: attach an existing '
                            'port (allocate_port binds it).'},
            on_interrupt=REVERT, subject=base.instance_subject,
            load_state=_load_state,
            doc='Attach a network interface to an instance.')
FLOW.stages(
    stage('notify_usage_start', base.notifier('interface_attach.start'),
          optional=True),
    'allocate_port',
    'driver_attach_interface',
    stage('notify_usage_end', base.notifier('interface_attach.end'),
          optional=True),
)
FLOW.on_failure(base.record_fault)


@FLOW.stage
def allocate_port(ctx: Any, state: AttachInterfaceState) -> None:
    """A new port for the instance on the requested network, or the
    requested existing port bound to it."""
    state.vif = state.compute.network.allocate_port_for_instance(
        ctx, state.instance['uuid'], state.network_id, state.requested_ip,
        port_id=state.port_id)
    if state.tag:
        state.vif['tag'] = state.tag


@FLOW.revert('allocate_port')
def deallocate_port(ctx: Any, state: AttachInterfaceState,
                    failure: Any) -> None:
    if state.vif is not None:
        state.compute.network.deallocate_port_for_instance(
            ctx, state.instance['uuid'], state.vif['id'])


@FLOW.stage
def driver_attach_interface(ctx: Any, state: AttachInterfaceState) -> None:
    """Plug the port into the guest."""
    state.compute.driver.attach_interface(ctx, state.instance, None,
                                          state.vif)


@FLOW.revert('driver_attach_interface')
def driver_detach_interface(ctx: Any, state: AttachInterfaceState,
                            failure: Any) -> None:
    if state.vif is not None:
        state.compute.driver.detach_interface(ctx, state.instance,
                                              state.vif)
