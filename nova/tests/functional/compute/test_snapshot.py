"""createImage: the snapshot is an active image in the local image
service, with the instance's metadata; a failure leaves no half image.
"""

import testscenarios

from nova import exception
from nova.compute import vm_states
from nova.image import api as image_api
from nova.tests.functional.compute import action_helpers as helpers

load_tests = testscenarios.load_tests_apply_scenarios

SNAPSHOT = 'compute.snapshot_instance'


class _SnapshotHelpers(helpers.ActionTestCase):

    def images_of(self, uuid):
        return [i for i in image_api.API().get_all(self.cloud.ctx)
                if i['properties'].get('instance_uuid') == uuid]


class TestSnapshot(_SnapshotHelpers):

    def test_snapshot_is_an_active_image_with_the_instance_metadata(self):
        uuid = self.boot_active()['uuid']
        image = self.act('snapshot', uuid, 'snap-1',
                         extra_properties={'purpose': 'backup'})
        self.assertEqual('snap-1', image['name'])
        self.wait_done(uuid, 'createImage')
        server = self.wait_for(uuid, vm_states.ACTIVE)
        self.assert_all_succeeded(uuid, 'createImage', SNAPSHOT)

        stored = image_api.API().get(self.ctx, image['id'])
        self.assertEqual(image_api.ACTIVE, stored['status'])
        self.assertGreater(stored['size'], 0)
        self.assertEqual('private', stored['visibility'])
        self.assertEqual('demo', stored['owner'])
        props = stored['properties']
        self.assertEqual(uuid, props['instance_uuid'])
        self.assertEqual('snapshot', props['image_type'])
        self.assertEqual(server['image_ref'], props['base_image_ref'])
        self.assertEqual('demo', props['user_id'])
        self.assertEqual('backup', props['purpose'])
        self.assertEqual(self.cloud.image['disk_format'],
                         stored['disk_format'])
        self.assertEqual(server['root_gb'], stored['min_disk'])

    def test_snapshot_of_paused_and_stopped_servers_keeps_their_state(self):
        uuid = self.boot_active()['uuid']
        for method, state in (('pause', vm_states.PAUSED),
                              ('unpause', vm_states.ACTIVE),
                              ('stop', vm_states.STOPPED)):
            self.act(method, uuid)
            self.wait_for(uuid, state)
            if method == 'unpause':
                continue
            image = self.act('snapshot', uuid, f'snap-{method}')
            self.wait_done(uuid, 'createImage')
            self.assertEqual(state, self.wait_for(uuid, state)['vm_state'])
            self.assertEqual(image_api.ACTIVE, image_api.API().get(
                self.ctx, image['id'])['status'])

    def test_snapshot_of_a_locked_server_is_allowed_as_upstream(self):
        uuid = self.boot_active()['uuid']
        self.act('lock', uuid)
        self.assertRaises(exception.InstanceIsLocked, self.act, 'pause',
                          uuid)
        image = self.act('snapshot', uuid, 'locked-snap')
        self.wait_done(uuid, 'createImage')
        self.assertEqual(image_api.ACTIVE, image_api.API().get(
            self.ctx, image['id'])['status'])

    def test_snapshot_refused_while_another_task_runs(self):
        uuid = self.boot_active()['uuid']
        self.driver.block('pause', when='before')
        self.addCleanup(self.driver.unblock, 'pause')
        self.act('pause', uuid)
        self.driver.wait_blocked('pause', 30)
        self.assertRaises(exception.InstanceInvalidState, self.act,
                          'snapshot', uuid, 'refused')
        self.assertEqual([], self.images_of(uuid))


class TestSnapshotFails(_SnapshotHelpers):

    scenarios = helpers.failure_scenarios(SNAPSHOT)

    # A failure after the upload completed keeps the (good) image.
    KEEPS_IMAGE = ('update_snapshot_done', 'notify_usage_end')

    def test_failure_leaves_no_unfinished_image(self):
        uuid = self.boot_active()['uuid']
        self.inject(self.stage_id)
        image = self.act('snapshot', uuid, 'doomed')
        server = self.wait_done(uuid, 'createImage')
        self.assertEqual((vm_states.ACTIVE, None),
                         (server['vm_state'], server['task_state']))
        self.assert_failed_in(uuid, 'createImage', self.stage_id)
        images = self.images_of(uuid)
        if self.stage_id.removeprefix(SNAPSHOT + '.') in self.KEEPS_IMAGE:
            self.assertEqual([(image['id'], image_api.ACTIVE)],
                             [(i['id'], i['status']) for i in images])
        else:
            self.assertEqual([], images)
