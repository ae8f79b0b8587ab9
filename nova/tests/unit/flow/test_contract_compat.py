"""The compatibility guarantee, run on the example hook packages.

The example packages (contrib/nova-example-hooks,
contrib/nova-example-api-hooks, and the two written from the vendor
guide alone: contrib/nova-acme-hooks, contrib/nova-guide-hooks) declare
in ``supports`` the oldest contract of each flow they were written for.
Loaded by entry point name against every registered flow's current
contract they load; against the same flows at a later minor they still
load; against the next major they are refused, with a problem naming
the flow, both versions, the changelog entry and the stage the hook
acts at.
"""

import copy

from nova.flow import (
    FlowConfigError,
    FlowEngine,
    InMemoryRecorder,
    registry,
    spec,
)
from nova.flow import hooks as flow_hooks
from nova.tests.unit.flow import fakes

#: The example packages' hooks, by entry point name.
EXAMPLES = ('example_special_sauce', 'example_api_vendor_field',
            'acme_build', 'acme_tier', 'guide_naming')


def bumped(flow, version, entry):
    """The flow as a later contract version would publish it."""
    later = copy.copy(flow)
    later.version = version
    later.changes = dict(flow.changes, **{version: entry})
    return later


class TestExampleHooksAgainstContracts(fakes.FlowTestCase):

    def setUp(self):
        super().setUp()
        self.flows, problems = registry.discover_flows()
        self.assertEqual([], problems)
        loaded, problems = flow_hooks.load_hooks(EXAMPLES)
        self.assertEqual([], problems)
        self.hooks = {hook.name: hook for hook in loaded}

    def load(self, flows, name):
        return FlowEngine.load(flows=flows, hook_names=[name],
                               recorder=InMemoryRecorder())

    def supported(self, name):
        return dict(self.hooks[name].supports)

    def test_examples_declare_the_contracts_they_were_written_for(self):
        for name in EXAMPLES:
            supports = self.supported(name)
            self.assertTrue(supports, name)
            for flow_name, version in supports.items():
                self.assertIsNotNone(spec.parse_version(version))
                self.assertIn(flow_name, [f.name for f in self.flows])

    def test_examples_load_on_every_current_contract(self):
        for name in EXAMPLES:
            engine = self.load(self.flows, name)
            self.assertEqual([name], [h.name for h in engine.hooks])

    def test_examples_load_on_a_later_minor(self):
        for name in EXAMPLES:
            for flow_name in self.supported(name):
                flows = [bumped(f, f'{f.version_tuple[0]}.'
                                   f'{f.version_tuple[1] + 1}',
                                'Test: a stage added.')
                         if f.name == flow_name else f for f in self.flows]
                engine = self.load(flows, name)
                self.assertEqual([name], [h.name for h in engine.hooks],
                                 flow_name)

    def test_examples_are_refused_on_the_next_major(self):
        for name in EXAMPLES:
            hook = self.hooks[name]
            stage_ids = {c.point.target for c in hook.contributions()}
            for flow_name, written_for in self.supported(name).items():
                current = next(f for f in self.flows if f.name == flow_name)
                major = f'{current.version_tuple[0] + 1}.0'
                entry = f'Test: the stages of {flow_name} were reordered.'
                flows = [bumped(f, major, entry) if f.name == flow_name
                         else f for f in self.flows]
                error = self.assertRaises(FlowConfigError, self.load,
                                          flows, name)
                (problem,) = error.problems
                mine = sorted(s for s in stage_ids
                              if s.startswith(flow_name + '.'))
                self.assertEqual(name, problem.hook)
                self.assertEqual(mine[0], problem.stage_id)
                message = str(problem)
                for expected in (f"flow '{flow_name}'",
                                 f'contract {written_for}',
                                 f'which is at {major}',
                                 'changelog: ', f'{major}: {entry}',
                                 f'the hook acts at {", ".join(mine)}'):
                    self.assertIn(expected, message)
