"""Vendor hooks as nova loads them: by name, through installed entry points.

Everything here goes through stevedore and the ``nova.flow.hooks`` entry
points of the installed ``nova-example-hooks`` package
(contrib/nova-example-hooks): its real hook, ``example_special_sauce``, and
the entry points it ships broken on purpose (see its README).

The flow is a stand-in for ``compute.build_instance`` with the real flow's
stage list and trivial stages, so that these tests prove the engine and the
vendor package whatever the compute flow does.
"""

import dataclasses

import fixtures
from oslo_config import cfg
from oslo_config import fixture as config_fixture

import nova.conf.flow
from nova.flow import (
    FlowConfigError,
    FlowEngine,
    InMemoryRecorder,
    records,
    render,
)
from nova.tests.unit.flow import fakes
from nova.tests.unit.flow.fakes import (
    BUILD,
    BUILD_STAGES,
    SAUCE,
    SAUCE_ENTRY_POINT,
    DriverSpawnFailed,
    StandInBuildState,
    stand_in_build_flow,
)


class TestExampleSpecialSauce(fakes.FlowTestCase):

    def setUp(self):
        super().setUp()
        self.recorder = InMemoryRecorder()
        self.engine = FlowEngine.load(flows=[stand_in_build_flow()],
                                      hook_names=[SAUCE],
                                      recorder=self.recorder)
        (self.loaded,) = self.engine.hooks
        self.hook = self.loaded.obj

    def test_is_found_through_its_installed_entry_point(self):
        self.assertEqual(SAUCE, self.loaded.name)
        self.assertEqual(SAUCE_ENTRY_POINT, self.loaded.entry_point)
        self.assertEqual('nova_example_hooks.special_sauce',
                         type(self.hook).__module__)

    def test_inserted_stage_runs_right_before_driver_spawn(self):
        state = self.engine.run(BUILD, fakes.FakeContext(),
                                StandInBuildState())
        (run,) = self.recorder.runs.values()
        spawn_ids = [s for s in run.started_stage_ids if '.spawn.' in s]
        self.assertEqual([f'{BUILD}.spawn.update_spawning',
                          f'{BUILD}.spawn.add_special_sauce',
                          f'{BUILD}.spawn.driver_spawn',
                          f'{BUILD}.spawn.update_active'], spawn_ids)
        self.assertEqual(12, len(run.started_stage_ids))
        self.assertEqual(records.SUCCESS, run.result)
        self.assertEqual(1, self.hook.sauce_added)
        self.assertEqual(0, self.hook.sauce_removed)
        # The flow's own stages all ran, in order, around the hook's.
        self.assertEqual(['check_instance_not_already_created',
                          'check_image_size', 'notify_usage_start',
                          'update_building', 'claim_resources',
                          'allocate_network', 'prep_block_device',
                          'update_spawning', 'driver_spawn', 'update_active',
                          'notify_usage_end'], state.log)

    def test_around_counts_and_times_allocate_network(self):
        for _ in range(3):
            self.engine.run(BUILD, None, StandInBuildState())
        self.assertEqual(3, self.hook.network_calls)
        self.assertGreaterEqual(self.hook.network_seconds, 0.0)
        plan = self.engine.plan(BUILD)
        (around,) = plan.leaves[f'{BUILD}.allocate_network'].arounds
        self.assertEqual(SAUCE, around.hook.name)

    def test_listener_receives_run_events(self):
        self.engine.run(BUILD, None, StandInBuildState())
        self.assertRaises(DriverSpawnFailed, self.engine.run, BUILD, None,
                          StandInBuildState(spawn_fails=True))
        self.assertEqual({'run_start': 2, 'run_success': 1,
                          'run_failure': 1}, dict(self.hook.run_events))

    def test_revert_takes_the_sauce_off_when_the_spawn_fails(self):
        state = StandInBuildState(spawn_fails=True)
        raised = self.assertRaises(DriverSpawnFailed, self.engine.run, BUILD,
                                   None, state)
        self.assertEqual('hypervisor said no', str(raised))
        self.assertEqual(1, self.hook.sauce_added)
        self.assertEqual(1, self.hook.sauce_removed)
        (run,) = self.recorder.runs.values()
        self.assertEqual(records.REVERTED,
                         run.stage(f'{BUILD}.spawn.add_special_sauce')
                         .revert_result)
        self.assertEqual(records.ERROR, run.result)
        self.assertEqual(['record_fault', 'reschedule_or_error'],
                         state.log[-2:])

    def test_show_places_the_hook(self):
        text = render.as_text(self.engine.plan(BUILD))
        self.assertIn('8.2. add_special_sauce  [inserted by hook '
                      'example_special_sauce; reverts]', text)
        self.assertIn('6. allocate_network  [around: example_special_sauce]',
                      text)
        self.assertIn('listeners: example_special_sauce (run_start, '
                      'run_success, run_failure)', text)

    def test_enabled_through_nova_conf(self):
        conf = cfg.ConfigOpts()
        nova.conf.flow.register_opts(conf)
        conf([])
        self.useFixture(config_fixture.Config(conf)).config(
            enabled_hooks=[SAUCE], group='flow')
        engine = FlowEngine.from_conf(conf, flows=[stand_in_build_flow()])
        self.assertEqual([SAUCE], [hook.name for hook in engine.hooks])
        self.assertIn(f'{BUILD}.spawn.add_special_sauce',
                      engine.plan(BUILD).leaves)

    def test_options_in_its_own_group(self):
        path = self.useFixture(fixtures.TempDir()).join('nova.conf')
        with open(path, 'w') as f:
            f.write(f'[flow]\nenabled_hooks = {SAUCE}\n\n'
                    f'[hook:{SAUCE}]\nrecipe = hot\n')
        conf = cfg.ConfigOpts()
        nova.conf.flow.register_opts(conf)
        conf([], default_config_files=[path])
        engine = FlowEngine.from_conf(conf, flows=[stand_in_build_flow()])
        (hook,) = engine.hooks
        self.assertEqual('hot', conf[f'hook:{SAUCE}'].recipe)
        self.assertEqual('hot', hook.obj.conf.recipe)
        engine.run(BUILD, None, StandInBuildState())
        self.assertEqual('hot', hook.obj.last_recipe)

    def test_option_value_its_type_refuses_is_a_problem_at_load(self):
        from nova.flow import hooks

        class Tiered(hooks.Hook):
            options = [cfg.StrOpt('tier', choices=['gold', 'silver']),
                       cfg.IntOpt('retries', default=1)]

        path = self.useFixture(fixtures.TempDir()).join('nova.conf')
        with open(path, 'w') as f:
            f.write('[hook:tiered]\ntier = platinum\nretries = 2\n')
        conf = cfg.ConfigOpts()
        conf([], default_config_files=[path])
        (loaded,), _ = hooks.hooks_from_objects([Tiered()])
        loaded = dataclasses.replace(loaded, name='tiered')
        (problem,) = hooks.register_options([loaded], conf)
        self.assertEqual('tiered', problem.hook)
        self.assertIn('[hook:tiered] tier:', str(problem))
        self.assertIn('platinum', str(problem))
        # The options that are fine are readable all the same.
        self.assertEqual(2, conf['hook:tiered'].retries)

    def test_options_listed_for_the_sample_config(self):
        from nova.flow import hooks
        groups = dict(hooks.list_opts())
        self.assertEqual(['recipe'],
                         [o.name for o in groups[f'hook:{SAUCE}']])
        # A hook that fails to import is left out, not an error.
        self.assertNotIn('hook:example_broken_import', groups)


class TestEntryPointProblems(fakes.FlowTestCase):
    """What an operator sees when an enabled vendor hook is broken."""

    def _error(self, hook_names, flows=None):
        if flows is None:
            flows = [stand_in_build_flow()]
        return self.assertRaises(FlowConfigError, FlowEngine.load,
                                 flows=flows, hook_names=hook_names)

    def assertOnlyLine(self, error, *fragments):
        self.assertEqual(1, len(error.problems), str(error))
        (line,) = str(error).splitlines()[1:]
        for fragment in fragments:
            self.assertIn(fragment, line)

    def test_enabled_but_missing_entry_point(self):
        error = self._error(['sauce_from_a_package_not_installed'])
        self.assertOnlyLine(
            error, "hook 'sauce_from_a_package_not_installed'",
            'is enabled in [flow] enabled_hooks but no installed package '
            "provides it in entry point namespace 'nova.flow.hooks'")

    def test_hook_module_that_fails_to_import(self):
        error = self._error(['example_broken_import'])
        self.assertOnlyLine(
            error, "hook 'example_broken_import'",
            "entry point 'nova_example_hooks.broken_import:BrokenImport'",
            'cannot be imported: ImportError: nova_example_hooks.'
            'broken_import fails on purpose')

    def test_entry_point_that_is_not_a_hook(self):
        error = self._error(['example_not_a_hook'])
        self.assertOnlyLine(
            error, "hook 'example_not_a_hook'",
            "entry point 'nova_example_hooks.broken:not_a_hook'",
            'refers to <function not_a_hook', 'which is not a '
            'nova.flow.hooks.Hook subclass or instance')

    def test_hook_constructor_raising(self):
        error = self._error(['example_constructor_fails'])
        self.assertOnlyLine(
            error, "hook 'example_constructor_fails'",
            "entry point 'nova_example_hooks.broken:ConstructorFails'",
            'could not be created: RuntimeError: vendor configuration '
            '/etc/example/sauce.conf is missing')

    def test_duplicate_hook_in_enabled_hooks(self):
        error = self._error([SAUCE, 'example_not_a_hook', SAUCE])
        self.assertEqual(2, len(error.problems), str(error))
        self.assertIn(f"hook '{SAUCE}', entry point '{SAUCE_ENTRY_POINT}': "
                      f'is listed twice in [flow] enabled_hooks', str(error))

    def test_example_hook_without_the_flow_it_supports(self):
        error = self._error([SAUCE], flows=[])
        prefix = f"hook '{SAUCE}', entry point '{SAUCE_ENTRY_POINT}'"
        text = str(error)
        self.assertIn(f"{prefix}: declares support for unknown flow "
                      f"'{BUILD}'", text)
        self.assertIn(f"{prefix}, stage '{BUILD}.spawn.driver_spawn': "
                      f"before names unknown stage", text)
        self.assertIn(f"{prefix}, stage '{BUILD}.allocate_network': "
                      f"around names unknown stage", text)
        self.assertIn(f"{prefix}, stage '{BUILD}': listens to unknown flow "
                      f"'{BUILD}'", text)
        self.assertEqual(4, len(error.problems), text)

    def test_example_hook_against_a_new_contract_major(self):
        error = self._error([SAUCE], flows=[stand_in_build_flow('2.0')])
        self.assertOnlyLine(
            error, f"hook '{SAUCE}'", f"entry point '{SAUCE_ENTRY_POINT}'",
            f"was written for contract 1.0 of flow '{BUILD}', which is at "
            f"2.0")

    def test_example_hook_against_a_flow_without_its_stage(self):
        stages = [s for s in BUILD_STAGES if isinstance(s, str)]
        error = self._error([SAUCE], flows=[stand_in_build_flow(
            stages=stages + ['driver_spawn'])])
        self.assertOnlyLine(
            error, f"hook '{SAUCE}'", f"entry point '{SAUCE_ENTRY_POINT}'",
            f"stage '{BUILD}.spawn.driver_spawn'",
            'before names unknown stage')

    def test_broken_entry_points_are_harmless_unless_enabled(self):
        engine = FlowEngine.load(flows=[stand_in_build_flow()],
                                 hook_names=[SAUCE])
        self.assertEqual([SAUCE], [hook.name for hook in engine.hooks])
