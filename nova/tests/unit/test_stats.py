"""nova.stats: SQL statement and RPC message counters for benchmarks."""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import fixtures
import sqlalchemy as sa
import testtools

from nova import rpc, stats


class StatsTestCase(testtools.TestCase):

    def setUp(self) -> None:
        super().setUp()
        self.addCleanup(stats.reset)
        self.addCleanup(stats.disable)
        stats.reset()
        self.engine = sa.create_engine('sqlite://')
        self.addCleanup(self.engine.dispose)
        with self.engine.begin() as connection:
            connection.exec_driver_sql('CREATE TABLE t (a INTEGER)')

    def _work(self) -> None:
        with self.engine.begin() as connection:
            connection.exec_driver_sql('INSERT INTO t VALUES (1)')
            connection.exec_driver_sql('INSERT INTO "t" VALUES (2)')
            connection.exec_driver_sql('UPDATE t SET a = 3')
            connection.exec_driver_sql('SELECT a FROM t').all()
            connection.exec_driver_sql('DELETE FROM t')

    def test_nothing_is_counted_unless_enabled(self):
        self._work()
        self.assertEqual({'total': 0}, stats.snapshot()['sql'])

    def test_statements_by_kind_and_table(self):
        stats.enable()
        stats.enable()  # once only
        self._work()
        self.assertEqual({'INSERT t': 2, 'UPDATE t': 1, 'SELECT': 1,
                          'DELETE t': 1, 'total': 5},
                         stats.snapshot()['sql'])
        stats.disable()
        self._work()
        self.assertEqual(5, stats.snapshot()['sql']['total'])

    def test_transaction_control_is_not_counted(self):
        stats.enable()
        with self.engine.connect() as connection:
            connection.exec_driver_sql('SAVEPOINT x')
            connection.exec_driver_sql('RELEASE SAVEPOINT x')
        self.assertEqual({'total': 0}, stats.snapshot()['sql'])

    def test_snapshots_are_numbered_and_carry_rpc_counts(self):
        first = stats.snapshot()
        second = stats.snapshot()
        self.assertEqual(first['seq'] + 1, second['seq'])
        self.assertEqual(os.getpid(), second['pid'])
        self.assertEqual(rpc.message_counts(), second['rpc'])

    def test_context_switches_of_finished_threads_are_counted(self):
        before = stats.snapshot()['switches']

        def sleeper() -> None:
            # Each sleep puts the thread off the CPU: a voluntary switch.
            for _ in range(3):
                time.sleep(0.001)

        thread = threading.Thread(target=sleeper)
        thread.start()
        thread.join()
        after = stats.snapshot()['switches']
        self.assertEqual({'voluntary', 'involuntary'}, set(after))
        self.assertGreaterEqual(after['voluntary'] - before['voluntary'], 3)

    def test_reset(self):
        stats.enable()
        self._work()
        stats.reset()
        self.assertEqual({'total': 0}, stats.snapshot()['sql'])

    def test_install_from_env_writes_the_file_on_sigusr1(self):
        path = os.path.join(self.useFixture(fixtures.TempDir()).path,
                            'stats.json')
        self.useFixture(fixtures.EnvironmentVariable(stats.ENV_VAR, path))
        registered = []
        self.useFixture(fixtures.MonkeyPatch(
            'atexit.register', lambda *args: registered.append(args)))
        previous = signal.getsignal(signal.SIGUSR1)
        self.addCleanup(signal.signal, signal.SIGUSR1, previous)

        self.assertEqual(path, stats.install_from_env())
        self.assertTrue(stats.enabled())
        self.assertEqual(1, len(registered))
        with open(path) as f:
            seq = json.load(f)['seq']
        self._work()
        os.kill(os.getpid(), signal.SIGUSR1)
        deadline = time.monotonic() + 5
        while True:
            with open(path) as f:
                data = json.load(f)
            if data['seq'] > seq or time.monotonic() > deadline:
                break
            time.sleep(0.01)
        self.assertEqual(seq + 1, data['seq'])
        self.assertEqual(5, data['sql']['total'])
        self.assertEqual([], [n for n in os.listdir(os.path.dirname(path))
                              if n.endswith('.tmp')])

    def test_not_installed_without_the_variable(self):
        self.useFixture(fixtures.EnvironmentVariable(stats.ENV_VAR))
        self.assertIsNone(stats.install_from_env())
        self.assertFalse(stats.enabled())
