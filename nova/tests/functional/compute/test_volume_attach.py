"""Volume attach and detach, end to end: the device name from the host,
the block device mapping, the guest, and the volume service's states
(``available`` -> ``reserved`` -> ``attaching`` -> ``in-use`` ->
``detaching`` -> ``available``).
"""

import testscenarios

from nova import exception
from nova.compute import vm_states
from nova.tests.functional.compute import action_helpers as helpers

load_tests = testscenarios.load_tests_apply_scenarios

RESERVE = 'compute.reserve_block_device_name'
ATTACH = 'compute.attach_volume'
DETACH = 'compute.detach_volume'


class _VolumeHelpers(helpers.ActionTestCase):

    def setUp(self):
        super().setUp()
        self.volume_api = self.manager.services.volume

    def create_volume(self):
        return self.volume_api.create(self.ctx, 1, 'data')

    def volume_status(self, volume_id):
        volume = self.volume_api.get(self.ctx, volume_id)
        return volume['status'], volume['instance_uuid']

    def bdms(self, uuid):
        return self.api.get_volume_attachments(self.ctx, self.server(uuid))

    def attach(self, uuid, volume_id, **kwargs):
        return self.act_and_wait(ATTACH, 'attach_volume', uuid, volume_id,
                                 **kwargs)


class TestVolumeAttach(_VolumeHelpers):

    def test_attach_then_detach(self):
        uuid = self.boot_active()['uuid']
        volume = self.create_volume()
        bdm = self.attach(uuid, volume['id'], delete_on_termination=False,
                          tag='db')
        self.assertEqual('/dev/vdb', bdm['device_name'])

        self.assertEqual(('in-use', uuid), self.volume_status(volume['id']))
        (stored,) = self.bdms(uuid)
        self.assertEqual((volume['id'], '/dev/vdb', 'db', 'volume'),
                         (stored['volume_id'], stored['device_name'],
                          stored['tag'], stored['source_type']))
        self.assertEqual(volume['id'],
                         stored['connection_info']['serial'])
        self.assertEqual({'/dev/vdb': volume['id']},
                         self.driver.attached_volumes(uuid))
        # Both runs of the request are events of its one action.
        self.assertEqual(
            ['choose_device_name', 'create_bdm'],
            self.stage_names(uuid, 'attach_volume', RESERVE))
        self.assertEqual(
            ['notify_usage_start', 'initialize_connection', 'update_bdm',
             'driver_attach_volume', 'volume_attach', 'notify_usage_end'],
            self.stage_names(uuid, 'attach_volume', ATTACH))

        self.act('detach_volume', uuid, volume['id'])
        self.wait_done(uuid, 'detach_volume')
        self.assertEqual(('available', None),
                         self.volume_status(volume['id']))
        self.assertEqual([], self.bdms(uuid))
        self.assertEqual({}, self.driver.attached_volumes(uuid))
        self.assert_all_succeeded(uuid, 'detach_volume', DETACH)
        self.assertEqual(vm_states.ACTIVE, self.server(uuid)['vm_state'])

    def test_device_names(self):
        uuid = self.boot_active()['uuid']
        first = self.attach(uuid, self.create_volume()['id'])
        chosen = self.attach(uuid, self.create_volume()['id'],
                             device='/dev/vdf')
        third = self.attach(uuid, self.create_volume()['id'])
        self.assertEqual(['/dev/vdb', '/dev/vdf', '/dev/vdc'],
                         [first['device_name'], chosen['device_name'],
                          third['device_name']])
        volume = self.create_volume()
        self.assertRaises(exception.DevicePathInUse, self.act,
                          'attach_volume', uuid, volume['id'],
                          device='/dev/vdf')
        # Refused before anything was reserved.
        self.assertEqual(('available', None),
                         self.volume_status(volume['id']))
        self.assertEqual(3, len(self.bdms(uuid)))

    def test_attach_to_stopped_and_paused_servers(self):
        uuid = self.boot_active()['uuid']
        for method, state in (('stop', vm_states.STOPPED),
                              ('start', vm_states.ACTIVE),
                              ('pause', vm_states.PAUSED)):
            self.act(method, uuid)
            self.wait_for(uuid, state)
            if state == vm_states.ACTIVE:
                continue
            volume = self.create_volume()
            self.attach(uuid, volume['id'])
            self.assertEqual(('in-use', uuid),
                             self.volume_status(volume['id']))
            self.assertEqual(state, self.server(uuid)['vm_state'])

    def test_refusals(self):
        uuid = self.boot_active()['uuid']
        volume = self.create_volume()
        self.attach(uuid, volume['id'])
        # A volume in use cannot be attached again (400).
        self.assertRaises(exception.InvalidVolume, self.act,
                          'attach_volume', uuid, volume['id'])
        self.assertRaises(exception.VolumeNotFound, self.act,
                          'attach_volume', uuid,
                          '9d3d33a4-0000-4000-8000-000000000000')
        other = self.create_volume()
        self.assertRaises(exception.VolumeBDMNotFound, self.act,
                          'detach_volume', uuid, other['id'])
        self.act('suspend', uuid)
        self.wait_for(uuid, vm_states.SUSPENDED)
        self.assertRaises(exception.InstanceInvalidState, self.act,
                          'attach_volume', uuid, other['id'])

    def test_delete_detaches_and_deletes_on_termination(self):
        uuid = self.boot_active()['uuid']
        kept, deleted = self.create_volume(), self.create_volume()
        self.attach(uuid, kept['id'])
        self.attach(uuid, deleted['id'], delete_on_termination=True)
        self.act('delete', uuid)
        self.cloud.wait_for_deleted(uuid)
        self.assertEqual(('available', None), self.volume_status(kept['id']))
        self.assertRaises(exception.VolumeNotFound, self.volume_api.get,
                          self.ctx, deleted['id'])


class TestReserveFails(_VolumeHelpers):

    scenarios = helpers.failure_scenarios(RESERVE)

    def test_failure_reaches_the_caller_and_leaves_nothing(self):
        uuid = self.boot_active()['uuid']
        volume = self.create_volume()
        self.inject(self.stage_id)
        # The fault is not a nova error: the call reports it as such.
        self.assertRaises(exception.NovaException, self.act,
                          'attach_volume', uuid, volume['id'])
        self.assertEqual(('available', None),
                         self.volume_status(volume['id']))
        self.assertEqual([], self.bdms(uuid))
        events = {e['event']: e for e in
                  self.events(uuid, 'attach_volume')}
        self.assertEqual('Error', events[self.stage_id]['result'])


class TestAttachFails(_VolumeHelpers):

    scenarios = helpers.failure_scenarios(ATTACH)

    def test_failure_leaves_the_volume_available(self):
        uuid = self.boot_active()['uuid']
        volume = self.create_volume()
        self.inject(self.stage_id)
        self.attach(uuid, volume['id'])
        server = self.server(uuid)
        self.assertEqual((vm_states.ACTIVE, None),
                         (server['vm_state'], server['task_state']))
        self.assertEqual(('available', None),
                         self.volume_status(volume['id']))
        self.assertEqual([], self.bdms(uuid))
        self.assertEqual({}, self.driver.attached_volumes(uuid))
        self.assert_failed_in(uuid, 'attach_volume', self.stage_id)


class TestDetachFails(_VolumeHelpers):

    scenarios = helpers.failure_scenarios(DETACH)

    def test_failure_leaves_the_volume_attached(self):
        uuid = self.boot_active()['uuid']
        volume = self.create_volume()
        bdm = self.attach(uuid, volume['id'])
        self.inject(self.stage_id)
        self.act('detach_volume', uuid, volume['id'])
        server = self.wait_done(uuid, 'detach_volume')
        self.assertEqual((vm_states.ACTIVE, None),
                         (server['vm_state'], server['task_state']))
        self.assertEqual(('in-use', uuid), self.volume_status(volume['id']))
        self.assertEqual([volume['id']],
                         [b['volume_id'] for b in self.bdms(uuid)])
        self.assertEqual({bdm['device_name']: volume['id']},
                         self.driver.attached_volumes(uuid))
        self.assert_failed_in(uuid, 'detach_volume', self.stage_id)

        # And the detach can simply be asked for again.
        self.clear_fault()
        self.act('detach_volume', uuid, volume['id'])
        self.wait_done(uuid, 'detach_volume')
        self.assertEqual(('available', None),
                         self.volume_status(volume['id']))
