"""nova.db.api.write_idempotent: writes sent to the DB-API cursor, on
every backend, counted like other statements, retried through SQLAlchemy
when the direct attempt fails."""

from __future__ import annotations

import datetime
from unittest import mock

import sqlalchemy as sa
import testscenarios

from nova.db import api as db
from nova.db import models
from nova.tests.unit.db import base

load_tests = testscenarios.load_tests_apply_scenarios

_RUNS = models.FlowRun.__table__
WHEN = datetime.datetime(2026, 11, 22, 8, 30, 0, 0)


def _insert_run(dialect):
    return sa.insert(_RUNS)


def _finish_run(dialect):
    return sa.update(_RUNS).where(_RUNS.c.id == sa.bindparam('b_id'))


class WriteIdempotentTestCase(base.DBTestCase):

    def run_values(self, run_id='run-1'):
        return {'id': run_id, 'flow': 'compute.build_instance',
                'version': '1.0', 'status': 'running', 'started_at': WHEN,
                'recovering': False}

    def stored(self, run_id='run-1'):
        with db.reader() as connection:
            row = connection.execute(
                sa.select(_RUNS).where(_RUNS.c.id == run_id)).mappings().one()
        return dict(row)

    def test_writes_in_one_transaction_with_typed_values(self):
        db.write_idempotent([
            ('test_insert_run', _insert_run, self.run_values()),
            ('test_finish_run', _finish_run,
             {'status': 'success', 'finished_at': WHEN, 'b_id': 'run-1'}),
        ])
        row = self.stored()
        self.assertEqual('success', row['status'])
        # Datetimes go through the column type (a string on SQLite) and
        # come back equal; booleans likewise.
        self.assertEqual(WHEN, row['started_at'])
        self.assertEqual(WHEN, row['finished_at'])
        self.assertIs(False, bool(row['recovering']))

    def test_set_clause_follows_the_parameters(self):
        db.write_idempotent([('test_insert_run', _insert_run,
                              self.run_values())])
        db.write_idempotent([('test_finish_run', _finish_run,
                              {'message': 'x', 'b_id': 'run-1'})])
        row = self.stored()
        self.assertEqual('x', row['message'])
        self.assertEqual('running', row['status'])

    def test_statements_are_counted(self):
        counter = self.count_statements()
        db.write_idempotent([
            ('test_insert_run', _insert_run, self.run_values()),
            ('test_finish_run', _finish_run,
             {'status': 'success', 'b_id': 'run-1'})])
        self.assertEqual(['INSERT', 'UPDATE'],
                         [s.split()[0] for s in counter.statements])

    def test_failed_direct_attempt_is_retried_through_sqlalchemy(self):
        engine = db.get_engine()
        real = engine.raw_connection
        calls = []

        def broken_connection():
            # The first (direct) attempt fails; SQLAlchemy's own
            # connection, which the retry takes, works.
            connection = real()
            calls.append(connection)
            if len(calls) == 1:
                cursor = mock.Mock(wraps=connection.cursor())
                cursor.execute.side_effect = RuntimeError('lost connection')
                connection.cursor = mock.Mock(return_value=cursor)
            return connection

        with mock.patch.object(engine, 'raw_connection', broken_connection):
            db.write_idempotent([('test_insert_run', _insert_run,
                                  self.run_values())])
        self.assertEqual(2, len(calls))
        self.assertEqual('running', self.stored()['status'])
        write_lock = db._SQLITE_WRITE_LOCKS.get(engine)
        if write_lock is not None:
            # The failed attempt gave its SQLite write turn back.
            self.assertTrue(write_lock.acquire(timeout=0))
            write_lock.release()
        # The pool is usable afterwards (on SQLite the write turn was
        # handed back): a plain write goes through at once.
        db.write_idempotent([('test_finish_run', _finish_run,
                              {'status': 'error', 'b_id': 'run-1'})])
        self.assertEqual('error', self.stored()['status'])

    def test_expanding_parameters_are_refused(self):
        def build(dialect):
            return sa.delete(_RUNS).where(
                _RUNS.c.id.in_(sa.bindparam('ids', expanding=True)))
        self.assertRaises(ValueError, db.write_idempotent,
                          [('test_expanding', build, {'ids': ['a']})])
