"""compute.rebuild_instance with the vendor kit.

Read next to nova/compute/flows/rebuild_instance.py: the stages and
their effect (the guest re-created, ACTIVE, launched again), and for a
failure at each stage before the point of no return the failure handlers
(record_fault, set_error) after the guest being spawned is destroyed.
"""

from __future__ import annotations

import testscenarios

from nova.compute import vm_states
from nova.tests.unit.compute.flows import kit

load_tests = testscenarios.load_tests_apply_scenarios

FLOW = 'compute.rebuild_instance'
STAGES = ['notify_usage_start', 'get_image_meta', 'get_network_info',
          'update_rebuild_block_device_mapping', 'prep_block_device',
          'update_rebuild_spawning', 'driver_rebuild', 'driver_destroy',
          'driver_spawn', 'update_rebuilt', 'notify_usage_end']


class TestRebuild(kit.FlowKitTestCase):

    def test_stages_and_effect(self):
        server = self.active_server()
        uuid = server['uuid']
        self.cloud.compute_api.rebuild(self.cloud.ctx, server,
                                       self.cloud.image['id'], None)
        self.cloud.wait_for_run(uuid, FLOW)
        rebuilt = self.cloud.wait_for_state(uuid, vm_states.ACTIVE)
        self.cloud.assert_stages_ran(uuid, FLOW, STAGES)
        self.assertGreaterEqual(rebuilt['launched_at'],
                                server['launched_at'])
        self.assertTrue(self.cloud.manager().driver.instance_exists(
            {'uuid': uuid}))


class TestRebuildFails(kit.FlowKitTestCase):

    scenarios = [(s, {'stage': s}) for s in STAGES[1:9]]

    def test_error_with_a_fault(self):
        server = self.active_server()
        uuid = server['uuid']
        self.cloud.fail_at(f'{FLOW}.{self.stage}')
        self.cloud.compute_api.rebuild(self.cloud.ctx, server,
                                       self.cloud.image['id'], None)
        self.cloud.wait_for_state(uuid, vm_states.ERROR)
        self.assertEqual('error',
                         self.cloud.wait_for_run(uuid, FLOW)['status'])
        reverted = self.cloud.reverted_stages(uuid, FLOW)
        if self.stage == 'driver_spawn':
            self.assertEqual([f'{FLOW}.driver_spawn'], reverted)
        else:
            self.assertEqual([], reverted)
        self.assertEqual('InjectedFailure',
                         self.cloud.faults(uuid)[0]['message'])
