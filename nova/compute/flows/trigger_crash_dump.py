"""compute.trigger_crash_dump: make the guest dump its memory
(``trigger_crash_dump``, 2.17).

The driver sends the guest a non-maskable interrupt (libvirt:
``injectNMI``); what the guest does with it (kdump, a panic, nothing) is
its own configuration, so, as upstream, neither the task state nor the
power state changes.  The compute API calls this over RPC and waits, so a
driver without the feature answers the user at once ("Triggering crash
dump is not supported", 400) instead of a request accepted then dropped.

Failure: nothing to revert (an interrupt cannot be taken back); the fault
is recorded and the error goes back to the user.

Interrupted: reverted at restart, which reverts nothing: the API's call
failed meanwhile, so the user was told the dump may not have happened
and can ask again; resuming would send a second interrupt nobody asked
for.
"""

from __future__ import annotations

from typing import Any

from nova.compute.flows import base
from nova.flow import REVERT, Flow, stage

FLOW = Flow('compute.trigger_crash_dump', '1.0', base.InstanceState,
            on_interrupt=REVERT, subject=base.instance_subject,
            load_state=base.load_instance_state,
            doc='Trigger a crash dump in an instance.')
FLOW.stages(
    stage('notify_usage_start', base.notifier('trigger_crash_dump.start'),
          optional=True),
    'driver_trigger_crash_dump',
    stage('notify_usage_end', base.notifier('trigger_crash_dump.end'),
          optional=True),
)
FLOW.on_failure(base.record_fault)


@FLOW.stage
def driver_trigger_crash_dump(ctx: Any, state: base.InstanceState) -> None:
    """Send the guest the interrupt that makes it dump its memory."""
    state.compute.driver.trigger_crash_dump(state.instance)
