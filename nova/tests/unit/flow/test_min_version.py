"""Contributions gated on the request's version: declared on the
contribution (``min_version=``, or the hook's ``microversions`` default),
checked by the engine at load and per run, nothing set on the hook."""

import dataclasses

from nova.flow import Flow, FlowEngine, hooks
from nova.flow.spec import RequestVersion
from nova.tests.unit.flow import fakes

FLOW = 'test.versioned'


def _parse(text):
    major, _, minor = str(text).partition('.')
    if not (major.isdigit() and minor.isdigit()):
        raise ValueError(f"'{text}' is not MAJOR.MINOR")
    version = (int(major), int(minor))
    if not (1, 0) <= version <= (1, 9):
        raise ValueError(f'{text} is outside 1.0-1.9')
    return version


@dataclasses.dataclass
class VersionedState(fakes.LogState):
    #: The request's version, as the flow's parse function returns it.
    version: tuple = (1, 0)


def _flow(request_version=True):
    flow = fakes.make_flow(FLOW, entries=['a', 'b', 'c'],
                           state_type=VersionedState, handlers=())
    if request_version:
        flow.request_version = RequestVersion('version', _parse)
    return flow


class Before(hooks.Hook):
    supports = {FLOW: '1.0'}

    @hooks.before(f'{FLOW}.b', min_version='1.5', revert='undo')
    def early(self, ctx, state):
        state.log.append('hook:before')

    def undo(self, ctx, state, failure):
        state.log.append('revert:hook')


class After(hooks.Hook):
    supports = {FLOW: '1.0'}

    @hooks.after(f'{FLOW}.b', min_version='1.5')
    def late(self, ctx, state):
        state.log.append('hook:after')


class Around(hooks.Hook):
    supports = {FLOW: '1.0'}

    @hooks.around(f'{FLOW}.b', min_version='1.5')
    def timed(self, ctx, state, proceed):
        state.log.append('hook:around')
        return proceed()


class Replace(hooks.Hook):
    supports = {FLOW: '1.0'}

    @hooks.replace(f'{FLOW}.b', min_version='1.5')
    def mine(self, ctx, state):
        state.log.append('hook:replace')


class ByDefault(hooks.Hook):
    """The class-level default, and a decorator overriding it."""

    supports = {FLOW: '1.0'}
    microversions = {FLOW: '1.5'}

    @hooks.after(f'{FLOW}.a')
    def defaulted(self, ctx, state):
        state.log.append('hook:default')

    @hooks.after(f'{FLOW}.c', min_version='1.2')
    def own(self, ctx, state):
        state.log.append('hook:own')


def _run(hook_class, version, **state):
    engine = FlowEngine.load(flows=[_flow()], hook_objects=[hook_class])
    result = engine.run(FLOW, fakes.FakeContext(),
                        VersionedState(version=version, **state))
    return result.log, engine


class TestGatedByTheEngine(fakes.FlowTestCase):

    def test_before_below_at_and_above(self):
        self.assertEqual(['a', 'b', 'c'], _run(Before, (1, 4))[0])
        self.assertEqual(['a', 'hook:before', 'b', 'c'],
                         _run(Before, (1, 5))[0])
        self.assertEqual(['a', 'hook:before', 'b', 'c'],
                         _run(Before, (1, 9))[0])

    def test_after_below_at_and_above(self):
        self.assertEqual(['a', 'b', 'c'], _run(After, (1, 4))[0])
        self.assertEqual(['a', 'b', 'hook:after', 'c'],
                         _run(After, (1, 5))[0])
        self.assertEqual(['a', 'b', 'hook:after', 'c'],
                         _run(After, (1, 6))[0])

    def test_around_below_just_proceeds(self):
        self.assertEqual(['a', 'b', 'c'], _run(Around, (1, 4))[0])
        self.assertEqual(['a', 'hook:around', 'b', 'c'],
                         _run(Around, (1, 5))[0])
        self.assertEqual(['a', 'hook:around', 'b', 'c'],
                         _run(Around, (1, 7))[0])

    def test_replace_below_runs_the_stage_itself(self):
        self.assertEqual(['a', 'b', 'c'], _run(Replace, (1, 4))[0])
        self.assertEqual(['a', 'hook:replace', 'c'],
                         _run(Replace, (1, 5))[0])
        self.assertEqual(['a', 'hook:replace', 'c'],
                         _run(Replace, (1, 8))[0])

    def test_a_skipped_stage_is_not_reverted(self):
        engine = FlowEngine.load(flows=[_flow()], hook_objects=[Before])
        for version, expected in (
                ((1, 4), ['a', 'b', 'c', 'revert:c', 'revert:b',
                          'revert:a']),
                ((1, 5), ['a', 'hook:before', 'b', 'c', 'revert:c',
                          'revert:b', 'revert:hook', 'revert:a'])):
            state = VersionedState(version=version, fail={'c': 1})
            self.assertRaises(fakes.StageFailed, engine.run, FLOW,
                              fakes.FakeContext(), state)
            self.assertEqual(expected, state.log)

    def test_class_default_and_decorator_precedence(self):
        self.assertEqual(['a', 'b', 'c', 'hook:own'],
                         _run(ByDefault, (1, 3))[0])
        self.assertEqual(['a', 'b', 'c'], _run(ByDefault, (1, 1))[0])
        self.assertEqual(['a', 'hook:default', 'b', 'c', 'hook:own'],
                         _run(ByDefault, (1, 5))[0])

    def test_the_condition_is_recorded_on_the_contribution(self):
        _log, engine = _run(ByDefault, (1, 5))
        hook = engine.hooks[0]
        found = {c.method: c.min_version(FLOW)
                 for c in hook.contributions()}
        self.assertEqual({'defaulted': '1.5', 'own': '1.2'}, found)
        leaves = engine.plan(FLOW).leaves
        self.assertEqual('1.5', leaves[f'{FLOW}.defaulted'].min_version)
        self.assertEqual('1.2', leaves[f'{FLOW}.own'].min_version)

    def test_the_hook_object_is_not_modified(self):
        for hook_class in (Before, After, Around, Replace, ByDefault):
            obj = hook_class()
            methods = {name: value for name, value in vars(hook_class).items()
                       if callable(value)}
            engine = FlowEngine.load(flows=[_flow()], hook_objects=[obj])
            for version in ((1, 1), (1, 5)):
                engine.run(FLOW, fakes.FakeContext(),
                           VersionedState(version=version))
            # Only the name the load gives every hook; no method, no
            # wrapper, no marker set on the instance or its class.
            self.assertEqual({'name'}, set(vars(obj)), hook_class)
            self.assertEqual(methods, {
                name: value for name, value in vars(hook_class).items()
                if callable(value)})

    def test_one_hook_object_serves_two_engines(self):
        obj = Before()
        first = FlowEngine.load(flows=[_flow()], hook_objects=[obj])
        second = FlowEngine.load(flows=[_flow()], hook_objects=[obj])
        for engine in (first, second):
            state = engine.run(FLOW, fakes.FakeContext(),
                               VersionedState(version=(1, 5)))
            self.assertEqual(1, state.log.count('hook:before'))


class TestCheckedAtLoad(fakes.FlowTestCase):

    def _error(self, flows, *hook_classes):
        return fakes.compile_error(
            flows, [(cls.__name__.lower(), cls) for cls in hook_classes])

    def test_min_version_on_a_flow_without_a_request_version(self):
        error = self._error([_flow(request_version=False)], Before)
        self.assertIsNotNone(error)
        self.assertIn("hook 'before'", str(error))
        self.assertIn(f"stage '{FLOW}.b'", str(error))
        self.assertIn('carry no request version', str(error))

    def test_bad_format_and_out_of_range_reported_together(self):
        class BadFormat(hooks.Hook):
            supports = {FLOW: '1.0'}

            @hooks.after(f'{FLOW}.a', min_version='one')
            def x(self, ctx, state):
                pass

        class TooHigh(hooks.Hook):
            supports = {FLOW: '1.0'}

            @hooks.around(f'{FLOW}.c', min_version='1.12')
            def y(self, ctx, state, proceed):
                return proceed()

        class BadDefault(hooks.Hook):
            supports = {FLOW: '1.0'}
            microversions = {FLOW: '0.9'}
        error = self._error([_flow()], BadFormat, TooHigh, BadDefault)
        lines = str(error).splitlines()
        self.assertTrue(any(
            "hook 'badformat'" in line and f"stage '{FLOW}.a'" in line
            and "'one' is not MAJOR.MINOR" in line for line in lines),
            str(error))
        self.assertTrue(any(
            "hook 'toohigh'" in line and f"stage '{FLOW}.c'" in line
            and '1.12 is outside 1.0-1.9' in line for line in lines),
            str(error))
        self.assertTrue(any(
            "hook 'baddefault'" in line and "microversions" in line
            and '0.9 is outside' in line for line in lines), str(error))

    def test_default_for_a_flow_without_a_request_version(self):
        class Default(hooks.Hook):
            supports = {FLOW: '1.0'}
            microversions = {FLOW: '1.1'}
        error = self._error([_flow(request_version=False)], Default)
        self.assertIn("microversions['test.versioned']", str(error))
        self.assertIn('carry no request version', str(error))

    def test_a_flow_with_a_request_version_and_no_gated_hook_loads(self):
        self.assertIsNone(self._error([_flow()], After))
        self.assertIsNone(fakes.compile_error(
            [Flow('test.plain', '1.0', fakes.LogState)], []))
