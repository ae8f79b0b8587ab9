"""compute.shelve_instance with the vendor kit.

Read next to nova/compute/flows/shelve_instance.py: the guest powered
off, its snapshot taken, the instance SHELVED, then the offload cast
(compute.shelve_offload_instance: test_shelve_offload_instance.py; the
way back, compute.unshelve_instance: test_unshelve_instance.py).  A
failure at each stage: the reverts and the failure handlers
(record_fault, discard_shelved_image, clear_task_state).
"""

from __future__ import annotations

import testscenarios

from nova.compute import power_state, vm_states
from nova.tests.unit.compute.flows import kit

load_tests = testscenarios.load_tests_apply_scenarios

SHELVE = 'compute.shelve_instance'
OFFLOAD = kit.SHELVE_OFFLOAD
SHELVE_STAGES = ['notify_usage_start', 'driver_power_off', 'driver_snapshot',
                 'update_shelved', 'notify_usage_end', 'cast_shelve_offload']


class TestShelve(kit.FlowKitTestCase):

    def test_stages_and_effects(self):
        server = self.active_server()
        uuid = server['uuid']
        self.cloud.compute_api.shelve(self.cloud.ctx, server)
        self.assertEqual('success',
                         self.cloud.wait_for_run(uuid, SHELVE)['status'])
        self.cloud.assert_stages_ran(uuid, SHELVE, SHELVE_STAGES)
        # driver_snapshot: the snapshot image the API created has the
        # disk; update_shelved: the shelved_* keys name it.
        instance = self.cloud.instance(uuid)
        image_id = instance['system_metadata']['shelved_image_id']
        image = self.cloud.manager().services.image.get(self.cloud.ctx,
                                                        image_id)
        self.assertEqual('active', image['status'])
        self.assertEqual(
            'compute1', instance['system_metadata']['shelved_host'])
        # cast_shelve_offload: the offload ran on this host.
        self.assertEqual('success',
                         self.cloud.wait_for_run(uuid, OFFLOAD)['status'])
        self.cloud.wait_for_state(uuid, vm_states.SHELVED_OFFLOADED)


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
