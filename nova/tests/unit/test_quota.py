"""nova.quota on its own: limits over defaults, counters, checks."""

import fixtures
from oslo_config import fixture as config_fixture

import nova.conf
from nova import exception, quota, test
from nova.tests.unit.api import fakes

CONF = nova.conf.CONF


class TestQuotaEngine(test.TestCase):

    def setUp(self):
        super().setUp()
        CONF([], project='nova', default_config_files=[])
        self.addCleanup(CONF.reset)
        self.db = fakes.FakeDB()
        self.engine = quota.QuotaEngine(self.db)
        self.ctx = type('Ctx', (), {'project_id': 'p1', 'user_id': 'u1'})()

    def test_user_over_project_over_defaults(self):
        self.db.quota_set(None, 'p1', {'cores': 8})
        self.db.quota_set(None, 'p1', {'cores': 4}, user_id='u1')
        self.assertEqual(20, self.engine.get_defaults(self.ctx)['cores'])
        self.assertEqual(8, self.engine.get_project_quotas(
            self.ctx, 'p1')['cores'])
        self.assertEqual(4, self.engine.get_user_quotas(
            self.ctx, 'p1', 'u1')['cores'])
        self.assertEqual(8, self.engine.get_user_quotas(
            self.ctx, 'p1', 'u2')['cores'])

    def test_a_counter_plugged_in_later_counts(self):
        original = quota.RESOURCES['server_groups'].counter
        self.addCleanup(quota.register_counter, ['server_groups'],
                        original)
        self.assertEqual({'server_groups': (0, 0)}, self.engine.count(
            self.ctx, 'p1', 'u1', ['server_groups']))
        quota.register_counter(
            ['server_groups'],
            lambda db, ctx, project, user: {'server_groups': (10, 3)})
        self.assertEqual({'server_groups': (10, 3)}, self.engine.count(
            self.ctx, 'p1', 'u1', ['server_groups']))
        error = self.assertRaises(exception.OverQuota,
                                  self.engine.check_deltas, self.ctx,
                                  {'server_groups': 1})
        self.assertEqual(['server_groups'], error.kwargs['overs'])

    def test_noop_driver_never_refuses(self):
        self.useFixture(config_fixture.Config(CONF)).config(
            driver='nova.quota.NoopQuotaDriver', group='quota')
        self.db.quota_set(None, 'p1', {'instances': 0})
        self.assertEqual(5, self.engine.check_num_instances(
            self.ctx, {'vcpus': 1, 'memory_mb': 1}, 1, 5))
        self.useFixture(fixtures.MockPatchObject(
            self.db, 'instance_usage_by_project',
            side_effect=AssertionError('nothing to count')))
        self.engine.check_metadata(self.ctx, {str(i): 'x'
                                              for i in range(500)})

    def _count_limit_reads(self):
        return self.useFixture(fixtures.MockPatchObject(
            self.db, 'quota_get_all_by_project',
            wraps=self.db.quota_get_all_by_project)).mock

    def test_limits_read_once_in_a_reading_block(self):
        reads = self._count_limit_reads()
        with self.engine.reading(self.ctx):
            self.engine.check_num_instances(
                self.ctx, {'vcpus': 1, 'memory_mb': 1}, 1, 1)
            self.engine.check_metadata(self.ctx, {'a': 'b'})
        self.assertEqual(1, reads.call_count)
        # Outside a block, each check reads them.
        self.engine.check_metadata(self.ctx, {})
        self.engine.check_metadata(self.ctx, {})
        self.assertEqual(3, reads.call_count)

    def test_each_reading_block_reads_the_limits_anew(self):
        with self.engine.reading(self.ctx):
            self.engine.check_metadata(self.ctx, {'a': 'b'})
        self.db.quota_set(None, 'p1', {'metadata_items': 0})
        with self.engine.reading(self.ctx):
            self.assertRaises(exception.MetadataLimitExceeded,
                              self.engine.check_metadata, self.ctx,
                              {'a': 'b'})

    def test_limits_of_other_projects_are_read_for_them(self):
        self.db.quota_set(None, 'p2', {'metadata_items': 0})
        with self.engine.reading(self.ctx):
            self.engine.check_metadata(self.ctx, {'a': 'b'})
            self.assertRaises(exception.MetadataLimitExceeded,
                              self.engine.check_metadata, self.ctx,
                              {'a': 'b'}, project_id='p2')

    def test_unlimited_only_when_project_and_user_are(self):
        names = quota.INSTANCE_RESOURCES
        self.assertFalse(self.engine.unlimited(self.ctx, names))
        self.db.quota_set(None, 'p1', {'instances': -1, 'cores': -1,
                                       'ram': -1})
        self.assertTrue(self.engine.unlimited(self.ctx, names))
        self.db.quota_set(None, 'p1', {'ram': 4096}, user_id='u1')
        self.assertFalse(self.engine.unlimited(self.ctx, names))
        self.assertTrue(self.engine.unlimited(self.ctx, names,
                                              user_id='u2'))
