"""nova.db.pool: the pool pings and resets a connection only when needed.

On SQLite, MariaDB and PostgreSQL (the database fixture's engine is made
with nova's default ``[database] connection_parameters``, so it carries
the plugin); on MariaDB the server's own counters show the round trips
saved.
"""

from __future__ import annotations

from typing import Any
from unittest import mock

import fixtures
import sqlalchemy as sa
import testscenarios
from oslo_config import cfg
from oslo_config import fixture as config_fixture
from oslo_db.sqlalchemy import engines
from sqlalchemy import exc as sa_exc

import nova.conf
import nova.conf.database
from nova import test
from nova.db import pool
from nova.tests.unit.db import base

load_tests = testscenarios.load_tests_apply_scenarios

CONF = nova.conf.CONF


class _Record:
    """A pool record's public face: its info dict."""

    def __init__(self, **info: Any) -> None:
        self.info = dict(info)


class _ResetState:

    def __init__(self, terminate_only: bool = False) -> None:
        self.terminate_only = terminate_only
        self.transaction_was_reset = False
        self.asyncio_safe = True


class TestReset(test.TestCase):
    """The check-in reset: a ROLLBACK only when a transaction may be
    open."""

    def _reset_with(self, record: _Record, terminate_only: bool = False,
               ) -> mock.Mock:
        dbapi_connection = mock.Mock()
        pool._reset(dbapi_connection, record, _ResetState(terminate_only))
        return dbapi_connection

    def test_ended_transaction_is_not_rolled_back(self):
        self._reset_with(_Record(nova_pool_open=False)).rollback.assert_not_called()

    def test_open_transaction_is_rolled_back(self):
        record = _Record(nova_pool_open=True)
        self._reset_with(record).rollback.assert_called_once_with()
        self.assertFalse(record.info['nova_pool_open'])

    def test_unknown_state_is_rolled_back(self):
        self._reset_with(_Record()).rollback.assert_called_once_with()

    def test_connection_being_closed_is_left_alone(self):
        self._reset_with(_Record(nova_pool_open=True),
                    terminate_only=True).rollback.assert_not_called()


class TestCheckoutPing(test.TestCase):
    """The check-out ping: only for a connection idle long enough."""

    def setUp(self) -> None:
        super().setUp()
        self.dialect = mock.Mock()
        self.dialect.loaded_dbapi.Error = OSError
        self.dialect.do_ping.return_value = True
        self.checkout = pool._checkout_ping(self.dialect, 1.0)
        self.useFixture(fixtures.MockPatchObject(
            pool, '_now', return_value=100.0))

    def test_recently_used_connection_is_not_pinged(self):
        self.checkout(mock.sentinel.conn,
                      _Record(nova_pool_idle_since=99.5), None)
        self.dialect.do_ping.assert_not_called()

    def test_idle_connection_is_pinged(self):
        self.checkout(mock.sentinel.conn,
                      _Record(nova_pool_idle_since=99.0), None)
        self.dialect.do_ping.assert_called_once_with(mock.sentinel.conn)

    def test_unknown_idle_time_is_pinged(self):
        self.checkout(mock.sentinel.conn, _Record(), None)
        self.dialect.do_ping.assert_called_once_with(mock.sentinel.conn)

    def test_failed_ping_is_a_disconnection(self):
        # The pool then drops the connection and opens another.
        self.dialect.do_ping.side_effect = OSError('gone')
        self.assertRaises(sa_exc.DisconnectionError, self.checkout,
                          mock.sentinel.conn, _Record(), None)
        self.dialect.do_ping.side_effect = None
        self.dialect.do_ping.return_value = False
        self.assertRaises(sa_exc.DisconnectionError, self.checkout,
                          mock.sentinel.conn, _Record(), None)

    def test_other_errors_are_raised(self):
        self.dialect.do_ping.side_effect = ValueError('a bug')
        self.assertRaises(ValueError, self.checkout, mock.sentinel.conn,
                          _Record(), None)


class TestPoolPlugin(base.DBTestCase):
    """The plugin on a real engine of each backend, named in
    create_engine's ``plugins`` and with a QueuePool (oslo.db gives an
    SQLite file a NullPool: a new connection for every transaction,
    which is never pinged and whose state starts anew)."""

    def setUp(self) -> None:
        super().setUp()
        self.config = self.useFixture(config_fixture.Config(CONF))
        self.engine = sa.create_engine(
            self.database.url, plugins=[pool.NAME],
            poolclass=sa.pool.QueuePool)
        self.addCleanup(self.engine.dispose)

    def _state(self) -> dict[str, Any]:
        with self.engine.connect() as conn:
            return {'open': conn.info.get('nova_pool_open'),
                    'idle_since': conn.info.get('nova_pool_idle_since')}

    def test_default_engine_has_the_plugin(self):
        conf = cfg.ConfigOpts()
        nova.conf.database.register_opts(conf)
        conf([])
        self.assertEqual('plugin=nova_pool',
                         conf.database.connection_parameters)
        # The database fixture makes its engine with that default.
        self.assertTrue(pool.applied(self.database.engine))

    def test_committed_transaction_needs_no_reset(self):
        with self.engine.begin() as conn:
            conn.execute(sa.text('SELECT 1'))
            self.assertTrue(conn.info['nova_pool_open'])
        with self.engine.connect() as conn:
            self.assertFalse(conn.info['nova_pool_open'])

    def test_error_marks_the_transaction_for_a_reset(self):
        with self.engine.connect() as conn:
            conn.execute(sa.text('SELECT 1'))
            self.assertRaises(sa_exc.DBAPIError, conn.execute,
                              sa.text('SELECT no_such_column FROM '
                                      'no_such_table'))
            self.assertTrue(conn.info['nova_pool_open'])
        # SQLAlchemy rolled it back as the connection closed.
        with self.engine.connect() as conn:
            self.assertFalse(conn.info['nova_pool_open'])

    def test_lost_connection_rolls_back_cleanly(self):
        # As when the server goes away mid-transaction: the connection is
        # invalidated, and its transaction is rolled back before a new
        # one starts.  The listeners must not try to reconnect it.
        with self.engine.connect() as conn:
            conn.begin()
            conn.execute(sa.text('SELECT 1'))
            conn.invalidate()
            conn.rollback()
            self.assertEqual(1, conn.execute(sa.text('SELECT 1')).scalar())
            conn.commit()

    def test_ping_only_after_idle_time(self):
        with mock.patch.object(self.engine.dialect, 'do_ping',
                               wraps=self.engine.dialect.do_ping) as ping:
            self._state()  # a new connection
            self._state()  # the same, back in the pool a moment ago
            ping.assert_not_called()
            with mock.patch.object(pool, '_now', return_value=1e12):
                self._state()
            ping.assert_called_once()

    def test_failed_ping_gets_a_new_connection(self):
        engine = self.engine
        connects = []
        sa.event.listen(engine, 'connect',
                        lambda *args: connects.append(1))
        with engine.connect() as conn:
            conn.execute(sa.text('SELECT 1'))
        self.assertEqual(1, len(connects))
        error = engine.dialect.loaded_dbapi.Error('gone')
        with mock.patch.object(engine.dialect, 'do_ping',
                               side_effect=[error, True]), \
                mock.patch.object(pool, '_now', return_value=1e12):
            with engine.connect() as conn:
                self.assertEqual(1, conn.execute(
                    sa.text('SELECT 1')).scalar())
        self.assertEqual(2, len(connects))


class TestServerRoundTrips(base.DBTestCase):
    """MariaDB's own counters of one pooled connection: with the plugin
    a committed transaction costs its COMMIT only; without it, a ping
    (COM_PING, counted in Com_admin_commands) and a ROLLBACK more."""

    scenarios = [s for s in base.DBTestCase.scenarios if s[0] == 'mysql']
    backend = 'mysql'

    def _round_trips(self, parameters: str) -> dict[str, int]:
        self.useFixture(config_fixture.Config(CONF)).config(
            pool_ping_after=60, group='database')
        engine = engines.create_engine(
            self.database.url, connection_parameters=parameters,
            max_pool_size=1, max_overflow=0, max_retries=0)
        self.addCleanup(engine.dispose)
        names = ('Com_admin_commands', 'Com_commit', 'Com_rollback')

        def counters() -> dict[str, int]:
            with engine.begin() as conn:
                rows = conn.execute(sa.text(
                    "SHOW SESSION STATUS WHERE Variable_name IN "
                    "('Com_admin_commands', 'Com_commit', 'Com_rollback')"))
                return {name: int(value) for name, value in rows}

        before = counters()
        for _ in range(5):
            with engine.begin() as conn:
                conn.execute(sa.text('SELECT 1'))
        after = counters()
        return {name: after[name] - before[name] for name in names}

    def test_with_the_plugin(self):
        # Five transactions and the first counters' read: six COMMITs.
        self.assertEqual(
            {'Com_admin_commands': 0, 'Com_commit': 6, 'Com_rollback': 0},
            self._round_trips('plugin=nova_pool'))

    def test_without_the_plugin(self):
        self.assertEqual(
            {'Com_admin_commands': 6, 'Com_commit': 6, 'Com_rollback': 6},
            self._round_trips(''))
