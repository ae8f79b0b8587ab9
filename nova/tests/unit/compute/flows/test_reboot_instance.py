"""compute.reboot_instance with the vendor kit.

Read next to nova/compute/flows/reboot_instance.py: the stages' effect
and the failure handlers (record_fault, set_error: after a failed reboot
the guest's state is unknown).
"""

from __future__ import annotations

from nova.compute import power_state, vm_states
from nova.tests.unit.compute.flows import kit

FLOW = 'compute.reboot_instance'
STAGES = ['notify_usage_start', 'get_network_info', 'update_reboot_started',
          'driver_reboot', 'update_rebooted', 'notify_usage_end']


class TestReboot(kit.FlowKitTestCase):

    def test_stages_and_effect(self):
        server = self.active_server()
        self.cloud.compute_api.reboot(self.cloud.ctx, server, 'HARD')
        self.cloud.wait_for_run(server['uuid'], FLOW)
        rebooted = self.cloud.wait_for_state(server['uuid'],
                                             vm_states.ACTIVE)
        self.cloud.assert_stages_ran(server['uuid'], FLOW, STAGES)
        self.assertEqual(power_state.RUNNING, rebooted['power_state'])

    def test_failing_driver_reboot_sets_error(self):
        server = self.active_server()
        self.cloud.fail_at(f'{FLOW}.driver_reboot')
        self.cloud.compute_api.reboot(self.cloud.ctx, server, 'SOFT')
        self.cloud.wait_for_state(server['uuid'], vm_states.ERROR)
        run = self.cloud.wait_for_run(server['uuid'], FLOW)
        self.assertEqual('error', run['status'])
        self.assertEqual('InjectedFailure',
                         self.cloud.faults(server['uuid'])[0]['message'])
        self.assertIn((f'{FLOW}.driver_reboot', 'Error'),
                      self.cloud.events(server['uuid'], 'reboot'))
