"""Read-only state fields changed in place by a hook.

The contract's read-only fields are refused when a hook assigns them
(test_contract.py) and also when it changes the content of one holding a
dict, list or set - a key set, an item appended - which an identity
check alone misses.  The hook's stage fails with ReadOnlyFieldError
naming the hook, the stage ID and the field, and the content is put
back; the flow's own stages, including those an ``around`` wraps, may
still update such a field (the compute flows keep the instance record
current).
"""

import dataclasses
from typing import Any

from nova.flow import FlowEngine, InMemoryRecorder, contract, hooks
from nova.flow.contract import ReadOnlyFieldError
from nova.tests.unit.flow import fakes
from nova.tests.unit.flow.test_contract import FLOW, DemoState, demo_flow


@dataclasses.dataclass
class RecordState(DemoState):
    #: A record the stages keep current; hooks read it.
    record: dict[str, Any] = dataclasses.field(
        default_factory=lambda: {'host': 'h1', 'tags': ['a']},
        metadata=contract.READ_ONLY)
    #: Read-only items.
    items: list[str] = dataclasses.field(default_factory=list,
                                         metadata=contract.READ_ONLY)


class SetKey(hooks.Hook):
    supports = {FLOW: '1.0'}

    @hooks.before(f'{FLOW}.grp.c')
    def write(self, ctx, state):
        state.record['host'] = 'elsewhere'


class Append(hooks.Hook):
    supports = {FLOW: '1.0'}

    @hooks.after(f'{FLOW}.a')
    def write(self, ctx, state):
        state.items.append('x')


class Nested(hooks.Hook):
    supports = {FLOW: '1.0'}

    @hooks.replace(f'{FLOW}.d')
    def instead(self, ctx, state):
        state.record['tags'].append('b')


class AroundBefore(hooks.Hook):
    supports = {FLOW: '1.0'}

    @hooks.around(f'{FLOW}.a')
    def wrap(self, ctx, state, proceed):
        state.record['host'] = 'elsewhere'
        return proceed()


class AroundAfter(hooks.Hook):
    supports = {FLOW: '1.0'}

    @hooks.around(f'{FLOW}.a')
    def wrap(self, ctx, state, proceed):
        result = proceed()
        state.items.append('late')
        return result


class ReadOnly(hooks.Hook):
    supports = {FLOW: '1.0'}

    @hooks.around(f'{FLOW}.a')
    def wrap(self, ctx, state, proceed):
        self.host = state.record['host']
        return proceed()


def updating_flow():
    """demo_flow whose own stage 'a' updates the record in place."""
    flow = demo_flow(state_type=RecordState)

    @flow.stage(name='a')
    def a(ctx, state):
        state.record['host'] = 'h2'
        state.log.append('a')
    return flow


class TestReadOnlyInPlace(fakes.FlowTestCase):

    def run_with(self, hook, flow=None):
        engine = FlowEngine.load(flows=[flow or demo_flow(
            state_type=RecordState)], hook_objects=[hook],
            recorder=InMemoryRecorder())
        state = RecordState()
        error = self.assertRaises(ReadOnlyFieldError, engine.run, FLOW,
                                  None, state)
        return error, state

    def test_setting_a_key_fails_naming_hook_stage_and_field(self):
        hook = SetKey()
        hook.name = 'vendor_writer'
        record_before = RecordState().record
        error, state = self.run_with(hook)
        self.assertEqual(
            f"hook 'vendor_writer' at stage '{FLOW}.grp.write' changed the "
            f"content of field 'record' of RecordState, which the flow's "
            f"contract keeps read-only for hooks", str(error))
        self.assertEqual(('vendor_writer', f'{FLOW}.grp.write', 'record',
                          True), (error.hook, error.stage_id, error.field,
                                  error.in_place))
        # The content is back, in the same object.
        self.assertEqual(record_before, state.record)

    def test_appending_to_a_list_fails_and_is_undone(self):
        error, state = self.run_with(Append())
        self.assertEqual((f'{FLOW}.write', 'items'),
                         (error.stage_id, error.field))
        self.assertEqual([], state.items)

    def test_a_nested_change_is_found(self):
        error, state = self.run_with(Nested())
        self.assertEqual((f'{FLOW}.d', 'record'),
                         (error.stage_id, error.field))
        self.assertEqual(['a'], state.record['tags'])

    def test_around_before_proceed_is_refused_and_the_stage_not_run(self):
        error, state = self.run_with(AroundBefore(), updating_flow())
        self.assertEqual((f'{FLOW}.a', 'record'),
                         (error.stage_id, error.field))
        self.assertEqual('h1', state.record['host'])
        self.assertEqual([], state.log)

    def test_around_after_proceed_is_refused(self):
        error, state = self.run_with(AroundAfter(), updating_flow())
        self.assertEqual((f'{FLOW}.a', 'items'),
                         (error.stage_id, error.field))
        self.assertEqual([], state.items)

    def test_the_wrapped_stage_may_update_the_field(self):
        hook = ReadOnly()
        engine = FlowEngine.load(flows=[updating_flow()],
                                 hook_objects=[hook],
                                 recorder=InMemoryRecorder())
        state = engine.run(FLOW, None, RecordState())
        self.assertEqual(('h1', 'h2'), (hook.host, state.record['host']))

    def test_writable_fields_may_still_be_changed_in_place(self):
        class LogWriter(hooks.Hook):
            supports = {FLOW: '1.0'}

            @hooks.after(f'{FLOW}.a')
            def write(self, ctx, state):
                state.log.append('hook')
        engine = FlowEngine.load(flows=[demo_flow(state_type=RecordState)],
                                 hook_objects=[LogWriter()],
                                 recorder=InMemoryRecorder())
        state = engine.run(FLOW, None, RecordState())
        self.assertIn('hook', state.log)

    def test_putting_back_what_the_wrapped_stage_changed_is_refused(self):
        # The content the hook writes is what the record held before the
        # stage: the guard compares with the record as the stage left it.
        class PutBack(hooks.Hook):
            supports = {FLOW: '1.0'}

            @hooks.around(f'{FLOW}.a')
            def wrap(self, ctx, state, proceed):
                result = proceed()
                state.record['host'] = 'h1'
                return result
        error, state = self.run_with(PutBack(), updating_flow())
        self.assertEqual((f'{FLOW}.a', 'record'),
                         (error.stage_id, error.field))
        self.assertEqual('h2', state.record['host'])

    def test_the_same_record_is_guarded_in_every_run(self):
        # One record object given to two runs: a change made in place in
        # the second one is found as in the first.
        record = {'host': 'h1', 'tags': ['a']}
        engine = FlowEngine.load(
            flows=[demo_flow(state_type=RecordState)],
            hook_objects=[Nested()], recorder=InMemoryRecorder())
        for _ in range(2):
            error = self.assertRaises(ReadOnlyFieldError, engine.run, FLOW,
                                      None, RecordState(record=record))
            self.assertEqual('record', error.field)
            self.assertEqual({'host': 'h1', 'tags': ['a']}, record)
