"""Unit tests of the operator plugin's planner, state file and resume
logic (contrib/python-nova-hostops), against a fake compute proxy."""

from __future__ import annotations

import io
import json
import os
import types

import fixtures
from nova_hostops import engine

from nova import test


def server(uuid, status='ACTIVE', host='c1', task=None, name=None,
           fault=None):
    return types.SimpleNamespace(id=uuid, name=name or uuid, status=status,
                                 compute_host=host, task_state=task,
                                 fault=fault)


class FakeCompute:
    """Servers and migrations; a move request lands the server on
    ``dest`` at once (or fails its migration when in ``failing``)."""

    def __init__(self, servers, dest='c2', failing=()):
        self.servers = {s.id: s for s in servers}
        self.dest = dest
        self.failing = set(failing)
        self.migration_list = []
        self.requests = []
        self.confirmed = []

    def get_server(self, uuid):
        return self.servers[uuid]

    def migrations(self, server_id):
        return [types.SimpleNamespace(**m) for m in self.migration_list
                if m['server'] == server_id]

    def _moved(self, uuid, kind, verify=False):
        self.requests.append((kind, uuid))
        mid = len(self.migration_list) + 1
        if uuid in self.failing:
            self.migration_list.append(dict(id=mid, server=uuid,
                                            status='error',
                                            migration_type=kind))
            return
        self.migration_list.append(dict(id=mid, server=uuid,
                                        status='finished' if verify
                                        else 'completed',
                                        migration_type=kind))
        s = self.servers[uuid]
        s.compute_host = self.dest
        if verify:
            s.status = 'VERIFY_RESIZE'

    def live_migrate_server(self, uuid, host=None, block_migration=None):
        self._moved(uuid, 'live-migration')

    def migrate_server(self, uuid, host=None):
        self._moved(uuid, 'migration', verify=True)

    def evacuate_server(self, uuid, host=None, **kwargs):
        self._moved(uuid, 'evacuation')

    def confirm_server_resize(self, uuid):
        self.confirmed.append(uuid)
        self.servers[uuid].status = 'ACTIVE'

    def server_actions(self, uuid):
        return []


class _Base(test.TestCase):

    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.path = os.path.join(self.dir, 'sub', 'state.json')
        self.stream = io.StringIO()

    def run_plan(self, compute, state, **kwargs):
        kwargs.setdefault('poll_interval', 0)
        runner = engine.Runner(
            compute, state, engine.StateFile(self.path),
            engine.Progress(self.stream, tty=False),
            sleep=lambda _s: None, **kwargs)
        return runner.run()

    def saved(self):
        with open(self.path) as f:
            return json.load(f)


class TestPlan(test.TestCase):

    def test_drain_live_cold_and_skipped(self):
        servers = [server('a'), server('b', status='PAUSED'),
                   server('c', status='SHUTOFF'),
                   server('d', status='ERROR'),
                   server('e', task='migrating', status='MIGRATING')]
        state = engine.plan('drain', 'c1', servers, {'mode': 'live'})
        got = {e['id']: (e['action'], e['status'])
               for e in state['servers']}
        self.assertEqual({'a': ('live-migrate', 'queued'),
                          'b': ('live-migrate', 'queued'),
                          'c': ('migrate', 'queued'),
                          'd': (None, 'skipped'),
                          'e': (None, 'skipped')}, got)

    def test_drain_cold_migrates_every_server(self):
        state = engine.plan('drain', 'c1', [server('a'), server('b')],
                            {'mode': 'cold', 'target': 'c3'})
        self.assertEqual([('migrate', 'c3')] * 2,
                         [(e['action'], e['target'])
                          for e in state['servers']])

    def test_evacuate_takes_every_server(self):
        state = engine.plan('evacuate', 'c1',
                            [server('a', status='ERROR'), server('b')], {})
        self.assertEqual(['evacuate', 'evacuate'],
                         [e['action'] for e in state['servers']])

    def test_resume_refuses_another_command_or_host(self):
        state = engine.plan('drain', 'c1', [server('a')], {})
        self.assertRaises(engine.PlanError, engine.prepare_resume,
                          state, 'evacuate', 'c1', False)
        self.assertRaises(engine.PlanError, engine.prepare_resume,
                          state, 'drain', 'c2', False)

    def test_retry_failed_requeues_failed_only(self):
        state = engine.plan('drain', 'c1', [server('a'), server('b')], {})
        state['servers'][0].update(status='failed', error='boom')
        state['servers'][1].update(status='done')
        engine.prepare_resume(state, 'drain', 'c1', True)
        self.assertEqual([('queued', None), ('done', None)],
                         [(e['status'], e['error'])
                          for e in state['servers']])


class TestStateFile(_Base):

    def test_save_is_atomic_and_loadable(self):
        state_file = engine.StateFile(self.path)
        state_file.save({'version': 1, 'servers': []})
        state_file.save({'version': 1, 'servers': [{'id': 'x'}]})
        self.assertEqual([{'id': 'x'}], state_file.load()['servers'])
        # No temporary file is left next to it.
        self.assertEqual(['state.json'],
                         os.listdir(os.path.dirname(self.path)))

    def test_missing_file_is_a_plan_error(self):
        self.assertRaises(engine.PlanError,
                          engine.StateFile(self.path).load)

    def test_default_path_is_under_the_cache(self):
        self.useFixture(fixtures.EnvironmentVariable('XDG_CACHE_HOME',
                                                     '/x/cache'))
        self.assertEqual('/x/cache/nova-hostops/drain-c1.json',
                         engine.default_state_file('drain', 'c1'))


class TestRunner(_Base):

    def test_every_server_moves_and_each_change_is_saved(self):
        compute = FakeCompute([server('a'), server('b', status='SHUTOFF')])
        state = engine.plan('drain', 'c1', list(compute.servers.values()),
                            {'mode': 'live'})
        self.run_plan(compute, state)
        self.assertEqual({('live-migration', 'a'), ('migration', 'b')},
                         set(compute.requests))
        self.assertEqual(['b'], compute.confirmed)
        self.assertEqual([('done', 'c2')] * 2,
                         [(e['status'], e['dest'])
                          for e in self.saved()['servers']])
        lines = self.stream.getvalue().splitlines()
        self.assertIn('a (a): moving [live-migrate from c1]', lines)
        self.assertIn('a (a): done [live-migrate from c1 to c2]', lines)

    def test_a_failed_migration_is_reported_and_others_move(self):
        compute = FakeCompute([server('a'), server('b')], failing={'a'})
        state = engine.plan('drain', 'c1', list(compute.servers.values()),
                            {})
        self.run_plan(compute, state)
        got = {e['id']: (e['status'], e['error'])
               for e in state['servers']}
        self.assertEqual({'a': ('failed', 'migration 1 is error'),
                          'b': ('done', None)}, got)

    def test_resume_follows_a_move_that_reached_the_api(self):
        compute = FakeCompute([server('a')])
        state = engine.plan('drain', 'c1', [server('a')], {})
        # The client died after its request: the server has a
        # migration it did not know of.
        state['servers'][0].update(status='moving', known_migrations=[])
        compute.live_migrate_server('a')
        compute.requests.clear()
        self.run_plan(compute, state)
        self.assertEqual([], compute.requests)
        self.assertEqual('done', state['servers'][0]['status'])

    def test_resume_sends_a_request_that_never_reached_the_api(self):
        compute = FakeCompute([server('a')])
        state = engine.plan('drain', 'c1', [server('a')], {})
        state['servers'][0].update(status='moving', known_migrations=[])
        self.run_plan(compute, state)
        self.assertEqual([('live-migration', 'a')], compute.requests)
        self.assertEqual('done', state['servers'][0]['status'])

    def test_a_server_already_gone_is_not_moved(self):
        compute = FakeCompute([server('a', host='c3')])
        state = engine.plan('drain', 'c1', [server('a')], {})
        self.run_plan(compute, state)
        self.assertEqual([], compute.requests)
        self.assertEqual(('done', 'c3'), (state['servers'][0]['status'],
                                          state['servers'][0]['dest']))

    def test_retry_after_timeout_follows_the_move_still_going(self):
        compute = FakeCompute([server('a', status='MIGRATING',
                                      task='migrating')])
        state = engine.plan('drain', 'c1', [server('a')], {})
        state['servers'][0].update(status='failed', known_migrations=[],
                                   error='timed out')
        engine.prepare_resume(state, 'drain', 'c1', True)
        ticks = iter(range(1000))

        def finish(_seconds):
            s = compute.servers['a']
            s.status, s.task_state, s.compute_host = 'ACTIVE', None, 'c2'
        runner = engine.Runner(
            compute, state, engine.StateFile(self.path),
            engine.Progress(self.stream, tty=False), poll_interval=0,
            clock=lambda: next(ticks), sleep=finish)
        runner.run()
        self.assertEqual([], compute.requests)
        self.assertEqual('done', state['servers'][0]['status'])

    def test_timeout_fails_the_server(self):
        compute = FakeCompute([server('a')])
        compute.live_migrate_server = lambda *a, **k: None  # never moves
        state = engine.plan('drain', 'c1', [server('a')], {})
        ticks = iter(range(0, 10000, 5))
        runner = engine.Runner(
            compute, state, None, engine.Progress(self.stream, tty=False),
            timeout=10, poll_interval=0, clock=lambda: next(ticks),
            sleep=lambda _s: None)
        runner.run()
        self.assertEqual('failed', state['servers'][0]['status'])
        self.assertIn('timed out after 10s', state['servers'][0]['error'])

    def test_tty_progress_is_one_redrawn_bar(self):
        compute = FakeCompute([server('a')])
        state = engine.plan('drain', 'c1', [server('a')], {})
        runner = engine.Runner(
            compute, state, None, engine.Progress(self.stream, tty=True),
            poll_interval=0, sleep=lambda _s: None)
        runner.run()
        text = self.stream.getvalue()
        self.assertIn('\r[', text)
        self.assertIn('1/1', text)
        self.assertEqual(1, text.count('\n'))
