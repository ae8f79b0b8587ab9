"""nova-all's embedded SQLite database: WAL, one writer at a time,
and the statement templates of the hot paths."""

from __future__ import annotations

import threading
import time
from typing import Any
from unittest import mock

import sqlalchemy as sa
import testscenarios
from oslo_db.sqlalchemy import engines

import nova.conf
from nova import context, exception, test
from nova.db import api as db
from nova.tests.fixtures import database
from nova.tests.unit.db import base

CONF = nova.conf.CONF
load_tests = testscenarios.load_tests_apply_scenarios


class SQLiteTuningTestCase(test.TestCase):

    def setUp(self) -> None:
        super().setUp()
        self.database = self.useFixture(database.Database('sqlite'))
        self.engine = self.database.engine
        self.ctx = context.get_admin_context()

    def test_wal_journal_and_normal_sync(self):
        with self.engine.connect() as connection:
            self.assertEqual('wal', connection.exec_driver_sql(
                'PRAGMA journal_mode').scalar())
            # 1 = NORMAL
            self.assertEqual(1, connection.exec_driver_sql(
                'PRAGMA synchronous').scalar())
            # oslo.db's own settings still apply.
            self.assertEqual(1, connection.exec_driver_sql(
                'PRAGMA foreign_keys').scalar())

    def test_wal_is_set_once_and_later_connections_keep_it(self):
        with self.engine.connect() as connection:
            connection.exec_driver_sql('SELECT 1')
        statements: list[str] = []

        def trace(dbapi_connection: Any, record: Any) -> None:
            dbapi_connection.set_trace_callback(statements.append)
        # Before nova's own connect listener, to see what it sends.
        sa.event.listen(self.engine, 'connect', trace, insert=True)
        self.addCleanup(sa.event.remove, self.engine, 'connect', trace)
        self.engine.dispose()  # the next connect is a new connection
        with self.engine.connect() as connection:
            self.assertEqual('wal', connection.exec_driver_sql(
                'PRAGMA journal_mode').scalar())
        self.assertIn('PRAGMA synchronous = NORMAL', statements)
        self.assertNotIn('PRAGMA journal_mode = WAL', statements)

    def test_each_checkin_offers_a_cooperative_yield(self):
        # Not oslo.db's sleep(0) at every check-in: nova's, which yields
        # only once a time slice has passed (nova.concurrency).
        self.assertFalse(sa.event.contains(self.engine, 'checkin',
                                           engines._thread_yield))
        with mock.patch('nova.concurrency.cooperative_yield') as offered:
            db.instance_create(self.ctx, {'display_name': 'a'})
            self.assertEqual(1, offered.call_count)
            with self.engine.connect():
                pass
            self.assertEqual(2, offered.call_count)

    def test_transactions_still_roll_back(self):
        instance = db.instance_create(self.ctx, {'display_name': 'a'})
        try:
            with db.writer(self.ctx) as connection:
                connection.execute(sa.update(db._INSTANCES).values(
                    display_name='b'))
                raise RuntimeError('undo')
        except RuntimeError:
            pass
        self.assertEqual('a', db.instance_get_by_uuid(
            self.ctx, instance['uuid'])['display_name'])

    def test_begin_is_not_a_statement(self):
        counter = self.useFixture(database.StatementCounter(self.engine))
        db.instance_create(self.ctx, {'display_name': 'a'})
        self.assertEqual(1, counter.count, counter.statements)

    def test_one_writing_transaction_at_a_time(self):
        """A second writer waits for the first one's turn to end instead
        of failing or sleeping in SQLite's busy handler."""
        instance = db.instance_create(self.ctx, {'display_name': 'a'})
        writing = threading.Event()
        order: list[str] = []

        def first() -> None:
            with db.writer(context.get_admin_context()) as connection:
                connection.execute(sa.update(db._INSTANCES).values(
                    display_name='first'))
                writing.set()
                time.sleep(0.2)
                order.append('first done')

        thread = threading.Thread(target=first)
        thread.start()
        writing.wait(5)
        db.instance_update(self.ctx, instance['uuid'],
                           {'display_name': 'second'})
        order.append('second done')
        thread.join()
        self.assertEqual(['first done', 'second done'], order)
        self.assertEqual('second', db.instance_get_by_uuid(
            self.ctx, instance['uuid'])['display_name'])

    def test_reads_do_not_wait_for_a_writer(self):
        instance = db.instance_create(self.ctx, {'display_name': 'a'})
        writing = threading.Event()
        release = threading.Event()

        def writer() -> None:
            with db.writer(context.get_admin_context()) as connection:
                connection.execute(sa.update(db._INSTANCES).values(
                    display_name='b'))
                writing.set()
                release.wait(5)

        thread = threading.Thread(target=writer)
        thread.start()
        try:
            writing.wait(5)
            # WAL: the committed state, at once.
            self.assertEqual('a', db.instance_get_by_uuid(
                self.ctx, instance['uuid'])['display_name'])
        finally:
            release.set()
            thread.join()


class TemplateTestCase(base.DBTestCase):
    """The statement templates give the same results as building each
    statement would, on every backend."""

    def test_instance_update_shapes(self):
        instance = db.instance_create(self.ctx, {'display_name': 'a',
                                                 'task_state': None})
        uuid = instance['uuid']
        db.instance_update(self.ctx, uuid, {'task_state': 'x'},
                           expected_task_state=None)
        db.instance_update(self.ctx, uuid, {'task_state': 'y'},
                           expected_task_state=['x', None])
        db.instance_update(self.ctx, uuid, {'task_state': 'z'},
                           expected_task_state='y', expected_vm_state=None)
        self.assertRaises(exception.UnexpectedTaskStateError,
                          db.instance_update, self.ctx, uuid,
                          {'task_state': None}, expected_task_state='y')
        self.assertEqual('z', db.instance_get_by_uuid(
            self.ctx, uuid)['task_state'])
        # A value that is an expression still works (no template).
        db.instance_update(self.ctx, uuid, {'progress': sa.literal(7)})
        self.assertEqual(7, db.instance_get_by_uuid(
            self.ctx, uuid)['progress'])

    def test_instance_get_by_read_deleted(self):
        instance = db.instance_create(self.ctx, {'display_name': 'a'})
        db.instance_destroy(self.ctx, instance['uuid'])
        self.assertRaises(exception.InstanceNotFound,
                          db.instance_get_by_uuid, self.ctx,
                          instance['uuid'])
        found = db.instance_get_by_uuid(self.ctx, instance['uuid'],
                                        read_deleted='yes')
        self.assertEqual('deleted', found['vm_state'])
        self.assertIsNotNone(found['terminated_at'])
        self.assertEqual(found['id'], found['deleted'])

