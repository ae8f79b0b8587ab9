"""POST /servers with an existing volume (block_device_mapping_v2,
source_type volume), through the REST API on a whole cloud in-process.

As upstream nova, the API reserves the volume for the new server before
it answers (Cinder's reserved attachment), so a second request for the
same volume is refused at once; a boot that ends in ERROR before any
host took it gives the volume back, and a request for several servers
with one volume is refused with 400.  The volume service is the fork's
local one (nova/volume/local.py).
"""

from __future__ import annotations

import fixtures

from nova.compute import vm_states
from nova.tests.functional import fixtures as func_fixtures
from nova.tests.functional.api import base as api_base


class _VolumeBoot(api_base.APITestCase):

    def setUp(self):
        super().setUp()
        self.ctx = self.cloud.user_context()
        self.volumes = self.cloud.manager('compute1').services.volume

    def volume(self, volume_id):
        return self.volumes.get(self.cloud.ctx, volume_id)

    def create(self, volume_id, **server):
        body = {'server': {
            'name': 'bfv', 'flavorRef': '1', 'networks': 'auto',
            'imageRef': self.cloud.image['id'],
            'block_device_mapping_v2': [
                {'boot_index': 0, 'uuid': self.cloud.image['id'],
                 'source_type': 'image', 'destination_type': 'local'},
                {'boot_index': -1, 'uuid': volume_id,
                 'source_type': 'volume', 'destination_type': 'volume',
                 'delete_on_termination': False}],
            **server}}
        return self.call('POST', '/servers', body)

    def servers(self):
        return self.cloud.db.instance_get_all_by_filters(
            self.cloud.ctx, {'deleted': False})


class TestServerCreateVolumes(_VolumeBoot):

    def test_volume_is_reserved_for_the_server_when_it_is_created(self):
        volume = self.volumes.create(self.ctx, 1, 'data')
        code, data = self.create(volume['id'])
        self.assertEqual(202, code, data)
        uuid = data['server']['id']
        # Reserved for the server before the answer (the build may
        # have attached it since).
        reserved = self.volume(volume['id'])
        self.assertEqual(uuid, reserved['instance_uuid'])
        self.assertIn(reserved['status'], ('reserved', 'attaching',
                                           'in-use'))
        # So a second server asking for it is refused at once.
        code, data = self.create(volume['id'], name='second')
        self.assertEqual(400, code, data)
        self.assertIn(f'volume {volume["id"]}',
                      data['badRequest']['message'])
        self.assertEqual([uuid], [s['uuid'] for s in self.servers()])

        self.cloud.wait_for_state(uuid, vm_states.ACTIVE)
        attached = self.volume(volume['id'])
        self.assertEqual(('in-use', uuid),
                         (attached['status'], attached['instance_uuid']))
        code, data = self.call('DELETE', f'/servers/{uuid}')
        self.assertEqual(204, code, data)
        self.cloud.wait_for_deleted(uuid)
        freed = self.volume(volume['id'])
        self.assertEqual(('available', None),
                         (freed['status'], freed['instance_uuid']))

    def test_volume_that_is_not_available_is_400(self):
        volume = self.volumes.create(self.ctx, 1, 'data')
        self.volumes.reserve(self.cloud.ctx, volume['id'])
        code, data = self.create(volume['id'])
        self.assertEqual(400, code, data)
        self.assertEqual([], self.servers())

    def test_unknown_volume_is_400(self):
        missing = '6d1a5a5b-54c6-4b8e-8d35-6a4f5a1c2b3d'
        code, data = self.create(missing)
        self.assertEqual(400, code, data)
        self.assertEqual(
            f'Block Device Mapping is Invalid: failed to get volume '
            f'{missing}.', data['badRequest']['message'])
        self.assertEqual([], self.servers())

    def test_several_servers_with_one_volume_is_400(self):
        volume = self.volumes.create(self.ctx, 1, 'data')
        code, data = self.create(volume['id'], min_count=2, max_count=2)
        self.assertEqual(400, code, data)
        self.assertEqual(
            {'badRequest': {
                'code': 400,
                'message': 'Cannot attach one or more volumes to multiple '
                           'instances'}}, data)
        self.assertEqual([], self.servers())
        self.assertEqual('available', self.volume(volume['id'])['status'])


class TestServerCreateVolumesNoHost(_VolumeBoot):
    """The boot ends in ERROR before any host took the server (its
    conductor.build_instances run fails): the reservation is released."""

    cloud_options = {'flow__enabled_hooks': ['fault_injection']}

    def test_volume_is_released_when_no_host_takes_the_server(self):
        self.useFixture(fixtures.EnvironmentVariable(
            'NOVA_FAULT_AT',
            'conductor.build_instances.select_destinations:fail'))
        volume = self.volumes.create(self.ctx, 1, 'data')
        code, data = self.create(volume['id'])
        self.assertEqual(202, code, data)
        uuid = data['server']['id']
        errored = self.cloud.wait_for_state(uuid, vm_states.ERROR)
        self.assertIsNone(errored['host'])
        self.cloud.wait_for_action(uuid, 'create')
        freed = self.volume(volume['id'])
        self.assertEqual(('available', None),
                         (freed['status'], freed['instance_uuid']))
        # The server can be deleted, and the volume booted with again.
        code, data = self.call('DELETE', f'/servers/{uuid}')
        self.assertEqual(204, code, data)
        self.cloud.wait_for_deleted(uuid)
        self.assertEqual('available', self.volume(volume['id'])['status'])
        func_fixtures.wait_for(lambda: not self.servers(),
                               what='no server left')
