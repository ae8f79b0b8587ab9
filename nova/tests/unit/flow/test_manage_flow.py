"""nova-manage flow list | show | hooks | runs.

Most tests call ``nova.cmd.manage.main`` in-process with flow discovery
patched to return test flows; two run the real ``nova-manage`` console
script of the venv in a child process.
"""

import contextlib
import dataclasses
import datetime
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
        # It loads, but it has problems: STATUS says so.
        self.assertEqual(['1', '4', 'PROBLEM(S)'],
                         self._rows(out)[SAUCE][:3])
        self.assertIn(f"declares support for unknown flow '{BUILD}'", err)

    def test_api_only_rules_apply_to_the_hooks_listing(self):
        status, out, err = self.manage('hooks', conf='''
            [flow]
            enabled_hooks = example_special_sauce,
                            example_api_view_without_microversion
            ''')
        self.assertEqual(2, status)
        rows = {line.split()[0]: line.split()[1:]
                for line in out.splitlines()[2:]}
        self.assertEqual(['1', 'loads'], rows[SAUCE][:2])
        self.assertEqual('PROBLEM(S)',
                         rows['example_api_view_without_microversion'][2])
        self.assertIn("declares no microversions['api.server_view']", err)


class TestCheck(ManageFlowTestCase):
    """nova-manage flow check: every problem, exit 1."""

    def setUp(self):
        super().setUp()
        # The registered flows: the real compute, conductor and API ones.
        self.discovery.mock.side_effect = None
        from nova.flow.registry import discover_flows
        self.discovery.mock.return_value = discover_flows()

    def test_clean_configuration(self):
        status, out, err = self.manage('check', conf='''
            [flow]
            enabled_hooks = example_special_sauce, example_api_vendor_field
            ''')
        self.assertEqual(0, status, out + err)
        self.assertIn('OK: 2 hook(s) enabled (example_special_sauce, '
                      'example_api_vendor_field)', out)

    def test_problems_of_every_kind_come_together(self):
        status, out, err = self.manage('check', conf='''
            [flow]
            enabled_hooks = example_special_sauce, example_broken_import,
                            example_api_view_without_microversion
            disabled_stages = compute.build_instance.claim_resources,
                              compute.build_instance.spwan
            ''')
        self.assertEqual(1, status)
        lines = [line for line in out.splitlines()
                 if line.startswith('ERROR: ')]
        text = '\n'.join(lines)
        # A hook that does not import, an API-only rule, two option
        # problems, all in one report.
        self.assertIn("hook 'example_broken_import'", text)
        self.assertIn("hook 'example_api_view_without_microversion', "
                      "entry point 'nova_example_api_hooks.broken:"
                      "ViewWithoutMicroversion', stage "
                      "'api.server_view.basic': acts on api.server_view but "
                      "declares no microversions", text)
        self.assertIn("stage 'compute.build_instance.claim_resources': "
                      "[flow] disabled_stages names a stage that is not "
                      "optional", text)
        self.assertIn("stage 'compute.build_instance.spwan'", text)
        self.assertEqual(4, len(lines), text)
        self.assertIn('4 problem(s) in flow configuration', out)

    def test_config_file_after_the_command(self):
        path = os.path.join(self.tempdir, 'other.conf')
        with open(path, 'w') as f:
            f.write('[flow]\nenabled_hooks = example_not_a_hook\n')
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), \
                contextlib.redirect_stderr(err):
            status = manage.main(['flow', 'check', '--config-file', path])
        self.assertEqual(1, status)
        self.assertIn("ERROR: hook 'example_not_a_hook'", out.getvalue())


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


class Crash(BaseException):
    """Stands for the process dying inside a stage: the engine handles
    Exception only, so the run stays ``running`` in the record."""


@dataclasses.dataclass
class InstanceState(fakes.LogState):
    instance: str = 'inst-1'


class TestRunsCloudWide(ManageFlowTestCase):
    """``flow runs`` without --instance: a table of runs, filtered."""

    def setUp(self):
        super().setUp()
        from nova import context
        from nova.db import recorder as db_recorder
        from nova.tests.fixtures import database
        db = self.useFixture(database.Database('sqlite'))
        self.conf = f'[database]\nconnection = {db.url}\n'
        self.admin = context.get_admin_context()
        self.recorder = db_recorder.DBRecorder()
        flows = [fakes.make_flow(name, state_type=InstanceState,
                                 subject=lambda state: state.instance)
                 for name in ('test.demo', 'test.other')]
        self.engines = {host: FlowEngine.load(
            flows=flows, recorder=db_recorder.DBRecorder(host), host=host)
            for host in ('h1', 'h2')}
        # One run in each state, newest last.
        self.success = self._run('h1', 'test.demo', 'inst-1')
        self.error = self._run('h1', 'test.demo', 'inst-2', fail='c')
        self.running = self._run('h2', 'test.other', 'inst-3', crash='b')
        self.reverted = self._run('h2', 'test.demo', 'inst-4', crash='a')
        # What recovery does to a run it reverts.
        from nova.db import api as db_api
        db_api.flow_run_close(self.admin, self.reverted, 'reverted',
                              'reverted on restart')

    def _run(self, host, flow, instance, fail=None, crash=None):
        """Record a run; its ID."""
        state = InstanceState(instance=instance)
        if fail:
            state.fail[fail] = 1
        if crash:
            state.raises[crash] = Crash()
        try:
            self.engines[host].run(flow, None, state)
        except (fakes.StageFailed, Crash):
            pass
        (run,) = self.recorder.find_runs(self.admin, instance=instance)
        return run.run_id

    def runs(self, *argv):
        """The table's rows, by run ID, as lists of cells."""
        status, out, err = self.manage('runs', *argv, conf=self.conf)
        self.assertEqual(0, status, err)
        lines = out.splitlines()
        self.assertEqual(['RUN', 'FLOW', 'INSTANCE', 'HOST', 'STATUS',
                          'STARTED', 'STAGE', 'MESSAGE'], lines[0].split())
        return {line.split()[0]: line.split(None, 7) for line in lines[1:]}

    def test_default_is_unfinished_and_failed_runs_cloud_wide(self):
        rows = self.runs()
        self.assertEqual({self.error, self.running, self.reverted},
                         set(rows))
        running = rows[self.running]
        self.assertEqual(['test.other', 'inst-3', 'h2', 'running'],
                         running[1:5])
        started = self.recorder.get_run(self.admin, self.running).started_at
        self.assertEqual(started.isoformat(timespec='seconds'), running[5])
        # A running run's stage is its newest recorded one.
        self.assertEqual(['test.other.b', '-'], running[6:])
        error = rows[self.error]
        self.assertEqual(['test.demo', 'inst-2', 'h1', 'error'], error[1:5])
        self.assertEqual('test.demo.c', error[6])
        self.assertIn('StageFailed', error[7])
        self.assertEqual(['reverted', 'test.demo.a', 'reverted on restart'],
                         [rows[self.reverted][4],
                          *rows[self.reverted][6:]])

    def test_newest_first(self):
        status, out, _ = self.manage('runs', '--state', 'success',
                                     '--state', 'failed', conf=self.conf)
        self.assertEqual(0, status)
        self.assertEqual([self.reverted, self.error, self.success],
                         [line.split()[0] for line in out.splitlines()[1:]])

    def test_host(self):
        self.assertEqual({self.error}, set(self.runs('--host', 'h1')))
        self.assertEqual({self.running, self.reverted},
                         set(self.runs('--host', 'h2')))

    def test_flow(self):
        self.assertEqual({self.running}, set(self.runs('--flow',
                                                        'test.other')))
        self.assertEqual({self.error, self.reverted},
                         set(self.runs('--flow', 'test.demo')))

    def test_states(self):
        self.assertEqual({self.running}, set(self.runs('--state',
                                                        'unfinished')))
        self.assertEqual({self.running}, set(self.runs('--state',
                                                        'running')))
        self.assertEqual({self.error, self.reverted},
                         set(self.runs('--state', 'failed')))
        self.assertEqual({self.error}, set(self.runs('--state', 'error')))
        self.assertEqual({self.reverted},
                         set(self.runs('--state', 'reverted')))
        self.assertEqual({self.success}, set(self.runs('--state',
                                                        'success')))
        self.assertEqual({self.success, self.running},
                         set(self.runs('--state', 'success', '--state',
                                       'unfinished')))

    def test_filters_combine(self):
        self.assertEqual({self.reverted}, set(self.runs(
            '--host', 'h2', '--flow', 'test.demo', '--state', 'failed')))

    def test_older_than_filters_on_the_start(self):
        from nova.db import api as db_api
        from nova.db import models
        runs = db_api.table_of(models.FlowRun)
        two_hours_ago = (datetime.datetime.now(datetime.UTC).replace(
            tzinfo=None) - datetime.timedelta(hours=2))
        with db_api.writer(self.admin) as connection:
            connection.execute(runs.update().where(
                runs.c.id == self.error).values(started_at=two_hours_ago))
        self.assertEqual({self.error}, set(self.runs('--older-than',
                                                      '3600')))
        self.assertEqual({self.error, self.running, self.reverted},
                         set(self.runs('--older-than', '0')))

    def test_limit_keeps_the_newest(self):
        self.assertEqual({self.reverted}, set(self.runs('--limit', '1')))
        self.assertEqual({self.reverted, self.running},
                         set(self.runs('--limit', '2')))

    def test_no_match_says_so_and_succeeds(self):
        status, out, err = self.manage('runs', '--host', 'h9',
                                       conf=self.conf)
        self.assertEqual(0, status, err)
        self.assertEqual('No unfinished or failed runs found (host h9).\n',
                         out)

    def test_instance_keeps_the_stage_by_stage_detail(self):
        status, out, _ = self.manage('runs', '--instance', 'inst-2',
                                     conf=self.conf)
        self.assertEqual(0, status)
        self.assertIn(f'test.demo 1.0  run {self.error}  host h1  error',
                      out)
        self.assertRegex(out, r'test\.demo\.c +error')
        self.assertRegex(out, r'test\.demo\.b +success .*revert: '
                              r'reverted')

    def test_instance_with_a_filter(self):
        status, out, _ = self.manage('runs', '--instance', 'inst-2',
                                     '--state', 'success', conf=self.conf)
        self.assertEqual(1, status)
        self.assertIn('no recorded runs for instance inst-2', out)

    def _usage_error(self, *argv):
        stderr = io.StringIO()
        with contextlib.redirect_stderr(stderr):
            error = self.assertRaises(SystemExit, manage.main,
                                      ['flow', 'runs', *argv])
        self.assertEqual(2, error.code)
        return stderr.getvalue()

    def test_bad_state_is_a_usage_error(self):
        self.assertIn("argument --state: invalid choice: 'broken'",
                      self._usage_error('--state', 'broken'))

    def test_bad_age_and_limit_are_usage_errors(self):
        self.assertIn("argument --older-than: '-5': the age must be 0 "
                      "seconds or more",
                      self._usage_error('--older-than', '-5'))
        self.assertIn("argument --older-than: 'soon' is not a number of "
                      "seconds", self._usage_error('--older-than', 'soon'))
        self.assertIn("argument --limit: '0': must be 1 or more",
                      self._usage_error('--limit', '0'))
