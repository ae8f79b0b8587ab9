"""rebuild on the same host: new image, same volumes and addresses.

The fake driver has no rebuild of its own, so the flow destroys the
guest and spawns it again from the new image.  A failure anywhere ends in
ERROR with the fault (the old guest may be gone); rebuilding again from
ERROR works.
"""

import testscenarios

from nova import exception
from nova.compute import power_state, vm_states
from nova.tests.functional.compute import action_helpers as helpers

load_tests = testscenarios.load_tests_apply_scenarios

REBUILD = 'compute.rebuild_instance'


class TestRebuild(helpers.ActionTestCase):

    def test_rebuild_with_a_new_image_and_name(self):
        server = self.boot_active()
        uuid = server['uuid']
        addresses = self.api.get_interfaces(self.ctx, server)
        new_image = self.cloud.create_image()
        self.act('rebuild', uuid, new_image['id'], 'pw',
                 display_name='rebuilt', metadata={'k': 'v'})
        self.wait_done(uuid, 'rebuild')
        rebuilt = self.wait_for(uuid, vm_states.ACTIVE)
        self.assertEqual(new_image['id'], rebuilt['image_ref'])
        self.assertEqual('rebuilt', rebuilt['display_name'])
        self.assertEqual({'k': 'v'}, rebuilt['metadata'])
        self.assertEqual(power_state.RUNNING, rebuilt['power_state'])
        self.assertGreater(rebuilt['launched_at'], server['launched_at'])
        record = self.driver.instance_record(uuid)
        self.assertEqual(new_image['id'], record['image_ref'])
        self.assertEqual(power_state.RUNNING, record['power_state'])
        # Same host, same ports.
        self.assertEqual('compute1', rebuilt['host'])
        self.assertEqual(addresses, self.api.get_interfaces(self.ctx,
                                                            rebuilt))
        self.assert_all_succeeded(uuid, 'rebuild', REBUILD)

    def test_rebuild_of_a_stopped_server_leaves_it_stopped(self):
        uuid = self.boot_active()['uuid']
        self.act('stop', uuid)
        self.wait_for(uuid, vm_states.STOPPED)
        self.act('rebuild', uuid, self.cloud.image['id'], None,
                 preserve_ephemeral=True)
        self.wait_done(uuid, 'rebuild')
        stopped = self.wait_for(uuid, vm_states.STOPPED)
        self.assertEqual(power_state.SHUTDOWN, stopped['power_state'])
        self.assertEqual(power_state.SHUTDOWN,
                         self.power_state_on_hypervisor(uuid))

    def test_rebuild_keeps_attached_volumes(self):
        uuid = self.boot_active()['uuid']
        volume = self.manager.services.volume.create(self.ctx, 1, 'data')
        bdm = self.act_and_wait('compute.attach_volume', 'attach_volume',
                                uuid, volume['id'])
        self.act('rebuild', uuid, self.cloud.image['id'], None)
        self.wait_done(uuid, 'rebuild')
        self.wait_for(uuid, vm_states.ACTIVE)
        self.assertEqual({bdm['device_name']: volume['id']},
                         self.driver.attached_volumes(uuid))
        self.assertEqual('in-use', self.manager.services.volume.get(
            self.ctx, volume['id'])['status'])

    def test_rebuild_refusals(self):
        uuid = self.boot_active()['uuid']
        self.assertRaises(exception.ImageNotFound, self.act, 'rebuild',
                          uuid, '9d3d33a4-0000-4000-8000-000000000000',
                          None)
        self.assertRaises(exception.KeypairNotFound, self.act, 'rebuild',
                          uuid, self.cloud.image['id'], None,
                          key_name='nokey')
        self.act('pause', uuid)
        self.wait_for(uuid, vm_states.PAUSED)
        self.assertRaises(exception.InstanceInvalidState, self.act,
                          'rebuild', uuid, self.cloud.image['id'], None)
        self.assertEqual(self.cloud.image['id'],
                         self.server(uuid)['image_ref'])


class TestRebuildFailsAfterPointOfNoReturn(helpers.ActionTestCase):
    """A failure after update_rebuilt: the rebuild is done."""

    scenarios = helpers.failure_scenarios(REBUILD, committed=True)

    def test_failure_is_recorded_and_the_server_stays_active(self):
        uuid = self.boot_active()['uuid']
        new_image = self.cloud.create_image()
        self.inject(self.stage_id)
        self.act('rebuild', uuid, new_image['id'], None)
        server = self.wait_done(uuid, 'rebuild')
        self.assertEqual((vm_states.ACTIVE, None),
                         (server['vm_state'], server['task_state']))
        self.assertEqual(new_image['id'],
                         self.driver.instance_record(uuid)['image_ref'])


class TestRebuildFails(helpers.ActionTestCase):

    scenarios = helpers.failure_scenarios(REBUILD)

    def test_failure_ends_in_error_and_rebuild_again_works(self):
        uuid = self.boot_active()['uuid']
        new_image = self.cloud.create_image()
        self.inject(self.stage_id)
        self.act('rebuild', uuid, new_image['id'], None)
        server = self.wait_done(uuid, 'rebuild')
        self.assertEqual((vm_states.ERROR, None),
                         (server['vm_state'], server['task_state']))
        self.assert_failed_in(uuid, 'rebuild', self.stage_id)

        self.clear_fault()
        self.act('rebuild', uuid, new_image['id'], None)
        self.wait_for(uuid, vm_states.ACTIVE)
        self.assertEqual(new_image['id'],
                         self.driver.instance_record(uuid)['image_ref'])
