"""compute.resume_instance with the vendor kit.

Read next to nova/compute/flows/resume_instance.py: each stage's effect
(the guest running again, ACTIVE), the reverts of driver_resume (the
guest suspended again) and update_resumed (SUSPENDED again) after a
failure, and the failure handlers (record_fault, clear_task_state).
"""

from __future__ import annotations

import testscenarios

from nova.compute import power_state, vm_states
from nova.tests.unit.compute.flows import kit

load_tests = testscenarios.load_tests_apply_scenarios

FLOW = 'compute.resume_instance'
STAGES = ['notify_usage_start', 'get_network_info', 'driver_resume',
          'update_resumed', 'notify_usage_end']
REVERTING = ['driver_resume', 'update_resumed']


class _ResumeTestCase(kit.FlowKitTestCase):

    def suspended_server(self):
        server = self.active_server()
        self.cloud.compute_api.suspend(self.cloud.ctx, server)
        return self.cloud.wait_for_state(server['uuid'], vm_states.SUSPENDED)

    def guest_power(self, uuid):
        return self.cloud.manager().driver.instance_record(uuid)[
            'power_state']


class TestResume(_ResumeTestCase):

    def test_stages_and_effects(self):
        server = self.suspended_server()
        uuid = server['uuid']
        self.cloud.compute_api.resume(self.cloud.ctx, server)
        resumed = self.cloud.wait_for_state(uuid, vm_states.ACTIVE)
        self.cloud.assert_stages_ran(uuid, FLOW, STAGES)
        self.assertEqual(power_state.RUNNING, resumed['power_state'])
        self.assertEqual(power_state.RUNNING, self.guest_power(uuid))


class TestResumeFails(_ResumeTestCase):
    """A failure at any stage before the closing notification: what was
    done is undone newest first, the server stays SUSPENDED (its guest
    too), its task cleared, with the fault."""

    scenarios = [(s, {'stage': s}) for s in STAGES[:STAGES.index(
        'notify_usage_end')]]

    def test_reverts_and_failure_handlers(self):
        server = self.suspended_server()
        uuid = server['uuid']
        self.cloud.fail_at(f'{FLOW}.{self.stage}')
        self.cloud.compute_api.resume(self.cloud.ctx, server)
        self.assertEqual('error',
                         self.cloud.wait_for_run(uuid, FLOW)['status'])
        self.assert_reverted(uuid, FLOW, STAGES, REVERTING, self.stage)
        after = self.cloud.wait_for_state(uuid, vm_states.SUSPENDED)
        self.assertEqual(power_state.SUSPENDED, after['power_state'])
        self.assertEqual(power_state.SUSPENDED, self.guest_power(uuid))
        self.assertEqual('InjectedFailure',
                         self.cloud.faults(uuid)[0]['message'])
