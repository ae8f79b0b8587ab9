"""compute.shelve_instance, compute.shelve_offload_instance and
compute.unshelve_instance with the vendor kit.

Read next to their flow modules: a shelve runs the shelve flow then the
offload it casts; an unshelve (through the conductor) builds the server
again on a host.  For the shelve, a failure at each stage: the reverts
and the failure handlers (record_fault, discard_shelved_image,
clear_task_state).
"""

from __future__ import annotations

import testscenarios

from nova.compute import power_state, vm_states
from nova.tests.unit.compute.flows import kit

load_tests = testscenarios.load_tests_apply_scenarios

SHELVE = 'compute.shelve_instance'
OFFLOAD = 'compute.shelve_offload_instance'
UNSHELVE = 'compute.unshelve_instance'
SHELVE_STAGES = ['notify_usage_start', 'driver_power_off', 'driver_snapshot',
                 'update_shelved', 'notify_usage_end', 'cast_shelve_offload']


class TestShelveOffloadUnshelve(kit.FlowKitTestCase):

    def test_stages_and_effects(self):
        server = self.active_server()
        uuid = server['uuid']
        self.cloud.compute_api.shelve(self.cloud.ctx, server)
        offloaded = self.cloud.wait_for_state(uuid,
                                              vm_states.SHELVED_OFFLOADED)
        self.cloud.assert_stages_ran(uuid, SHELVE, SHELVE_STAGES)
        self.cloud.wait_for_run(uuid, OFFLOAD)
        self.cloud.assert_stages_ran(uuid, OFFLOAD, [
            'notify_usage_start', 'driver_power_off', 'get_network_info',
            'driver_destroy', 'terminate_volume_connections',
            'free_resources', 'update_offloaded', 'notify_usage_end'])
        self.assertIsNone(offloaded['host'])
        self.assertEqual((0, 0, 0), self.node_usage())
        self.assertFalse(self.cloud.manager().driver.instance_exists(
            {'uuid': uuid}))

        self.cloud.compute_api.unshelve(self.cloud.ctx, offloaded)
        active = self.cloud.wait_for_state(uuid, vm_states.ACTIVE)
        self.cloud.wait_for_run(uuid, UNSHELVE)
        self.cloud.assert_stages_ran(uuid, UNSHELVE, [
            'notify_usage_start', 'update_spawning', 'claim_resources',
            'get_network_info', 'prep_block_device', 'driver_spawn',
            'driver_power_on', 'update_active', 'notify_usage_end',
            'delete_shelved_image'])
        self.assertEqual(('compute1', power_state.RUNNING),
                         (active['host'], active['power_state']))
        self.assertEqual((512, 1, 1), self.node_usage())


class TestShelveFails(kit.FlowKitTestCase):

    scenarios = [
        ('driver_power_off', {'stage': 'driver_power_off',
                              'reverted': ['driver_power_off']}),
        ('driver_snapshot', {'stage': 'driver_snapshot',
                             'reverted': ['driver_power_off']}),
        ('update_shelved', {'stage': 'update_shelved',
                            'reverted': ['update_shelved',
                                         'driver_power_off']}),
    ]

    def test_reverts_and_failure_handlers(self):
        server = self.active_server()
        uuid = server['uuid']
        self.cloud.fail_at(f'{SHELVE}.{self.stage}')
        self.cloud.compute_api.shelve(self.cloud.ctx, server)
        self.assertEqual('error',
                         self.cloud.wait_for_run(uuid, SHELVE)['status'])
        self.assertEqual([f'{SHELVE}.{s}' for s in self.reverted],
                         self.cloud.reverted_stages(uuid, SHELVE))
        after = self.cloud.instance(uuid)
        self.assertEqual((vm_states.ACTIVE, None, power_state.RUNNING),
                         (after['vm_state'], after['task_state'],
                          after['power_state']))
        # discard_shelved_image: no shelved_* keys are left.
        self.assertNotIn('shelved_image_id',
                         after.get('system_metadata') or {})
        self.assertEqual('InjectedFailure',
                         self.cloud.faults(uuid)[0]['message'])
