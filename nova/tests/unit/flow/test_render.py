"""Rendering the effective stage list as text and DOT."""

from nova.flow import FlowEngine, hooks, render, sub
from nova.tests.unit.flow import fakes

FLOW = 'test.demo'


class Vendor(hooks.Hook):
    supports = {FLOW: '1.0'}
    name = 'vendor'

    @hooks.before('test.demo.grp.c', revert='undo')
    def sauce(self, ctx, state):
        """Add the vendor's sauce."""

    def undo(self, ctx, state, failure):
        pass

    @hooks.around('test.demo.a')
    def timed(self, ctx, state, proceed):
        return proceed()

    @hooks.replace('test.demo.d')
    def better_d(self, ctx, state):
        pass

    @hooks.listen(FLOW, 'run_failure', 'run_start')
    def page(self, event):
        pass


def _plan():
    flow = fakes.make_flow(entries=['a', sub('grp', ['b', 'c']), 'd', 'e'],
                           optional=['e'], no_revert=['a'])
    engine = FlowEngine.load(flows=[flow], hook_objects=[Vendor],
                             disabled_stages=['test.demo.e'])
    return engine.plan(FLOW)


class TestText(fakes.FlowTestCase):

    def test_effective_stage_list(self):
        self.assertEqual(
            'test.demo  (contract 1.0, interrupted runs: revert)\n'
            '  Test flow test.demo.\n'
            '  stage IDs: test.demo.<stage>, test.demo.<sub-flow>.<stage>\n'
            '  1. a  [around: vendor]\n'
            '  2. grp:\n'
            '    2.1. b  [reverts]\n'
            '    2.2. sauce  [inserted by hook vendor; reverts]\n'
            '    2.3. c  [reverts]\n'
            '  3. d  [replaced by hook vendor; reverts]\n'
            '  4. e  [reverts; optional; DISABLED by [flow] '
            'disabled_stages]\n'
            '  on failure: h1, h2\n'
            '  listeners: vendor (run_start, run_failure)\n'
            '  hooks: vendor\n',
            render.as_text(_plan()))

    def test_flow_without_hooks_says_so(self):
        plan = FlowEngine.load(flows=[fakes.make_flow(entries=['a'])]).plan(
            FLOW)
        self.assertIn('  hooks: (none)\n', render.as_text(plan))
        self.assertEqual([], render.hooks_acting(plan))


class TestDot(fakes.FlowTestCase):

    def test_graph(self):
        dot = render.as_dot(_plan())
        self.assertTrue(dot.startswith('digraph "test.demo" {\n'))
        self.assertTrue(dot.endswith('}\n'))
        self.assertIn('subgraph "cluster_test.demo.grp" {', dot)
        self.assertIn('"test.demo.grp.sauce" [label="sauce\\n(inserted by '
                      'hook vendor)", fillcolor="#ffe9a8", '
                      'style="filled"];', dot)
        self.assertIn('"test.demo.e" [label="e\\n(DISABLED by [flow] '
                      'disabled_stages)", fontcolor=gray, style="dashed"];',
                      dot)
        self.assertIn('"test.demo.a" [label="a\\n(around: vendor)"];', dot)
        # Stages are chained in run order, through the sub-flow.
        for edge in ('"test.demo.a" -> "test.demo.grp.b"',
                     '"test.demo.grp.b" -> "test.demo.grp.sauce"',
                     '"test.demo.grp.sauce" -> "test.demo.grp.c"',
                     '"test.demo.grp.c" -> "test.demo.d"'):
            self.assertIn(edge, dot)
        self.assertIn('label="on failure: h1, h2"', dot)
        self.assertIn('label="listeners\\nvendor: run_start, run_failure"',
                      dot)
        self.assertEqual(dot.count('{'), dot.count('}'))
