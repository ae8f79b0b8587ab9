"""compute.api.API.create and delete write their records in one
transaction: a failure leaves nothing half-written."""

from __future__ import annotations

from unittest import mock

import fixtures
import sqlalchemy as sa
import testscenarios

import nova.conf
from nova import exception
from nova.compute import api as compute_api
from nova.compute import task_states
from nova.db import api as db
from nova.db import models
from nova.tests.unit.db import base
from nova.volume import local

load_tests = testscenarios.load_tests_apply_scenarios
CONF = nova.conf.CONF

FLAVOR = {'id': 1, 'flavorid': '1', 'name': 'm1.tiny', 'memory_mb': 512,
          'vcpus': 1, 'root_gb': 1, 'ephemeral_gb': 0, 'swap': 0}


class TestCreateIsAtomic(base.DBTestCase):

    def setUp(self):
        super().setUp()
        images = mock.Mock()
        images.get.return_value = {'id': 'image-1', 'status': 'active',
                                   'size': 1, 'min_disk': 0, 'min_ram': 0,
                                   'properties': {}}
        self.conductor = mock.Mock()
        self.api = compute_api.API(db=db, image_api=images,
                                   conductor_api=self.conductor,
                                   compute_rpcapi=mock.Mock(),
                                   volume_api=mock.Mock(),
                                   network_api=mock.Mock())

    def count(self, model):
        with db.reader() as connection:
            return connection.execute(sa.select(sa.func.count()).select_from(
                model.__table__)).scalar()

    def fail_action_insert(self):
        """Make the INSERT of the instance action fail, inside the
        transaction that wrote the instance's other records."""
        real = db._insert

        def insert(connection, table, values):
            if table is models.InstanceAction.__table__:
                raise exception.NovaException('boom')
            return real(connection, table, values)
        return mock.patch.object(db, '_insert', insert)

    def test_failed_action_record_leaves_no_instance(self):
        with self.fail_action_insert():
            self.assertRaises(exception.NovaException, self.api.create,
                              self.ctx, FLAVOR, 'image-1', name='vm')
        self.assertEqual(0, self.count(models.Instance))
        self.assertEqual(0, self.count(models.BlockDeviceMapping))
        self.conductor.build_instances.assert_not_called()

    def test_created_records_are_committed_before_the_cast(self):
        def build_instances(ctx, instances, **kwargs):
            # What the conductor will read: committed already.
            self.assertEqual(1, self.count(models.Instance))
            self.assertEqual(1, self.count(models.InstanceAction))
        self.conductor.build_instances.side_effect = build_instances
        instances, _ = self.api.create(self.ctx, FLAVOR, 'image-1',
                                       name='vm')
        self.assertEqual(1, len(instances))
        self.conductor.build_instances.assert_called_once()

    def test_failed_delete_action_leaves_the_task_state(self):
        instances, _ = self.api.create(self.ctx, FLAVOR, 'image-1',
                                       name='vm')
        uuid = instances[0]['uuid']
        db.instance_update(self.ctx, uuid, {'task_state': None,
                                            'host': 'compute1'})
        with self.fail_action_insert():
            self.assertRaises(exception.NovaException, self.api.delete,
                              self.ctx, db.instance_get_by_uuid(self.ctx,
                                                                uuid))
        self.assertNotEqual(task_states.DELETING,
                            db.instance_get_by_uuid(self.ctx,
                                                    uuid)['task_state'])


class TestCreateReservesVolumes(base.DBTestCase):
    """An existing volume a server boots with (source_type volume) is
    reserved for it before the build is cast, and released again when
    the create fails after that (the local volume service)."""

    def setUp(self):
        super().setUp()
        path = self.useFixture(fixtures.TempDir()).path
        CONF.set_override('volumes_path', path, group='volume')
        self.addCleanup(CONF.clear_override, 'volumes_path', group='volume')
        images = mock.Mock()
        images.get.return_value = {'id': 'image-1', 'status': 'active',
                                   'size': 1, 'min_disk': 0, 'min_ram': 0,
                                   'properties': {}}
        self.conductor = mock.Mock()
        self.volumes = local.LocalVolumeAPI()
        self.api = compute_api.API(db=db, image_api=images,
                                   conductor_api=self.conductor,
                                   compute_rpcapi=mock.Mock(),
                                   volume_api=self.volumes,
                                   network_api=mock.Mock())
        self.volume_id = self.volumes.create(self.ctx, 1, 'data')['id']

    def create(self, **kwargs):
        return self.api.create(
            self.ctx, FLAVOR, 'image-1', name='vm', block_device_mapping=[{
                'source_type': 'volume', 'destination_type': 'volume',
                'volume_id': self.volume_id, 'boot_index': None,
                'device_name': '/dev/vdb'}], **kwargs)

    def held(self):
        volume = self.volumes.get(self.ctx, self.volume_id)
        return volume['status'], volume['instance_uuid']

    def test_volume_is_reserved_before_the_cast(self):
        seen = []
        self.conductor.build_instances.side_effect = (
            lambda ctx, instances, **kw: seen.append(
                (self.held(), instances[0]['uuid'])))
        instances, _ = self.create()
        uuid = instances[0]['uuid']
        self.assertEqual([(('reserved', uuid), uuid)], seen)

    def test_failed_cast_releases_the_volume(self):
        self.conductor.build_instances.side_effect = (
            exception.NovaException('the message bus is down'))
        self.assertRaises(exception.NovaException, self.create)
        self.assertEqual(('available', None), self.held())

    def test_volume_taken_meanwhile_deletes_the_server(self):
        real_reserve = self.volumes.reserve

        def reserve(ctx, volume_id, instance_uuid=None):
            # Another request reserves it between the check and this.
            real_reserve(ctx, volume_id, 'another-server')
            return real_reserve(ctx, volume_id, instance_uuid)

        self.useFixture(fixtures.MonkeyPatch(
            'nova.volume.local.LocalVolumeAPI.reserve',
            lambda api, ctx, volume_id, instance_uuid=None: reserve(
                ctx, volume_id, instance_uuid)))
        self.assertRaises(exception.InvalidVolume, self.create)
        self.assertEqual(0, self.count_instances())
        self.assertEqual(('reserved', 'another-server'), self.held())
        self.conductor.build_instances.assert_not_called()

    def count_instances(self):
        return len(db.instance_get_all_by_filters(self.ctx,
                                                  {'deleted': False}))
