"""compute.reboot_instance: soft or hard reboot (``reboot`` action).

A soft reboot that fails falls back to a hard one, as upstream's libvirt
driver does when the guest ignores the ACPI request; only a failed hard
reboot fails the flow.

Failure: the guest's state is unknown, so the instance goes to ERROR with
a fault (upstream does the same); a later hard reboot recovers it.

Interrupted: resumed at restart - the reboot is simply issued again.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from oslo_log import log as logging

from nova.compute import power_state, task_states, vm_states
from nova.compute.flows import base
from nova.flow import RESUME, Flow, stage

LOG = logging.getLogger(__name__)

SOFT = 'SOFT'
HARD = 'HARD'


@dataclasses.dataclass
class RebootState(base.InstanceState):
    """Contract 1.0: the instance action state plus the reboot type."""

    #: 'SOFT' or 'HARD'.
    reboot_type: str = SOFT


def _load_state(ctx: Any, run: Any,
                compute: base.ComputeServices) -> RebootState:
    instance = compute.db.instance_get_by_uuid(ctx, run.subject)
    hard = instance.get('task_state') in (task_states.REBOOTING_HARD,
                                          task_states.REBOOT_STARTED_HARD)
    return RebootState(compute=compute, instance=instance,
                       reboot_type=HARD if hard else SOFT)


FLOW = Flow('compute.reboot_instance', '1.0', RebootState,
            on_interrupt=RESUME, subject=base.instance_subject,
            load_state=_load_state, doc='Reboot an instance.')
FLOW.stages(
    stage('notify_usage_start', base.notifier('reboot.start'),
          optional=True),
    stage('get_network_info', base.load_network_info),
    'update_reboot_started',
    'driver_reboot',
    stage('update_rebooted', base.set_state(
        'update_rebooted', vm_state=vm_states.ACTIVE,
        power_state=power_state.RUNNING, task_state=None)),
    stage('notify_usage_end', base.notifier('reboot.end'),
          optional=True),
)
FLOW.on_failure(base.record_fault, base.set_error)


@FLOW.stage(transactional=True)
def update_reboot_started(ctx: Any, state: RebootState) -> None:
    """REBOOT_STARTED(_HARD): the request reached the host."""
    if state.reboot_type == HARD:
        expected = (task_states.REBOOTING_HARD,
                    task_states.REBOOT_STARTED_HARD)
        started = task_states.REBOOT_STARTED_HARD
    else:
        expected = (task_states.REBOOTING, task_states.REBOOT_STARTED)
        started = task_states.REBOOT_STARTED
    base.instance_update(ctx, state, task_state=started,
                         expected_task_state=expected)


@FLOW.stage(idempotent=True)
def driver_reboot(ctx: Any, state: RebootState) -> None:
    """Reboot on the hypervisor; a failed soft reboot is retried hard."""
    driver = state.compute.driver
    if state.reboot_type == SOFT:
        try:
            driver.reboot(ctx, state.instance, state.network_info, SOFT)
            return
        except Exception as exc:
            LOG.warning('Soft reboot of %s failed (%s); trying a hard '
                        'reboot', state.instance['uuid'], exc)
    driver.reboot(ctx, state.instance, state.network_info, HARD)
