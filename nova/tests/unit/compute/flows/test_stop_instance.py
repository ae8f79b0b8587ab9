"""compute.stop_instance with the vendor kit.

Read next to nova/compute/flows/stop_instance.py: each stage's effect
and the failure handlers (record_fault, clear_task_state); its
counterpart compute.start_instance: test_start_instance.py.
"""

from __future__ import annotations

import testscenarios

from nova.compute import power_state, vm_states
from nova.tests.unit.compute.flows import kit

load_tests = testscenarios.load_tests_apply_scenarios

STOP = 'compute.stop_instance'
STOP_STAGES = ['notify_usage_start', 'driver_power_off', 'update_stopped',
               'notify_usage_end']


class TestStop(kit.FlowKitTestCase):

    def test_stages_and_effect(self):
        server = self.active_server()
        self.cloud.compute_api.stop(self.cloud.ctx, server)
        stopped = self.cloud.wait_for_state(server['uuid'], vm_states.STOPPED)
        self.cloud.assert_stages_ran(server['uuid'], STOP, STOP_STAGES)
        self.assertEqual(power_state.SHUTDOWN, stopped['power_state'])


class TestStopFails(kit.FlowKitTestCase):
    """The stop stages have no revert: a failure leaves the server as it
    was (ACTIVE) with a fault, the task cleared."""

    scenarios = [(s, {'stage': s}) for s in STOP_STAGES[:3]]

    def test_failure_handlers(self):
        server = self.active_server()
        self.cloud.fail_at(f'{STOP}.{self.stage}')
        self.cloud.compute_api.stop(self.cloud.ctx, server)
        run = self.cloud.wait_for_run(server['uuid'], STOP)
        self.assertEqual('error', run['status'])
        after = self.cloud.instance(server['uuid'])
        self.assertIsNone(after['task_state'])
        self.assertEqual('InjectedFailure',
                         self.cloud.faults(server['uuid'])[0]['message'])
        self.assertEqual([], self.cloud.reverted_stages(server['uuid'],
                                                        STOP))
