"""compute.unrescue_instance with the vendor kit.

Read next to nova/compute/flows/unrescue_instance.py: each stage's
effect (the guest back on its own disk, ACTIVE, the rescue's
old_vm_state dropped), and the failure handlers (record_fault,
clear_task_state): no stage reverts, so a failure leaves the server
RESCUED with its task cleared and the fault.
"""

from __future__ import annotations

import testscenarios

from nova.compute import power_state, vm_states
from nova.tests.unit.compute.flows import kit

load_tests = testscenarios.load_tests_apply_scenarios

FLOW = 'compute.unrescue_instance'
STAGES = ['notify_usage_start', 'driver_unrescue', 'update_unrescued',
          'notify_usage_end']


class _UnrescueTestCase(kit.FlowKitTestCase):

    def rescued_server(self):
        server = self.active_server()
        self.cloud.compute_api.rescue(self.cloud.ctx, server)
        return self.cloud.wait_for_state(server['uuid'], vm_states.RESCUED)


class TestUnrescue(_UnrescueTestCase):

    def test_stages_and_effects(self):
        server = self.rescued_server()
        uuid = server['uuid']
        self.assertIn('old_vm_state', server['system_metadata'])
        self.cloud.compute_api.unrescue(self.cloud.ctx, server)
        active = self.cloud.wait_for_state(uuid, vm_states.ACTIVE)
        self.cloud.assert_stages_ran(uuid, FLOW, STAGES)
        self.assertEqual(power_state.RUNNING, active['power_state'])
        self.assertNotIn('old_vm_state', active['system_metadata'])
        record = self.cloud.manager().driver.instance_record(uuid)
        self.assertEqual(power_state.RUNNING, record['power_state'])


class TestUnrescueFails(_UnrescueTestCase):

    scenarios = [(s, {'stage': s}) for s in STAGES[:STAGES.index(
        'notify_usage_end')]]

    def test_failure_handlers(self):
        server = self.rescued_server()
        uuid = server['uuid']
        self.cloud.fail_at(f'{FLOW}.{self.stage}')
        self.cloud.compute_api.unrescue(self.cloud.ctx, server)
        self.assertEqual('error',
                         self.cloud.wait_for_run(uuid, FLOW)['status'])
        self.assertEqual([], self.cloud.reverted_stages(uuid, FLOW))
        self.cloud.wait_for_state(uuid, vm_states.RESCUED)
        self.assertEqual('InjectedFailure',
                         self.cloud.faults(uuid)[0]['message'])
