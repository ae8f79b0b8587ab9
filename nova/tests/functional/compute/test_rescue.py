"""rescue / unrescue.

Rescue boots the guest from a rescue image and remembers the vm_state it
had; a failure anywhere puts guest and record back.  Unrescue cannot be
undone, so a failure leaves the server RESCUE (or ACTIVE past the update)
and unrescuing again finishes the job.
"""

import testscenarios

from nova import exception
from nova.compute import power_state, vm_states
from nova.tests.functional.compute import action_helpers as helpers

load_tests = testscenarios.load_tests_apply_scenarios

RESCUE = 'compute.rescue_instance'
UNRESCUE = 'compute.unrescue_instance'


class TestRescue(helpers.ActionTestCase):

    def rescued_on_hypervisor(self, uuid):
        return self.driver.instance_record(uuid)['rescued']

    def test_rescue_and_unrescue(self):
        uuid = self.boot_active()['uuid']
        self.act('rescue', uuid, rescue_password='secret')
        rescued = self.wait_for(uuid, vm_states.RESCUED)
        self.assertTrue(self.rescued_on_hypervisor(uuid))
        self.assertEqual(vm_states.ACTIVE,
                         rescued['system_metadata']['old_vm_state'])
        self.assert_all_succeeded(uuid, 'rescue', RESCUE)

        self.act('unrescue', uuid)
        active = self.wait_for(uuid, vm_states.ACTIVE)
        self.assertFalse(self.rescued_on_hypervisor(uuid))
        self.assertEqual(power_state.RUNNING, active['power_state'])
        self.assertNotIn('old_vm_state', active['system_metadata'])
        self.assert_all_succeeded(uuid, 'unrescue', UNRESCUE)

    def test_rescue_a_stopped_server_with_another_image(self):
        uuid = self.boot_active()['uuid']
        other = self.cloud.create_image()
        self.act('stop', uuid)
        self.wait_for(uuid, vm_states.STOPPED)
        self.act('rescue', uuid, rescue_image_ref=other['id'])
        rescued = self.wait_for(uuid, vm_states.RESCUED)
        self.assertEqual(vm_states.STOPPED,
                         rescued['system_metadata']['old_vm_state'])
        self.assertEqual(power_state.RUNNING,
                         self.power_state_on_hypervisor(uuid))

    def test_rescue_with_an_unknown_image_is_refused(self):
        uuid = self.boot_active()['uuid']
        self.assertRaises(exception.ImageNotFound, self.act, 'rescue', uuid,
                          rescue_image_ref='9d3d33a4-0000-4000-8000-'
                                           '000000000000')
        self.assertIsNone(self.server(uuid)['task_state'])

    def test_rescue_when_rescued_is_refused(self):
        uuid = self.boot_active()['uuid']
        self.act('rescue', uuid)
        self.wait_for(uuid, vm_states.RESCUED)
        for method in ('rescue', 'pause', 'suspend', 'stop', 'shelve'):
            self.assertRaises(exception.InstanceInvalidState, self.act,
                              method, uuid)


class TestRescueFails(helpers.ActionTestCase):

    scenarios = helpers.failure_scenarios(RESCUE)

    def test_failure_puts_the_server_back(self):
        uuid = self.boot_active()['uuid']
        self.inject(self.stage_id)
        self.act('rescue', uuid, rescue_password='secret')
        server = self.wait_done(uuid, 'rescue')
        self.assertEqual((vm_states.ACTIVE, None, power_state.RUNNING),
                         (server['vm_state'], server['task_state'],
                          server['power_state']))
        self.assertNotIn('old_vm_state', server['system_metadata'])
        record = self.driver.instance_record(uuid)
        self.assertFalse(record['rescued'])
        self.assertEqual(power_state.RUNNING, record['power_state'])
        self.assert_failed_in(uuid, 'rescue', self.stage_id)


class TestRescueOfStoppedServerFails(helpers.ActionTestCase):

    scenarios = helpers.failure_scenarios(
        RESCUE, skip=('notify_usage_start', 'get_network_info',
                      'get_rescue_image'))

    def test_failure_leaves_it_stopped_and_off(self):
        uuid = self.boot_active()['uuid']
        self.act('stop', uuid)
        self.wait_for(uuid, vm_states.STOPPED)
        self.inject(self.stage_id)
        self.act('rescue', uuid)
        server = self.wait_done(uuid, 'rescue')
        self.assertEqual((vm_states.STOPPED, power_state.SHUTDOWN),
                         (server['vm_state'], server['power_state']))
        self.assertEqual(power_state.SHUTDOWN,
                         self.power_state_on_hypervisor(uuid))
        self.assert_failed_in(uuid, 'rescue', self.stage_id)


class TestUnrescueFails(helpers.ActionTestCase):

    scenarios = helpers.failure_scenarios(UNRESCUE)

    # Where the failure leaves the server: RESCUE until the update, ACTIVE
    # after it; the guest leaves rescue in driver_unrescue.
    EXPECTED = {
        'notify_usage_start': (vm_states.RESCUED, True),
        'driver_unrescue': (vm_states.RESCUED, True),
        'update_unrescued': (vm_states.RESCUED, False),
        'notify_usage_end': (vm_states.ACTIVE, False),
    }

    def test_failure_then_unrescue_again(self):
        uuid = self.boot_active()['uuid']
        self.act('rescue', uuid)
        self.wait_for(uuid, vm_states.RESCUED)
        self.inject(self.stage_id)
        self.act('unrescue', uuid)
        server = self.wait_done(uuid, 'unrescue')
        vm_state, rescued = self.EXPECTED[
            self.stage_id.removeprefix(UNRESCUE + '.')]
        self.assertEqual((vm_state, None),
                         (server['vm_state'], server['task_state']))
        self.assertEqual(rescued,
                         self.driver.instance_record(uuid)['rescued'])
        self.assert_failed_in(uuid, 'unrescue', self.stage_id)

        if vm_state == vm_states.RESCUED:
            self.clear_fault()
            self.act('unrescue', uuid)
            self.wait_for(uuid, vm_states.ACTIVE)
            self.assertFalse(self.driver.instance_record(uuid)['rescued'])
