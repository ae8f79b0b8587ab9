"""Run semantics: order, stage IDs, failure, reverts, records, recovery."""

import uuid

import fixtures

from nova import context as nova_context
from nova.flow import (
    Flow,
    FlowEngine,
    InMemoryRecorder,
    hooks,
    records,
    sub,
)
from nova.flow.runner import new_run_id
from nova.tests.unit.flow import fakes

FLOW = 'test.demo'


def _engine(flow=None, recorder=None, **kwargs):
    return FlowEngine.load(flows=[flow or fakes.make_flow()],
                           recorder=recorder or InMemoryRecorder(), **kwargs)


def _reverts_on_failure(test_case, flow, stage):
    """The reverts a run of ``flow`` makes when ``stage`` fails."""
    state = fakes.failing(stage)
    test_case.assertRaises(fakes.StageFailed, _engine(flow).run, FLOW, None,
                           state)
    return [e for e in state.log if e.startswith('revert')]


class TestOrderAndIds(fakes.FlowTestCase):

    def test_stages_run_in_declared_order(self):
        flow = fakes.make_flow(entries=['a', 'b', 'c', 'd'])
        state = _engine(flow).run(FLOW, None, fakes.LogState())
        self.assertEqual(['a', 'b', 'c', 'd'], state.log)

    def test_sub_flow_stages_run_in_place(self):
        flow = fakes.make_flow(entries=[
            'a', sub('grp', ['b', sub('inner', ['c'])]), 'd'])
        state = _engine(flow).run(FLOW, None, fakes.LogState())
        self.assertEqual(['a', 'b', 'c', 'd'], state.log)

    def test_sub_flow_stage_ids_are_flow_sub_stage(self):
        flow = fakes.make_flow(entries=[
            'a', sub('grp', ['b', sub('inner', ['c'])]), 'd'])
        recorder = InMemoryRecorder()
        engine = _engine(flow, recorder)
        engine.run(FLOW, None, fakes.LogState())
        expected = ['test.demo.a', 'test.demo.grp.b',
                    'test.demo.grp.inner.c', 'test.demo.d']
        self.assertEqual(expected, list(engine.plan(FLOW).leaves))
        (run,) = recorder.runs.values()
        self.assertEqual(expected, run.started_stage_ids)

    def test_run_returns_the_state_it_was_given(self):
        state = fakes.LogState()
        self.assertIs(state, _engine().run(FLOW, None, state))

    def test_successful_run_is_recorded_as_success(self):
        recorder = InMemoryRecorder()
        _engine(recorder=recorder).run(FLOW, None, fakes.LogState())
        (run,) = recorder.runs.values()
        self.assertEqual(records.SUCCESS, run.result)
        self.assertEqual([records.SUCCESS] * 4,
                         [s.result for s in run.stages])
        self.assertIsNotNone(run.finished_at)


class TestFailure(fakes.FlowTestCase):

    def test_failing_stage_and_started_stages_revert_newest_first(self):
        state = fakes.failing('c')
        self.assertRaises(fakes.StageFailed, _engine().run, FLOW, None, state)
        self.assertEqual(
            ['a', 'b', 'c', 'revert:c', 'revert:b', 'revert:a',
             'handler:h1', 'handler:h2'], state.log)

    def test_reverts_cross_sub_flow_boundaries_in_reverse_order(self):
        flow = fakes.make_flow(entries=['a', sub('grp', ['b', 'c']), 'd'])
        state = fakes.failing('d')
        self.assertRaises(fakes.StageFailed, _engine(flow).run, FLOW, None,
                          state)
        self.assertEqual(
            ['a', 'b', 'c', 'd', 'revert:d', 'revert:c', 'revert:b',
             'revert:a', 'handler:h1', 'handler:h2'], state.log)

    def test_failure_inside_sub_flow_reverts_outer_stages_too(self):
        flow = fakes.make_flow(entries=['a', sub('grp', ['b', 'c']), 'd'])
        state = fakes.failing('b')
        self.assertRaises(fakes.StageFailed, _engine(flow).run, FLOW, None,
                          state)
        self.assertEqual(['a', 'b', 'revert:b', 'revert:a', 'handler:h1',
                          'handler:h2'], state.log)

    def test_stages_without_revert_are_passed_over(self):
        flow = fakes.make_flow(no_revert=['b'])
        state = fakes.failing('c')
        self.assertRaises(fakes.StageFailed, _engine(flow).run, FLOW, None,
                          state)
        self.assertEqual(['a', 'b', 'c', 'revert:c', 'revert:a',
                          'handler:h1', 'handler:h2'], state.log)

    def test_original_exception_is_reraised_unchanged(self):
        original = ValueError('the real problem')
        state = fakes.LogState(raises={'b': original})
        raised = self.assertRaises(ValueError, _engine().run, FLOW, None,
                                   state)
        self.assertIs(original, raised)

    def test_failure_handlers_get_the_failure_of_the_failing_stage(self):
        seen = []
        flow = fakes.make_flow(handlers=[])

        @flow.failure_handler
        def remember(ctx, state, failure):
            seen.append(failure)
        flow.on_failure('remember')
        original = ValueError('boom')
        self.assertRaises(ValueError, _engine(flow).run, FLOW, None,
                          fakes.LogState(raises={'c': original}))
        (failure,) = seen
        self.assertIs(original, failure.exc)
        self.assertEqual('test.demo.c', failure.stage_id)

    def test_failing_revert_is_recorded_and_does_not_mask_the_error(self):
        flow = fakes.make_flow(no_revert=['b'])

        @flow.revert('b')
        def revert_b(ctx, state, failure):
            raise RuntimeError('revert of b broke')
        recorder = InMemoryRecorder()
        state = fakes.failing('c')
        raised = self.assertRaises(fakes.StageFailed, _engine(flow, recorder)
                                   .run, FLOW, None, state)
        self.assertEqual(('c',), raised.args)
        # The reverts after the broken one still ran, and the handlers.
        self.assertEqual(['a', 'b', 'c', 'revert:c', 'revert:a',
                          'handler:h1', 'handler:h2'], state.log)
        (run,) = recorder.runs.values()
        self.assertEqual(records.REVERT_FAILED,
                         run.stage('test.demo.b').revert_result)
        self.assertIn('RuntimeError: revert of b broke',
                      run.stage('test.demo.b').revert_traceback)
        self.assertEqual(records.REVERTED,
                         run.stage('test.demo.a').revert_result)
        self.assertEqual(records.REVERTED,
                         run.stage('test.demo.c').revert_result)
        self.assertEqual(records.ERROR, run.result)
        self.assertEqual('StageFailed: c', run.message)
        self.assertIn('Revert of stage test.demo.b failed',
                      self.logger.output)

    def test_failing_failure_handler_does_not_mask_the_error(self):
        flow = fakes.make_flow(handlers=[])

        @flow.failure_handler
        def broken(ctx, state, failure):
            state.log.append('handler:broken')
            raise RuntimeError('handler broke')

        @flow.failure_handler
        def after(ctx, state, failure):
            state.log.append('handler:after')
        flow.on_failure('broken', 'after')
        state = fakes.failing('a')
        raised = self.assertRaises(fakes.StageFailed, _engine(flow).run,
                                   FLOW, None, state)
        self.assertEqual(('a',), raised.args)
        self.assertEqual(['a', 'revert:a', 'handler:broken', 'handler:after'],
                         state.log)
        self.assertIn('Failure handler test.demo.broken failed',
                      self.logger.output)

    def test_failing_stage_is_recorded_with_its_traceback(self):
        recorder = InMemoryRecorder()
        self.assertRaises(fakes.StageFailed, _engine(recorder=recorder).run,
                          FLOW, None, fakes.failing('b'))
        (run,) = recorder.runs.values()
        failed = run.stage('test.demo.b')
        self.assertEqual(records.ERROR, failed.result)
        self.assertIn('StageFailed: b', failed.traceback)
        self.assertEqual(['test.demo.a'], run.completed_stage_ids)

    def test_base_exception_leaves_the_run_unfinished_without_reverts(self):
        recorder = InMemoryRecorder()
        state = fakes.LogState(raises={'c': KeyboardInterrupt()})
        self.assertRaises(KeyboardInterrupt, _engine(recorder=recorder).run,
                          FLOW, None, state)
        self.assertEqual(['a', 'b', 'c'], state.log)  # no revert, handler
        (run,) = recorder.runs.values()
        self.assertEqual(records.RUNNING, run.result)
        self.assertIsNone(run.finished_at)
        self.assertEqual(['test.demo.a', 'test.demo.b', 'test.demo.c'],
                         run.started_stage_ids)
        self.assertEqual(records.RUNNING, run.stage('test.demo.c').result)
        self.assertEqual([run], recorder.unfinished())


class TestRunInfo(fakes.FlowTestCase):

    def test_request_context_reaches_the_run_info(self):
        recorder = fakes.RecordingRecorder()
        flow = fakes.make_flow(subject=lambda state: 'instance-uuid-1')
        ctx = nova_context.RequestContext(
            user_id='alice', project_id='tenant-a', request_id='req-42')
        FlowEngine.load(flows=[flow], recorder=recorder,
                        host='compute-7').run(FLOW, ctx, fakes.LogState())
        (info,) = recorder.infos
        self.assertEqual('req-42', info.request_id)
        self.assertEqual('alice', info.user_id)
        self.assertEqual('tenant-a', info.project_id)
        self.assertEqual('instance-uuid-1', info.subject)
        self.assertEqual('compute-7', info.host)
        self.assertEqual(FLOW, info.flow)
        self.assertEqual('1.0', info.version)
        self.assertFalse(info.recovering)

    def test_run_without_context_records_no_identity(self):
        recorder = fakes.RecordingRecorder()
        _engine(recorder=recorder).run(FLOW, None, fakes.LogState())
        (info,) = recorder.infos
        self.assertIsNone(info.request_id)
        self.assertIsNone(info.user_id)
        self.assertIsNone(info.project_id)

    def test_given_run_id_is_used(self):
        recorder = fakes.RecordingRecorder()
        _engine(recorder=recorder).runner(FLOW).run(
            None, fakes.LogState(), run_id='run-1')
        self.assertEqual('run-1', recorder.infos[0].run_id)

    def test_generated_run_ids_are_unique_version_4_uuids(self):
        run_ids = {new_run_id() for _ in range(1000)}
        self.assertEqual(1000, len(run_ids))
        for run_id in list(run_ids)[:20]:
            parsed = uuid.UUID(run_id)
            self.assertEqual(run_id, str(parsed))
            self.assertEqual(4, parsed.version)
            self.assertEqual(uuid.RFC_4122, parsed.variant)


class TestRecorderTransitions(fakes.FlowTestCase):
    """The runner calls the recorder once per transition, never more."""

    def test_successful_run(self):
        recorder = fakes.RecordingRecorder()
        flow = fakes.make_flow(entries=['a', sub('grp', ['b'])])
        _engine(flow, recorder).run(FLOW, None, fakes.LogState())
        self.assertEqual([
            ('run_started', None, None),
            ('stage_started', 'test.demo.a', None),
            ('stage_finished', 'test.demo.a', 'success'),
            ('stage_started', 'test.demo.grp.b', None),
            ('stage_finished', 'test.demo.grp.b', 'success'),
            ('run_finished', None, 'success'),
        ], recorder.calls)

    def test_failed_run(self):
        recorder = fakes.RecordingRecorder()
        flow = fakes.make_flow(entries=['a', 'b', 'c', 'd'], no_revert=['a'])
        self.assertRaises(fakes.StageFailed, _engine(flow, recorder).run,
                          FLOW, None, fakes.failing('c'))
        self.assertEqual([
            ('run_started', None, None),
            ('stage_started', 'test.demo.a', None),
            ('stage_finished', 'test.demo.a', 'success'),
            ('stage_started', 'test.demo.b', None),
            ('stage_finished', 'test.demo.b', 'success'),
            ('stage_started', 'test.demo.c', None),
            ('stage_finished', 'test.demo.c', 'error'),
            ('stage_reverted', 'test.demo.c', 'reverted'),
            ('stage_reverted', 'test.demo.b', 'reverted'),
            ('run_finished', None, 'error'),
        ], recorder.calls)
        self.assertEqual('test.demo.c', recorder.failures[-1].stage_id)

    def test_disabled_stage_is_not_recorded(self):
        recorder = fakes.RecordingRecorder()
        flow = fakes.make_flow(entries=['a', 'b'], optional=['b'])
        FlowEngine.load(flows=[flow], recorder=recorder,
                        disabled_stages=['test.demo.b']).run(
            FLOW, None, fakes.LogState())
        self.assertEqual([
            ('run_started', None, None),
            ('stage_started', 'test.demo.a', None),
            ('stage_finished', 'test.demo.a', 'success'),
            ('run_finished', None, 'success'),
        ], recorder.calls)

    def test_revert_interrupted(self):
        recorder = fakes.RecordingRecorder()
        _engine(recorder=recorder).runner(FLOW).revert_interrupted(
            None, fakes.LogState(), 'run-1', ['test.demo.a', 'test.demo.b'])
        self.assertEqual([
            ('run_started', None, None),
            ('run_recovered', None,
             'test.demo was interrupted; last stage recorded as started: '
             'test.demo.b; reverted on restart'),
            ('stage_reverted', 'test.demo.b', 'reverted'),
            ('stage_reverted', 'test.demo.a', 'reverted'),
            ('run_finished', None, 'reverted'),
        ], recorder.calls)

    def test_resume(self):
        recorder = fakes.RecordingRecorder()
        _engine(recorder=recorder).runner(FLOW).resume(
            None, fakes.LogState(), 'run-1', ['test.demo.a', 'test.demo.b'])
        self.assertEqual([
            ('run_started', None, None),
            ('run_recovered', None,
             'test.demo was interrupted between stages; resumed on restart '
             'after stage test.demo.b'),
            ('stage_started', 'test.demo.c', None),
            ('stage_finished', 'test.demo.c', 'success'),
            ('stage_started', 'test.demo.d', None),
            ('stage_finished', 'test.demo.d', 'success'),
            ('run_finished', None, 'success'),
        ], recorder.calls)
        self.assertTrue(recorder.infos[0].recovering)


class TestRecovery(fakes.FlowTestCase):
    """A run cut by a crash is finished by a restarted service from the
    record alone: a new engine, a state rebuilt from scratch."""

    def _crash(self, flow, recorder, at):
        state = fakes.LogState(raises={at: SystemExit(1)})
        self.assertRaises(SystemExit, _engine(flow, recorder).run, FLOW,
                          None, state)
        (run,) = recorder.unfinished()
        return run

    def test_revert_interrupted_reverts_started_stages_newest_first(self):
        recorder = InMemoryRecorder()
        run = self._crash(fakes.make_flow(), recorder, at='c')
        restarted = _engine(fakes.make_flow(), recorder)
        fresh = fakes.LogState()
        failure = restarted.runner(FLOW).revert_interrupted(
            None, fresh, run.run_id, run.started_stage_ids)
        self.assertEqual(['revert:c', 'revert:b', 'revert:a', 'handler:h1',
                          'handler:h2'], fresh.log)
        self.assertIsInstance(failure.exc, records.Interrupted)
        self.assertEqual('test.demo.c', failure.stage_id)
        record = recorder.get(run.run_id)
        self.assertEqual(records.REVERTED, record.result)
        self.assertEqual([records.REVERTED] * 3,
                         [s.revert_result for s in record.stages])
        self.assertEqual([], recorder.unfinished())

    def test_revert_interrupted_passes_over_stage_ids_the_flow_lost(self):
        recorder = InMemoryRecorder()
        run = self._crash(fakes.make_flow(), recorder, at='c')
        self.assertEqual(['test.demo.a', 'test.demo.b', 'test.demo.c'],
                         run.started_stage_ids)
        fresh = fakes.LogState()
        _engine(fakes.make_flow(), recorder).runner(FLOW).revert_interrupted(
            None, fresh, run.run_id,
            ['test.demo.a', 'test.demo.gone', 'test.demo.b'])
        # A stage ID the flow no longer has is passed over, not fatal.
        self.assertEqual(['revert:b', 'revert:a', 'handler:h1', 'handler:h2'],
                         fresh.log)

    def test_resume_skips_completed_stages_and_reruns_the_cut_one(self):
        recorder = InMemoryRecorder()
        flow = fakes.make_flow(on_interrupt='resume')
        run = self._crash(flow, recorder, at='c')
        self.assertEqual(['test.demo.a', 'test.demo.b'],
                         run.completed_stage_ids)
        fresh = fakes.LogState()
        _engine(fakes.make_flow(on_interrupt='resume'), recorder).runner(
            FLOW).resume(None, fresh, run.run_id, run.completed_stage_ids)
        self.assertEqual(['c', 'd'], fresh.log)
        record = recorder.get(run.run_id)
        self.assertEqual(records.SUCCESS, record.result)
        self.assertEqual(records.SUCCESS, record.stage('test.demo.c').result)
        self.assertEqual(['test.demo.a', 'test.demo.b', 'test.demo.c',
                          'test.demo.c', 'test.demo.d'],
                         record.started_stage_ids)

    def test_failure_after_resume_reverts_the_skipped_stages_too(self):
        recorder = InMemoryRecorder()
        run = self._crash(fakes.make_flow(), recorder, at='c')
        fresh = fakes.failing('d')
        self.assertRaises(
            fakes.StageFailed,
            _engine(fakes.make_flow(), recorder).runner(FLOW).resume,
            None, fresh, run.run_id, run.completed_stage_ids)
        self.assertEqual(['c', 'd', 'revert:d', 'revert:c', 'revert:b',
                          'revert:a', 'handler:h1', 'handler:h2'], fresh.log)
        self.assertEqual(records.ERROR, recorder.get(run.run_id).result)


class TestSecretsStayOutOfLogs(fakes.FlowTestCase):
    """A stage's error can quote the request: its password never reaches
    the log, whether the stage, its revert or a failure handler raised."""

    def test_stage_revert_and_handler_errors_are_masked(self):
        logs = self.useFixture(fixtures.FakeLogger(level='DEBUG'))
        flow = Flow('test.secret', '1.0', fakes.LogState)
        flow.stages('a', 'b')

        @flow.stage
        def a(ctx, state):
            pass

        @flow.revert('a')
        def undo_a(ctx, state, failure):
            raise ValueError('undo failed: admin_pass=hunter2')

        @flow.stage
        def b(ctx, state):
            raise RuntimeError('boot failed: adminPass=hunter2')

        @flow.on_failure
        def handler(ctx, state, failure):
            raise RuntimeError('handler failed: password=hunter2')

        engine = FlowEngine.load(flows=[flow], recorder=InMemoryRecorder())
        self.assertRaises(RuntimeError, engine.run, 'test.secret', None,
                          fakes.LogState())
        self.assertIn('Stage test.secret.b failed', logs.output)
        self.assertIn('Revert of stage test.secret.a failed', logs.output)
        self.assertIn('Failure handler test.secret.handler failed',
                      logs.output)
        self.assertNotIn('hunter2', logs.output)


class TestPointOfNoReturn(fakes.FlowTestCase):
    """After its point of no return a flow finishes, it never reverts."""

    def flow(self, **kwargs):
        return fakes.make_flow(
            entries=['a', sub('grp', ['b', 'c']), 'd', 'e'],
            transactional=['c'], point_of_no_return='grp.c', **kwargs)

    def test_failure_after_it_is_recorded_and_the_rest_still_runs(self):
        recorder = InMemoryRecorder()
        state = _engine(self.flow(), recorder).run(
            FLOW, None, fakes.failing('d'))
        self.assertEqual(['a', 'b', 'c', 'd', 'e'], state.log)
        (run,) = recorder.runs.values()
        self.assertEqual(records.SUCCESS, run.result)
        self.assertEqual(records.ERROR, run.stage('test.demo.d').result)
        self.assertIn('Stage test.demo.d failed', self.logger.output)

    def test_failure_before_it_reverts_as_usual(self):
        engine = _engine(self.flow())
        state = fakes.failing('c')
        self.assertRaises(fakes.StageFailed, engine.run, FLOW, None, state)
        self.assertEqual(['a', 'b', 'c', 'revert:c', 'revert:b', 'revert:a',
                          'handler:h1', 'handler:h2'], state.log)

    def test_interrupted_after_it_is_resumed_not_reverted(self):
        state = fakes.LogState()
        how = _engine(self.flow()).runner(FLOW).recover(
            None, state, 'run-1',
            ['test.demo.a', 'test.demo.grp.b', 'test.demo.grp.c',
             'test.demo.d'],
            ['test.demo.a', 'test.demo.grp.c'])
        self.assertEqual('resume', how)
        # Resumed after the last completed stage: d (cut) and e run.
        self.assertEqual(['d', 'e'], state.log)

    def test_interrupted_before_it_is_reverted(self):
        state = fakes.LogState()
        how = _engine(self.flow()).runner(FLOW).recover(
            None, state, 'run-1', ['test.demo.a', 'test.demo.grp.b'],
            ['test.demo.a'])
        self.assertEqual('revert', how)
        self.assertEqual(['revert:b', 'revert:a', 'handler:h1',
                          'handler:h2'], state.log)

    def test_must_name_a_transactional_stage_of_a_revert_flow(self):
        for kwargs, message in [
                ({'point_of_no_return': 'grp.c'}, 'must be a transactional'),
                ({'point_of_no_return': 'grp.x', 'transactional': ['c']},
                 'names no stage'),
                ({'point_of_no_return': 'c', 'transactional': ['c'],
                  'on_interrupt': 'resume'}, 'for revert flows')]:
            flow = fakes.make_flow(entries=['a', sub('grp', ['b', 'c'])]
                                   if kwargs['point_of_no_return'] != 'c'
                                   else ['a', 'b', 'c'], **kwargs)
            error = self.assertRaises(fakes.FlowConfigError, _engine, flow)
            self.assertIn(message, str(error))
            self.assertIn(f'test.demo.{kwargs["point_of_no_return"]}',
                          str(error))


class TestVerifiedStage(fakes.FlowTestCase):
    """A stage whose effect can happen although it did not return (its
    host died, its answer was lost) is asked whether it took effect:
    yes makes it count as completed, so the run goes on after it; it
    may then be a point of no return without being transactional."""

    def flow(self, took_effect, **kwargs):
        flow = fakes.make_flow(point_of_no_return='c', **kwargs)

        @flow.verify('c')
        def c_took_effect(ctx, state):
            state.log.append('verify:c')
            if isinstance(took_effect, Exception):
                raise took_effect
            return took_effect
        return flow

    def test_a_failing_stage_that_took_effect_counts_as_completed(self):
        recorder = InMemoryRecorder()
        state = _engine(self.flow(True), recorder).run(
            FLOW, None, fakes.failing('c'))
        self.assertEqual(['a', 'b', 'c', 'verify:c', 'd'], state.log)
        (run,) = recorder.runs.values()
        self.assertEqual(records.SUCCESS, run.result)
        self.assertEqual(records.SUCCESS, run.stage('test.demo.c').result)
        self.assertIn('Stage test.demo.c raised StageFailed',
                      self.logger.output)

    def test_a_failing_stage_that_did_not_take_effect_reverts(self):
        for answer in (False, RuntimeError('host unreachable')):
            state = fakes.failing('c')
            self.assertRaises(fakes.StageFailed, _engine(self.flow(answer))
                              .run, FLOW, None, state)
            self.assertEqual(['a', 'b', 'c', 'verify:c', 'revert:c',
                              'revert:b', 'revert:a', 'handler:h1',
                              'handler:h2'], state.log)

    def test_a_stage_that_returns_is_not_asked(self):
        state = _engine(self.flow(False)).run(FLOW, None, fakes.LogState())
        self.assertEqual(['a', 'b', 'c', 'd'], state.log)

    def test_interrupted_in_it_with_its_effect_is_resumed(self):
        state = fakes.LogState()
        how = _engine(self.flow(True)).runner(FLOW).recover(
            None, state, 'run-1', ['test.demo.a', 'test.demo.b',
                                   'test.demo.c'], [])
        self.assertEqual('resume', how)
        self.assertEqual(['verify:c', 'd'], state.log)

    def test_interrupted_in_it_without_its_effect_is_reverted(self):
        state = fakes.LogState()
        how = _engine(self.flow(False)).runner(FLOW).recover(
            None, state, 'run-1', ['test.demo.a', 'test.demo.b',
                                   'test.demo.c'], [])
        self.assertEqual('revert', how)
        self.assertEqual(['verify:c', 'revert:c', 'revert:b', 'revert:a',
                          'handler:h1', 'handler:h2'], state.log)

    def test_interrupted_earlier_its_check_says_no(self):
        # Cut in a: the check of c (the first checked stage after what
        # the record shows) answers from the effect, which is not there.
        state = fakes.LogState()
        how = _engine(self.flow(False)).runner(FLOW).recover(
            None, state, 'run-1', ['test.demo.a'], [])
        self.assertEqual('revert', how)
        self.assertEqual(['verify:c', 'revert:a', 'handler:h1',
                          'handler:h2'], state.log)

    def test_interrupted_after_it_completed_asks_nothing(self):
        state = fakes.LogState()
        how = _engine(self.flow(True)).runner(FLOW).recover(
            None, state, 'run-1', ['test.demo.a', 'test.demo.b',
                                   'test.demo.c', 'test.demo.d'],
            ['test.demo.c'])
        self.assertEqual('resume', how)
        self.assertEqual(['d'], state.log)

    def test_point_of_no_return_needs_a_transaction_or_a_check(self):
        flow = fakes.make_flow(point_of_no_return='c')
        error = self.assertRaises(fakes.FlowConfigError, _engine, flow)
        self.assertIn('or have a check of its effect', str(error))
        _engine(self.flow(True))  # loads


class TestNextStartInTransaction(fakes.FlowTestCase):
    """A transactional stage writes the start of the next stage of its
    group, when that one has a revert, in its own transaction."""

    def test_the_next_start_is_written_inside_the_transaction(self):
        recorder = fakes.RecordingRecorder()
        flow = fakes.make_flow(transactional=['b'], no_revert=['b'])
        _engine(flow, recorder).run(FLOW, None, fakes.LogState())
        calls = [c[:2] for c in recorder.calls]
        at = calls.index(('stage_transaction', None))
        self.assertEqual([('stage_started', 'test.demo.b'),
                          ('stage_transaction', None),
                          ('stage_finished', 'test.demo.b'),
                          ('stage_started', 'test.demo.c'),
                          ('stage_finished', 'test.demo.c')],
                         calls[at - 1:at + 4])
        # Once: c does not record its start again when it runs.
        self.assertEqual(1, calls.count(('stage_started', 'test.demo.c')))
        # Held back as before (the revert flow is before any point of no
        # return): the transaction writes it with c's start.
        self.assertEqual([], recorder.durable)

    def test_not_when_the_next_stage_has_no_revert(self):
        recorder = fakes.RecordingRecorder()
        # (b without a revert either: one with a revert runs in its own
        # transaction all the same, TestTransactionalStageStart.)
        flow = fakes.make_flow(transactional=['b'], no_revert=['b', 'c'])
        _engine(flow, recorder).run(FLOW, None, fakes.LogState())
        self.assertNotIn('stage_transaction', [c[0] for c in recorder.calls])

    def test_not_across_groups(self):
        recorder = fakes.RecordingRecorder()
        flow = fakes.make_flow(entries=['a', 'b', sub('grp', ['c']), 'd'],
                               transactional=['b'], no_revert=['b'])
        _engine(flow, recorder).run(FLOW, None, fakes.LogState())
        calls = [c[:2] for c in recorder.calls]
        self.assertNotIn(('stage_transaction', None), calls)

    def test_not_for_a_stage_a_resumed_run_skips(self):
        recorder = fakes.RecordingRecorder()
        state = fakes.LogState()
        flow = fakes.make_flow(on_interrupt='resume', transactional=['b'])
        _engine(flow, recorder).runner(FLOW).resume(
            None, state, 'run-1', ['test.demo.a', 'test.demo.c'])
        self.assertEqual(['d'], state.log)
        self.assertNotIn(('stage_started', 'test.demo.c'),
                         [c[:2] for c in recorder.calls])

    def test_a_failing_transactional_stage_starts_nothing_more(self):
        recorder = fakes.RecordingRecorder()
        flow = fakes.make_flow(transactional=['b'])
        state = fakes.failing('b')
        self.assertRaises(fakes.StageFailed,
                          _engine(flow, recorder).run, FLOW, None, state)
        self.assertNotIn(('stage_started', 'test.demo.c'),
                         [c[:2] for c in recorder.calls])
        self.assertEqual(['revert:b', 'revert:a'],
                         [e for e in state.log if e.startswith('revert')])


class TestNothingToDo(fakes.FlowTestCase):
    """A stage whose check says neither it nor its revert has anything
    to do this time has its start held, as a stage without a revert."""

    def flow(self, answer):
        flow = fakes.make_flow(no_revert=['d'])

        @flow.nothing_to_do('b')
        def idle_b(ctx, state):
            state.log.append('check:b')
            if isinstance(answer, Exception):
                raise answer
            return answer
        return flow

    def run_flow(self, flow, state=None, *hook_objects):
        recorder = fakes.RecordingRecorder()
        engine = FlowEngine.load(flows=[flow], recorder=recorder,
                                 hook_objects=list(hook_objects))
        state = state or fakes.LogState()
        try:
            engine.run(FLOW, None, state)
        except fakes.StageFailed:
            pass
        return recorder, state

    def test_start_held_when_there_is_nothing_to_do(self):
        recorder, state = self.run_flow(self.flow(True))
        self.assertEqual(['a', 'check:b', 'b', 'c', 'd'], state.log)
        # d has no revert: held without a check.
        self.assertEqual(['test.demo.b', 'test.demo.d'],
                         recorder.held_starts)

    def test_start_written_when_there_is_work(self):
        recorder, _ = self.run_flow(self.flow(False))
        self.assertEqual(['test.demo.d'], recorder.held_starts)

    def test_a_check_that_raises_writes_the_start(self):
        recorder, state = self.run_flow(self.flow(ValueError('no')))
        self.assertEqual(['a', 'check:b', 'b', 'c', 'd'], state.log)
        self.assertEqual(['test.demo.d'], recorder.held_starts)

    def test_a_later_failure_still_reverts_it(self):
        _, state = self.run_flow(self.flow(True), fakes.failing('c'))
        self.assertEqual(['revert:c', 'revert:b', 'revert:a'],
                         [e for e in state.log if e.startswith('revert')])

    def test_not_asked_for_a_stage_an_around_hook_wraps(self):
        class Wrap(hooks.Hook):
            supports = {FLOW: '1.0'}

            @hooks.around('test.demo.b')
            def wrap(self, ctx, state, proceed):
                state.log.append('around:b')
                return proceed()
        recorder, state = self.run_flow(self.flow(True), None, Wrap())
        self.assertEqual(['a', 'around:b', 'b', 'c', 'd'], state.log)
        self.assertEqual(['test.demo.d'], recorder.held_starts)

    def test_not_asked_for_a_stage_a_hook_replaces(self):
        class Replace(hooks.Hook):
            supports = {FLOW: '1.0'}

            @hooks.replace('test.demo.b')
            def other_b(self, ctx, state):
                state.log.append('other:b')
        recorder, state = self.run_flow(self.flow(True), None, Replace())
        self.assertEqual(['a', 'other:b', 'c', 'd'], state.log)
        self.assertEqual(['test.demo.d'], recorder.held_starts)


class TestHeldStart(fakes.FlowTestCase):
    """A stage whose revert recovery runs whenever the run may have
    reached it (Flow.revert's hold_start) has its start held, and
    recovery reverts it when the record stops before it."""

    def recover(self, flow, started):
        """The reverts a restarted service runs for a record that shows
        ``started`` (the rows the crash left written)."""
        recorder = InMemoryRecorder()
        run_id = 'run-1'
        recorder.run_started(records.RunInfo(
            run_id, FLOW, '1.0', None, None, None, None, None, 0.0, False))
        state = fakes.LogState()
        _engine(flow, recorder).runner(FLOW).revert_interrupted(
            None, state, run_id, [f'{FLOW}.{s}' for s in started])
        return [e for e in state.log if e.startswith('revert')]

    def test_its_start_is_held(self):
        recorder = fakes.RecordingRecorder()
        flow = fakes.make_flow(hold_start=['b'])
        _engine(flow, recorder).run(FLOW, None, fakes.LogState())
        self.assertEqual(['test.demo.b'], recorder.held_starts)

    def test_a_failure_after_it_reverts_it_as_any_started_stage(self):
        self.assertEqual(['revert:c', 'revert:b', 'revert:a'],
                         _reverts_on_failure(
                             self, fakes.make_flow(hold_start=['b']), 'c'))

    def test_recovery_reverts_it_when_the_record_stops_before_it(self):
        # c's start is written before c runs: had the run got to c, b's
        # held start would have been written with it.  So b may have run,
        # and c and d did not.
        flow = fakes.make_flow(hold_start=['b'])
        self.assertEqual(['revert:b', 'revert:a'],
                         self.recover(flow, ['a']))

    def test_a_stage_without_a_revert_does_not_stop_the_search(self):
        # b writes nothing when it runs: c may have been reached too.
        flow = fakes.make_flow(no_revert=['b'], hold_start=['c'])
        self.assertEqual(['revert:c', 'revert:a'],
                         self.recover(flow, ['a']))

    def test_a_stage_that_writes_the_record_when_it_ends_stops_it(self):
        # c is transactional and writes d's start in its transaction:
        # e's held start would have been written with it.
        flow = fakes.make_flow(entries=['a', 'b', 'c', 'd', 'e'],
                               no_revert=['c'], transactional=['c'],
                               hold_start=['b', 'e'])
        self.assertEqual(['revert:b', 'revert:a'],
                         self.recover(flow, ['a']))

    def test_reverted_once_when_the_record_shows_it(self):
        flow = fakes.make_flow(hold_start=['b'])
        self.assertEqual(['revert:c', 'revert:b', 'revert:a'],
                         self.recover(flow, ['a', 'b', 'c']))

    def test_from_the_first_stage_when_nothing_is_recorded(self):
        flow = fakes.make_flow(hold_start=['a'])
        self.assertEqual(['revert:a'], self.recover(flow, []))

    def test_not_for_a_resume_flow_nor_after_the_point_of_no_return(self):
        for kwargs, message in [
                ({'on_interrupt': 'resume', 'hold_start': ['b']},
                 'for stages a crash reverts'),
                ({'point_of_no_return': 'b', 'transactional': ['b'],
                  'hold_start': ['c']}, 'for stages a crash reverts')]:
            error = self.assertRaises(fakes.FlowConfigError, _engine,
                                      fakes.make_flow(**kwargs))
            self.assertIn(message, str(error))
            stage = kwargs['hold_start'][0]
            self.assertIn(f'test.demo.{stage}', str(error))

    def test_not_for_a_hook_replacing_it_with_its_own_revert(self):
        class Replace(hooks.Hook):
            supports = {FLOW: '1.0'}

            @hooks.replace('test.demo.b', revert='undo_b')
            def other_b(self, ctx, state):
                state.log.append('other:b')

            def undo_b(self, ctx, state, failure):
                state.log.append('undo:b')
        recorder = fakes.RecordingRecorder()
        FlowEngine.load(flows=[fakes.make_flow(hold_start=['b'])],
                        recorder=recorder, hook_objects=[Replace()]).run(
            FLOW, None, fakes.LogState())
        self.assertEqual([], recorder.held_starts)


class TestTransactionalStageStart(fakes.FlowTestCase):
    """A transactional stage with a revert writes its start with its
    completion, in its own transaction, rather than in a transaction of
    its own before it runs: recovery then reverts it exactly when its
    effect committed."""

    def test_start_held_and_completion_written_in_its_transaction(self):
        recorder = fakes.RecordingRecorder()
        flow = fakes.make_flow(transactional=['b'])
        _engine(flow, recorder).run(FLOW, None, fakes.LogState())
        self.assertEqual(['test.demo.b'], recorder.held_starts)
        calls = [c[:2] for c in recorder.calls]
        at = calls.index(('stage_transaction', None))
        self.assertEqual([('stage_started', 'test.demo.b'),
                          ('stage_transaction', None),
                          ('stage_finished', 'test.demo.b')],
                         calls[at - 1:at + 2])
        self.assertEqual(['test.demo.b'], recorder.durable)

    def test_the_stage_before_does_not_write_its_start(self):
        recorder = fakes.RecordingRecorder()
        flow = fakes.make_flow(transactional=['a', 'b'], no_revert=['a'])
        _engine(flow, recorder).run(FLOW, None, fakes.LogState())
        # One transaction, b's own: a has no revert and nothing to
        # write for b.
        self.assertEqual(1, [c[0] for c in recorder.calls].count(
            'stage_transaction'))

    def test_a_later_failure_reverts_it(self):
        self.assertEqual(['revert:c', 'revert:b', 'revert:a'],
                         _reverts_on_failure(
                             self, fakes.make_flow(transactional=['b']),
                             'c'))


class TestRunEndInLastTransaction(fakes.FlowTestCase):
    """A transactional last stage records the run's end in its own
    transaction."""

    def test_the_end_is_recorded_inside_the_transaction(self):
        recorder = fakes.RecordingRecorder()
        flow = fakes.make_flow(transactional=['d'])
        _engine(flow, recorder).run(FLOW, None, fakes.LogState())
        calls = [c[0] for c in recorder.calls]
        self.assertEqual(['stage_started', 'stage_transaction',
                          'stage_finished', 'run_finished'], calls[-4:])
        self.assertEqual(1, calls.count('run_finished'))
        self.assertEqual(records.SUCCESS, recorder.calls[-1][2])

    def test_a_failing_last_stage_ends_the_run_as_failed_once(self):
        recorder = fakes.RecordingRecorder()
        flow = fakes.make_flow(transactional=['d'])
        self.assertRaises(fakes.StageFailed, _engine(flow, recorder).run,
                          FLOW, None, fakes.failing('d'))
        ends = [c for c in recorder.calls if c[0] == 'run_finished']
        self.assertEqual([('run_finished', None, records.ERROR)], ends)

    def test_not_for_a_last_stage_inside_a_sub_flow(self):
        recorder = fakes.RecordingRecorder()
        flow = fakes.make_flow(entries=['a', 'b', sub('grp', ['c'])],
                               transactional=['c'], no_revert=['c'])
        _engine(flow, recorder).run(FLOW, None, fakes.LogState())
        self.assertNotIn('stage_transaction', [c[0] for c in recorder.calls])


class TestExactCompletions(fakes.FlowTestCase):
    """Where a crash must not repeat work, completions are on record
    before the next stage; a transactional stage records its own in its
    transaction."""

    def test_resume_flow_records_each_completion_it_cannot_repeat(self):
        recorder = fakes.RecordingRecorder()
        flow = fakes.make_flow(on_interrupt='resume', idempotent=['a'],
                               transactional=['c'])
        _engine(flow, recorder).run(FLOW, None, fakes.LogState())
        self.assertEqual(['test.demo.b', 'test.demo.c', 'test.demo.d'],
                         recorder.durable)
        # c, and only c, ran inside a stage transaction, its finish too.
        calls = [c[0] for c in recorder.calls]
        at = calls.index('stage_transaction')
        self.assertEqual(['stage_started', 'stage_transaction',
                          'stage_finished'], calls[at - 1:at + 2])
        self.assertEqual('test.demo.c', recorder.calls[at + 1][1])
        self.assertEqual(1, calls.count('stage_transaction'))

    def test_revert_flow_holds_completions_back_until_its_point(self):
        recorder = fakes.RecordingRecorder()
        flow = fakes.make_flow(transactional=['b'], point_of_no_return='b',
                               idempotent=['d'])
        _engine(flow, recorder).run(FLOW, None, fakes.LogState())
        # a: held (a crash reverts it anyway); b: atomic; c: before d
        # starts; d: idempotent, held.
        self.assertEqual(['test.demo.b', 'test.demo.c'], recorder.durable)

    def test_resume_skips_every_stage_up_to_the_last_completed(self):
        # b's completion was not on record; c's was, so b had completed
        # too.
        state = fakes.LogState()
        flow = fakes.make_flow(on_interrupt='resume')
        _engine(flow).runner(FLOW).resume(
            None, state, 'run-1', ['test.demo.a', 'test.demo.c'])
        self.assertEqual(['d'], state.log)

    def test_resume_repeats_idempotent_stages_to_rebuild_the_state(self):
        # b is idempotent (e.g. it reads connection info into the state,
        # which d needs): run again though completed; a and c are not.
        state = fakes.LogState()
        flow = fakes.make_flow(on_interrupt='resume', idempotent=['b'])
        _engine(flow).runner(FLOW).resume(
            None, state, 'run-1', ['test.demo.a', 'test.demo.b',
                                   'test.demo.c'])
        self.assertEqual(['b', 'd'], state.log)

    def test_resume_never_repeats_a_completed_transactional_stage(self):
        # Regression (crash matrix): a completed set_state_once update,
        # idempotent too, was repeated by the resumed run after a new
        # request had moved the instance on, and the run failed.
        state = fakes.LogState()
        flow = fakes.make_flow(on_interrupt='resume', idempotent=['b'],
                               transactional=['b'])
        _engine(flow).runner(FLOW).resume(
            None, state, 'run-1', ['test.demo.a', 'test.demo.b'])
        self.assertEqual(['c', 'd'], state.log)

    def test_recovery_says_what_it_did(self):
        recorder = InMemoryRecorder()
        flow = fakes.make_flow(on_interrupt='resume')
        engine = _engine(flow, recorder)
        self.assertRaises(fakes.StageFailed, engine.run, FLOW, None,
                          fakes.failing('c'), run_id='run-1')
        engine.runner(FLOW).recover(
            None, fakes.LogState(), 'run-1',
            ['test.demo.a', 'test.demo.b', 'test.demo.c'],
            ['test.demo.a', 'test.demo.b'])
        run = recorder.get('run-1')
        self.assertEqual(records.SUCCESS, run.result)
        self.assertEqual('test.demo was interrupted in stage test.demo.c; '
                         'resumed on restart after stage test.demo.b',
                         run.message)
