"""The [flow] options: enabled_hooks and disabled_stages from nova.conf."""

from oslo_config import cfg
from oslo_config import fixture as config_fixture

import nova.conf.flow
from nova.flow import FlowConfigError, FlowEngine, InMemoryRecorder, sub
from nova.tests.unit.flow import fakes

FLOW = 'test.demo'


class FlowConfTestCase(fakes.FlowTestCase):

    def setUp(self):
        super().setUp()
        self.conf = cfg.ConfigOpts()
        nova.conf.flow.register_opts(self.conf)
        self.conf([])
        self.fixture = self.useFixture(config_fixture.Config(self.conf))

    def flags(self, **kwargs):
        self.fixture.config(group='flow', **kwargs)


class TestDisabledStages(FlowConfTestCase):

    def _flow(self):
        return fakes.make_flow(
            entries=['a', 'b', sub('grp', ['c', 'd']), 'e'],
            optional=['b', 'd'])

    def test_optional_stage_is_skipped(self):
        self.flags(disabled_stages=['test.demo.b'])
        recorder = InMemoryRecorder()
        engine = FlowEngine.from_conf(self.conf, flows=[self._flow()],
                                      recorder=recorder)
        state = engine.run(FLOW, None, fakes.LogState())
        self.assertEqual(['a', 'c', 'd', 'e'], state.log)
        (run,) = recorder.runs.values()
        self.assertNotIn('test.demo.b', run.started_stage_ids)

    def test_optional_stage_in_a_sub_flow_is_skipped(self):
        self.flags(disabled_stages=['test.demo.grp.d'])
        engine = FlowEngine.from_conf(self.conf, flows=[self._flow()])
        state = engine.run(FLOW, None, fakes.LogState())
        self.assertEqual(['a', 'b', 'c', 'e'], state.log)

    def test_disabled_stage_is_not_reverted(self):
        self.flags(disabled_stages=['test.demo.b'])
        engine = FlowEngine.from_conf(self.conf, flows=[self._flow()])
        state = fakes.failing('c')
        self.assertRaises(fakes.StageFailed, engine.run, FLOW, None, state)
        self.assertEqual(['a', 'c', 'revert:c', 'revert:a', 'handler:h1',
                          'handler:h2'], state.log)

    def test_optional_sub_flow_is_skipped_whole(self):
        flow = fakes.make_flow(
            entries=['a', sub('extras', ['b', 'c'], optional=True), 'd'])
        self.flags(disabled_stages=['test.demo.extras'])
        state = FlowEngine.from_conf(self.conf, flows=[flow]).run(
            FLOW, None, fakes.LogState())
        self.assertEqual(['a', 'd'], state.log)

    def test_stage_that_is_not_optional_stops_the_load(self):
        self.flags(disabled_stages=['test.demo.a'])
        error = self.assertRaises(FlowConfigError, FlowEngine.from_conf,
                                  self.conf, flows=[self._flow()])
        self.assertIn("stage 'test.demo.a': [flow] disabled_stages names a "
                      "stage that is not optional", str(error))

    def test_unknown_stage_stops_the_load(self):
        self.flags(disabled_stages=['test.demo.zz'])
        error = self.assertRaises(FlowConfigError, FlowEngine.from_conf,
                                  self.conf, flows=[self._flow()])
        self.assertIn("stage 'test.demo.zz': [flow] disabled_stages names "
                      "an unknown stage", str(error))

    def test_disabled_stages_are_marked_in_the_plan(self):
        self.flags(disabled_stages=['test.demo.b'])
        plan = FlowEngine.from_conf(self.conf, flows=[self._flow()]).plan(
            FLOW)
        disabled = [node.id for _, node in plan.walk() if node.disabled]
        self.assertEqual(['test.demo.b'], disabled)


class TestEnabledHooks(FlowConfTestCase):

    def test_no_hooks_by_default(self):
        engine = FlowEngine.from_conf(self.conf, flows=[fakes.make_flow()])
        self.assertEqual([], engine.hooks)

    def test_enabled_hooks_are_loaded_by_name_in_config_order(self):
        self.flags(enabled_hooks=['example_special_sauce',
                                  'sauce_nobody_ships'])
        error = self.assertRaises(FlowConfigError, FlowEngine.from_conf,
                                  self.conf, flows=[fakes.make_flow()])
        # Both names were looked up: one lacks its flow, one its package.
        self.assertIn("hook 'example_special_sauce'", str(error))
        self.assertIn("hook 'sauce_nobody_ships'", str(error))

    def test_unknown_flow_name_is_an_error_at_run(self):
        engine = FlowEngine.from_conf(self.conf, flows=[fakes.make_flow()])
        error = self.assertRaises(KeyError, engine.run, 'test.nothing',
                                  None, fakes.LogState())
        self.assertEqual("no flow named 'test.nothing'", str(error))
