"""os-migrations and /servers/{id}/migrations through the REST API, over
the real WSGI pipeline and database: migration records written with the
DB API, read back as an operator's client reads them at several
microversions, and the checks of force-complete and abort."""

from __future__ import annotations

import datetime

import fixtures

from nova.compute import task_states, vm_states
from nova.db import api as db
from nova.tests.functional.api import base as api_base

ADMIN = api_base.ADMIN
USER = api_base.USER
T0 = datetime.datetime(2026, 3, 1, 12, 0, 0)


class TestMigrationsAPI(api_base.APITestCase):

    def setUp(self):
        super().setUp()
        self.server = self.cloud.wait_for_state(
            self.cloud.boot(self.cloud.user_context())['uuid'],
            vm_states.ACTIVE)
        self.uuid = self.server['uuid']
        ctx = self.cloud.ctx
        self.live = self.migration(
            ctx, 1, status='running', user_id='demo', project_id='demo')
        self.resize = self.migration(
            ctx, 2, migration_type='resize', status='finished',
            old_instance_type_id=1, new_instance_type_id=2,
            dest_compute='compute1')
        self.other = self.migration(
            ctx, 3, instance_uuid='c0ffee00-0000-4000-8000-000000000003',
            source_compute='compute2', status='completed', user_id='alt',
            project_id='alt')
        self.hidden = self.migration(ctx, 4, hidden=True)

    def migration(self, ctx, minutes, **values):
        when = T0 + datetime.timedelta(minutes=minutes)
        row = dict(instance_uuid=self.uuid, source_compute='compute1',
                   dest_compute='compute9', source_node='compute1',
                   dest_node='compute9', dest_host='192.0.2.9',
                   old_instance_type_id=1, new_instance_type_id=1,
                   migration_type='live-migration', hidden=False,
                   memory_total=4096, memory_processed=1024,
                   memory_remaining=3072, disk_total=0, disk_processed=0,
                   disk_remaining=0, user_id='demo', project_id='demo',
                   created_at=when, updated_at=when)
        row.update(values)
        return db.migration_create(ctx, row)

    def list(self, query='', version='2.1', token=ADMIN):
        return self.call('GET', '/os-migrations' + query, token=token,
                         version=version)

    def ids(self, data):
        return [m['id'] for m in data['migrations']]

    def test_os_migrations_fields_by_microversion(self):
        code, data = self.list()
        self.assertEqual(200, code, data)
        # Hidden migrations are never shown.
        self.assertEqual({self.live['id'], self.resize['id'],
                          self.other['id']}, set(self.ids(data)))
        resize = [m for m in data['migrations']
                  if m['id'] == self.resize['id']][0]
        self.assertEqual({
            'id': self.resize['id'], 'instance_uuid': self.uuid,
            'source_compute': 'compute1', 'dest_compute': 'compute1',
            'source_node': 'compute1', 'dest_node': 'compute9',
            'dest_host': '192.0.2.9', 'status': 'finished',
            'old_instance_type_id': 1, 'new_instance_type_id': 2,
            'created_at': '2026-03-01T12:02:00.000000',
            'updated_at': '2026-03-01T12:02:00.000000'}, resize)

        _code, data = self.list(version='2.23')
        views = {m['id']: m for m in data['migrations']}
        self.assertEqual('resize', views[self.resize['id']][
            'migration_type'])
        self.assertNotIn('links', views[self.resize['id']])
        self.assertNotIn('links', views[self.other['id']])
        self.assertEqual(
            f"http://localhost/v2.1/servers/{self.uuid}/migrations/"
            f"{self.live['id']}", views[self.live['id']]['links'][0]['href'])
        self.assertNotIn('uuid', views[self.live['id']])

        _code, data = self.list(version='2.59')
        self.assertEqual([self.other['id'], self.resize['id'],
                          self.live['id']], self.ids(data))
        self.assertEqual(self.other['uuid'], data['migrations'][0]['uuid'])
        self.assertNotIn('user_id', data['migrations'][0])

        _code, data = self.list(version='2.80')
        self.assertEqual(('alt', 'alt'), (data['migrations'][0]['user_id'],
                                          data['migrations'][0][
                                              'project_id']))

    def test_os_migrations_paging(self):
        _code, data = self.list('?limit=2', version='2.59')
        self.assertEqual([self.other['id'], self.resize['id']],
                         self.ids(data))
        next_href = data['migrations_links'][0]['href']
        self.assertIn(f"marker={self.resize['uuid']}", next_href)
        _code, data = self.list(f"?limit=2&marker={self.resize['uuid']}",
                                version='2.59')
        self.assertEqual([self.live['id']], self.ids(data))
        self.assertNotIn('migrations_links', data)

        code, data = self.list('?marker=no-such-migration', version='2.59')
        self.assertEqual(400, code)
        self.assertEqual('Marker no-such-migration could not be found.',
                         data['badRequest']['message'])
        code, data = self.list('?limit=-1', version='2.59')
        self.assertEqual(400, code, data)
        # Before 2.59 paging parameters are accepted and ignored.
        code, data = self.list('?limit=1&marker=x', version='2.58')
        self.assertEqual((200, 3), (code, len(data['migrations'])))

    def test_os_migrations_filters(self):
        for query, expected in (
                ('?host=compute2', [self.other]),
                ('?source_compute=compute1', [self.resize, self.live]),
                ('?status=finished', [self.resize]),
                (f'?instance_uuid={self.uuid}', [self.resize, self.live]),
                ('?migration_type=live-migration', [self.other, self.live]),
                ('?changes-since=2026-03-01T12:02:00Z',
                 [self.other, self.resize]),
        ):
            _code, data = self.list(query, version='2.59')
            self.assertEqual([m['id'] for m in expected], self.ids(data),
                             query)
        _code, data = self.list('?changes-before=2026-03-01T12:01:30Z',
                                version='2.66')
        self.assertEqual([self.live['id']], self.ids(data))
        _code, data = self.list('?project_id=alt', version='2.80')
        self.assertEqual([self.other['id']], self.ids(data))
        code, _data = self.list('?project_id=alt', version='2.79')
        self.assertEqual(400, code)

    def test_os_migrations_admin_only(self):
        code, data = self.list(token=USER)
        self.assertEqual(403, code, data)

    def test_server_migrations(self):
        url = f'/servers/{self.uuid}/migrations'
        code, _data = self.call('GET', url, token=ADMIN, version='2.22')
        self.assertEqual(404, code)
        code, data = self.call('GET', url, token=ADMIN, version='2.23')
        self.assertEqual(200, code, data)
        self.assertEqual([{
            'id': self.live['id'], 'server_uuid': self.uuid,
            'source_compute': 'compute1', 'dest_compute': 'compute9',
            'source_node': 'compute1', 'dest_node': 'compute9',
            'dest_host': '192.0.2.9', 'status': 'running',
            'memory_total_bytes': 4096, 'memory_processed_bytes': 1024,
            'memory_remaining_bytes': 3072, 'disk_total_bytes': 0,
            'disk_processed_bytes': 0, 'disk_remaining_bytes': 0,
            'created_at': '2026-03-01T12:01:00.000000',
            'updated_at': '2026-03-01T12:01:00.000000'}],
            data['migrations'])
        code, data = self.call('GET', f"{url}/{self.live['id']}",
                               token=ADMIN, version='2.80')
        self.assertEqual(200, code, data)
        self.assertEqual((self.live['uuid'], 'demo', 'demo'),
                         (data['migration']['uuid'],
                          data['migration']['user_id'],
                          data['migration']['project_id']))
        code, data = self.call('GET', f"{url}/{self.resize['id']}",
                               token=ADMIN, version='2.23')
        self.assertEqual(404, code)
        self.assertEqual(f"Migration {self.resize['id']} for server "
                         f"{self.uuid} is not live-migration.",
                         data['itemNotFound']['message'])
        code, data = self.call('GET', f"{url}/{self.other['id']}",
                               token=ADMIN, version='2.23')
        self.assertEqual(f"In-progress live migration {self.other['id']} "
                         f"is not found for server {self.uuid}.",
                         data['itemNotFound']['message'])
        code, _data = self.call('GET', url, token=USER, version='2.23')
        self.assertEqual(403, code)

    def test_force_complete_and_abort_checks(self):
        base = f'/servers/{self.uuid}/migrations'
        force = {'force_complete': None}
        # Not migrating: 409, nothing recorded.
        code, data = self.call('POST', f"{base}/{self.live['id']}/action",
                               force, token=ADMIN, version='2.22')
        self.assertEqual(409, code, data)
        self.assertIn("Cannot 'force_complete' instance",
                      data['conflictingRequest']['message'])
        db.instance_update(self.cloud.ctx, self.uuid,
                           {'task_state': task_states.MIGRATING})
        code, data = self.call('POST', f"{base}/{self.resize['id']}/action",
                               force, token=ADMIN, version='2.22')
        self.assertEqual(400, code, data)
        self.assertIn('is not a live migration',
                      data['badRequest']['message'])
        code, data = self.call('POST', f"{base}/{self.other['id']}/action",
                               force, token=ADMIN, version='2.22')
        self.assertEqual(400, code, data)
        code, data = self.call('DELETE', f"{base}/{self.other['id']}",
                               token=ADMIN, version='2.24')
        self.assertEqual(404, code, data)

        queued = self.migration(self.cloud.ctx, 5, status='queued')
        code, data = self.call('DELETE', f"{base}/{queued['id']}",
                               token=ADMIN, version='2.64')
        self.assertEqual(400, code, data)
        self.assertIn('Cannot abort live migration',
                      data['badRequest']['message'])

        # What passes the checks is recorded and cast to the source host.
        abort = self.useFixture(fixtures.MockPatch(
            'nova.compute.rpcapi.ComputeAPI.live_migration_abort',
            create=True)).mock
        complete = self.useFixture(fixtures.MockPatch(
            'nova.compute.rpcapi.ComputeAPI.live_migration_force_complete',
            create=True)).mock
        code, data = self.call('DELETE', f"{base}/{queued['id']}",
                               token=ADMIN, version='2.65')
        self.assertEqual(202, code, data)
        self.assertEqual(queued['id'], abort.call_args.args[2])
        code, data = self.call('POST', f"{base}/{self.live['id']}/action",
                               force, token=ADMIN, version='2.22')
        self.assertEqual(202, code, data)
        self.assertEqual(self.live['uuid'],
                         complete.call_args.args[2]['uuid'])
        _code, data = self.call('GET',
                                f'/servers/{self.uuid}/os-instance-actions',
                                token=ADMIN)
        self.assertEqual(
            ['live_migration_force_complete', 'live_migration_cancel'],
            [a['action'] for a in data['instanceActions']][:2])
