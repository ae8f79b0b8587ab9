"""compute.rescue_instance and compute.unrescue_instance with the kit.

Read next to their flow modules: each stage's effect, the reverts of
driver_rescue and update_rescued after a failure at each, and the
failure handlers (record_fault, clear_task_state).
"""

from __future__ import annotations

import testscenarios

from nova.compute import vm_states
from nova.tests.unit.compute.flows import kit

load_tests = testscenarios.load_tests_apply_scenarios

RESCUE = 'compute.rescue_instance'
UNRESCUE = 'compute.unrescue_instance'


class TestRescueUnrescue(kit.FlowKitTestCase):

    def test_stages_and_effects(self):
        server = self.active_server()
        uuid = server['uuid']
        self.cloud.compute_api.rescue(self.cloud.ctx, server)
        rescued = self.cloud.wait_for_state(uuid, vm_states.RESCUED)
        self.cloud.assert_stages_ran(uuid, RESCUE, [
            'notify_usage_start', 'get_network_info', 'get_rescue_image',
            'driver_rescue', 'update_rescued', 'notify_usage_end'])
        self.cloud.compute_api.unrescue(self.cloud.ctx, rescued)
        self.cloud.wait_for_state(uuid, vm_states.ACTIVE)
        self.cloud.wait_for_run(uuid, UNRESCUE)
        self.cloud.assert_stages_ran(uuid, UNRESCUE, [
            'notify_usage_start', 'driver_unrescue', 'update_unrescued',
            'notify_usage_end'])


class TestRescueFails(kit.FlowKitTestCase):

    scenarios = [
        ('get_rescue_image', {'stage': 'get_rescue_image', 'reverted': []}),
        ('driver_rescue', {'stage': 'driver_rescue',
                           'reverted': ['driver_rescue']}),
        ('update_rescued', {'stage': 'update_rescued',
                            'reverted': ['update_rescued',
                                         'driver_rescue']}),
    ]

    def test_reverts_and_failure_handlers(self):
        server = self.active_server()
        uuid = server['uuid']
        self.cloud.fail_at(f'{RESCUE}.{self.stage}')
        self.cloud.compute_api.rescue(self.cloud.ctx, server)
        self.assertEqual('error',
                         self.cloud.wait_for_run(uuid, RESCUE)['status'])
        self.assertEqual([f'{RESCUE}.{s}' for s in self.reverted],
                         self.cloud.reverted_stages(uuid, RESCUE))
        after = self.cloud.instance(uuid)
        self.assertEqual((vm_states.ACTIVE, None),
                         (after['vm_state'], after['task_state']))
        self.assertEqual('InjectedFailure',
                         self.cloud.faults(uuid)[0]['message'])
