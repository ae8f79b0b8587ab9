"""compute.start_instance with the vendor kit.

Read next to nova/compute/flows/start_instance.py: each stage's effect,
the revert of driver_power_on after a later failure, and the failure
handlers (record_fault, clear_task_state).
"""

from __future__ import annotations

from nova.compute import power_state, vm_states
from nova.tests.unit.compute.flows import kit

START = 'compute.start_instance'
START_STAGES = ['notify_usage_start', 'get_network_info', 'driver_power_on',
                'update_started', 'notify_usage_end']


class TestStart(kit.FlowKitTestCase):

    def stopped_server(self):
        server = self.active_server()
        self.cloud.compute_api.stop(self.cloud.ctx, server)
        return self.cloud.wait_for_state(server['uuid'], vm_states.STOPPED)

    def test_stages_and_effect(self):
        server = self.stopped_server()
        self.cloud.compute_api.start(self.cloud.ctx, server)
        started = self.cloud.wait_for_state(server['uuid'],
                                            vm_states.ACTIVE)
        self.cloud.assert_stages_ran(server['uuid'], START, START_STAGES)
        self.assertEqual(power_state.RUNNING, started['power_state'])

    def test_failure_after_power_on_powers_off_again(self):
        server = self.stopped_server()
        self.cloud.fail_at(f'{START}.update_started')
        self.cloud.compute_api.start(self.cloud.ctx, server)
        run = self.cloud.wait_for_run(server['uuid'], START)
        self.assertEqual('error', run['status'])
        self.assertEqual([f'{START}.driver_power_on'],
                         self.cloud.reverted_stages(server['uuid'], START))
        after = self.cloud.instance(server['uuid'])
        self.assertEqual((vm_states.STOPPED, None),
                         (after['vm_state'], after['task_state']))
        self.assertEqual('InjectedFailure',
                         self.cloud.faults(server['uuid'])[0]['message'])
