"""The flow engine's database recorder, on SQLite, MariaDB and PostgreSQL."""

from __future__ import annotations

import dataclasses
from typing import Any

import sqlalchemy as sa
import testscenarios

from nova import context
from nova.db import api as db
from nova.db import recorder as db_recorder
from nova.flow import Flow, FlowEngine, records, sub
from nova.tests.unit.db import base

load_tests = testscenarios.load_tests_apply_scenarios


class Crash(BaseException):
    """Stands for the process dying inside a stage (like SIGKILL, it
    leaves the run unfinished: the engine only handles Exception)."""


@dataclasses.dataclass
class DemoState:
    uuid: str
    fail_in: str | None = None
    crash_in: str | None = None
    fail_revert_of: str | None = None
    ran: list[str] = dataclasses.field(default_factory=list)
    reverted: list[str] = dataclasses.field(default_factory=list)


STAGES = ('a', 'b', 'c', 'd')


def demo_flow() -> Flow:
    flow = Flow('test.recorded', '1.0', DemoState,
                subject=lambda state: state.uuid)
    flow.stages('a', 'b', sub('grp', ['c']), 'd')

    def make(name):
        def execute(ctx: Any, state: DemoState) -> None:
            if state.crash_in == name:
                raise Crash()
            if state.fail_in == name:
                raise RuntimeError(f'{name} failed: admin_pass=hunter2')
            state.ran.append(name)

        def revert(ctx: Any, state: DemoState, failure: Any) -> None:
            if state.fail_revert_of == name:
                raise ValueError(f'cannot undo {name}')
            state.reverted.append(name)
        return execute, revert

    for name in STAGES:
        execute, revert = make(name)
        flow.stage(execute, name=name)
        flow.revert(name)(revert)
    return flow


class _RecorderTestCase(base.DBTestCase):

    def setUp(self) -> None:
        super().setUp()
        self.instance = db.instance_create(self.ctx, {'display_name': 'x'})
        self.uuid = self.instance['uuid']
        self.action = db.action_start(self.ctx, self.uuid, 'create')
        self.recorder = db_recorder.DBRecorder()
        self.engine = self._engine(self.recorder)

    @staticmethod
    def _engine(recorder: Any) -> FlowEngine:
        return FlowEngine.load(flows=[demo_flow()], recorder=recorder,
                               host='host-a')

    def _run(self, **state: Any) -> DemoState:
        return self.engine.run('test.recorded', self.ctx,
                               DemoState(self.uuid, **state))

    def _only_run(self) -> dict[str, Any]:
        runs = db.flow_runs_get_by_instance(self.ctx, self.uuid)
        self.assertEqual(1, len(runs))
        return runs[0]


class RecordTestCase(_RecorderTestCase):

    def test_success_records_run_stages_and_action(self):
        self._run()
        run = self._only_run()
        self.assertEqual('success', run['status'])
        self.assertEqual('test.recorded', run['flow'])
        self.assertEqual('host-a', run['host'])
        self.assertEqual(self.ctx.request_id, run['request_id'])
        self.assertEqual(self.action['id'], run['action_id'])
        self.assertEqual('test.recorded.d', run['current_stage'])
        self.assertIsNotNone(run['finished_at'])
        events = run['events']
        self.assertEqual(
            ['test.recorded.a', 'test.recorded.b', 'test.recorded.grp.c',
             'test.recorded.d'], [e['event'] for e in events])
        self.assertEqual([1, 2, 3, 4], [e['seq'] for e in events])
        for event in events:
            self.assertEqual('Success', event['result'])
            self.assertEqual('host-a', event['host'])
            self.assertEqual(self.action['id'], event['action_id'])
            self.assertLessEqual(event['start_time'], event['finish_time'])
        # What os-instance-actions shows.
        self.assertEqual(4, len(db.action_events_get(self.ctx,
                                                     self.action['id'])))
        action = db.action_get_by_request_id(self.ctx, self.uuid,
                                             self.ctx.request_id)
        self.assertIsNotNone(action['finish_time'])
        self.assertIsNone(action['message'])

    def test_one_statement_per_stage_on_the_success_path(self):
        counter = self.count_statements()
        self._run()
        # 1 run INSERT + 1 upsert per stage + last finish, run UPDATE and
        # action UPDATE at the end.
        self.assertEqual(len(STAGES) + 4, counter.count,
                         '\n'.join(counter.statements))

    def test_every_transition_writes_at_most_one_statement(self):
        counter = self.count_statements()
        per_call: list[tuple[str, int]] = []

        class Counting:
            def __getattr__(inner, name):
                method = getattr(self.recorder, name)

                def call(*args: Any, **kwargs: Any) -> None:
                    before = counter.count
                    method(*args, **kwargs)
                    per_call.append((name, counter.count - before))
                return call

        self.engine = self._engine(Counting())
        self.assertRaises(RuntimeError, self._run, fail_in='d')
        self.assertEqual(
            [('run_started', 1)]
            # Successful finishes ride with the next start: no write.
            + [('stage_started', 1), ('stage_finished', 0)] * 3
            # The failure is written at once, with its traceback.
            + [('stage_started', 1), ('stage_finished', 1)]
            + [('stage_reverted', 1)] * 4
            # The run's end: its UPDATE and the action's.
            + [('run_finished', 2)],
            per_call)

    def test_failure_records_error_traceback_and_reverts(self):
        self.assertRaises(RuntimeError, self._run, fail_in='c')
        run = self._only_run()
        self.assertEqual('error', run['status'])
        self.assertEqual('test.recorded.grp.c', run['current_stage'])
        self.assertIn('RuntimeError', run['message'])
        events = {e['event']: e for e in run['events']}
        failed = events['test.recorded.grp.c']
        self.assertEqual('Error', failed['result'])
        self.assertIn('Traceback', failed['traceback'])
        # Secrets in exception text are masked before they are stored.
        self.assertNotIn('hunter2', failed['traceback'])
        self.assertNotIn('hunter2', run['message'])
        for stage in ('a', 'b', 'grp.c'):
            self.assertEqual(records.REVERTED,
                             events[f'test.recorded.{stage}']
                             ['revert_result'])
        self.assertEqual('Success', events['test.recorded.a']['result'])
        self.assertNotIn('test.recorded.d', events)
        action = db.action_get_by_request_id(self.ctx, self.uuid,
                                             self.ctx.request_id)
        self.assertEqual('Error', action['message'])

    def test_failed_revert_is_recorded_with_its_traceback(self):
        self.assertRaises(RuntimeError, self._run, fail_in='c',
                          fail_revert_of='a')
        events = {e['event']: e for e in self._only_run()['events']}
        first = events['test.recorded.a']
        self.assertEqual(records.REVERT_FAILED, first['revert_result'])
        self.assertIn('cannot undo a', first['details'])
        self.assertEqual('Success', first['result'])

    def test_runs_of_one_action_are_told_apart(self):
        self._run()
        self._run()
        runs = db.flow_runs_get_all(self.ctx, {'action_id': self.action['id']})
        self.assertEqual(2, len(runs))
        self.assertNotEqual(runs[0]['id'], runs[1]['id'])
        self.assertEqual(8, len(db.action_events_get(self.ctx,
                                                     self.action['id'])))
        self.assertEqual({runs[0]['id'], runs[1]['id']}, {
            e['run_id'] for e in db.action_events_get(self.ctx,
                                                      self.action['id'])})

    def test_explicit_action_and_no_action(self):
        other = db.action_start(self.ctx, self.uuid, 'reboot',
                                request_id='req-other')
        self.engine.run('test.recorded', self.ctx, DemoState(self.uuid),
                        recorder=self.recorder.for_action(other['id']))
        run = self._only_run()
        self.assertEqual(other['id'], run['action_id'])
        self.assertEqual({other['id']},
                         {e['action_id'] for e in run['events']})
        # No action with this request ID: the run stands alone.
        ctx = context.RequestContext('u', 'p', request_id='req-none')
        self.engine.run('test.recorded', ctx, DemoState(self.uuid))
        runs = db.flow_runs_get_all(self.ctx, {'request_id': 'req-none'})
        self.assertIsNone(runs[0]['action_id'])

    def test_part_run_joins_the_action_but_does_not_finish_it(self):
        self.engine.run('test.recorded', self.ctx, DemoState(self.uuid),
                        recorder=self.recorder.as_part())
        run = self._only_run()
        self.assertEqual('success', run['status'])
        self.assertEqual(self.action['id'], run['action_id'])
        self.assertEqual(4, len(db.action_events_get(self.ctx,
                                                     self.action['id'])))
        action = db.action_get_by_request_id(self.ctx, self.uuid,
                                             self.ctx.request_id)
        self.assertIsNone(action['finish_time'])
        # The orchestrating run finishes it.
        self._run()
        action = db.action_get_by_request_id(self.ctx, self.uuid,
                                             self.ctx.request_id)
        self.assertIsNotNone(action['finish_time'])

    def test_run_without_subject_or_host(self):
        flow = Flow('test.plain', '1.0', DemoState)
        flow.stages('only')
        flow.stage(lambda ctx, state: None, name='only')
        engine = FlowEngine.load(flows=[flow],
                                 recorder=db_recorder.DBRecorder('fallback'))
        engine.run('test.plain', None, DemoState('x'))
        run = db.flow_runs_get_all(self.ctx, {'flow': 'test.plain'})[0]
        self.assertEqual('success', run['status'])
        self.assertIsNone(run['instance_uuid'])
        self.assertEqual('fallback', run['host'])
        self.assertEqual(['Success'], [e['result'] for e in run['events']])


class RecoveryTestCase(_RecorderTestCase):

    def _crash(self, stage: str) -> None:
        self.assertRaises(Crash, self._run, crash_in=stage)

    def test_interrupted_run_is_unfinished_with_its_stages(self):
        self._crash('c')
        runs = db_recorder.DBRecorder().unfinished_runs(self.admin, 'host-a')
        self.assertEqual(1, len(runs))
        run = runs[0]
        self.assertEqual(self.uuid, run.subject)
        self.assertEqual('running', run.status)
        self.assertEqual(['test.recorded.a', 'test.recorded.b',
                          'test.recorded.grp.c'], run.started_stage_ids)
        # b's finish was held back to ride with c's start, which was
        # written: only c is unfinished.
        self.assertEqual(['test.recorded.a', 'test.recorded.b'],
                         run.completed_stage_ids)
        self.assertEqual(self.ctx.request_id, run.info.request_id)
        self.assertEqual([], db_recorder.DBRecorder().unfinished_runs(
            self.admin, 'host-b'))

    def test_revert_after_restart(self):
        self._crash('c')
        # A new process: new recorder, new engine, nothing in memory.
        recorder = db_recorder.DBRecorder()
        engine = self._engine(recorder)
        run = recorder.unfinished_runs(self.admin, 'host-a')[0]
        state = DemoState(self.uuid)
        engine.runner('test.recorded').revert_interrupted(
            self.admin, state, run.run_id, run.started_stage_ids)
        self.assertEqual(['c', 'b', 'a'], state.reverted)
        self.assertEqual([], recorder.unfinished_runs(self.admin, 'host-a'))
        recorded = recorder.get_run(self.admin, run.run_id)
        self.assertEqual('reverted', recorded.status)
        self.assertTrue(recorded.recovering)
        self.assertEqual(
            [records.REVERTED] * 3,
            [recorded.stage(f'test.recorded.{s}').revert_result
             for s in ('a', 'b', 'grp.c')])

    def test_resume_after_restart_continues_the_numbering(self):
        self._crash('c')
        recorder = db_recorder.DBRecorder()
        engine = self._engine(recorder)
        run = recorder.unfinished_runs(self.admin, 'host-a')[0]
        state = engine.runner('test.recorded').resume(
            self.admin, DemoState(self.uuid), run.run_id,
            run.completed_stage_ids)
        self.assertEqual(['c', 'd'], state.ran)
        recorded = recorder.get_run(self.admin, run.run_id)
        self.assertEqual('success', recorded.status)
        events = db.flow_run_get(self.admin, run.run_id)['events']
        self.assertEqual([1, 2, 3, 4, 5, 6], [e['seq'] for e in events])
        # What recovery did is an event of its own, after the cut stage.
        self.assertEqual('test.recorded:recovery', events[3]['event'])
        self.assertIn('resumed on restart after stage test.recorded.b',
                      events[3]['details'])
        self.assertIn('resumed on restart', recorded.message)
        # c ran twice: the cut attempt and the one that finished.
        self.assertEqual(records.SUCCESS,
                         recorded.stage('test.recorded.grp.c').result)
        self.assertEqual(['test.recorded.a', 'test.recorded.b',
                          'test.recorded.grp.c', 'test.recorded.d'],
                         recorded.completed_stage_ids)

    def test_close_orphan(self):
        self._crash('a')
        recorder = db_recorder.DBRecorder()
        run = recorder.unfinished_runs(self.admin, 'host-a')[0]
        recorder.close_orphan(self.admin, run)
        closed = recorder.get_run(self.admin, run.run_id)
        self.assertEqual('error', closed.status)
        self.assertIn(self.uuid, closed.message)
        self.assertEqual([], recorder.unfinished_runs(self.admin, 'host-a'))


class FindRunsTestCase(_RecorderTestCase):
    """find_runs (``nova-manage flow runs``) on every backend."""

    def test_filters_and_current_stage(self):
        self._run()
        self.assertRaises(RuntimeError, self._run, fail_in='b')
        self.assertRaises(Crash, self._run, crash_in='c')
        # The same flow on another host, cut in its first stage.
        crashed_b = FlowEngine.load(
            flows=[demo_flow()], recorder=db_recorder.DBRecorder(),
            host='host-b')
        self.assertRaises(Crash, crashed_b.run, 'test.recorded', self.ctx,
                          DemoState(self.uuid, crash_in='a'))
        find = self.recorder.find_runs
        runs = find(self.admin)
        self.assertEqual(
            [('running', 'host-b', 'test.recorded.a'),
             ('running', 'host-a', 'test.recorded.grp.c'),
             ('error', 'host-a', 'test.recorded.b'),
             ('success', 'host-a', 'test.recorded.d')],
            [(r.status, r.host, r.current_stage) for r in runs])
        self.assertEqual([], runs[0].stages)
        self.assertEqual(
            ['running', 'error'],
            [r.status for r in find(self.admin, host='host-a',
                                    statuses=['running', 'error'])])
        self.assertEqual(['host-b'], [r.host for r in find(
            self.admin, statuses=['running'], limit=1)])
        self.assertEqual([], find(self.admin, flow='test.other'))
        self.assertEqual([], find(self.admin, instance='nothing'))
        self.assertEqual([], find(self.admin, older_than=3600))
        self.assertEqual(4, len(find(self.admin, older_than=0,
                                     flow='test.recorded',
                                     instance=self.uuid)))
        (with_stages,) = find(self.admin, statuses=['error'], stages=True)
        self.assertEqual(['test.recorded.a', 'test.recorded.b'],
                         [s.stage_id for s in with_stages.stages])


class StatementBudgetTestCase(_RecorderTestCase):
    """The cost of the recorder's options, measured."""

    def test_statements_without_deferring_finishes(self):
        self.engine = self._engine(db_recorder.DBRecorder(
            defer_finish=False))
        counter = self.count_statements()
        self._run()
        self.assertEqual(2 * len(STAGES) + 3, counter.count)

    def test_statements_without_action_finish(self):
        self.engine = self._engine(db_recorder.DBRecorder(
            finish_actions=False))
        counter = self.count_statements()
        self._run()
        self.assertEqual(len(STAGES) + 3, counter.count)


def mixed_flow() -> Flow:
    """a, c and d have no revert; b has one."""
    flow = Flow('test.mixed', '1.0', DemoState,
                subject=lambda state: state.uuid)
    flow.stages('a', 'b', 'c', 'd')

    def make(name):
        def execute(ctx: Any, state: DemoState) -> None:
            if state.crash_in == name:
                raise Crash()
            state.ran.append(name)
        return execute

    for name in STAGES:
        flow.stage(make(name), name=name)

    @flow.revert('b')
    def undo_b(ctx: Any, state: DemoState, failure: Any) -> None:
        state.reverted.append('b')
    return flow


class HeldStartsTestCase(_RecorderTestCase):
    """[flow] record_stage_starts: which starts are written before the
    stage runs, and what a crash leaves for recovery."""

    def _mixed(self, record_starts: str, idle: bool = False,
               **state: Any) -> DemoState:
        flow = mixed_flow()
        if idle:
            flow.nothing_to_do('b')(lambda ctx, state: True)
        self.engine = FlowEngine.load(
            flows=[flow], host='host-a',
            recorder=db_recorder.DBRecorder(record_starts=record_starts))
        return self.engine.run('test.mixed', self.ctx,
                               DemoState(self.uuid, **state))

    def test_reverting_writes_only_the_start_of_the_stage_with_a_revert(self):
        counter = self.count_statements()
        self._mixed('reverting')
        # Run INSERT; b's start (with a's row); at the end c and d, the
        # run's UPDATE and the action's.
        self.assertEqual(5, counter.count, '\n'.join(counter.statements))
        events = self._only_run()['events']
        self.assertEqual(['test.mixed.a', 'test.mixed.b', 'test.mixed.c',
                          'test.mixed.d'], [e['event'] for e in events])
        self.assertEqual(['Success'] * 4, [e['result'] for e in events])

    def test_all_writes_every_start(self):
        counter = self.count_statements()
        self._mixed('all')
        self.assertEqual(len(STAGES) + 4, counter.count,
                         '\n'.join(counter.statements))

    def test_crash_after_a_held_start_reverts_the_stage_with_a_revert(self):
        self.assertRaises(Crash, self._mixed, 'reverting', crash_in='c')
        recorder = db_recorder.DBRecorder()
        (run,) = recorder.unfinished_runs(self.admin, 'host-a')
        # c's start was held: the record ends at b, started, its finish
        # held too.  Recovery reverts b, all there is to undo.
        self.assertEqual(['test.mixed.a', 'test.mixed.b'],
                         run.started_stage_ids)
        self.assertEqual(['test.mixed.a'], run.completed_stage_ids)
        state = DemoState(self.uuid)
        FlowEngine.load(flows=[mixed_flow()], recorder=recorder,
                        host='host-a').runner(
            'test.mixed').revert_interrupted(
            self.admin, state, run.run_id, run.started_stage_ids)
        self.assertEqual(['b'], state.reverted)
        self.assertEqual('reverted',
                         recorder.get_run(self.admin, run.run_id).status)

    def test_crash_with_all_shows_the_running_stage(self):
        self.assertRaises(Crash, self._mixed, 'all', crash_in='c')
        (run,) = db_recorder.DBRecorder().unfinished_runs(self.admin,
                                                          'host-a')
        self.assertEqual(['test.mixed.a', 'test.mixed.b', 'test.mixed.c'],
                         run.started_stage_ids)
        self.assertEqual(['test.mixed.a', 'test.mixed.b'],
                         run.completed_stage_ids)

    def test_a_stage_with_nothing_to_do_has_its_start_held(self):
        counter = self.count_statements()
        self._mixed('reverting', idle=True)
        # Run INSERT; at the end every stage's row, the run's UPDATE and
        # the action's: b's start costs no statement of its own.
        self.assertEqual(4, counter.count, '\n'.join(counter.statements))
        self.assertEqual(['Success'] * 4, [
            e['result'] for e in self._only_run()['events']])

    def test_crash_in_a_stage_with_nothing_to_do_leaves_no_revert(self):
        self.assertRaises(Crash, self._mixed, 'reverting', idle=True,
                          crash_in='b')
        (run,) = db_recorder.DBRecorder().unfinished_runs(self.admin,
                                                          'host-a')
        # b's check said its revert has nothing to undo: recovery finds
        # no started stage to revert.
        self.assertEqual([], run.started_stage_ids)

    def test_unknown_setting_is_refused(self):
        self.assertRaises(ValueError, db_recorder.DBRecorder,
                          record_starts='some')


def transactional_flow() -> Flow:
    """a; update (a transactional state update); check: what a crash in
    or after the update leaves on record."""
    flow = Flow('test.atomic', '1.0', DemoState, on_interrupt='resume',
                subject=lambda state: state.uuid)
    flow.stages('a', 'update', 'check')

    @flow.stage(idempotent=True)
    def a(ctx: Any, state: DemoState) -> None:
        state.ran.append('a')

    @flow.stage(transactional=True)
    def update(ctx: Any, state: DemoState) -> None:
        db.instance_update(ctx, state.uuid, {'display_name': 'updated'})
        if state.crash_in == 'update':
            raise Crash()  # the process dies before the commit

    @flow.stage
    def check(ctx: Any, state: DemoState) -> None:
        if state.crash_in == 'check':
            raise Crash()
        state.ran.append('check')
    return flow


class TransactionalStageTestCase(_RecorderTestCase):
    """A transactional stage's effect and its completion commit together:
    a crash leaves both or neither, so a resumed run neither repeats it
    nor skips it."""

    def _atomic_run(self, **state: Any) -> DemoState:
        return self._engine_for_atomic().run('test.atomic', self.ctx,
                          DemoState(self.uuid, **state))

    def _recorded(self) -> db_recorder.RecordedRun:
        (run,) = db_recorder.DBRecorder().unfinished_runs(self.admin,
                                                          'host-a')
        return run

    def test_crash_inside_leaves_neither_effect_nor_completion(self):
        self.assertRaises(Crash, self._atomic_run, crash_in='update')
        self.assertEqual('x', db.instance_get_by_uuid(
            self.ctx, self.uuid)['display_name'])
        run = self._recorded()
        self.assertNotIn('test.atomic.update', run.completed_stage_ids)
        # Resumed: the update was not done, so it runs (once).
        state = DemoState(self.uuid)
        self._engine_for_atomic().runner('test.atomic').recover(
            self.admin, state, run.run_id, run.started_stage_ids,
            run.completed_stage_ids)
        self.assertEqual(['a', 'check'], state.ran)
        self.assertEqual('updated', db.instance_get_by_uuid(
            self.ctx, self.uuid)['display_name'])

    @staticmethod
    def _engine_for_atomic() -> FlowEngine:
        return FlowEngine.load(flows=[transactional_flow()],
                               recorder=db_recorder.DBRecorder(),
                               host='host-a')

    def test_crash_after_leaves_both(self):
        self.assertRaises(Crash, self._atomic_run, crash_in='check')
        self.assertEqual('updated', db.instance_get_by_uuid(
            self.ctx, self.uuid)['display_name'])
        run = self._recorded()
        self.assertEqual(['test.atomic.a', 'test.atomic.update'],
                         run.completed_stage_ids)
        # Resumed after it: the update is not repeated.
        state = DemoState(self.uuid)
        self.assertEqual('resume', self._engine_for_atomic().runner(
            'test.atomic').recover(
            self.admin, state, run.run_id, run.started_stage_ids,
            run.completed_stage_ids))
        # (The idempotent a runs again, as a resumed run's do.)
        self.assertEqual(['a', 'check'], state.ran)
        self.assertEqual('updated', db.instance_get_by_uuid(
            self.ctx, self.uuid)['display_name'])


def state_then_spawn_flow() -> Flow:
    """claim (a revert); update (a transactional state update, no
    revert); spawn (a revert): build_instance's update_spawning and
    driver_spawn."""
    flow = Flow('test.spawning', '1.0', DemoState,
                subject=lambda state: state.uuid)
    flow.stages('claim', 'update', 'spawn')

    @flow.stage
    def claim(ctx: Any, state: DemoState) -> None:
        state.ran.append('claim')

    @flow.revert('claim')
    def unclaim(ctx: Any, state: DemoState, failure: Any) -> None:
        state.reverted.append('claim')

    @flow.stage(transactional=True)
    def update(ctx: Any, state: DemoState) -> None:
        db.instance_update(ctx, state.uuid, {'display_name': 'spawning'})
        if state.crash_in == 'update':
            raise Crash()  # the process dies before the commit
        if state.fail_in == 'update':
            raise RuntimeError('update failed')

    @flow.stage
    def spawn(ctx: Any, state: DemoState) -> None:
        if state.crash_in == 'spawn':
            raise Crash()
        state.ran.append('spawn')

    @flow.revert('spawn')
    def destroy(ctx: Any, state: DemoState, failure: Any) -> None:
        state.reverted.append('spawn')
    return flow


class _CommitsTestCase(_RecorderTestCase):

    def _recorded(self) -> db_recorder.RecordedRun:
        (run,) = db_recorder.DBRecorder().unfinished_runs(self.admin,
                                                          'host-a')
        return run

    def _commits(self) -> list[Any]:
        commits: list[Any] = []

        def committed(connection: Any) -> None:
            commits.append(connection)

        engine = self.database.engine
        assert engine is not None
        sa.event.listen(engine, 'commit', committed)
        self.addCleanup(sa.event.remove, engine, 'commit', committed)
        return commits


class NextStartInTransactionTestCase(_CommitsTestCase):
    """The start of a stage with a revert that follows a transactional
    stage is written in that stage's transaction: one commit for both,
    and a crash leaves the start on record before the stage runs, or
    neither the update nor the start."""

    def _engine_for_spawn(self) -> FlowEngine:
        return FlowEngine.load(flows=[state_then_spawn_flow()],
                               recorder=db_recorder.DBRecorder(),
                               host='host-a')

    def _spawn_run(self, **state: Any) -> DemoState:
        return self._engine_for_spawn().run(
            'test.spawning', self.ctx, DemoState(self.uuid, **state))
    def test_one_commit_for_the_update_and_the_next_start(self):
        commits = self._commits()
        self._spawn_run()
        # Run start, claim's start, update with spawn's start, run end.
        self.assertEqual(4, len(commits))
        run = self._only_run()
        self.assertEqual('success', run['status'])
        self.assertEqual(
            ['test.spawning.claim', 'test.spawning.update',
             'test.spawning.spawn'], [e['event'] for e in run['events']])
        for event in run['events']:
            self.assertEqual('Success', event['result'])
            self.assertLessEqual(event['start_time'], event['finish_time'])

    def test_crash_in_the_update_records_neither(self):
        self.assertRaises(Crash, self._spawn_run, crash_in='update')
        self.assertEqual('x', db.instance_get_by_uuid(
            self.ctx, self.uuid)['display_name'])
        run = self._recorded()
        self.assertEqual(['test.spawning.claim'], run.started_stage_ids)
        state = DemoState(self.uuid)
        self._engine_for_spawn().runner('test.spawning').recover(
            self.admin, state, run.run_id, run.started_stage_ids,
            run.completed_stage_ids)
        self.assertEqual(['claim'], state.reverted)

    def test_crash_in_the_next_stage_reverts_it(self):
        self.assertRaises(Crash, self._spawn_run, crash_in='spawn')
        run = self._recorded()
        self.assertEqual(['test.spawning.claim', 'test.spawning.update',
                          'test.spawning.spawn'], run.started_stage_ids)
        self.assertEqual(records.RUNNING,
                         run.stage('test.spawning.spawn').result)
        state = DemoState(self.uuid)
        self._engine_for_spawn().runner('test.spawning').recover(
            self.admin, state, run.run_id, run.started_stage_ids,
            run.completed_stage_ids)
        self.assertEqual(['spawn', 'claim'], state.reverted)

    def test_failed_update_leaves_no_start_of_the_next_stage(self):
        state = DemoState(self.uuid, fail_in='update')
        self.assertRaises(RuntimeError, self._engine_for_spawn().run,
                          'test.spawning', self.ctx, state)
        self.assertEqual(['claim'], state.reverted)
        run = self._only_run()
        self.assertEqual('error', run['status'])
        self.assertEqual(['test.spawning.claim', 'test.spawning.update'],
                         [e['event'] for e in run['events']])
        self.assertEqual('x', db.instance_get_by_uuid(
            self.ctx, self.uuid)['display_name'])


def update_last_flow() -> Flow:
    """a (a revert); update (a transactional state update, the last
    stage)."""
    flow = Flow('test.last', '1.0', DemoState,
                subject=lambda state: state.uuid)
    flow.stages('a', 'update')

    @flow.stage
    def a(ctx: Any, state: DemoState) -> None:
        state.ran.append('a')

    @flow.revert('a')
    def undo_a(ctx: Any, state: DemoState, failure: Any) -> None:
        state.reverted.append('a')

    @flow.stage(transactional=True)
    def update(ctx: Any, state: DemoState) -> None:
        db.instance_update(ctx, state.uuid, {'display_name': 'done'})
        if state.crash_in == 'update':
            raise Crash()  # the process dies before the commit
        if state.fail_in == 'update':
            raise RuntimeError('update failed')
    return flow


class RunEndInLastTransactionTestCase(_CommitsTestCase):
    """A transactional last stage writes the run's end in its own
    transaction: one commit for both; a crash or a failure in it leaves
    neither its update nor the end."""

    def _last_run(self, **state: Any) -> DemoState:
        return FlowEngine.load(
            flows=[update_last_flow()], recorder=db_recorder.DBRecorder(),
            host='host-a').run('test.last', self.ctx,
                               DemoState(self.uuid, **state))

    def test_one_commit_for_the_update_and_the_run_end(self):
        commits = self._commits()
        self._last_run()
        # Run start, a's start, the update with the run's end.
        self.assertEqual(3, len(commits))
        run = self._only_run()
        self.assertEqual('success', run['status'])
        self.assertEqual('test.last.update', run['current_stage'])
        self.assertEqual(['Success', 'Success'],
                         [e['result'] for e in run['events']])
        action = db.action_get_by_request_id(self.ctx, self.uuid,
                                             self.ctx.request_id)
        self.assertIsNotNone(action['finish_time'])
        self.assertIsNone(action['message'])
        self.assertEqual('done', db.instance_get_by_uuid(
            self.ctx, self.uuid)['display_name'])

    def test_crash_in_the_last_stage_leaves_the_run_running(self):
        self.assertRaises(Crash, self._last_run, crash_in='update')
        self.assertEqual('x', db.instance_get_by_uuid(
            self.ctx, self.uuid)['display_name'])
        run = self._recorded()
        self.assertEqual(['test.last.a'], run.started_stage_ids)

    def test_failure_in_the_last_stage_ends_the_run_as_error(self):
        state = DemoState(self.uuid, fail_in='update')
        self.assertRaises(RuntimeError, FlowEngine.load(
            flows=[update_last_flow()], recorder=db_recorder.DBRecorder(),
            host='host-a').run, 'test.last', self.ctx, state)
        self.assertEqual(['a'], state.reverted)
        run = self._only_run()
        self.assertEqual('error', run['status'])
        self.assertEqual('test.last.update', run['current_stage'])
        events = {e['event']: e for e in run['events']}
        self.assertEqual('Error', events['test.last.update']['result'])
        self.assertEqual('reverted', events['test.last.a']['revert_result'])
        action = db.action_get_by_request_id(self.ctx, self.uuid,
                                             self.ctx.request_id)
        self.assertEqual('Error', action['message'])
        self.assertEqual('x', db.instance_get_by_uuid(
            self.ctx, self.uuid)['display_name'])
