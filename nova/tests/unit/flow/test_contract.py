"""The contract of a flow: what it holds, how a change is judged, how
hooks are held to it (read-only fields, stage aliases, refused majors)."""

import dataclasses
import warnings
from typing import Any

from nova.flow import (
    Flow,
    FlowConfigError,
    FlowEngine,
    InMemoryRecorder,
    contract,
    hooks,
    stage,
    sub,
)
from nova.flow.contract import MAJOR, MINOR, ReadOnlyFieldError, compare
from nova.tests.unit.flow import fakes

FLOW = 'test.contract'


@dataclasses.dataclass
class Services:
    name: str = 'services'


@dataclasses.dataclass
class DemoState:
    """A state documented both ways the contract reads."""

    services: Services = dataclasses.field(
        default_factory=Services,
        metadata=contract.meta('What the stages call.', writable=False))
    #: The log of what ran,
    #: in order.
    log: list[str] = dataclasses.field(default_factory=list)
    #: Read only, documented by its comment.
    subject: str = dataclasses.field(default='vm-1',
                                     metadata=contract.READ_ONLY)
    undocumented: int = 0


def _step(name):
    def execute(ctx, state):
        state.log.append(name)
    execute.__name__ = name
    return execute


def demo_flow(version='1.0', entries=('a', sub('grp', ['b', 'c']), 'd'),
              *, changes=None, aliases=None, state_type=DemoState,
              on_interrupt='revert'):
    """A flow of logging stages; ``aliases``: stage name -> former names."""
    flow = Flow(FLOW, version, state_type, changes=changes,
                on_interrupt=on_interrupt)
    resolved = []
    for entry in entries:
        resolved.append(entry)
    flow.stages(*resolved)

    def names(items):
        for item in items:
            if isinstance(item, str):
                yield item
            elif hasattr(item, 'entries'):
                yield from names(item.entries)
    for name in names(entries):
        flow.stage(_step(name), name=name,
                   aliases=(aliases or {}).get(name, ()))
    return flow


def snapshot(flow):
    return contract.contract_of(flow).as_dict()


class TestContractOf(fakes.FlowTestCase):

    def test_stage_ids_in_order_with_sub_flow_stages(self):
        found = contract.contract_of(demo_flow())
        self.assertEqual(
            [(f'{FLOW}.a', 'stage'), (f'{FLOW}.grp', 'sub_flow'),
             (f'{FLOW}.grp.b', 'stage'), (f'{FLOW}.grp.c', 'stage'),
             (f'{FLOW}.d', 'stage')],
            [(s.id, s.kind) for s in found.stages])

    def test_fields_with_type_doc_and_writability(self):
        fields = {f.name: f for f in contract.contract_of(
            demo_flow()).fields}
        self.assertEqual(
            contract.FieldInfo(
                'services', f'{__name__}.Services', 'What the stages call.',
                False), fields['services'])
        self.assertEqual(contract.FieldInfo(
            'log', 'list[str]', 'The log of what ran, in order.', True),
            fields['log'])
        self.assertEqual(contract.FieldInfo(
            'subject', 'str', 'Read only, documented by its comment.',
            False), fields['subject'])
        self.assertEqual('', fields['undocumented'].doc)
        self.assertEqual(frozenset({'services', 'subject'}),
                         contract.read_only_fields(DemoState))

    def test_aliases_are_former_ids_of_the_stage(self):
        found = contract.contract_of(demo_flow(
            entries=('a', sub('grp', ['b2', 'c'], aliases=('group',)), 'd'),
            aliases={'b2': ('b',)}))
        by_id = {s.id: s for s in found.stages}
        self.assertEqual((f'{FLOW}.grp.b',), by_id[f'{FLOW}.grp.b2'].aliases)
        self.assertEqual((f'{FLOW}.group',), by_id[f'{FLOW}.grp'].aliases)

    def test_changelog_starts_with_the_first_contract(self):
        found = contract.contract_of(demo_flow(
            '1.1', changes={'1.1': 'Stage e added.'}))
        self.assertEqual({'1.0': contract.FIRST_ENTRY,
                          '1.1': 'Stage e added.'}, dict(found.changes))

    def test_json_and_text(self):
        found = contract.contract_of(demo_flow())
        self.assertEqual(found.as_dict(),
                         __import__('json').loads(contract.as_json(found)))
        text = contract.as_text(found)
        self.assertIn(f'    {FLOW}.grp.b', text)
        self.assertIn('  subject: str  [ro]', text)
        self.assertIn('1.0: First published contract.', text)

    def test_type_names(self):
        from collections.abc import Callable
        self.assertEqual('dict[str, Any]', contract.type_name(dict[str, Any]))
        self.assertEqual('str | None', contract.type_name(str | None))
        self.assertEqual('collections.abc.Callable[[Any], int]',
                         contract.type_name(Callable[[Any], int]))


class TestCompare(fakes.FlowTestCase):
    """Snapshot of contract 1.0 of a test flow versus changed code."""

    def setUp(self):
        super().setUp()
        self.old = snapshot(demo_flow())

    def verdict(self, *args, **kwargs):
        return compare(self.old, snapshot(demo_flow(*args, **kwargs)))

    def assertChange(self, verdict, bump, text):
        self.assertIn(text, [c.text for c in verdict.changes if
                             c.bump == bump], verdict.report())

    def test_identical(self):
        verdict = self.verdict()
        self.assertTrue(verdict.identical)
        self.assertEqual([], verdict.problems)
        self.assertIsNone(verdict.required)

    def test_deliberate_incompatible_change_is_caught(self):
        # Stage d moved into the sub-flow and stage c removed, version
        # left at 1.0: the snapshot test would fail with this report.
        verdict = self.verdict(entries=('a', sub('grp', ['b', 'd'])))
        self.assertEqual(MAJOR, verdict.required)
        self.assertEqual('2.0', verdict.expected_version)
        report = verdict.report()
        self.assertIn(f"[major] stage '{FLOW}.grp.c' removed", report)
        self.assertIn(f"[major] stage '{FLOW}.d' moved from '{FLOW}' to "
                      f"'{FLOW}.grp'", report)
        self.assertIn('requires a major version bump: 1.0 -> 2.0', report)
        self.assertIn('PROBLEM: the contract changed but its version did '
                      'not: bump it to 2.0 (major bump)', report)

    def test_new_stage_is_a_minor_bump(self):
        verdict = self.verdict('1.1', entries=('a', sub('grp', ['b', 'c']),
                                               'd', 'e'),
                               changes={'1.1': 'Stage e added.'})
        self.assertChange(verdict, MINOR, f"stage '{FLOW}.e' added")
        self.assertEqual(MINOR, verdict.required)
        self.assertEqual([], verdict.problems)

    def test_new_stage_without_bump_names_the_minor_bump(self):
        verdict = self.verdict(entries=('a', sub('grp', ['b', 'c']), 'd',
                                        'e'))
        self.assertEqual(['the contract changed but its version did not: '
                          'bump it to 1.1 (minor bump)'], verdict.problems)

    def test_new_field_is_a_minor_bump(self):
        @dataclasses.dataclass
        class Wider(DemoState):
            #: New.
            extra: int = 0
        verdict = self.verdict('1.1', state_type=Wider,
                               changes={'1.1': 'Field extra added.'})
        self.assertChange(verdict, MINOR, "state field 'extra' added")
        self.assertEqual([], verdict.problems)

    def test_removed_field_is_a_major_bump(self):
        @dataclasses.dataclass
        class Narrower:
            log: list[str] = dataclasses.field(default_factory=list)
        verdict = self.verdict(state_type=Narrower)
        self.assertChange(verdict, MAJOR,
                          "state field 'services' removed (or renamed)")
        self.assertEqual(MAJOR, verdict.required)

    def test_retyped_and_read_only_fields_are_major(self):
        @dataclasses.dataclass
        class Retyped(DemoState):
            #: The log of what ran, in order.
            log: tuple[str, ...] = dataclasses.field(  # type: ignore[assignment]
                default=(), metadata=contract.READ_ONLY)
        verdict = self.verdict(state_type=Retyped)
        self.assertChange(verdict, MAJOR, "state field 'log' retyped from "
                                          "list[str] to tuple[str, ...]")
        self.assertChange(verdict, MAJOR,
                          "state field 'log' made read-only for hooks")

    def test_stage_order_change_is_major(self):
        verdict = self.verdict(entries=('d', 'a', sub('grp', ['c', 'b'])))
        self.assertChange(verdict, MAJOR, f"stage '{FLOW}.grp.c' now runs "
                          f"before '{FLOW}.grp.b' (the order of stages "
                          f"changed)")
        self.assertChange(verdict, MAJOR, f"stage '{FLOW}.d' now runs "
                          f"before '{FLOW}.grp' (the order of stages "
                          f"changed)")

    def test_rename_with_alias_is_minor(self):
        verdict = self.verdict(
            '1.1', entries=('a', sub('grp', ['bb', 'c']), 'd'),
            aliases={'bb': ('b',)}, changes={'1.1': 'b renamed bb.'})
        self.assertChange(verdict, MINOR, f"stage '{FLOW}.grp.b' renamed to "
                          f"'{FLOW}.grp.bb', its old ID kept as an alias")
        self.assertEqual(MINOR, verdict.required)
        self.assertEqual([], verdict.problems)

    def test_rename_without_alias_is_major(self):
        verdict = self.verdict(entries=('a', sub('grp', ['bb', 'c']), 'd'))
        self.assertChange(verdict, MAJOR, f"stage '{FLOW}.grp.b' removed (or "
                          f"renamed without an alias)")

    def test_dropping_an_alias_is_major(self):
        self.old = snapshot(demo_flow(
            '1.1', entries=('a', sub('grp', ['bb', 'c']), 'd'),
            aliases={'bb': ('b',)}, changes={'1.1': 'b renamed bb.'}))
        verdict = self.verdict(
            '2.0', entries=('a', sub('grp', ['bb', 'c']), 'd'),
            changes={'1.1': 'b renamed bb.', '2.0': 'Alias b dropped.'})
        self.assertChange(verdict, MAJOR, f"alias '{FLOW}.grp.b' of stage "
                                          f"'{FLOW}.grp.bb' removed")
        self.assertEqual([], verdict.problems)

    def test_interrupt_policy_change_is_major(self):
        verdict = self.verdict(on_interrupt='resume')
        self.assertEqual(MAJOR, verdict.required)

    def test_version_bump_without_a_change_is_reported(self):
        verdict = self.verdict('1.1')
        self.assertEqual(
            ["version bumped from 1.0 to 1.1 without a change of the "
             "contract: revert the bump, or explain the change of meaning "
             "in the changelog (changes['1.1'])"], verdict.problems)

    def test_change_of_meaning_is_explained_by_the_changelog(self):
        verdict = self.verdict('2.0', changes={
            '2.0': 'subject is now the migration ID.'})
        self.assertEqual([], verdict.problems)

    def test_bump_larger_than_needed(self):
        verdict = self.verdict('2.0', entries=('a', sub('grp', ['b', 'c']),
                                               'd', 'e'),
                               changes={'2.0': 'e added'})
        self.assertEqual(['version 2.0 is a larger bump than the change '
                          'requires: set it to 1.1 (minor bump)'],
                         verdict.problems)

    def test_bump_needs_a_changelog_entry(self):
        verdict = self.verdict('1.1', entries=('a', sub('grp', ['b', 'c']),
                                               'd', 'e'))
        self.assertEqual(["version 1.1 has no changelog entry: add "
                          "changes['1.1'] to the flow, saying what "
                          "changed"], verdict.problems)

    def test_doc_change_needs_no_bump(self):
        @dataclasses.dataclass
        class Redocumented(DemoState):
            #: What ran.
            log: list[str] = dataclasses.field(default_factory=list)
        verdict = self.verdict(state_type=Redocumented)
        self.assertIsNone(verdict.required)
        self.assertFalse(verdict.identical)
        self.assertEqual([], verdict.problems)


class Writer(hooks.Hook):
    supports = {FLOW: '1.0'}
    field = 'log'

    @hooks.before(f'{FLOW}.grp.c')
    def write(self, ctx, state):
        self.seen_type = isinstance(state, DemoState)
        self.seen_fields = dataclasses.asdict(state)
        setattr(state, self.field, ['written'])


class TestReadOnlyFields(fakes.FlowTestCase):

    def engine(self, *hook_objects):
        return FlowEngine.load(flows=[demo_flow()],
                               hook_objects=list(hook_objects),
                               recorder=InMemoryRecorder())

    def test_hook_may_assign_a_writable_field(self):
        hook = Writer()
        state = self.engine(hook).run(FLOW, None, DemoState())
        self.assertEqual(['written', 'c', 'd'], state.log)
        self.assertTrue(hook.seen_type)
        self.assertEqual(['a', 'b'], hook.seen_fields['log'])

    def test_hook_assigning_a_read_only_field_fails_the_stage(self):
        hook = Writer()
        hook.field = 'subject'
        hook.name = 'vendor_writer'
        error = self.assertRaises(ReadOnlyFieldError,
                                  self.engine(hook).run, FLOW, None,
                                  DemoState())
        self.assertEqual(
            f"hook 'vendor_writer' at stage '{FLOW}.grp.write' assigned "
            f"field 'subject' of DemoState, which the flow's contract keeps "
            f"read-only for hooks", str(error))
        self.assertEqual(('vendor_writer', f'{FLOW}.grp.write', 'subject'),
                         (error.hook, error.stage_id, error.field))

    def test_around_and_replace_are_held_to_it_too(self):
        class Around(hooks.Hook):
            supports = {FLOW: '1.0'}

            @hooks.around(f'{FLOW}.a')
            def wrap(self, ctx, state, proceed):
                state.services = None

        class Replace(hooks.Hook):
            supports = {FLOW: '1.0'}

            @hooks.replace(f'{FLOW}.d')
            def instead(self, ctx, state):
                state.subject = "vm-2"
        for hook, stage_id, field in ((Around, f'{FLOW}.a', 'services'),
                                      (Replace, f'{FLOW}.d', 'subject')):
            error = self.assertRaises(ReadOnlyFieldError,
                                      self.engine(hook).run, FLOW, None,
                                      DemoState())
            self.assertEqual((stage_id, field),
                             (error.stage_id, error.field))

    def test_the_field_gets_its_value_back(self):
        hook = Writer()
        hook.field = 'subject'
        state = DemoState()
        self.assertRaises(ReadOnlyFieldError, self.engine(hook).run, FLOW,
                          None, state)
        self.assertEqual('vm-1', state.subject)

    def test_the_flow_own_stages_are_not_guarded(self):
        flow = demo_flow()

        @flow.stage(name='d')
        def d(ctx, state):
            state.subject = 'changed by the flow'
        engine = FlowEngine.load(flows=[flow], recorder=InMemoryRecorder())
        self.assertEqual('changed by the flow',
                         engine.run(FLOW, None, DemoState()).subject)


class TestAliases(fakes.FlowTestCase):

    def renamed_flow(self):
        return demo_flow('1.1', entries=('a', sub('grp', ['bb', 'c']), 'd'),
                         aliases={'bb': ('b',)},
                         changes={'1.1': 'b renamed bb.'})

    def test_hook_targeting_the_old_id_still_acts(self):
        class Old(hooks.Hook):
            supports = {FLOW: '1.0'}

            @hooks.after(f'{FLOW}.grp.b')
            def after_b(self, ctx, state):
                state.log.append('after_b')
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')
            engine = FlowEngine.load(flows=[self.renamed_flow()],
                                     hook_objects=[Old],
                                     recorder=InMemoryRecorder())
        state = engine.run(FLOW, None, DemoState())
        self.assertEqual(['a', 'bb', 'after_b', 'c', 'd'], state.log)
        (warning,) = [w for w in caught
                      if issubclass(w.category, DeprecationWarning)]
        self.assertIn(f"names stage '{FLOW}.grp.b', which was renamed to "
                      f"'{FLOW}.grp.bb'", str(warning.message))
        self.assertIn(f"use '{FLOW}.grp.bb'", self.logger.output)

    def test_disabled_stages_accept_the_old_id(self):
        flow = Flow(FLOW, '1.1', DemoState)
        flow.stages('a', stage('new', _step('new'), optional=True,
                               aliases=('old',)))
        flow.stage(_step('a'), name='a')
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', DeprecationWarning)
            engine = FlowEngine.load(flows=[flow],
                                     disabled_stages=[f'{FLOW}.old'],
                                     recorder=InMemoryRecorder())
        self.assertEqual(['a'], engine.run(FLOW, None, DemoState()).log)

    def test_alias_must_not_clash_with_a_stage(self):
        flow = demo_flow(aliases={'b': ('c',)})
        _, problems = flow.resolve()
        self.assertIn("alias 'c' is not a free stage name",
                      [p.message for p in problems])


class TestRefusedMajor(fakes.FlowTestCase):

    def test_message_names_flow_versions_changelog_and_stage(self):
        class Vendor(hooks.Hook):
            supports = {FLOW: '1.0'}

            @hooks.before(f'{FLOW}.d')
            def sauce(self, ctx, state):
                pass
        flow = demo_flow('2.0', changes={'2.0': 'd reverts nothing now.'})
        error = fakes.compile_error([flow], [('vendor', Vendor)])
        self.assertIsInstance(error, FlowConfigError)
        (problem,) = error.problems
        self.assertEqual(f'{FLOW}.d', problem.stage_id)
        self.assertEqual(
            f"was written for contract 1.0 of flow '{FLOW}', which is at "
            f"2.0 (same major and at least that minor are required); "
            f"changelog: 2.0: d reverts nothing now.; the hook acts at "
            f"{FLOW}.d", problem.message)


class TestRecoveryAcrossARename(fakes.FlowTestCase):
    """A run cut before an upgrade renamed a stage is recovered after it:
    the record names the stage by its alias."""

    def test_revert_reaches_the_renamed_stage(self):
        flow = Flow(FLOW, '1.1', fakes.LogState,
                    changes={'1.1': 'b renamed bb.'})
        flow.stages('a', 'bb', 'c')
        for name in ('a', 'bb', 'c'):
            flow.stage(fakes._execute(name), name=name,
                       aliases=('b',) if name == 'bb' else ())
            flow.revert(name)(fakes._revert(name))
        flow.failure_handler(fakes._handler('h'))
        flow.on_failure('h')
        engine = FlowEngine.load(flows=[flow], recorder=InMemoryRecorder())
        state = fakes.LogState()
        engine.runner(FLOW).revert_interrupted(
            None, state, 'run-1', [f'{FLOW}.a', f'{FLOW}.b'])
        self.assertEqual(['revert:bb', 'revert:a', 'handler:h'], state.log)
        state = fakes.LogState()
        engine.runner(FLOW).resume(None, state, 'run-2',
                                   [f'{FLOW}.a', f'{FLOW}.b'])
        self.assertEqual(['c'], state.log)
