"""nova-manage flow list | show | hooks.

Most tests call ``nova.cmd.manage.main`` in-process with flow discovery
patched to return test flows; two run the real ``nova-manage`` console
script of the venv in a child process.
"""

import contextlib
import io
import os
import shutil
import subprocess
import sys
import textwrap
from unittest import mock

import fixtures
from oslo_config import fixture as config_fixture

import nova.conf
from nova.flow import FlowEngine, InMemoryRecorder, render
from nova.flow.errors import Problem
from nova.tests.unit.flow import fakes
from nova.tests.unit.flow.fakes import BUILD, SAUCE, stand_in_build_flow

# Importing nova.cmd monkey-patches the process for eventlet: a service
# must do that first thing, but a unit test worker must stay as it is
# (patching cannot be undone and would change every later test in the
# worker).  The console script test below runs nova-manage patched, as
# operators do.
with mock.patch('nova.concurrency.setup'):
    from nova.cmd import manage, manage_flow

CONF = nova.conf.CONF


class ManageFlowTestCase(fakes.FlowTestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(config_fixture.Config(CONF))
        self.tempdir = self.useFixture(fixtures.TempDir()).path
        self.flows = [fakes.make_flow(entries=['a', 'b', 'c'],
                                      optional=['b']),
                      stand_in_build_flow()]
        self.discovery = self.useFixture(fixtures.MockPatch(
            'nova.flow.engine.discover_flows',
            side_effect=lambda: (list(self.flows), [])))

    def manage(self, *argv, conf=''):
        """Run nova-manage with ``conf`` as its nova.conf; returns
        (exit status, stdout, stderr)."""
        path = os.path.join(self.tempdir, 'nova.conf')
        with open(path, 'w') as f:
            f.write(textwrap.dedent(conf))
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = manage.main(['--config-file', path, 'flow', *argv])
        return status, out.getvalue(), err.getvalue()


class TestList(ManageFlowTestCase):

    def test_lists_names_versions_policies_and_stage_counts(self):
        status, out, err = self.manage('list', conf='''
            [flow]
            enabled_hooks = example_special_sauce
            disabled_stages = test.demo.b
            ''')
        self.assertEqual(0, status, err)
        lines = out.splitlines()
        self.assertEqual(['FLOW', 'VERSION', 'ON', 'INTERRUPT', 'STAGES',
                          'HOOKS'], lines[0].split())
        # 11 stages of its own + the hook's; test.demo's b is disabled.
        self.assertEqual([BUILD, '1.0', 'revert', '12', SAUCE],
                         lines[1].split())
        self.assertEqual(['test.demo', '1.0', 'revert', '2', '-'],
                         lines[2].split())
        self.assertIn('STAGES counts the stages that run', lines[3])

    def test_lists_the_interrupt_policy_of_each_flow(self):
        self.flows = [fakes.make_flow(name='test.resumable',
                                      on_interrupt='resume')]
        status, out, err = self.manage('list')
        self.assertEqual(0, status, err)
        self.assertEqual(['test.resumable', '1.0', 'resume', '4', '-'],
                         out.splitlines()[1].split())

    def test_no_flows_registered(self):
        self.flows = []
        status, out, err = self.manage('list')
        self.assertEqual(0, status, err)
        self.assertIn('No flows are registered', out)

    def test_config_error_prints_every_problem_and_exits_2(self):
        self.flows = [fakes.make_flow()]
        status, out, err = self.manage('list', conf='''
            [flow]
            enabled_hooks = example_special_sauce, example_not_a_hook
            disabled_stages = test.demo.a
            ''')
        self.assertEqual(2, status)
        self.assertEqual('', out)
        self.assertIn('problem(s) in flow configuration:', err)
        self.assertIn(f"hook '{SAUCE}', entry point 'nova_example_hooks."
                      f"special_sauce:SpecialSauce': declares support for "
                      f"unknown flow '{BUILD}'", err)
        self.assertIn("hook 'example_not_a_hook', entry point "
                      "'nova_example_hooks.broken:not_a_hook'", err)
        self.assertIn("stage 'test.demo.a': [flow] disabled_stages", err)

    def test_flow_discovery_problem_exits_2(self):
        self.discovery.mock.side_effect = None
        self.discovery.mock.return_value = ([], [Problem(
            'flow module cannot be imported: ImportError: no',
            entry_point='nova.compute.flows.broken:FLOW',
            stage_id='compute.broken')])
        status, out, err = self.manage('list')
        self.assertEqual(2, status)
        self.assertIn("entry point 'nova.compute.flows.broken:FLOW', stage "
                      "'compute.broken': flow module cannot be imported",
                      err)


class TestShow(ManageFlowTestCase):

    conf = '''
        [flow]
        enabled_hooks = example_special_sauce
        disabled_stages = compute.build_instance.notify_usage_start
        '''

    def _expected_plan(self):
        return FlowEngine.load(
            flows=[stand_in_build_flow()], hook_names=[SAUCE],
            disabled_stages=[f'{BUILD}.notify_usage_start'],
            recorder=InMemoryRecorder()).plan(BUILD)

    def test_text_shows_hooks_and_disabled_stages_in_place(self):
        status, out, err = self.manage('show', BUILD, conf=self.conf)
        self.assertEqual(0, status, err)
        self.assertEqual(render.as_text(self._expected_plan()), out)
        self.assertIn('  3. notify_usage_start  [optional; DISABLED by '
                      '[flow] disabled_stages]\n', out)
        self.assertIn('    8.2. add_special_sauce  [inserted by hook '
                      'example_special_sauce; reverts]\n', out)
        self.assertIn('  6. allocate_network  [around: '
                      'example_special_sauce]\n', out)
        self.assertIn('  on failure: record_fault, reschedule_or_error\n',
                      out)

    def test_dot(self):
        status, out, err = self.manage('show', BUILD, '--format', 'dot',
                                       conf=self.conf)
        self.assertEqual(0, status, err)
        self.assertEqual(render.as_dot(self._expected_plan()), out)
        self.assertTrue(out.startswith(f'digraph "{BUILD}" {{'))

    def test_unknown_flow(self):
        status, out, err = self.manage('show', 'compute.nothing')
        self.assertEqual(1, status)
        self.assertIn("no flow named 'compute.nothing'; known flows: "
                      f"{BUILD}, test.demo", err)

    def test_config_error_exits_2(self):
        status, out, err = self.manage('show', BUILD, conf='''
            [flow]
            enabled_hooks = example_broken_import
            ''')
        self.assertEqual(2, status)
        self.assertEqual('', out)
        self.assertIn("hook 'example_broken_import', entry point "
                      "'nova_example_hooks.broken_import:BrokenImport': "
                      "cannot be imported", err)

    def test_bad_format_is_a_usage_error(self):
        stderr = io.StringIO()
        with contextlib.redirect_stderr(stderr):
            error = self.assertRaises(SystemExit, manage.main,
                                      ['flow', 'show', BUILD, '--format',
                                       'png'])
        self.assertEqual(2, error.code)
        self.assertIn("invalid choice: 'png'", stderr.getvalue())


class TestHooks(ManageFlowTestCase):

    def _rows(self, out):
        return {line.split()[0]: line.split()[1:]
                for line in out.splitlines()[2:] if line.startswith(
                    ('example_', 'sauce_'))}

    def test_installed_versus_enabled_when_all_is_well(self):
        status, out, err = self.manage('hooks', conf='''
            [flow]
            enabled_hooks = example_special_sauce
            ''')
        self.assertEqual(0, status, err)
        rows = self._rows(out)
        self.assertEqual(['1', 'loads', 'nova_example_hooks.special_sauce:'
                          'SpecialSauce', '(nova-example-hooks', '1.0.0)'],
                         rows[SAUCE])
        # Installed, not enabled: listed, not loaded.
        self.assertEqual(['-', '-', 'nova_example_hooks.broken_import:'
                          'BrokenImport', '(nova-example-hooks', '1.0.0)'],
                         rows['example_broken_import'])
        self.assertIn('example_not_a_hook', rows)
        self.assertIn('example_constructor_fails', rows)
        self.assertIn('The enabled hooks load and fit the registered flows.',
                      out)

    def test_enabled_hooks_that_do_not_load(self):
        status, out, err = self.manage('hooks', conf='''
            [flow]
            enabled_hooks = example_special_sauce, example_broken_import,
                            sauce_nobody_ships, example_constructor_fails
            ''')
        self.assertEqual(2, status)
        rows = self._rows(out)
        self.assertEqual(['1', 'loads'], rows[SAUCE][:2])
        self.assertEqual(['2', 'FAILS', 'TO', 'LOAD'],
                         rows['example_broken_import'][:4])
        self.assertEqual(['3', 'NOT', 'INSTALLED', '-'],
                         rows['sauce_nobody_ships'])
        self.assertEqual(['4', 'FAILS', 'TO', 'LOAD'],
                         rows['example_constructor_fails'][:4])
        self.assertIn('3 problem(s) in flow configuration', err)
        self.assertIn("hook 'sauce_nobody_ships': is enabled", err)

    def test_hook_that_loads_but_does_not_fit_the_flows(self):
        self.flows = [fakes.make_flow()]
        status, out, err = self.manage('hooks', conf='''
            [flow]
            enabled_hooks = example_special_sauce
            ''')
        self.assertEqual(2, status)
        self.assertEqual(['1', 'loads'], self._rows(out)[SAUCE][:2])
        self.assertIn(f"declares support for unknown flow '{BUILD}'", err)


class TestParser(fakes.FlowTestCase):

    def test_flow_category_is_registered(self):
        self.assertIn(('flow', 'nova.cmd.manage_flow'), manage.CATEGORIES)
        parser = manage.build_parser()
        args = parser.parse_args(['flow', 'show', BUILD, '--format', 'dot'])
        self.assertIs(manage_flow.show_command, args.func)
        self.assertEqual('dot', args.format)


class TestConsoleScript(fakes.FlowTestCase):
    """The nova-manage installed in the venv, in a child process."""

    def setUp(self):
        super().setUp()
        self.script = shutil.which(
            'nova-manage', path=os.path.dirname(sys.executable))
        if self.script is None:
            self.skipTest('nova-manage is not installed next to '
                          f'{sys.executable}')
        self.tempdir = self.useFixture(fixtures.TempDir()).path
        self.conf_file = os.path.join(self.tempdir, 'nova.conf')
        with open(self.conf_file, 'w') as f:
            f.write('[flow]\nenabled_hooks = example_special_sauce\n')

    def _run(self, *argv, pythonpath=None):
        env = dict(os.environ)
        # stevedore caches entry points per sys.path under XDG_CACHE_HOME:
        # keep this run's cache with its temporary files.
        env['XDG_CACHE_HOME'] = os.path.join(self.tempdir, 'cache')
        if pythonpath:
            env['PYTHONPATH'] = pythonpath
        return subprocess.run(
            [self.script, '--config-file', self.conf_file, 'flow', *argv],
            env=env, capture_output=True, text=True, timeout=120)

    def _nova_without_flows(self):
        """A directory whose nova metadata registers no flow.

        First on PYTHONPATH, it stands for an installed nova that ships no
        compute.build_instance (Python's entry point lookup takes the
        first distribution of a name on the path); nova's code is still
        the venv's."""
        path = os.path.join(self.tempdir, 'site')
        dist_info = os.path.join(path, 'nova-0.0.0.dist-info')
        os.makedirs(dist_info)
        with open(os.path.join(dist_info, 'METADATA'), 'w') as f:
            f.write('Metadata-Version: 2.1\nName: nova\nVersion: 0.0.0\n')
        with open(os.path.join(dist_info, 'entry_points.txt'), 'w') as f:
            f.write('[console_scripts]\n'
                    'nova-manage = nova.cmd.manage:main\n')
        return path

    def test_enabled_hook_whose_flow_is_absent_stops_nova_manage(self):
        result = self._run('list', pythonpath=self._nova_without_flows())
        self.assertEqual(2, result.returncode, result.stderr)
        self.assertIn("hook 'example_special_sauce', entry point "
                      "'nova_example_hooks.special_sauce:SpecialSauce': "
                      "declares support for unknown flow "
                      "'compute.build_instance'", result.stderr)
        self.assertEqual('', result.stdout)

    def test_show_with_the_registered_build_flow(self):
        from nova.flow.registry import discover_flows
        flows, _ = discover_flows()
        if BUILD not in [flow.name for flow in flows]:
            self.skipTest(f'no installed package registers {BUILD} yet')
        result = self._run('show', BUILD)
        self.assertEqual(0, result.returncode, result.stderr)
        self.assertIn('add_special_sauce  [inserted by hook '
                      'example_special_sauce; reverts]', result.stdout)


class TestRuns(ManageFlowTestCase):
    """``flow runs`` prints what the database recorder wrote."""

    def setUp(self):
        super().setUp()
        from nova.db import recorder as db_recorder
        from nova.tests.fixtures import database
        db = self.useFixture(database.Database('sqlite'))
        self.conf = f'[database]\nconnection = {db.url}\n'
        self.flows = [fakes.make_flow(subject=lambda state: 'inst-1')]
        self.engine = FlowEngine.load(flows=self.flows,
                                      recorder=db_recorder.DBRecorder('h1'),
                                      host='h1')

    def test_runs_of_an_instance_list_each_stage_with_its_result(self):
        self.engine.run('test.demo', None, fakes.LogState())
        self.assertRaises(fakes.StageFailed, self.engine.run, 'test.demo',
                          None, fakes.failing('c'))
        status, out, _ = self.manage('runs', '--instance', 'inst-1',
                                     conf=self.conf)
        self.assertEqual(0, status)
        runs = [line for line in out.splitlines()
                if line.startswith('test.demo')]
        self.assertEqual(2, len(runs))
        self.assertIn('success', ''.join(runs))
        self.assertIn('error', ''.join(runs))
        self.assertRegex(out, r'test\.demo\.c +error')
        self.assertRegex(out, r'test\.demo\.b +success .*revert: reverted')

    def test_an_instance_without_runs_is_reported(self):
        status, out, _ = self.manage('runs', '--instance', 'nothing',
                                     conf=self.conf)
        self.assertEqual(1, status)
        self.assertIn('no recorded runs for instance nothing', out)
