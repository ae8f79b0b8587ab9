"""nova-status upgrade check: each check, and the command's exit codes."""

import datetime
import os
import subprocess
import sys
import textwrap
from unittest import mock

import fixtures
from oslo_config import fixture as config_fixture
from oslo_upgradecheck import upgradecheck
from oslo_utils import timeutils

import nova.conf
from nova import context as nova_context
from nova import test
from nova.db import api as db_api
from nova.db import migration
from nova.tests.fixtures import database

# Importing nova.cmd prepares eventlet mode; a test worker must stay as it
# is (see nova.tests.unit.flow.test_manage_flow).
with mock.patch('nova.concurrency.setup'):
    from nova.cmd import status

CONF = nova.conf.CONF
Code = upgradecheck.Code


class TestChecks(test.TestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(config_fixture.Config(CONF))
        self.db = self.useFixture(database.Database())
        self.ctx = nova_context.get_admin_context()
        self.commands = status.UpgradeCommands()

    def _compute(self, host, last_seen_up, forced_down=False):
        service = db_api.service_register(self.ctx, host, 'nova-compute')
        db_api.service_update(self.ctx, service['id'], {
            'last_seen_up': last_seen_up, 'forced_down': forced_down})

    def test_schema_current_succeeds(self):
        result = self.commands._check_db_schema()
        self.assertEqual(Code.SUCCESS, result.code)
        self.assertIn(migration.head_version(), result.details)

    def test_schema_behind_fails_and_says_what_to_run(self):
        with mock.patch.object(migration, 'head_version',
                               return_value='ffffffffffff'):
            result = self.commands._check_db_schema()
        self.assertEqual(Code.FAILURE, result.code)
        self.assertIn('nova-manage db sync', result.details)

    def test_empty_database_fails(self):
        self.useFixture(database.Database(migrate=False))
        result = self.commands._check_db_schema()
        self.assertEqual(Code.FAILURE, result.code)
        self.assertIn('no schema', result.details)

    def test_no_compute_service_warns(self):
        result = self.commands._check_compute_services()
        self.assertEqual(Code.WARNING, result.code)
        self.assertIn('No nova-compute service', result.details)

    def test_all_computes_up_succeeds(self):
        self._compute('host1', timeutils.utcnow())
        self._compute('host2', timeutils.utcnow())
        result = self.commands._check_compute_services()
        self.assertEqual(Code.SUCCESS, result.code, result.details)
        self.assertIn('2 nova-compute', result.details)

    def test_down_or_forced_down_computes_warn_by_name(self):
        self._compute('host1', timeutils.utcnow())
        old = timeutils.utcnow() - datetime.timedelta(
            seconds=CONF.service_down_time + 60)
        self._compute('stale', old)
        self._compute('forced', timeutils.utcnow(), forced_down=True)
        result = self.commands._check_compute_services()
        self.assertEqual(Code.WARNING, result.code)
        self.assertIn('2 of 3', result.details)
        self.assertIn('forced, stale', result.details)

    def test_valid_hooks_succeed(self):
        CONF.set_override('enabled_hooks', ['example_special_sauce'],
                          group='flow')
        result = self.commands._check_flow_hooks()
        self.assertEqual(Code.SUCCESS, result.code, result.details)
        self.assertIn('example_special_sauce', result.details)

    def test_unknown_hook_fails_naming_it(self):
        CONF.set_override('enabled_hooks', ['no_such_hook'], group='flow')
        result = self.commands._check_flow_hooks()
        self.assertEqual(Code.FAILURE, result.code)
        self.assertIn('no_such_hook', result.details)


class TestCommand(test.TestCase):
    """``nova-status upgrade check`` as an operator runs it (a child
    process, so it prepares its concurrency mode as a service does)."""

    def setUp(self):
        super().setUp()
        self.useFixture(config_fixture.Config(CONF))
        self.db = self.useFixture(database.Database())
        self.tempdir = self.useFixture(fixtures.TempDir()).path

    def run_check(self, extra_conf=''):
        path = os.path.join(self.tempdir, 'nova.conf')
        with open(path, 'w') as f:
            f.write(textwrap.dedent(f'''
                [database]
                connection = {self.db.url}
                ''') + textwrap.dedent(extra_conf))
        return subprocess.run(
            [sys.executable, '-m', 'nova.cmd.status', '--config-file', path,
             'upgrade', 'check'],
            capture_output=True, text=True, timeout=120)

    def test_fresh_deployment_warns_with_exit_1(self):
        done = self.run_check()
        self.assertEqual(1, done.returncode, done.stdout + done.stderr)
        for name in ('Database schema', 'Compute services', 'Flow hooks'):
            self.assertIn(name, done.stdout)

    def test_broken_hook_config_fails_with_exit_2(self):
        done = self.run_check('''
            [flow]
            enabled_hooks = no_such_hook
            ''')
        self.assertEqual(2, done.returncode, done.stdout + done.stderr)
        self.assertIn('no_such_hook', done.stdout)
