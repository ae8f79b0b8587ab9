"""What hooks do at run time: insert, wrap, replace, listen; in which order."""

from nova.flow import (
    EventKind,
    FlowEngine,
    InMemoryRecorder,
    hooks,
    records,
    sub,
)
from nova.tests.unit.flow import fakes

FLOW = 'test.demo'


def _engine(*hook_objects, flow=None, recorder=None, **kwargs):
    return FlowEngine.load(flows=[flow or fakes.make_flow()],
                           hook_objects=list(hook_objects),
                           recorder=recorder or InMemoryRecorder(), **kwargs)


class Sauce(hooks.Hook):
    """Inserts a stage before c and one after a, both with reverts."""

    supports = {FLOW: '1.0'}

    @hooks.before('test.demo.c', revert='remove_sauce')
    def add_sauce(self, ctx, state):
        state.log.append('add_sauce')

    def remove_sauce(self, ctx, state, failure):
        state.log.append('revert:add_sauce')

    @hooks.after('test.demo.a', name='garnish', revert='remove_garnish')
    def garnish_method(self, ctx, state):
        state.log.append('garnish')

    def remove_garnish(self, ctx, state, failure):
        state.log.append('revert:garnish')


class TestInsert(fakes.FlowTestCase):

    def test_inserted_stages_run_at_their_place(self):
        state = _engine(Sauce).run(FLOW, None, fakes.LogState())
        self.assertEqual(['a', 'garnish', 'b', 'add_sauce', 'c', 'd'],
                         state.log)

    def test_inserted_stages_get_ids_in_their_sub_flow(self):
        class InGroup(hooks.Hook):
            supports = {FLOW: '1.0'}

            @hooks.before('test.demo.grp.c')
            def prepare(self, ctx, state):
                state.log.append('prepare')
        flow = fakes.make_flow(entries=['a', sub('grp', ['b', 'c'])])
        recorder = InMemoryRecorder()
        state = _engine(InGroup, flow=flow, recorder=recorder).run(
            FLOW, None, fakes.LogState())
        self.assertEqual(['a', 'b', 'prepare', 'c'], state.log)
        (run,) = recorder.runs.values()
        self.assertEqual(['test.demo.a', 'test.demo.grp.b',
                          'test.demo.grp.prepare', 'test.demo.grp.c'],
                         run.started_stage_ids)

    def test_inserted_stages_revert_with_the_others_on_failure(self):
        recorder = InMemoryRecorder()
        state = fakes.failing('d')
        self.assertRaises(fakes.StageFailed,
                          _engine(Sauce, recorder=recorder).run,
                          FLOW, None, state)
        self.assertEqual(
            ['a', 'garnish', 'b', 'add_sauce', 'c', 'd',
             'revert:d', 'revert:c', 'revert:add_sauce', 'revert:b',
             'revert:garnish', 'revert:a', 'handler:h1', 'handler:h2'],
            state.log)
        (run,) = recorder.runs.values()
        self.assertEqual(records.REVERTED,
                         run.stage('test.demo.add_sauce').revert_result)

    def test_inserted_stage_failing_is_reverted_and_reraised(self):
        class Sour(hooks.Hook):
            supports = {FLOW: '1.0'}

            @hooks.before('test.demo.b', revert='undo')
            def sour(self, ctx, state):
                state.log.append('sour')
                raise ValueError('sour sauce')

            def undo(self, ctx, state, failure):
                state.log.append(f'revert:sour:{failure.stage_id}')
        state = fakes.LogState()
        raised = self.assertRaises(ValueError, _engine(Sour).run, FLOW,
                                   None, state)
        self.assertEqual('sour sauce', str(raised))
        self.assertEqual(['a', 'sour', 'revert:sour:test.demo.sour',
                          'revert:a', 'handler:h1', 'handler:h2'], state.log)

    def test_revert_interrupted_reverts_a_hook_stage(self):
        recorder = InMemoryRecorder()
        state = fakes.LogState(raises={'c': SystemExit(1)})
        self.assertRaises(SystemExit, _engine(Sauce, recorder=recorder).run,
                          FLOW, None, state)
        (run,) = recorder.unfinished()
        fresh = fakes.LogState()
        _engine(Sauce, recorder=recorder).runner(FLOW).revert_interrupted(
            None, fresh, run.run_id, run.started_stage_ids)
        self.assertEqual(['revert:c', 'revert:add_sauce', 'revert:b',
                          'revert:garnish', 'revert:a', 'handler:h1',
                          'handler:h2'], fresh.log)


class TestAround(fakes.FlowTestCase):

    def test_around_can_retry(self):
        class Retry(hooks.Hook):
            supports = {FLOW: '1.0'}

            @hooks.around('test.demo.b')
            def retry(self, ctx, state, proceed):
                try:
                    return proceed()
                except fakes.StageFailed:
                    state.log.append('retrying')
                    return proceed()
        recorder = InMemoryRecorder()
        state = _engine(Retry, recorder=recorder).run(
            FLOW, None, fakes.failing('b'))
        self.assertEqual(['a', 'b', 'retrying', 'b', 'c', 'd'], state.log)
        (run,) = recorder.runs.values()
        self.assertEqual(records.SUCCESS, run.result)
        self.assertEqual(records.SUCCESS, run.stage('test.demo.b').result)

    def test_around_that_gives_up_fails_the_stage(self):
        class Retry(hooks.Hook):
            supports = {FLOW: '1.0'}

            @hooks.around('test.demo.b')
            def retry_once(self, ctx, state, proceed):
                try:
                    return proceed()
                except fakes.StageFailed:
                    return proceed()
        state = fakes.failing('b', times=2)
        self.assertRaises(fakes.StageFailed, _engine(Retry).run, FLOW, None,
                          state)
        self.assertEqual(['a', 'b', 'b', 'revert:b', 'revert:a',
                          'handler:h1', 'handler:h2'], state.log)

    def test_around_can_skip(self):
        class Skip(hooks.Hook):
            supports = {FLOW: '1.0'}

            @hooks.around('test.demo.c')
            def skip(self, ctx, state, proceed):
                state.log.append('skipped c')
        state = _engine(Skip).run(FLOW, None, fakes.LogState())
        self.assertEqual(['a', 'b', 'skipped c', 'd'], state.log)

    def test_around_can_time(self):
        clock = iter([100.0, 102.5])

        class Timer(hooks.Hook):
            supports = {FLOW: '1.0'}
            elapsed = None

            @hooks.around('test.demo.b')
            def timed(self, ctx, state, proceed):
                started = next(clock)
                state.log.append('start timer')
                result = proceed()
                state.log.append('stop timer')
                type(self).elapsed = next(clock) - started
                return result
        state = _engine(Timer).run(FLOW, None, fakes.LogState())
        self.assertEqual(['a', 'start timer', 'b', 'stop timer', 'c', 'd'],
                         state.log)
        self.assertEqual(2.5, Timer.elapsed)

    def test_around_sees_the_stage_result(self):
        results = []
        flow = fakes.make_flow(entries=['a'])
        flow.stage(lambda ctx, state: 'the result', name='a')

        class Peek(hooks.Hook):
            supports = {FLOW: '1.0'}

            @hooks.around('test.demo.a')
            def peek(self, ctx, state, proceed):
                results.append(proceed())
        _engine(Peek, flow=flow).run(FLOW, None, fakes.LogState())
        self.assertEqual(['the result'], results)

    def test_around_on_a_sub_flow_retries_it_after_its_reverts(self):
        class RetryGroup(hooks.Hook):
            supports = {FLOW: '1.0'}

            @hooks.around('test.demo.grp')
            def retry(self, ctx, state, proceed):
                try:
                    proceed()
                except fakes.StageFailed:
                    state.log.append('retry grp')
                    proceed()
        flow = fakes.make_flow(entries=['a', sub('grp', ['b', 'c']), 'd'])
        recorder = InMemoryRecorder()
        state = _engine(RetryGroup, flow=flow, recorder=recorder).run(
            FLOW, None, fakes.failing('c'))
        # The sub-flow's started stages were reverted, newest first, before
        # the around saw the error; 'a', outside it, was not.
        self.assertEqual(['a', 'b', 'c', 'revert:c', 'revert:b', 'retry grp',
                          'b', 'c', 'd'], state.log)
        (run,) = recorder.runs.values()
        self.assertEqual(records.SUCCESS, run.result)

    def test_error_raised_by_around_itself_reverts_and_reraises(self):
        class Broken(hooks.Hook):
            supports = {FLOW: '1.0'}

            @hooks.around('test.demo.b')
            def broken(self, ctx, state, proceed):
                proceed()
                raise RuntimeError('around broke after the stage')
        state = fakes.LogState()
        self.assertRaises(RuntimeError, _engine(Broken).run, FLOW, None,
                          state)
        self.assertEqual(['a', 'b', 'revert:b', 'revert:a', 'handler:h1',
                          'handler:h2'], state.log)


class TestReplace(fakes.FlowTestCase):

    def test_replacement_runs_instead_with_its_own_revert(self):
        class Better(hooks.Hook):
            supports = {FLOW: '1.0'}

            @hooks.replace('test.demo.b', revert='undo_better_b')
            def better_b(self, ctx, state):
                state.log.append('better b')

            def undo_better_b(self, ctx, state, failure):
                state.log.append('revert:better b')
        state = fakes.failing('c')
        self.assertRaises(fakes.StageFailed, _engine(Better).run, FLOW, None,
                          state)
        self.assertEqual(['a', 'better b', 'c', 'revert:c',
                          'revert:better b', 'revert:a', 'handler:h1',
                          'handler:h2'], state.log)

    def test_replacement_without_revert_keeps_the_stage_revert(self):
        class Better(hooks.Hook):
            supports = {FLOW: '1.0'}

            @hooks.replace('test.demo.b')
            def better_b(self, ctx, state):
                state.log.append('better b')
        state = fakes.failing('c')
        self.assertRaises(fakes.StageFailed, _engine(Better).run, FLOW, None,
                          state)
        self.assertEqual(['a', 'better b', 'c', 'revert:c', 'revert:b',
                          'revert:a', 'handler:h1', 'handler:h2'], state.log)

    def test_replaced_stage_keeps_its_id(self):
        class Better(hooks.Hook):
            supports = {FLOW: '1.0'}
            name = 'better'

            @hooks.replace('test.demo.b')
            def better_b(self, ctx, state):
                state.log.append('better b')
        recorder = InMemoryRecorder()
        engine = _engine(Better, recorder=recorder)
        engine.run(FLOW, None, fakes.LogState())
        (run,) = recorder.runs.values()
        self.assertIn('test.demo.b', run.completed_stage_ids)
        self.assertEqual('better',
                         engine.plan(FLOW).leaves['test.demo.b'].replaced_by)


class Listener(hooks.Hook):
    supports = {FLOW: '1.0'}

    def __init__(self):
        self.events = []

    @hooks.listen(FLOW)
    def everything(self, event):
        self.events.append((event.kind, event.stage_id, event.result))


class TestListen(fakes.FlowTestCase):

    def _listener(self, engine):
        (hook,) = engine.hooks
        return hook.obj

    def test_every_event_kind_of_a_successful_run(self):
        engine = _engine(Listener, flow=fakes.make_flow(entries=['a', 'b']))
        engine.run(FLOW, None, fakes.LogState())
        self.assertEqual([
            (EventKind.RUN_START, None, None),
            (EventKind.STAGE_START, 'test.demo.a', None),
            (EventKind.STAGE_END, 'test.demo.a', 'success'),
            (EventKind.STAGE_START, 'test.demo.b', None),
            (EventKind.STAGE_END, 'test.demo.b', 'success'),
            (EventKind.RUN_SUCCESS, None, None),
        ], self._listener(engine).events)

    def test_every_event_kind_of_a_failed_run(self):
        engine = _engine(Listener, flow=fakes.make_flow(entries=['a', 'b']))
        self.assertRaises(fakes.StageFailed, engine.run, FLOW, None,
                          fakes.failing('b'))
        self.assertEqual([
            (EventKind.RUN_START, None, None),
            (EventKind.STAGE_START, 'test.demo.a', None),
            (EventKind.STAGE_END, 'test.demo.a', 'success'),
            (EventKind.STAGE_START, 'test.demo.b', None),
            (EventKind.STAGE_END, 'test.demo.b', 'error'),
            (EventKind.STAGE_REVERT, 'test.demo.b', 'reverted'),
            (EventKind.STAGE_REVERT, 'test.demo.a', 'reverted'),
            (EventKind.RUN_FAILURE, None, None),
        ], self._listener(engine).events)

    def test_events_carry_run_flow_context_state_and_failure(self):
        seen = []

        class Details(hooks.Hook):
            supports = {FLOW: '1.0'}

            @hooks.listen(FLOW, 'stage_end', 'run_failure')
            def details(self, event):
                seen.append(event)
        ctx = fakes.FakeContext()
        state = fakes.failing('a')
        self.assertRaises(fakes.StageFailed, _engine(Details).runner(FLOW)
                          .run, ctx, state, run_id='run-9')
        stage_end, run_failure = seen
        for event in seen:
            self.assertEqual(FLOW, event.flow)
            self.assertEqual('run-9', event.run_id)
            self.assertIs(ctx, event.ctx)
            self.assertIs(state, event.state)
        self.assertEqual('test.demo.a', stage_end.failure.stage_id)
        self.assertGreaterEqual(stage_end.elapsed, 0.0)
        self.assertIsInstance(run_failure.failure.exc, fakes.StageFailed)

    def test_event_filter_delivers_only_the_named_events(self):
        class Filtered(hooks.Hook):
            supports = {FLOW: '1.0'}

            def __init__(self):
                self.kinds = []

            @hooks.listen(FLOW, 'run_success', 'stage_revert')
            def some(self, event):
                self.kinds.append(event.kind)
        engine = _engine(Filtered)
        engine.run(FLOW, None, fakes.LogState())
        self.assertEqual([EventKind.RUN_SUCCESS], engine.hooks[0].obj.kinds)

    def test_listener_exceptions_are_logged_and_swallowed(self):
        class Clumsy(hooks.Hook):
            supports = {FLOW: '1.0'}

            @hooks.listen(FLOW)
            def clumsy(self, event):
                raise RuntimeError(f'listener broke on {event.kind}')
        engine = FlowEngine.load(flows=[fakes.make_flow()],
                                 hook_objects=[Clumsy, Listener])
        state = engine.run(FLOW, None, fakes.LogState())
        self.assertEqual(['a', 'b', 'c', 'd'], state.log)
        # The listener after the broken one still got every event.
        self.assertEqual(10, len(engine.hooks[1].obj.events))
        self.assertIn('Listener of hook', self.logger.output)
        self.assertIn('RuntimeError: listener broke on run_start',
                      self.logger.output)

    def test_listener_exception_does_not_mask_a_stage_error(self):
        class Clumsy(hooks.Hook):
            supports = {FLOW: '1.0'}

            @hooks.listen(FLOW, 'run_failure', 'stage_revert')
            def clumsy(self, event):
                raise RuntimeError('listener broke')
        state = fakes.failing('b')
        self.assertRaises(fakes.StageFailed, _engine(Clumsy).run, FLOW,
                          None, state)
        self.assertEqual(['a', 'b', 'revert:b', 'revert:a', 'handler:h1',
                          'handler:h2'], state.log)


class TestOrdering(fakes.FlowTestCase):
    """Where hooks meet at one stage: config order, then priority."""

    @staticmethod
    def _hook(tag, priority=0):
        class Tagged(hooks.Hook):
            supports = {FLOW: '1.0'}
            name = tag

            @hooks.before('test.demo.b', name=f'{tag}_before')
            def before_b(self, ctx, state):
                state.log.append(f'{tag}:before')

            @hooks.after('test.demo.b', name=f'{tag}_after')
            def after_b(self, ctx, state):
                state.log.append(f'{tag}:after')

            @hooks.around('test.demo.b')
            def around_b(self, ctx, state, proceed):
                state.log.append(f'{tag}:(')
                proceed()
                state.log.append(f'{tag}:)')

            @hooks.listen(FLOW, 'run_success')
            def listen(self, event):
                event.state.log.append(f'{tag}:heard')
        Tagged.priority = priority
        return Tagged

    def test_config_order_decides_between_hooks(self):
        first, second = self._hook('first'), self._hook('second', 100)
        flow = fakes.make_flow(entries=['a', 'b', 'c'])
        state = _engine(first, second, flow=flow).run(FLOW, None,
                                                      fakes.LogState())
        # first's stages are nearest the flow's own order (before: first;
        # after: first), first's around is outermost, first hears first;
        # second's higher priority does not overtake config order.
        self.assertEqual(
            ['a', 'first:before', 'second:before',
             'first:(', 'second:(', 'b', 'second:)', 'first:)',
             'first:after', 'second:after', 'c',
             'first:heard', 'second:heard'], state.log)

    def test_config_order_through_stevedore_names_and_objects(self):
        # Swapping the order swaps the outcome: nothing else decides.
        one, two = self._hook('one'), self._hook('two')
        flow = fakes.make_flow(entries=['b'])
        forward = _engine(one, two, flow=flow).run(FLOW, None,
                                                   fakes.LogState())
        backward = _engine(two, one, flow=fakes.make_flow(entries=['b'])
                           ).run(FLOW, None, fakes.LogState())
        self.assertEqual(['one:before', 'two:before'], forward.log[:2])
        self.assertEqual(['two:before', 'one:before'], backward.log[:2])

    def test_priority_decides_within_one_hook(self):
        class Prioritised(hooks.Hook):
            supports = {FLOW: '1.0'}

            @hooks.before('test.demo.b', priority=1)
            def low(self, ctx, state):
                state.log.append('low')

            @hooks.before('test.demo.b', priority=5)
            def high(self, ctx, state):
                state.log.append('high')

            @hooks.around('test.demo.c', priority=1)
            def inner_around(self, ctx, state, proceed):
                state.log.append('inner(')
                proceed()

            @hooks.around('test.demo.c', priority=5)
            def outer_around(self, ctx, state, proceed):
                state.log.append('outer(')
                proceed()
        state = _engine(Prioritised).run(FLOW, None, fakes.LogState())
        self.assertEqual(['a', 'high', 'low', 'b', 'outer(', 'inner(', 'c',
                          'd'], state.log)

    def test_same_configuration_compiles_to_the_same_plan(self):
        def stage_ids():
            engine = _engine(self._hook('x'), self._hook('y'), Sauce)
            return [node.id for _, node in engine.plan(FLOW).walk()]
        self.assertEqual(stage_ids(), stage_ids())
