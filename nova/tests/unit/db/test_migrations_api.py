"""Migration records and the claims of a move, on every backend."""

from __future__ import annotations

import datetime

import testscenarios
from oslo_utils import timeutils

from nova import exception
from nova.db import api as db
from nova.tests.unit.db import base

load_tests = testscenarios.load_tests_apply_scenarios


class MoveClaimTestCase(base.DBTestCase):

    def setUp(self):
        super().setUp()
        self.source = self._new_node('src', 4096)
        self.dest = self._new_node('dst', 1024)
        db.allocation_claim(self.admin, self.source, 'i1', 1, 512, 1)

    def _new_node(self, host, memory_mb):
        return db.compute_node_create(self.admin, {
            'host': host, 'hypervisor_hostname': host, 'vcpus': 4,
            'memory_mb': memory_mb, 'local_gb': 40,
            'cpu_allocation_ratio': 1.0, 'ram_allocation_ratio': 1.0,
            'disk_allocation_ratio': 1.0})['id']

    def _used(self, node_id):
        node = db.compute_node_get(self.admin, node_id)
        return node['memory_mb_used'], node['running_vms']

    def test_move_claim_hands_the_source_share_to_the_migration(self):
        self.assertTrue(db.allocation_move_claim(
            self.admin, 'i1', 'm1', self.dest, 2, 1024, 2))
        self.assertEqual((512, 1), self._used(self.source))
        self.assertEqual((1024, 1), self._used(self.dest))
        self.assertEqual(self.source, db.allocation_get_by_instance(
            self.admin, 'm1')['compute_node_id'])
        self.assertEqual(self.dest, db.allocation_get_by_instance(
            self.admin, 'i1')['compute_node_id'])
        # Again: nothing changes.
        self.assertFalse(db.allocation_move_claim(
            self.admin, 'i1', 'm1', self.dest, 2, 1024, 2))
        self.assertEqual((1024, 1), self._used(self.dest))

    def test_refused_move_claim_changes_nothing(self):
        self.assertRaises(exception.ComputeResourcesUnavailable,
                          db.allocation_move_claim, self.admin, 'i1', 'm1',
                          self.dest, 1, 2048, 1)
        self.assertEqual(self.source, db.allocation_get_by_instance(
            self.admin, 'i1')['compute_node_id'])
        self.assertIsNone(db.allocation_get_by_instance(self.admin, 'm1'))
        self.assertEqual((0, 0), self._used(self.dest))

    def test_revert_gives_the_source_share_back(self):
        db.allocation_move_claim(self.admin, 'i1', 'm1', self.dest, 1, 1024,
                                 1)
        self.assertTrue(db.allocation_move_revert(self.admin, 'i1', 'm1'))
        self.assertEqual((0, 0), self._used(self.dest))
        self.assertEqual((512, 1), self._used(self.source))
        self.assertEqual(self.source, db.allocation_get_by_instance(
            self.admin, 'i1')['compute_node_id'])
        # Idempotent: the instance's own allocation is not touched again.
        self.assertFalse(db.allocation_move_revert(self.admin, 'i1', 'm1'))
        self.assertEqual((512, 1), self._used(self.source))

    def test_confirm_releases_the_migration_share(self):
        db.allocation_move_claim(self.admin, 'i1', 'm1', self.dest, 1, 1024,
                                 1)
        self.assertTrue(db.allocation_release(self.admin, 'm1'))
        self.assertEqual((0, 0), self._used(self.source))
        self.assertEqual((1024, 1), self._used(self.dest))
        self.assertFalse(db.allocation_move_revert(self.admin, 'i1', 'm1'))
        self.assertEqual((1024, 1), self._used(self.dest))


class MigrationRecordTestCase(base.DBTestCase):

    def _create(self, **values):
        record = {'instance_uuid': 'i1', 'source_compute': 'a',
                  'dest_compute': 'b', 'source_node': 'a', 'dest_node': 'b',
                  'status': 'pre-migrating', 'migration_type': 'resize',
                  'old_flavor': {'flavorid': '1'},
                  'new_flavor': {'flavorid': '2'}}
        record.update(values)
        return db.migration_create(self.admin, record)

    def test_create_and_get(self):
        created = self._create()
        got = db.migration_get_by_uuid(self.admin, created['uuid'])
        self.assertEqual(created['id'], got['id'])
        self.assertEqual({'flavorid': '2'}, got['new_flavor'])
        self.assertEqual(got, db.migration_get(self.admin, created['id']))
        self.assertRaises(exception.MigrationNotFound,
                          db.migration_get_by_uuid, self.admin, 'nope')

    def test_update_compare_and_swap(self):
        uuid = self._create()['uuid']
        db.migration_update(self.admin, uuid, {'status': 'migrating'},
                            expected_status='pre-migrating')
        error = self.assertRaises(
            exception.UnexpectedMigrationStatusError, db.migration_update,
            self.admin, uuid, {'status': 'finished'},
            expected_status='post-migrating')
        self.assertIn('migrating', str(error))
        self.assertEqual('migrating', db.migration_get_by_uuid(
            self.admin, uuid)['status'])

    def test_in_progress_excludes_final_statuses(self):
        self._create(status='confirmed')
        live = self._create(status='running',
                            migration_type='live-migration')
        self.assertEqual([live['uuid']], [
            m['uuid'] for m in db.migration_get_in_progress_by_instance(
                self.admin, 'i1')])
        self.assertEqual([], db.migration_get_in_progress_by_instance(
            self.admin, 'i1', 'resize'))

    def test_filters_and_paging(self):
        first = self._create(source_compute='x', dest_compute='y')
        second = self._create(instance_uuid='i2', status='finished')
        third = self._create(instance_uuid='i3', dest_compute='x')
        self.assertEqual(
            {first['uuid'], third['uuid']},
            {m['uuid'] for m in db.migration_get_all_by_filters(
                self.admin, {'host': 'x'})})
        self.assertEqual([second['uuid']], [
            m['uuid'] for m in db.migration_get_all_by_filters(
                self.admin, {'status': 'finished'})])
        newest_first = [m['uuid'] for m in db.migration_get_all_by_filters(
            self.admin, sort_keys=['id'])]
        self.assertEqual([third['uuid'], second['uuid'], first['uuid']],
                         newest_first)
        page = db.migration_get_all_by_filters(
            self.admin, sort_keys=['id'], limit=1, marker=third['uuid'])
        self.assertEqual([second['uuid']], [m['uuid'] for m in page])
        self.assertRaises(exception.MarkerNotFound,
                          db.migration_get_all_by_filters, self.admin,
                          marker='nope')

    def test_unconfirmed_after_the_window(self):
        old = self._create(status='finished')
        self._create(status='finished', dest_compute='c')
        db.migration_update(self.admin, old['uuid'], {
            'updated_at': timeutils.utcnow() - datetime.timedelta(
                seconds=120)})
        self.assertEqual([old['uuid']], [
            m['uuid'] for m in db.migration_get_unconfirmed_by_dest_compute(
                self.admin, 60, 'b')])
        self.assertEqual([], db.migration_get_unconfirmed_by_dest_compute(
            self.admin, 600, 'b'))
