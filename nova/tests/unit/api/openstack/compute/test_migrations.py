"""os-migrations: fields and behaviour by microversion, filters, paging
and policy."""

import datetime

from nova.tests.unit.api import fakes

BASE = 'http://localhost/v2.1'


class TestMigrationsList(fakes.APITestCase):

    def setUp(self):
        super().setUp()
        self.live = self.db.add_migration(status='running')
        self.resize = self.db.add_migration(
            migration_type='resize', status='finished',
            old_instance_type_id=1, new_instance_type_id=2,
            updated_at=fakes.NOW + datetime.timedelta(hours=1))
        self.done = self.db.add_migration(status='completed')

    def list(self, query='', version=None):
        return self.admin('GET', '/os-migrations' + query, version=version)

    def test_admin_only(self):
        self.assertFault(403, 'forbidden', self.call('GET',
                                                     '/os-migrations'))
        self.assertFault(403, 'forbidden', self.call(
            'GET', '/os-migrations', version='2.80'))

    def test_fields_before_223(self):
        code, data, _ = self.list(version='2.22')
        self.assertEqual(200, code)
        resize = [m for m in data['migrations'] if m['id'] == 2][0]
        self.assertEqual({
            'id': 2, 'source_node': 'node1', 'dest_node': 'node2',
            'source_compute': 'host1', 'dest_compute': 'host2',
            'dest_host': '192.0.2.2', 'status': 'finished',
            'instance_uuid': self.resize['instance_uuid'],
            'old_instance_type_id': 1, 'new_instance_type_id': 2,
            'created_at': '2026-01-02T03:06:05.000000',
            'updated_at': '2026-01-02T04:04:05.000000'}, resize)
        for view in data['migrations']:
            self.assertNotIn('migration_type', view)
            self.assertNotIn('links', view)

    def test_223_type_and_links_of_live_migrations_under_way(self):
        _code, data, _ = self.list(version='2.23')
        views = {m['id']: m for m in data['migrations']}
        self.assertEqual('resize', views[2]['migration_type'])
        self.assertEqual('live-migration', views[3]['migration_type'])
        # Only the running live migration is reachable below its server.
        self.assertNotIn('links', views[2])
        self.assertNotIn('links', views[3])
        server = self.live['instance_uuid']
        self.assertEqual([
            {'rel': 'self',
             'href': f'{BASE}/servers/{server}/migrations/1'},
            {'rel': 'bookmark',
             'href': f'http://localhost/servers/{server}/migrations/1'}],
            views[1]['links'])
        for view in views.values():
            self.assertNotIn('uuid', view)
            self.assertNotIn('user_id', view)

    def test_in_progress_statuses_have_links(self):
        for status in ('queued', 'preparing', 'post-migrating'):
            self.db.add_migration(status=status)
        _code, data, _ = self.list(version='2.23')
        linked = {m['status'] for m in data['migrations'] if 'links' in m}
        self.assertEqual({'running', 'queued', 'preparing',
                          'post-migrating'}, linked)

    def test_hidden_migrations_never_listed(self):
        self.db.add_migration(hidden=True)
        for version in ('2.1', '2.59', '2.80'):
            _code, data, _ = self.list('?hidden=1' if version == '2.1'
                                       else '', version=version)
            self.assertEqual([3, 2, 1], [m['id'] for m in data['migrations']])

    def test_filters_passed_as_upstream(self):
        self.list('?host=h1&source_compute=h2&status=running&status=error'
                  '&instance_uuid=i1&migration_type=resize&hidden=1'
                  '&node=n1&user_id=u1&changes-since=2026-01-01T00:00:00Z')
        filters, sort_keys, _dirs, limit, marker = \
            self.db.migration_queries[-1]
        # host matches either side and wins over source_compute; the last
        # of a repeated key; hidden ones never; unknown keys (and, before
        # 2.59/2.80, the later filters) accepted and ignored.
        self.assertEqual({'host': 'h1', 'status': 'error',
                          'instance_uuid': 'i1', 'migration_type': 'resize',
                          'hidden': False}, filters)
        self.assertEqual((None, None, None), (sort_keys, limit, marker))
        self.list('?source_compute=h2')
        self.assertEqual({'source_compute': 'h2', 'hidden': False},
                         self.db.migration_queries[-1][0])

    def test_status_filter(self):
        _code, data, _ = self.list('?status=completed')
        self.assertEqual([3], [m['id'] for m in data['migrations']])

    def test_259_uuid_sorted_newest_first_with_paging(self):
        code, data, _ = self.list(version='2.59')
        self.assertEqual(200, code)
        self.assertEqual([3, 2, 1], [m['id'] for m in data['migrations']])
        self.assertEqual(self.done['uuid'], data['migrations'][0]['uuid'])
        self.assertNotIn('migrations_links', data)
        _filters, keys, dirs, limit, marker = self.db.migration_queries[-1]
        self.assertEqual((['created_at', 'id'], ['desc', 'desc'], 1000,
                          None), (keys, dirs, limit, marker))

        _code, data, _ = self.list('?limit=2', version='2.59')
        self.assertEqual([3, 2], [m['id'] for m in data['migrations']])
        self.assertEqual(
            [{'rel': 'next',
              'href': f'{BASE}/os-migrations?limit=2&marker='
                      f"{self.resize['uuid']}"}],
            data['migrations_links'])
        _code, data, _ = self.list(f"?limit=2&marker={self.resize['uuid']}",
                                   version='2.59')
        self.assertEqual([1], [m['id'] for m in data['migrations']])
        self.assertNotIn('migrations_links', data)

    def test_limit_capped_by_max_limit(self):
        fakes.CONF.set_override('max_limit', 2, group='api')
        _code, data, _ = self.list('?limit=50', version='2.59')
        self.assertEqual(2, len(data['migrations']))
        self.assertIn('migrations_links', data)
        _code, data, _ = self.list(version='2.59')
        self.assertIn('migrations_links', data)

    def test_unknown_marker_is_400(self):
        fault = self.assertFault(400, 'badRequest', self.list(
            '?marker=nope', version='2.59'))
        self.assertEqual('Marker nope could not be found.',
                         fault['message'])

    def test_paging_ignored_before_259(self):
        _code, data, _ = self.list('?limit=1&marker=nope', version='2.58')
        self.assertEqual(3, len(data['migrations']))

    def test_query_strict_from_259(self):
        for query in ('?limit=-1', '?limit=abc', '?limit=1&limit=2',
                      '?marker=a&marker=b', '?changes-since=yesterday',
                      '?foo=bar', '?changes-before=2026-01-01T00:00:00Z',
                      '?user_id=u1'):
            self.assertFault(400, 'badRequest',
                             self.list(query, version='2.59'))
            code, _data, _ = self.list(query, version='2.58')
            self.assertEqual(200, code, query)

    def test_changes_since_from_259(self):
        self.list('?changes-since=2026-01-02T04:00:00Z', version='2.58')
        self.assertNotIn('changes-since', self.db.migration_queries[-1][0])
        self.list('?changes-since=2026-01-02T04:00:00Z', version='2.59')
        self.assertEqual(datetime.datetime(2026, 1, 2, 4),
                         self.db.migration_queries[-1][0]['changes-since'])

    def test_changes_before_from_266(self):
        query = '?changes-before=2026-01-02T04:00:00%2B01:00'
        self.list(query, version='2.66')
        self.assertEqual(datetime.datetime(2026, 1, 2, 3),
                         self.db.migration_queries[-1][0]['changes-before'])
        fault = self.assertFault(400, 'badRequest', self.list(
            '?changes-since=2026-01-02T05:00:00Z'
            '&changes-before=2026-01-02T04:00:00Z', version='2.66'))
        self.assertEqual('The value of changes-since must be less than or '
                         'equal to changes-before.', fault['message'])

    def test_280_user_and_project(self):
        self.db.add_migration(user_id='u2', project_id='p2')
        _code, data, _ = self.list(version='2.79')
        self.assertNotIn('user_id', data['migrations'][0])
        _code, data, _ = self.list('?user_id=u2&project_id=p2',
                                   version='2.80')
        self.assertEqual([4], [m['id'] for m in data['migrations']])
        self.assertEqual(('u2', 'p2'), (data['migrations'][0]['user_id'],
                                        data['migrations'][0]['project_id']))
        self.assertFault(400, 'badRequest', self.list(
            '?user_id=a&user_id=b', version='2.80'))

    def test_project_id_in_url(self):
        code, data, _ = self.admin('GET', '/admin/os-migrations')
        self.assertEqual(200, code)
        self.assertEqual(3, len(data['migrations']))

