"""nova.db.api retries a call while the database cannot be reached.

The connection errors here are oslo.db's own exception, raised by the
function under test as oslo.db raises it for a lost connection; the
functional test with a real server restarted under load is
nova.tests.functional.compute.test_faults_under_load.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from oslo_config import fixture as config_fixture
from oslo_db import exception as db_exc

import nova.conf
from nova.db import api as db
from nova.tests.unit.db import base

CONF = nova.conf.CONF


class Flaky:
    """Raises DBConnectionError ``failures`` times, then returns 'done'."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0

    def __call__(self, *args: Any, **kwargs: Any) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise db_exc.DBConnectionError(
                ConnectionRefusedError('server is down'))
        return 'done'


class TestRetryOnDisconnect(base.DBTestCase):

    def setUp(self) -> None:
        super().setUp()
        self.config = self.useFixture(config_fixture.Config(CONF))
        # No waiting between attempts in a unit test.
        self.config.config(db_retry_interval=0, db_max_retry_interval=0,
                           group='database')

    def test_retried_until_it_works(self):
        flaky = Flaky(failures=3)
        self.assertEqual('done', db.retry_on_disconnect(flaky)())
        self.assertEqual(4, flaky.calls)

    def test_gives_up_after_db_max_retries(self):
        self.config.config(db_max_retries=2, group='database')
        flaky = Flaky(failures=10)
        self.assertRaises(db_exc.DBConnectionError,
                          db.retry_on_disconnect(flaky))
        # The first call and two retries.
        self.assertEqual(3, flaky.calls)

    def test_no_retry_with_db_max_retries_0(self):
        self.config.config(db_max_retries=0, group='database')
        flaky = Flaky(failures=1)
        self.assertRaises(db_exc.DBConnectionError,
                          db.retry_on_disconnect(flaky))
        self.assertEqual(1, flaky.calls)

    def test_other_errors_are_not_retried(self):
        calls = []

        def broken() -> None:
            calls.append(1)
            raise db_exc.DBError('syntax error')
        self.assertRaises(db_exc.DBError, db.retry_on_disconnect(broken))
        self.assertEqual(1, len(calls))

    def test_not_retried_inside_a_caller_transaction(self):
        # The caller's transaction is lost with the connection: only the
        # caller may run it again, as a whole.
        flaky = Flaky(failures=1)
        with db.writer(self.ctx):
            self.assertTrue(db.in_transaction())
            self.assertRaises(db_exc.DBConnectionError,
                              db.retry_on_disconnect(flaky))
        self.assertFalse(db.in_transaction())
        self.assertEqual(1, flaky.calls)

    def test_transaction_count_survives_an_error_in_the_block(self):
        def fail_inside() -> None:
            with db.reader(self.ctx):
                raise ValueError('in the block')
        self.assertRaises(ValueError, fail_inside)
        self.assertFalse(db.in_transaction())
        flaky = Flaky(failures=1)
        self.assertEqual('done', db.retry_on_disconnect(flaky)())

    def test_every_public_function_of_the_module_retries(self):
        for name in ('instance_update', 'instance_get_by_uuid',
                     'transaction', 'write_idempotent', 'action_start',
                     'flow_runs_get_unfinished', 'service_heartbeat'):
            function = getattr(db, name)
            self.assertTrue(hasattr(function, '__wrapped__'), name)
        # Not the transaction blocks, which a retry cannot re-run.
        for name in ('writer', 'reader', 'writer_connection', 'table_of'):
            self.assertFalse(hasattr(getattr(db, name), '__wrapped__'),
                             name)

    def test_a_wrapped_function_still_works_and_joins(self):
        instance = db.instance_create(self.ctx, {'display_name': 'a'})
        with db.writer(self.ctx):
            db.instance_update(self.ctx, instance['uuid'],
                               {'display_name': 'b'})
        self.assertEqual('b', db.instance_get_by_uuid(
            self.ctx, instance['uuid'])['display_name'])


class TestConnectionLost(base.DBTestCase):

    def test_what_counts_as_a_lost_connection(self):
        refused = ConnectionRefusedError('Connection refused')
        self.assertTrue(db.connection_lost(
            db_exc.DBConnectionError(refused)))
        # psycopg2's "Connection refused" on connect, which oslo.db's
        # filters leave as SQLAlchemy raised it.
        self.assertTrue(db.connection_lost(sa.exc.OperationalError(
            'connect', {}, refused)))
        self.assertTrue(db.connection_lost(sa.exc.DBAPIError(
            'SELECT 1', {}, refused, connection_invalidated=True)))
        self.assertFalse(db.connection_lost(sa.exc.DBAPIError(
            'SELECT 1', {}, ValueError('bad'))))
        self.assertFalse(db.connection_lost(db_exc.DBDuplicateEntry()))
        self.assertFalse(db.connection_lost(ValueError('not the database')))

    def test_an_untranslated_connect_error_is_retried(self):
        self.useFixture(config_fixture.Config(CONF)).config(
            db_retry_interval=0, db_max_retry_interval=0, group='database')
        calls = []

        def connect() -> str:
            calls.append(1)
            if len(calls) < 3:
                raise sa.exc.OperationalError(
                    'connect', {}, ConnectionRefusedError('refused'))
            return 'connected'
        self.assertEqual('connected', db.retry_on_disconnect(connect)())
        self.assertEqual(3, len(calls))
