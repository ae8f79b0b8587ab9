"""os-migrations and /servers/{id}/migrations: fields and behaviour by
microversion, filters, paging, policy, and the errors of force-complete
and abort."""

import datetime
from unittest import mock

from nova import exception
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


class _ServerMigrationsTest(fakes.APITestCase):

    def setUp(self):
        super().setUp()
        self.server = self.compute.add_instance(vm_state='active',
                                                task_state='migrating')
        self.uuid = self.server['uuid']
        self.live = self.db.add_migration(instance_uuid=self.uuid,
                                          status='running')
        self.url = f'/servers/{self.uuid}/migrations'


class TestServerMigrationsRead(_ServerMigrationsTest):

    def setUp(self):
        super().setUp()
        self.db.add_migration(instance_uuid=self.uuid, status='completed')
        self.db.add_migration(instance_uuid=self.uuid,
                              migration_type='resize', status='migrating')
        self.db.add_migration(status='running')  # another server's

    def expected(self, **extra):
        view = {
            'id': 1, 'server_uuid': self.uuid, 'source_node': 'node1',
            'dest_node': 'node2', 'source_compute': 'host1',
            'dest_compute': 'host2', 'dest_host': '192.0.2.2',
            'status': 'running', 'memory_total_bytes': 1024,
            'memory_processed_bytes': 512, 'memory_remaining_bytes': 512,
            'disk_total_bytes': 2048, 'disk_processed_bytes': 1024,
            'disk_remaining_bytes': 1024,
            'created_at': '2026-01-02T03:05:05.000000', 'updated_at': None}
        view.update(extra)
        return view

    def test_not_found_before_223(self):
        self.assertFault(404, 'itemNotFound', self.admin(
            'GET', self.url, version='2.22'))
        self.assertFault(404, 'itemNotFound', self.admin(
            'GET', self.url + '/1', version='2.22'))

    def test_index_lists_live_migrations_under_way(self):
        code, data, _ = self.admin('GET', self.url, version='2.23')
        self.assertEqual(200, code)
        self.assertEqual({'migrations': [self.expected()]}, data)

    def test_uuid_from_259_user_and_project_from_280(self):
        _code, data, _ = self.admin('GET', self.url, version='2.59')
        self.assertEqual([self.expected(uuid=self.live['uuid'])],
                         data['migrations'])
        _code, data, _ = self.admin('GET', self.url + '/1', version='2.80')
        self.assertEqual(self.expected(uuid=self.live['uuid'],
                                       user_id='u1', project_id='p1'),
                         data['migration'])

    def test_show(self):
        code, data, _ = self.admin('GET', self.url + '/1', version='2.23')
        self.assertEqual(200, code)
        self.assertEqual({'migration': self.expected()}, data)

    def test_show_not_found_messages(self):
        for mid, message in (
                ('4', f'In-progress live migration 4 is not found for '
                      f'server {self.uuid}.'),
                ('99', f'In-progress live migration 99 is not found for '
                       f'server {self.uuid}.'),
                ('x', f'In-progress live migration x is not found for '
                      f'server {self.uuid}.'),
                ('3', f'Migration 3 for server {self.uuid} is not '
                      f'live-migration.'),
                ('2', f'Live migration 2 for server {self.uuid} is not in '
                      f'progress.')):
            fault = self.assertFault(404, 'itemNotFound', self.admin(
                'GET', f'{self.url}/{mid}', version='2.23'))
            self.assertEqual(message, fault['message'])

    def test_admin_only(self):
        for path in (self.url, self.url + '/1'):
            self.assertFault(403, 'forbidden', self.call(
                'GET', path, version='2.23'))
        # Another project's server is not found, as everywhere.
        self.assertFault(404, 'itemNotFound', self.call(
            'GET', self.url, version='2.23', token='u2:p2'))

    def test_unknown_server(self):
        self.assertFault(404, 'itemNotFound', self.admin(
            'GET', '/servers/9b1f4b43-0000-4000-8000-000000000000/'
                   'migrations', version='2.23'))


class TestForceComplete(_ServerMigrationsTest):

    def force(self, body=None, version='2.22', admin=True, mid='1'):
        body = {'force_complete': None} if body is None else body
        call = self.admin if admin else self.call
        return call('POST', f'{self.url}/{mid}/action', body,
                    version=version)

    def test_accepted_from_222(self):
        self.assertFault(404, 'itemNotFound', self.force(version='2.21'))
        code, data, resp = self.force()
        self.assertEqual(202, code)
        self.assertIsNone(data)
        self.assertEqual(('live_migrate_force_complete', (self.uuid, '1'),
                          {}), self.compute.calls[-1])

    def test_body_validated(self):
        for body in ({'force_complete': {}}, {'force_complete': None,
                                              'x': 1}):
            self.assertFault(400, 'badRequest', self.force(body))
        self.assertEqual([], self.compute.calls)

    def test_admin_only(self):
        self.assertFault(403, 'forbidden', self.force(admin=False))
        self.assertEqual([], self.compute.calls)

    def test_migration_errors_are_400(self):
        for error in (
                exception.MigrationNotFoundForInstance(
                    migration_id='1', instance_id=self.uuid),
                exception.InstanceMigrationIsNotLiveMigration(
                    migration_id='1', instance_uuid=self.uuid),
                exception.InvalidMigrationState(
                    migration_id='1', instance_uuid=self.uuid,
                    state='queued', method='force complete')):
            self.compute.live_migrate_force_complete = mock.Mock(
                side_effect=error)
            fault = self.assertFault(400, 'badRequest', self.force())
            self.assertEqual(error.format_message(), fault['message'])

    def test_instance_errors_are_409(self):
        for error in (
                exception.InstanceInvalidState(
                    attr='task_state', instance_uuid=self.uuid, state=None,
                    method='force_complete'),
                exception.InstanceIsLocked(instance_uuid=self.uuid)):
            self.compute.live_migrate_force_complete = mock.Mock(
                side_effect=error)
            self.assertFault(409, 'conflictingRequest', self.force())


class TestAbort(_ServerMigrationsTest):

    def abort(self, version='2.24', admin=True, mid='1'):
        call = self.admin if admin else self.call
        return call('DELETE', f'{self.url}/{mid}', version=version)

    def test_accepted_from_224(self):
        self.assertFault(404, 'itemNotFound', self.abort(version='2.23'))
        code, data, _ = self.abort()
        self.assertEqual(202, code)
        self.assertIsNone(data)
        self.assertEqual(('live_migrate_abort', (self.uuid, '1'),
                          {'support_abort_in_queue': False}),
                         self.compute.calls[-1])

    def test_queued_abort_from_265(self):
        self.abort(version='2.64')
        self.assertFalse(self.compute.calls[-1][2]['support_abort_in_queue'])
        self.abort(version='2.65')
        self.assertTrue(self.compute.calls[-1][2]['support_abort_in_queue'])

    def test_admin_only(self):
        self.assertFault(403, 'forbidden', self.abort(admin=False))
        self.assertEqual([], self.compute.calls)

    def test_errors(self):
        for error, code, name in (
                (exception.MigrationNotFoundForInstance(
                    migration_id='9', instance_id=self.uuid),
                 404, 'itemNotFound'),
                (exception.InvalidMigrationState(
                    migration_id='1', instance_uuid=self.uuid,
                    state='completed', method='abort live migration'),
                 400, 'badRequest'),
                (exception.InstanceMigrationIsNotLiveMigration(
                    migration_id='1', instance_uuid=self.uuid),
                 400, 'badRequest'),
                (exception.InstanceInvalidState(
                    attr='task_state', instance_uuid=self.uuid, state=None,
                    method='abort live migration'),
                 409, 'conflictingRequest'),
                (exception.InstanceIsLocked(instance_uuid=self.uuid),
                 409, 'conflictingRequest')):
            self.compute.live_migrate_abort = mock.Mock(side_effect=error)
            fault = self.assertFault(code, name, self.abort())
            self.assertEqual(error.format_message(), fault['message'])
