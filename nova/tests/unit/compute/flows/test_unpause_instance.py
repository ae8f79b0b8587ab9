"""compute.unpause_instance with the vendor kit.

Read next to nova/compute/flows/unpause_instance.py: each stage's
effect, the reverts of driver_unpause and update_unpaused after the
state update failed, and the failure handlers (record_fault,
clear_task_state).
"""

from __future__ import annotations

from nova.compute import power_state, vm_states
from nova.tests.unit.compute.flows import kit

UNPAUSE = 'compute.unpause_instance'


class TestUnpause(kit.FlowKitTestCase):

    def paused_server(self):
        server = self.active_server()
        self.cloud.compute_api.pause(self.cloud.ctx, server)
        return self.cloud.wait_for_state(server['uuid'], vm_states.PAUSED)

    def test_stages_and_effect(self):
        server = self.paused_server()
        self.cloud.compute_api.unpause(self.cloud.ctx, server)
        active = self.cloud.wait_for_state(server['uuid'], vm_states.ACTIVE)
        self.cloud.wait_for_run(server['uuid'], UNPAUSE)
        self.cloud.assert_stages_ran(server['uuid'], UNPAUSE, [
            'notify_usage_start', 'driver_unpause', 'update_unpaused',
            'notify_usage_end'])
        self.assertEqual(power_state.RUNNING, active['power_state'])

    def test_failed_update_pauses_the_guest_again(self):
        server = self.paused_server()
        self.cloud.fail_at(f'{UNPAUSE}.update_unpaused')
        self.cloud.compute_api.unpause(self.cloud.ctx, server)
        self.assertEqual('error', self.cloud.wait_for_run(
            server['uuid'], UNPAUSE)['status'])
        self.assertEqual([f'{UNPAUSE}.update_unpaused',
                          f'{UNPAUSE}.driver_unpause'],
                         self.cloud.reverted_stages(server['uuid'], UNPAUSE))
        after = self.cloud.instance(server['uuid'])
        self.assertEqual((vm_states.PAUSED, None, power_state.PAUSED),
                         (after['vm_state'], after['task_state'],
                          after['power_state']))
