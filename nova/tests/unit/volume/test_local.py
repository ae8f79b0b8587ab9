"""Local volumes: records, files and cinder's attachment states.

The same tests run against the REST client (test_cinder), through the
Block Storage API to these local volumes: the hooks below are what
differs between the two.
"""

from __future__ import annotations

import os

import fixtures
import testscenarios

import nova.conf
from nova import context, exception
from nova.image import api as image_api
from nova.image import local as local_image
from nova.tests.unit.db import base
from nova.volume import api as volume_api
from nova.volume import local

load_tests = testscenarios.load_tests_apply_scenarios
CONF = nova.conf.CONF

I1 = '7b5e3c0a-1f9e-4a51-9f0e-000000000001'
I2 = '7b5e3c0a-1f9e-4a51-9f0e-000000000002'


class LocalVolumeTestCase(base.DBTestCase):

    #: The class [volume] backend names.
    implementation: type = local.LocalVolumeAPI
    #: Whether get() tells the instance a reserved volume is for (the
    #: Block Storage API's views list only attached instances).
    shows_reserving_instance = True
    #: What create raises for an image that does not exist (the Block
    #: Storage API answers 400, as Cinder).
    missing_image_error: type = exception.ImageNotFound

    def _context(self, user_id: str,
                 project_id: str) -> context.RequestContext:
        return context.RequestContext(user_id, project_id)

    def _path(self, volume_id: str) -> str:
        """The volume's file (where the local service keeps it)."""
        return local.LocalVolumeAPI().path(volume_id)

    def setUp(self) -> None:
        super().setUp()
        self.path = self.useFixture(fixtures.TempDir()).path
        CONF.set_override('volumes_path', os.path.join(self.path, 'vols'),
                          group='volume')
        self.addCleanup(CONF.clear_override, 'volumes_path', group='volume')
        self.ctx = self._context('fake-user', 'fake-project')
        self.volumes = volume_api.API()
        self.volume = self.volumes.create(self.ctx, 2, name='data')

    def _status(self):
        volume = self.volumes.get(self.ctx, self.volume['id'])
        instance = volume['instance_uuid']
        if volume['attach_status'] != 'attached' and \
                not self.shows_reserving_instance:
            instance = None
        return volume['status'], volume['attach_status'], instance

    def _reserving(self, instance: str) -> str | None:
        return instance if self.shows_reserving_instance else None

    def test_create_makes_a_sparse_file(self):
        self.assertIsInstance(self.volumes, self.implementation)
        self.assertEqual('available', self.volume['status'])
        self.assertEqual('fake-project', self.volume['project_id'])
        stat = os.stat(self._path(self.volume['id']))
        self.assertEqual(2 * 1024 ** 3, stat.st_size)
        self.assertLess(stat.st_blocks * 512, 1024 ** 2)
        self.assertRaises(exception.InvalidVolume, self.volumes.create,
                          self.ctx, 0)

    def _image(self, data: bytes) -> dict:
        CONF.set_override('images_path', os.path.join(self.path, 'imgs'),
                          group='image')
        self.addCleanup(CONF.clear_override, 'images_path', group='image')
        return image_api.API().create(
            self.ctx, {'name': 'cirros', 'disk_format': 'raw',
                       'container_format': 'bare'}, data=data)

    def test_create_from_image_holds_its_data(self):
        data = b'\x7fboot sector' * 1000
        image = self._image(data)
        volume = self.volumes.create(self.ctx, 1, name='root',
                                     image_id=image['id'])
        self.assertEqual((1, 'available'), (volume['size'],
                                            volume['status']))
        with open(self._path(volume['id']), 'rb') as blocks:
            self.assertEqual(data, blocks.read(len(data)))
            self.assertEqual(b'\0' * 16, blocks.read(16))
        self.assertEqual(1024 ** 3, os.stat(self._path(volume['id'])).st_size)

    def test_create_from_image_refuses_what_does_not_fit(self):
        image = self._image(b'data')
        real_get = local_image.LocalImageAPI.get
        self.useFixture(fixtures.MonkeyPatch(
            'nova.image.local.LocalImageAPI.get',
            lambda api, ctx, image_id: dict(real_get(api, ctx, image_id),
                                            size=2 * 1024 ** 3)))
        error = self.assertRaises(exception.InvalidVolume,
                                  self.volumes.create, self.ctx, 1,
                                  image_id=image['id'])
        self.assertIn('Size of specified image 2GB is larger than volume '
                      'size 1GB.', str(error))
        self.assertRaises(self.missing_image_error, self.volumes.create,
                          self.ctx, 1, image_id=I1)
        # Neither left a volume nor a file.
        self.assertEqual([self.volume['id']],
                         [v['id'] for v in self.volumes.get_all(self.ctx)])
        self.assertEqual([f'volume-{self.volume["id"]}'],
                         os.listdir(os.path.join(self.path, 'vols')))

    def test_visibility_by_project(self):
        other = self._context('u2', 'other-project')
        self.assertRaises(exception.VolumeNotFound, self.volumes.get, other,
                          self.volume['id'])
        self.assertEqual([], self.volumes.get_all(other))
        self.assertEqual([self.volume['id']], [
            v['id'] for v in self.volumes.get_all(self.admin)])

    def test_attach_and_detach(self):
        info = self.volumes.attach(self.ctx, self.volume['id'], I1,
                                   '/dev/vdb')
        self.assertEqual('local', info['driver_volume_type'])
        self.assertEqual(self._path(self.volume['id']),
                         info['data']['device_path'])
        self.assertEqual(('in-use', 'attached', I1), self._status())
        # Again to the same instance: nothing changes.
        self.volumes.attach(self.ctx, self.volume['id'], I1, '/dev/vdb')
        self.assertRaises(exception.InvalidVolume, self.volumes.attach,
                          self.ctx, self.volume['id'], I2)
        self.assertRaises(exception.InvalidVolume, self.volumes.detach,
                          self.ctx, self.volume['id'], I2)
        self.volumes.detach(self.ctx, self.volume['id'], I1)
        self.assertEqual(('available', 'detached', None), self._status())
        # Idempotent: a revert may detach twice.
        self.volumes.detach(self.ctx, self.volume['id'], I1)

    def test_reserve_connect_attach_path(self):
        volume_id = self.volume['id']
        self.volumes.reserve(self.ctx, volume_id, I1)
        self.assertEqual(('reserved', 'detached', self._reserving(I1)),
                         self._status())
        self.volumes.reserve(self.ctx, volume_id, I1)
        self.assertRaises(exception.InvalidVolume, self.volumes.reserve,
                          self.ctx, volume_id, I2)
        self.assertRaises(exception.InvalidVolume, self.volumes.attach,
                          self.ctx, volume_id, I2)
        self.volumes.initialize_connection(self.ctx, volume_id, {})
        self.assertEqual('attaching', self._status()[0])
        self.volumes.attach(self.ctx, volume_id, I1, '/dev/vdc')
        self.assertEqual(('in-use', 'attached', I1), self._status())

    def test_unreserve_is_idempotent(self):
        self.volumes.reserve(self.ctx, self.volume['id'], I1)
        self.volumes.unreserve(self.ctx, self.volume['id'])
        self.volumes.unreserve(self.ctx, self.volume['id'])
        self.assertEqual(('available', 'detached', None), self._status())
        self.assertRaises(exception.InvalidVolume,
                          self.volumes.initialize_connection, self.ctx,
                          self.volume['id'])

    def test_unreserve_for_an_instance_leaves_another_ones_alone(self):
        if not self.shows_reserving_instance:
            self.skipTest('the service does not show who reserved a '
                          'volume, so it cannot tell')
        self.volumes.reserve(self.ctx, self.volume['id'], I1)
        self.volumes.unreserve(self.ctx, self.volume['id'], I2)
        self.assertEqual(('reserved', 'detached', self._reserving(I1)),
                         self._status())
        self.volumes.unreserve(self.ctx, self.volume['id'], I1)
        self.assertEqual(('available', 'detached', None), self._status())
        self.volumes.unreserve(self.ctx, self.volume['id'], I1)
        self.assertEqual(('available', 'detached', None), self._status())

    def test_detaching_and_roll_back(self):
        volume_id = self.volume['id']
        self.assertRaises(exception.InvalidVolume,
                          self.volumes.begin_detaching, self.ctx, volume_id)
        self.volumes.attach(self.ctx, volume_id, I1)
        self.volumes.begin_detaching(self.ctx, volume_id)
        self.assertEqual('detaching', self._status()[0])
        self.volumes.roll_detaching(self.ctx, volume_id)
        self.volumes.roll_detaching(self.ctx, volume_id)
        self.assertEqual('in-use', self._status()[0])

    def test_delete(self):
        self.volumes.attach(self.ctx, self.volume['id'], I1)
        self.assertRaises(exception.InvalidVolume, self.volumes.delete,
                          self.ctx, self.volume['id'])
        self.assertTrue(os.path.exists(self._path(self.volume['id'])))
        self.volumes.detach(self.ctx, self.volume['id'])
        self.volumes.delete(self.ctx, self.volume['id'])
        self.assertFalse(os.path.exists(self._path(self.volume['id'])))
        self.assertRaises(exception.VolumeNotFound, self.volumes.get,
                          self.ctx, self.volume['id'])
        self.assertRaises(exception.VolumeNotFound, self.volumes.delete,
                          self.ctx, self.volume['id'])

    def test_extend_only_while_available(self):
        volume_id = self.volume['id']
        self.volumes.extend(self.ctx, volume_id, 3)
        self.assertEqual(3, self.volumes.get(self.ctx, volume_id)['size'])
        self.assertEqual(3 * 1024 ** 3,
                         os.stat(self._path(volume_id)).st_size)
        self.assertRaises(exception.InvalidVolume, self.volumes.extend,
                          self.ctx, volume_id, 3)
        self.volumes.attach(self.ctx, volume_id, I1)
        self.assertRaises(exception.InvalidVolume, self.volumes.extend,
                          self.ctx, volume_id, 4)
        self.assertEqual(3, self.volumes.get(self.ctx, volume_id)['size'])

    def test_concurrent_attaches_have_one_winner(self):
        def attach(index):
            return self.volumes.attach(context.get_admin_context(),
                                       self.volume['id'],
                                       f'{I1[:-12]}{index + 10:012d}')

        results, errors = base.run_concurrently(6, attach)
        self.assertEqual(1, len(results))
        for error in errors:
            self.assertIsInstance(error, exception.InvalidVolume)
        self.assertEqual('in-use', self._status()[0])
