"""The database servers of a test's own: they start, stop, start again
with their data, serve the Database fixture, and leave nothing behind."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time

import fixtures
import sqlalchemy as sa
import testscenarios
import testtools
from sqlalchemy import exc as sa_exc

from nova import test
from nova.db import api as db
from nova.tests.fixtures import database, dbserver, services
from nova.tests.functional import fixtures as func_fixtures

load_tests = testscenarios.load_tests_apply_scenarios


#: A test process that starts a server and waits to be killed.
KILLED_TEST = textwrap.dedent('''
    import sys, unittest
    from nova.tests.fixtures import dbserver
    fixture = getattr(dbserver, sys.argv[1])(unittest.TestCase())
    fixture.setUp()
    print(fixture.pid, fixture.dir, flush=True)
    sys.stdin.read()
''')


def _gone(pid: int) -> bool:
    """No such process, or one that has ended (a zombie nobody reaped)."""
    try:
        with open(f'/proc/{pid}/stat') as stat:
            return stat.read().rpartition(')')[2].split()[0] == 'Z'
    except FileNotFoundError:
        return True


class PrivateServerTestCase(test.TestCase):

    scenarios = [('mysql', {'server': dbserver.PrivateMariaDB}),
                 ('postgresql', {'server': dbserver.PrivatePostgreSQL})]
    server: type[dbserver.PrivateMariaDB | dbserver.PrivatePostgreSQL]

    def engine(self, url: str) -> sa.Engine:
        engine = sa.create_engine(url, poolclass=sa.pool.NullPool,
                                  connect_args={'connect_timeout': 5})
        self.addCleanup(engine.dispose)
        return engine

    def time(self, name: str, started: float) -> None:
        self.addDetail(name, testtools.content.text_content(
            f'{time.monotonic() - started:.2f}s'))

    def test_stop_and_start_keep_the_data(self):
        started = time.monotonic()
        fixture = self.server(self)
        fixture.setUp()
        try:
            self.time('initialise and start', started)
            pid, directory = fixture.pid, fixture.dir
            self.assertIsNotNone(pid)
            self.assertNotIn(fixture.port, (3306, 5432))
            engine = self.engine(fixture.url)
            table = 'kept'
            with engine.begin() as connection:
                if fixture.backend == 'mysql':
                    connection.exec_driver_sql('CREATE DATABASE kept')
                    table = 'kept.kept'
                connection.exec_driver_sql(
                    f'CREATE TABLE {table} (id INTEGER)')
                connection.exec_driver_sql(f'INSERT INTO {table} VALUES (42)')

            started = time.monotonic()
            fixture.stop()
            self.time('stop', started)
            self.assertIsNone(fixture.pid)
            self.assertTrue(_gone(pid))
            self.assertRaises(sa_exc.OperationalError, engine.connect)

            started = time.monotonic()
            fixture.start()
            self.time('start again', started)
            with engine.connect() as connection:
                self.assertEqual(42, connection.exec_driver_sql(
                    f'SELECT id FROM {table}').scalar())
            restarted = fixture.pid
        finally:
            fixture.cleanUp()
        self.assertTrue(_gone(restarted))
        self.assertFalse(os.path.exists(directory))
        self.assertRaises(sa_exc.OperationalError, engine.connect)

    def test_cleanup_stops_a_server_after_a_failed_test(self):
        pids = []

        # testtools' TestCase: nova's would cancel this test's time limit.
        class Failing(testtools.TestCase):
            def test_fails(inner):
                fixture = inner.useFixture(self.server(inner))
                pids.append(fixture.pid)
                self.directory = fixture.dir
                inner.fail('as the test wanted')
        result = testtools.TestResult()
        Failing('test_fails').run(result)
        self.assertEqual(1, len(result.failures))
        self.assertIn('as the test wanted', result.failures[0][1])
        self.assertEqual(1, len(pids))
        self.assertTrue(_gone(pids[0]))
        self.assertFalse(os.path.exists(self.directory))

    def test_a_killed_test_process_leaves_no_server(self):
        test_process = subprocess.Popen(
            [sys.executable, '-c', KILLED_TEST, self.server.__name__],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.addCleanup(test_process.wait)
        self.addCleanup(test_process.kill)
        assert test_process.stdout is not None
        pid, directory = test_process.stdout.readline().split()
        # Its temporary directory is all it leaves.
        self.addCleanup(shutil.rmtree, directory, ignore_errors=True)
        self.assertFalse(_gone(int(pid)))
        test_process.send_signal(signal.SIGKILL)
        func_fixtures.wait_for(lambda: _gone(int(pid)), 30,
                               f'{self.server.name} {pid} to end')

    def test_a_database_on_it(self):
        with self.server(self) as fixture:
            with database.Database(fixture.backend,
                                   server_url=fixture.url) as db_fixture:
                self.assertIn(f':{fixture.port}/', db_fixture.url)
                db.instance_create(None, {'display_name': 'private'})
                self.assertEqual(['private'], [
                    i['display_name']
                    for i in db.instance_get_all_by_filters(None)])
            # The database is kept for the next test on this server ...
        # ... but the server is gone: a new one (on the same port, or
        # another) starts afresh.
        self.useFixture(fixtures.MonkeyPatch(
            'nova.tests.fixtures.dbserver._free_port',
            lambda: fixture.port))
        again = self.useFixture(self.server(self))
        with database.Database(again.backend, server_url=again.url):
            self.assertEqual([], db.instance_get_all_by_filters(None))

    def test_unavailable_programs_skip_or_fail(self):
        # No programs: as on a machine without the server installed.
        self.useFixture(fixtures.EnvironmentVariable('PATH', '/nonexistent'))
        self.useFixture(fixtures.MonkeyPatch(
            'nova.tests.fixtures.dbserver.SBIN', '/nonexistent'))
        self.useFixture(fixtures.MonkeyPatch(
            'nova.tests.fixtures.dbserver.PG_LIB', '/nonexistent'))
        self.useFixture(fixtures.EnvironmentVariable(services.REQUIRE_ENV))
        error = self.assertRaises(self.skipException,
                                  self.server(self).setUp)
        self.assertIn('is not installed', str(error))
        self.useFixture(fixtures.EnvironmentVariable(services.REQUIRE_ENV,
                                                     '1'))
        error = self.assertRaises(self.failureException,
                                  self.server(self).setUp)
        self.assertIn('is not installed', str(error))

    def test_a_server_that_cannot_start_says_why(self):
        # Its port is taken.
        with socket.socket() as taken:
            taken.bind(('127.0.0.1', 0))
            taken.listen()
            port = taken.getsockname()[1]
            self.useFixture(fixtures.MonkeyPatch(
                'nova.tests.fixtures.dbserver._free_port', lambda: port))
            self.useFixture(fixtures.EnvironmentVariable(
                services.REQUIRE_ENV, '1'))
            fixture = self.server(self)
            error = self.assertRaises(self.failureException, fixture.setUp)
        self.assertIn(f'exited (1) at its start on port {port}', str(error))
        self.assertIn('the end of its log', str(error))
        self.assertIn('in use', str(error))
        self.assertFalse(os.path.exists(fixture.dir))
