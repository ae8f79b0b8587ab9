"""Everything wrong with flows, hooks or [flow] options is found at load.

Each problem has its own test, asserting that the line an operator reads
names the hook, its entry point (when it has one) and the stage ID.  The
hooks here are compiled as stevedore would have loaded them, each with an
entry point (fakes.compile_error); the stevedore failures themselves are in
test_example_hooks, on real installed entry points.
"""

from nova.flow import Flow, FlowConfigError, FlowEngine, hooks, sub
from nova.tests.unit.flow import fakes

FLOW = 'test.demo'


def _flow(**kwargs):
    kwargs.setdefault('version', '1.3')
    kwargs.setdefault('entries', ['a', sub('grp', ['b', 'c']), 'd'])
    return fakes.make_flow(**kwargs)


class ValidationTestCase(fakes.FlowTestCase):

    def assertOnlyProblem(self, error, *fragments, hook=None,
                          entry_point=None, stage_id=None):
        """``error`` holds exactly one problem, and its line in the error
        message names the hook, entry point and stage and says
        ``fragments``."""
        self.assertIsInstance(error, FlowConfigError)
        self.assertEqual(1, len(error.problems), str(error))
        self.assertProblem(error, *fragments, hook=hook,
                           entry_point=entry_point, stage_id=stage_id)

    def assertProblem(self, error, *fragments, hook=None, entry_point=None,
                      stage_id=None):
        expected = list(fragments)
        if hook is not None:
            expected.append(f"hook '{hook}'")
        if entry_point is not None:
            expected.append(f"entry point '{entry_point}'")
        if stage_id is not None:
            expected.append(f"stage '{stage_id}'")
        lines = str(error).splitlines()
        matching = [line for line in lines
                    if all(part in line for part in expected)]
        self.assertEqual(1, len(matching),
                         f'expected one line with {expected} in:\n{error}')


class TestHookProblems(ValidationTestCase):

    def test_unknown_flow_in_supports(self):
        class Lost(hooks.Hook):
            supports = {FLOW: '1.0', 'test.nowhere': '1.0'}
        error = fakes.compile_error([_flow()], [('lost', Lost)])
        self.assertOnlyProblem(
            error, "declares support for unknown flow 'test.nowhere'",
            hook='lost', entry_point=fakes.entry_point_of(Lost))

    def test_unknown_flow_in_listen(self):
        class Deaf(hooks.Hook):
            supports = {FLOW: '1.0'}

            @hooks.listen('test.nowhere')
            def hear(self, event):
                pass
        error = fakes.compile_error([_flow()], [('deaf', Deaf)])
        self.assertOnlyProblem(
            error, "listens to unknown flow 'test.nowhere'", hook='deaf',
            entry_point=fakes.entry_point_of(Deaf), stage_id='test.nowhere')

    def test_unknown_stage_id(self):
        class Typo(hooks.Hook):
            supports = {FLOW: '1.0'}

            @hooks.before('test.demo.grp.bb')
            def sauce(self, ctx, state):
                pass
        error = fakes.compile_error([_flow()], [('typo', Typo)])
        self.assertOnlyProblem(
            error, "before names unknown stage 'test.demo.grp.bb'",
            hook='typo', entry_point=fakes.entry_point_of(Typo),
            stage_id='test.demo.grp.bb')

    def test_stage_id_of_an_unknown_flow(self):
        class Elsewhere(hooks.Hook):
            supports = {FLOW: '1.0'}

            @hooks.around('test.other.a')
            def wrap(self, ctx, state, proceed):
                return proceed()
        error = fakes.compile_error([_flow()], [('elsewhere', Elsewhere)])
        self.assertOnlyProblem(
            error, "around names unknown stage 'test.other.a'",
            hook='elsewhere', entry_point=fakes.entry_point_of(Elsewhere),
            stage_id='test.other.a')

    def test_unknown_stage_id_suggests_the_nearest(self):
        class Typo(hooks.Hook):
            supports = {FLOW: '1.0'}

            @hooks.around('test.demo.grp.cc')
            def wrap(self, ctx, state, proceed):
                return proceed()
        error = fakes.compile_error([_flow()], [('typo', Typo)])
        self.assertOnlyProblem(
            error, "around names unknown stage 'test.demo.grp.cc'; did you "
                   "mean 'test.demo.grp.c'?", hook='typo',
            stage_id='test.demo.grp.cc')

    def test_unknown_flow_suggests_the_nearest(self):
        class Typo(hooks.Hook):
            supports = {FLOW: '1.0'}

            @hooks.listen('test.demoo')
            def hear(self, event):
                pass
        error = fakes.compile_error([_flow()], [('typo', Typo)])
        self.assertProblem(
            error, "listens to unknown flow 'test.demoo'; did you mean "
                   "'test.demo'?", hook='typo')

    def test_no_suggestion_when_nothing_is_near(self):
        class Far(hooks.Hook):
            supports = {FLOW: '1.0'}

            @hooks.before('test.demo.zzzzzzzz')
            def sauce(self, ctx, state):
                pass
        error = fakes.compile_error([_flow()], [('far', Far)])
        self.assertNotIn('did you mean', str(error))

    def test_stages_anchored_on_a_stage_another_hook_inserted(self):
        class Inserter(hooks.Hook):
            supports = {FLOW: '1.0'}

            @hooks.before('test.demo.d')
            def sauce(self, ctx, state):
                state.log.append('sauce')

        class OnTop(hooks.Hook):
            supports = {FLOW: '1.0'}

            @hooks.after('test.demo.sauce')
            def more(self, ctx, state):
                state.log.append('more')

            @hooks.before('test.demo.more')
            def between(self, ctx, state):
                state.log.append('between')

            @hooks.around('test.demo.sauce')
            def wrap(self, ctx, state, proceed):
                state.log.append('wrap')
                return proceed()
        # OnTop comes first in the configuration: its anchors are found
        # in a later round all the same.
        engine = FlowEngine.load(flows=[_flow()],
                                 hook_objects=[OnTop(), Inserter()])
        state = engine.run(FLOW, None, fakes.LogState())
        self.assertEqual(['a', 'b', 'c', 'wrap', 'sauce', 'between',
                          'more', 'd'], state.log)

    def test_stages_anchored_on_each_other_only_are_unknown(self):
        class Loop(hooks.Hook):
            supports = {FLOW: '1.0'}

            @hooks.before('test.demo.second')
            def first(self, ctx, state):
                pass

            @hooks.before('test.demo.first')
            def second(self, ctx, state):
                pass
        error = fakes.compile_error([_flow()], [('loop', Loop)])
        self.assertEqual(2, len(error.problems), str(error))
        self.assertProblem(error, "before names unknown stage "
                                  "'test.demo.second'", hook='loop')

    def test_a_stage_another_hook_inserted_cannot_be_replaced(self):
        class Inserter(hooks.Hook):
            supports = {FLOW: '1.0'}

            @hooks.before('test.demo.d')
            def sauce(self, ctx, state):
                pass

        class Replacer(hooks.Hook):
            supports = {FLOW: '1.0'}

            @hooks.replace('test.demo.sauce')
            def other(self, ctx, state):
                pass
        error = fakes.compile_error(
            [_flow()], [('inserter', Inserter), ('replacer', Replacer)])
        self.assertOnlyProblem(
            error, "replaces a stage hook 'inserter' inserts",
            hook='replacer', stage_id='test.demo.sauce')

    def test_incompatible_contract_major(self):
        class Old(hooks.Hook):
            supports = {FLOW: '2.0'}

            @hooks.after('test.demo.grp.b')
            def later(self, ctx, state):
                pass
        error = fakes.compile_error([_flow()], [('old', Old)])
        # Named: the hook, its entry point and the stage it acts on.
        self.assertOnlyProblem(
            error, f"was written for contract 2.0 of flow '{FLOW}', which "
                   f"is at 1.3", hook='old',
            entry_point=fakes.entry_point_of(Old),
            stage_id='test.demo.grp.b')

    def test_contract_minor_too_new(self):
        class Eager(hooks.Hook):
            supports = {FLOW: '1.4'}
        error = fakes.compile_error([_flow()], [('eager', Eager)])
        # A hook acting on no stage of the flow: the flow's ID.
        self.assertOnlyProblem(
            error, f"was written for contract 1.4 of flow '{FLOW}', which "
                   f"is at 1.3", hook='eager',
            entry_point=fakes.entry_point_of(Eager), stage_id=FLOW)

    def test_older_minor_of_the_same_major_is_accepted(self):
        class Patient(hooks.Hook):
            supports = {FLOW: '1.0'}

            @hooks.before('test.demo.d')
            def sauce(self, ctx, state):
                pass
        self.assertIsNone(
            fakes.compile_error([_flow()], [('patient', Patient)]))

    def test_contract_version_that_is_not_major_minor(self):
        class Vague(hooks.Hook):
            supports = {FLOW: 'latest'}
        error = fakes.compile_error([_flow()], [('vague', Vague)])
        self.assertOnlyProblem(
            error, "declares contract version 'latest'", 'MAJOR.MINOR',
            hook='vague', entry_point=fakes.entry_point_of(Vague))

    def test_two_replacements_of_one_stage(self):
        class Mine(hooks.Hook):
            supports = {FLOW: '1.0'}

            @hooks.replace('test.demo.grp.b')
            def my_b(self, ctx, state):
                pass

        class Theirs(hooks.Hook):
            supports = {FLOW: '1.0'}

            @hooks.replace('test.demo.grp.b')
            def their_b(self, ctx, state):
                pass
        error = fakes.compile_error([_flow()],
                                    [('mine', Mine), ('theirs', Theirs)])
        self.assertOnlyProblem(
            error, "is replaced by both hook 'mine' and hook 'theirs'",
            hook='theirs', entry_point=fakes.entry_point_of(Theirs),
            stage_id='test.demo.grp.b')

    def test_sub_flow_cannot_be_replaced(self):
        class Greedy(hooks.Hook):
            supports = {FLOW: '1.0'}

            @hooks.replace('test.demo.grp')
            def everything(self, ctx, state):
                pass
        error = fakes.compile_error([_flow()], [('greedy', Greedy)])
        self.assertOnlyProblem(
            error, 'only a stage can be replaced', hook='greedy',
            entry_point=fakes.entry_point_of(Greedy), stage_id='test.demo.grp')

    def test_wrong_signature_of_an_inserted_stage(self):
        class NoState(hooks.Hook):
            supports = {FLOW: '1.0'}

            @hooks.after('test.demo.a')
            def sauce(self, ctx):
                pass
        error = fakes.compile_error([_flow()], [('no_state', NoState)])
        self.assertOnlyProblem(
            error, 'NoState.sauce(ctx) must accept 2 positional arguments',
            hook='no_state', entry_point=fakes.entry_point_of(NoState),
            stage_id='test.demo.a')

    def test_wrong_signature_of_a_replacement(self):
        class TooMany(hooks.Hook):
            supports = {FLOW: '1.0'}

            @hooks.replace('test.demo.a')
            def better_a(self, ctx, state, extra):
                pass
        error = fakes.compile_error([_flow()], [('too_many', TooMany)])
        self.assertOnlyProblem(
            error, 'must accept 2 positional arguments', hook='too_many',
            entry_point=fakes.entry_point_of(TooMany), stage_id='test.demo.a')

    def test_wrong_signature_of_a_revert(self):
        class NoFailure(hooks.Hook):
            supports = {FLOW: '1.0'}

            @hooks.before('test.demo.d', revert='undo')
            def sauce(self, ctx, state):
                pass

            def undo(self, ctx, state):
                pass
        error = fakes.compile_error([_flow()], [('no_failure', NoFailure)])
        self.assertOnlyProblem(
            error, 'NoFailure.undo(ctx, state) must accept 3 positional '
                   'arguments', hook='no_failure',
            entry_point=fakes.entry_point_of(NoFailure),
            stage_id='test.demo.d')

    def test_wrong_signature_of_an_around(self):
        class NoProceed(hooks.Hook):
            supports = {FLOW: '1.0'}

            @hooks.around('test.demo.grp.c')
            def wrap(self, ctx, state):
                pass
        error = fakes.compile_error([_flow()], [('no_proceed', NoProceed)])
        self.assertOnlyProblem(
            error, 'NoProceed.wrap(ctx, state) must accept 3 positional '
                   'arguments', hook='no_proceed',
            entry_point=fakes.entry_point_of(NoProceed),
            stage_id='test.demo.grp.c')

    def test_wrong_signature_of_a_listener(self):
        class NoEvent(hooks.Hook):
            supports = {FLOW: '1.0'}

            @hooks.listen(FLOW)
            def hear(self):
                pass
        error = fakes.compile_error([_flow()], [('no_event', NoEvent)])
        self.assertOnlyProblem(
            error, 'NoEvent.hear() must accept 1 positional arguments',
            hook='no_event', entry_point=fakes.entry_point_of(NoEvent),
            stage_id=FLOW)

    def test_missing_revert_method(self):
        class Forgetful(hooks.Hook):
            supports = {FLOW: '1.0'}

            @hooks.before('test.demo.d', revert='remove_sauce')
            def sauce(self, ctx, state):
                pass
        error = fakes.compile_error([_flow()], [('forgetful', Forgetful)])
        self.assertOnlyProblem(
            error, "revert method 'remove_sauce' does not exist",
            hook='forgetful', entry_point=fakes.entry_point_of(Forgetful),
            stage_id='test.demo.d')

    def test_duplicate_inserted_stage_name(self):
        class One(hooks.Hook):
            supports = {FLOW: '1.0'}

            @hooks.before('test.demo.grp.c')
            def sauce(self, ctx, state):
                pass

        class Two(hooks.Hook):
            supports = {FLOW: '1.0'}

            @hooks.after('test.demo.grp.b', name='sauce')
            def other_sauce(self, ctx, state):
                pass
        error = fakes.compile_error([_flow()], [('one', One), ('two', Two)])
        self.assertOnlyProblem(
            error, "inserts a stage named 'sauce', which already exists",
            hook='two', entry_point=fakes.entry_point_of(Two),
            stage_id='test.demo.grp.sauce')

    def test_inserted_stage_named_like_a_flow_stage(self):
        class Clash(hooks.Hook):
            supports = {FLOW: '1.0'}

            @hooks.before('test.demo.a', name='d')
            def sauce(self, ctx, state):
                pass
        error = fakes.compile_error([_flow()], [('clash', Clash)])
        self.assertOnlyProblem(
            error, "inserts a stage named 'd', which already exists",
            hook='clash', entry_point=fakes.entry_point_of(Clash),
            stage_id='test.demo.d')

    def test_unknown_event_name(self):
        class Typo(hooks.Hook):
            supports = {FLOW: '1.0'}

            @hooks.listen(FLOW, 'run_success', 'stage_exploded')
            def hear(self, event):
                pass
        error = fakes.compile_error([_flow()], [('typo', Typo)])
        self.assertOnlyProblem(
            error, 'listens to unknown event(s) stage_exploded', 'known: ',
            hook='typo', entry_point=fakes.entry_point_of(Typo),
            stage_id=FLOW)

    def test_hook_acting_on_a_flow_it_does_not_support(self):
        other = _flow(name='test.other', version='1.0')

        class Sneaky(hooks.Hook):
            supports = {FLOW: '1.0'}

            @hooks.before('test.other.grp.b')
            def sauce(self, ctx, state):
                pass
        error = fakes.compile_error([_flow(), other], [('sneaky', Sneaky)])
        self.assertOnlyProblem(
            error, "acts on flow 'test.other' but does not declare it in "
                   "'supports' (method sauce)", hook='sneaky',
            entry_point=fakes.entry_point_of(Sneaky),
            stage_id='test.other.grp.b')

    def test_hook_listening_to_a_flow_it_does_not_support(self):
        other = _flow(name='test.other', version='1.0')

        class Nosy(hooks.Hook):
            supports = {FLOW: '1.0'}

            @hooks.listen('test.other')
            def hear(self, event):
                pass
        error = fakes.compile_error([_flow(), other], [('nosy', Nosy)])
        self.assertOnlyProblem(
            error, "acts on flow 'test.other' but does not declare it",
            hook='nosy', entry_point=fakes.entry_point_of(Nosy),
            stage_id='test.other')

    def test_hook_constructor_raising(self):
        class Fragile(hooks.Hook):
            supports = {FLOW: '1.0'}

            def __init__(self):
                raise OSError('/etc/fragile.conf is missing')
        error = self.assertRaises(FlowConfigError, FlowEngine.load,
                                  flows=[_flow()], hook_objects=[Fragile])
        self.assertOnlyProblem(
            error, 'could not be created: OSError: /etc/fragile.conf is '
                   'missing', hook=f'{__name__}.{Fragile.__qualname__}')

    def test_hook_object_that_is_not_a_hook(self):
        error = self.assertRaises(FlowConfigError, FlowEngine.load,
                                  flows=[_flow()], hook_objects=[object()])
        self.assertOnlyProblem(error, 'is not a nova.flow.hooks.Hook')


class TestFlowDefinitionProblems(ValidationTestCase):

    def _load_error(self, *flows):
        return self.assertRaises(FlowConfigError, FlowEngine.load,
                                 flows=list(flows))

    def test_unregistered_stage_name(self):
        flow = _flow()
        flow.stages('a', sub('grp', ['b', 'missing']))
        self.assertOnlyProblem(
            self._load_error(flow),
            "stage 'missing' is listed but no function is registered",
            stage_id='test.demo.grp.missing')

    def test_duplicate_stage_name(self):
        flow = _flow()
        flow.stages('a', 'b', 'a')
        self.assertOnlyProblem(self._load_error(flow), 'duplicate stage name',
                               stage_id='test.demo.a')

    def test_duplicate_stage_name_in_a_sub_flow(self):
        flow = _flow()
        flow.stages('a', sub('grp', ['b', 'b']))
        self.assertOnlyProblem(self._load_error(flow), 'duplicate stage name',
                               stage_id='test.demo.grp.b')

    def test_bad_version_string(self):
        flow = _flow(version='1')
        self.assertOnlyProblem(
            self._load_error(flow),
            "flow 'test.demo' version '1' is not MAJOR.MINOR")

    def test_bad_version_does_not_hide_hook_problems(self):
        class Any(hooks.Hook):
            supports = {FLOW: '1.0'}

            @hooks.before('test.demo.nope')
            def sauce(self, ctx, state):
                pass
        error = fakes.compile_error([_flow(version='one')], [('any', Any)])
        self.assertEqual(2, len(error.problems), str(error))
        self.assertProblem(error, "version 'one' is not MAJOR.MINOR")
        self.assertProblem(error, "unknown stage 'test.demo.nope'",
                           hook='any')

    def test_state_type_that_is_not_a_dataclass(self):
        class PlainState:
            pass
        flow = _flow(state_type=PlainState)
        self.assertOnlyProblem(
            self._load_error(flow),
            "flow 'test.demo' state type must be a dataclass")

    def test_flow_name_that_is_not_a_dotted_id(self):
        flow = _flow(name='Demo')
        self.assertOnlyProblem(self._load_error(flow),
                               "flow name 'Demo' is not a dotted lower-case")

    def test_bad_interrupt_policy(self):
        flow = _flow(on_interrupt='ignore')
        self.assertOnlyProblem(self._load_error(flow),
                               "on_interrupt must be 'revert' or 'resume'")

    def test_stage_function_with_wrong_signature(self):
        flow = _flow()
        flow.stage(lambda ctx: None, name='a')
        self.assertOnlyProblem(self._load_error(flow),
                               'must accept 2 positional arguments',
                               stage_id='test.demo.a')

    def test_stage_revert_with_wrong_signature(self):
        flow = _flow()
        flow.revert('d')(lambda ctx, state: None)
        self.assertOnlyProblem(self._load_error(flow),
                               'must accept 3 positional arguments',
                               stage_id='test.demo.d (revert)')

    def test_undefined_failure_handler(self):
        flow = _flow()
        flow.on_failure('h1', 'nowhere')
        self.assertOnlyProblem(self._load_error(flow),
                               "failure handler 'nowhere' is not defined",
                               stage_id='test.demo.nowhere')

    def test_bad_stage_name(self):
        flow = _flow()
        flow.stage(lambda ctx, state: None, name='Bad-Name')
        flow.stages('a', 'Bad-Name')
        self.assertOnlyProblem(self._load_error(flow),
                               "stage name 'Bad-Name' must be lower-case",
                               stage_id='test.demo.Bad-Name')

    def test_two_flows_with_one_name(self):
        self.assertOnlyProblem(self._load_error(_flow(), _flow()),
                               "two flows are named 'test.demo'")


class TestDisabledStageProblems(ValidationTestCase):

    def test_stage_that_is_not_optional(self):
        error = fakes.compile_error([_flow(optional=['d'])],
                                    disabled_stages=['test.demo.grp.b'])
        self.assertOnlyProblem(error, 'is not optional',
                               '[flow] disabled_stages',
                               stage_id='test.demo.grp.b')

    def test_unknown_stage(self):
        error = fakes.compile_error([_flow(optional=['d'])],
                                    disabled_stages=['test.demo.dd'])
        self.assertOnlyProblem(error, '[flow] disabled_stages names an '
                                      'unknown stage',
                               stage_id='test.demo.dd')

    def test_stage_of_an_unknown_flow(self):
        error = fakes.compile_error([_flow(optional=['d'])],
                                    disabled_stages=['compute.nothing.d'])
        self.assertOnlyProblem(error, 'unknown stage',
                               stage_id='compute.nothing.d')


class TestAllProblemsTogether(ValidationTestCase):

    def test_every_problem_is_reported_in_one_error(self):
        broken_flow = Flow('test.broken', 'x.y', object)
        broken_flow.stages('ghost')

        class Messy(hooks.Hook):
            supports = {FLOW: '2.0', 'test.absent': '1.0'}
            name = 'messy'

            @hooks.before('test.demo.grp.nope')
            def sauce(self, ctx, state):
                pass

            @hooks.around('test.demo.a')
            def wrap(self, ctx, state):
                pass

            @hooks.listen(FLOW, 'exploded')
            def hear(self, event):
                pass

        class Rival(hooks.Hook):
            supports = {FLOW: '1.0'}
            name = 'rival'

            @hooks.replace('test.demo.d')
            def d1(self, ctx, state):
                pass

        class Rival2(hooks.Hook):
            supports = {FLOW: '1.0'}
            name = 'rival2'

            @hooks.replace('test.demo.d')
            def d2(self, ctx, state):
                pass

        # Through FlowEngine.load, as a service starts: stevedore names,
        # hook objects, flows and disabled stages all at once.
        error = self.assertRaises(
            FlowConfigError, FlowEngine.load,
            flows=[_flow(), broken_flow],
            hook_names=['no_such_hook_anywhere', 'example_broken_import'],
            hook_objects=[Messy, Rival, Rival2],
            disabled_stages=['test.demo.a', 'test.demo.unknown'])
        text = str(error)
        self.assertTrue(text.startswith(
            f'{len(error.problems)} problem(s) in flow configuration:'))
        expected = [
            "hook 'no_such_hook_anywhere': is enabled in [flow] "
            "enabled_hooks but no installed package provides it",
            "hook 'example_broken_import', entry point "
            "'nova_example_hooks.broken_import:BrokenImport': cannot be "
            "imported",
            "flow 'test.broken' version 'x.y' is not MAJOR.MINOR",
            "flow 'test.broken' state type must be a dataclass",
            "stage 'test.broken.ghost': stage 'ghost' is listed but no "
            "function is registered",
            "hook 'messy', stage 'test.demo.a': was written for contract "
            "2.0 of flow 'test.demo'",
            "hook 'messy': declares support for unknown flow 'test.absent'",
            "hook 'messy', stage 'test.demo.grp.nope': before names unknown "
            "stage",
            "hook 'messy', stage 'test.demo.a': ",
            "hook 'messy', stage 'test.demo': listens to unknown event(s) "
            "exploded",
            "hook 'rival2', stage 'test.demo.d': is replaced by both hook "
            "'rival' and hook 'rival2'",
            "stage 'test.demo.a': [flow] disabled_stages names a stage that "
            "is not optional",
            "stage 'test.demo.unknown': [flow] disabled_stages names an "
            "unknown stage",
        ]
        for fragment in expected:
            self.assertIn(fragment, text)
        self.assertEqual(len(expected), len(error.problems), text)


class TestOneValidationForEveryService(ValidationTestCase):
    """The engine of nova-compute or nova-conductor applies the API's
    rules too: a configuration nova-api refuses is refused everywhere,
    with the problems of every flow in one report."""

    def test_api_rule_and_engine_problem_together(self):
        class Both(hooks.Hook):
            supports = {FLOW: '1.0', 'api.server_view': '1.0'}
            schema_fragments = {'api.server_create': {'properties': {
                'x': {'type': 'string'}}}}

            @hooks.before('test.demo.grp.bb')
            def typo(self, ctx, state):
                pass

            @hooks.after('api.server_view.basic')
            def view(self, ctx, state):
                pass
        from nova.api.openstack.compute.flows import server_view
        error = self.assertRaises(
            FlowConfigError, FlowEngine.load,
            flows=[_flow(), server_view.FLOW], hook_objects=[Both()])
        self.assertEqual(3, len(error.problems), str(error))
        self.assertProblem(error, "before names unknown stage "
                                  "'test.demo.grp.bb'")
        self.assertProblem(error, 'declares no microversions')
        self.assertProblem(error, 'has a schema fragment for a flow it '
                                  "does not declare in 'supports'")
