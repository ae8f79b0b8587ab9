"""Local volumes: records, files and cinder's attachment states."""

from __future__ import annotations

import os

import fixtures
import testscenarios

import nova.conf
from nova import context, exception
from nova.tests.unit.db import base
from nova.volume import api as volume_api
from nova.volume import local

load_tests = testscenarios.load_tests_apply_scenarios
CONF = nova.conf.CONF


class LocalVolumeTestCase(base.DBTestCase):

    def setUp(self) -> None:
        super().setUp()
        self.path = self.useFixture(fixtures.TempDir()).path
        CONF.set_override('volumes_path', os.path.join(self.path, 'vols'),
                          group='volume')
        self.addCleanup(CONF.clear_override, 'volumes_path', group='volume')
        self.volumes = volume_api.API()
        self.volume = self.volumes.create(self.ctx, 2, name='data')

    def _status(self):
        volume = self.volumes.get(self.ctx, self.volume['id'])
        return volume['status'], volume['attach_status'], \
            volume['instance_uuid']

    def test_create_makes_a_sparse_file(self):
        self.assertIsInstance(self.volumes, local.LocalVolumeAPI)
        self.assertEqual('available', self.volume['status'])
        self.assertEqual('fake-project', self.volume['project_id'])
        stat = os.stat(self.volume['path'])
        self.assertEqual(2 * 1024 ** 3, stat.st_size)
        self.assertLess(stat.st_blocks * 512, 1024 ** 2)
        self.assertRaises(exception.InvalidVolume, self.volumes.create,
                          self.ctx, 0)

    def test_visibility_by_project(self):
        other = context.RequestContext('u2', 'other-project')
        self.assertRaises(exception.VolumeNotFound, self.volumes.get, other,
                          self.volume['id'])
        self.assertEqual([], self.volumes.get_all(other))
        self.assertEqual([self.volume['id']], [
            v['id'] for v in self.volumes.get_all(self.admin)])

    def test_attach_and_detach(self):
        info = self.volumes.attach(self.ctx, self.volume['id'], 'i1',
                                   '/dev/vdb')
        self.assertEqual('local', info['driver_volume_type'])
        self.assertEqual(self.volume['path'], info['data']['device_path'])
        self.assertEqual(('in-use', 'attached', 'i1'), self._status())
        # Again to the same instance: nothing changes.
        self.volumes.attach(self.ctx, self.volume['id'], 'i1', '/dev/vdb')
        self.assertRaises(exception.InvalidVolume, self.volumes.attach,
                          self.ctx, self.volume['id'], 'i2')
        self.assertRaises(exception.InvalidVolume, self.volumes.detach,
                          self.ctx, self.volume['id'], 'i2')
        self.volumes.detach(self.ctx, self.volume['id'], 'i1')
        self.assertEqual(('available', 'detached', None), self._status())
        # Idempotent: a revert may detach twice.
        self.volumes.detach(self.ctx, self.volume['id'], 'i1')

    def test_reserve_connect_attach_path(self):
        volume_id = self.volume['id']
        self.volumes.reserve(self.ctx, volume_id, 'i1')
        self.assertEqual(('reserved', 'detached', 'i1'), self._status())
        self.volumes.reserve(self.ctx, volume_id, 'i1')
        self.assertRaises(exception.InvalidVolume, self.volumes.reserve,
                          self.ctx, volume_id, 'i2')
        self.assertRaises(exception.InvalidVolume, self.volumes.attach,
                          self.ctx, volume_id, 'i2')
        self.volumes.initialize_connection(self.ctx, volume_id, {})
        self.assertEqual('attaching', self._status()[0])
        self.volumes.attach(self.ctx, volume_id, 'i1', '/dev/vdc')
        self.assertEqual(('in-use', 'attached', 'i1'), self._status())

    def test_unreserve_is_idempotent(self):
        self.volumes.reserve(self.ctx, self.volume['id'], 'i1')
        self.volumes.unreserve(self.ctx, self.volume['id'])
        self.volumes.unreserve(self.ctx, self.volume['id'])
        self.assertEqual(('available', 'detached', None), self._status())
        self.assertRaises(exception.InvalidVolume,
                          self.volumes.initialize_connection, self.ctx,
                          self.volume['id'])

    def test_detaching_and_roll_back(self):
        volume_id = self.volume['id']
        self.assertRaises(exception.InvalidVolume,
                          self.volumes.begin_detaching, self.ctx, volume_id)
        self.volumes.attach(self.ctx, volume_id, 'i1')
        self.volumes.begin_detaching(self.ctx, volume_id)
        self.assertEqual('detaching', self._status()[0])
        self.volumes.roll_detaching(self.ctx, volume_id)
        self.volumes.roll_detaching(self.ctx, volume_id)
        self.assertEqual('in-use', self._status()[0])

    def test_delete(self):
        self.volumes.attach(self.ctx, self.volume['id'], 'i1')
        self.assertRaises(exception.InvalidVolume, self.volumes.delete,
                          self.ctx, self.volume['id'])
        self.assertTrue(os.path.exists(self.volume['path']))
        self.volumes.detach(self.ctx, self.volume['id'])
        self.volumes.delete(self.ctx, self.volume['id'])
        self.assertFalse(os.path.exists(self.volume['path']))
        self.assertRaises(exception.VolumeNotFound, self.volumes.get,
                          self.ctx, self.volume['id'])
        self.assertRaises(exception.VolumeNotFound, self.volumes.delete,
                          self.ctx, self.volume['id'])

    def test_concurrent_attaches_have_one_winner(self):
        def attach(index):
            return self.volumes.attach(context.get_admin_context(),
                                       self.volume['id'], f'inst-{index}')

        results, errors = base.run_concurrently(6, attach)
        self.assertEqual(1, len(results))
        for error in errors:
            self.assertIsInstance(error, exception.InvalidVolume)
        self.assertEqual('in-use', self._status()[0])
