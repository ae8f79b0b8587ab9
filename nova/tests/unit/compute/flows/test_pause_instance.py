"""compute.pause_instance with the vendor kit.

Read next to nova/compute/flows/pause_instance.py: the stages' effect,
the reverts of driver_pause and update_paused, and the failure handlers
(record_fault, clear_task_state).
"""

from __future__ import annotations

import testscenarios

from nova.compute import power_state, vm_states
from nova.tests.unit.compute.flows import kit

load_tests = testscenarios.load_tests_apply_scenarios

FLOW = 'compute.pause_instance'
STAGES = ['notify_usage_start', 'driver_pause', 'update_paused',
          'notify_usage_end']


class TestPause(kit.FlowKitTestCase):

    def test_stages_and_effect(self):
        server = self.active_server()
        self.cloud.compute_api.pause(self.cloud.ctx, server)
        paused = self.cloud.wait_for_state(server['uuid'], vm_states.PAUSED)
        self.cloud.assert_stages_ran(server['uuid'], FLOW, STAGES)
        self.assertEqual(power_state.PAUSED, paused['power_state'])


class TestPauseFails(kit.FlowKitTestCase):

    scenarios = [
        ('driver_pause', {'stage': 'driver_pause',
                          'reverted': ['driver_pause']}),
        ('update_paused', {'stage': 'update_paused',
                           'reverted': ['update_paused', 'driver_pause']}),
    ]

    def test_reverts_and_failure_handlers(self):
        server = self.active_server()
        self.cloud.fail_at(f'{FLOW}.{self.stage}')
        self.cloud.compute_api.pause(self.cloud.ctx, server)
        run = self.cloud.wait_for_run(server['uuid'], FLOW)
        self.assertEqual('error', run['status'])
        self.assertEqual([f'{FLOW}.{s}' for s in self.reverted],
                         self.cloud.reverted_stages(server['uuid'], FLOW))
        after = self.cloud.instance(server['uuid'])
        self.assertEqual((vm_states.ACTIVE, None, power_state.RUNNING),
                         (after['vm_state'], after['task_state'],
                          after['power_state']))
        self.assertEqual('InjectedFailure',
                         self.cloud.faults(server['uuid'])[0]['message'])
