"""compute.suspend_instance and compute.resume_instance with the vendor
kit (compute.unpause_instance: test_unpause_instance.py).

Read next to their flow modules: each stage's effect, the reverts of the
driver call and the state update after a failure at each, and the
failure handlers (record_fault, clear_task_state).
"""

from __future__ import annotations

import testscenarios

from nova.compute import power_state, vm_states
from nova.tests.unit.compute.flows import kit

load_tests = testscenarios.load_tests_apply_scenarios

SUSPEND = 'compute.suspend_instance'
RESUME = 'compute.resume_instance'


class TestSuspendResume(kit.FlowKitTestCase):

    def test_stages_and_effects(self):
        server = self.active_server()
        uuid = server['uuid']
        self.cloud.compute_api.suspend(self.cloud.ctx, server)
        suspended = self.cloud.wait_for_state(uuid, vm_states.SUSPENDED)
        self.cloud.assert_stages_ran(uuid, SUSPEND, [
            'notify_usage_start', 'get_network_info', 'driver_suspend',
            'update_suspended', 'notify_usage_end'])
        self.assertEqual(power_state.SUSPENDED, suspended['power_state'])
        self.cloud.compute_api.resume(self.cloud.ctx, suspended)
        resumed = self.cloud.wait_for_state(uuid, vm_states.ACTIVE)
        self.cloud.wait_for_run(uuid, RESUME)
        self.cloud.assert_stages_ran(uuid, RESUME, [
            'notify_usage_start', 'get_network_info', 'driver_resume',
            'update_resumed', 'notify_usage_end'])
        self.assertEqual(power_state.RUNNING, resumed['power_state'])


class TestSuspendFails(kit.FlowKitTestCase):

    scenarios = [
        ('driver_suspend', {'stage': 'driver_suspend',
                            'reverted': ['driver_suspend']}),
        ('update_suspended', {'stage': 'update_suspended',
                              'reverted': ['update_suspended',
                                           'driver_suspend']}),
    ]

    def test_reverts_and_failure_handlers(self):
        server = self.active_server()
        uuid = server['uuid']
        self.cloud.fail_at(f'{SUSPEND}.{self.stage}')
        self.cloud.compute_api.suspend(self.cloud.ctx, server)
        self.assertEqual('error',
                         self.cloud.wait_for_run(uuid, SUSPEND)['status'])
        self.assertEqual([f'{SUSPEND}.{s}' for s in self.reverted],
                         self.cloud.reverted_stages(uuid, SUSPEND))
        after = self.cloud.instance(uuid)
        self.assertEqual((vm_states.ACTIVE, None, power_state.RUNNING),
                         (after['vm_state'], after['task_state'],
                          after['power_state']))
        self.assertEqual('InjectedFailure',
                         self.cloud.faults(uuid)[0]['message'])
