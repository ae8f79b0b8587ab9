"""nova.db.direct through nova.db.api.transaction: statements sent to the
DB-API connection directly, on every backend; the same rows and errors as
through SQLAlchemy; counted like other statements; run again through
SQLAlchemy when the database raises before the commit."""

from __future__ import annotations

import datetime
import uuid
from unittest import mock

import fixtures
import sqlalchemy as sa
import testscenarios
import testtools
from oslo_db import exception as db_exc
from sqlalchemy.dialects import mysql, postgresql, sqlite

from nova import exception
from nova.db import api as db
from nova.db import direct, models
from nova.tests.unit.db import base

load_tests = testscenarios.load_tests_apply_scenarios

_RUNS = models.FlowRun.__table__
_INSTANCES = models.Instance.__table__
WHEN = datetime.datetime(2026, 11, 22, 8, 30, 0, 0)


def _insert_run(dialect):
    return sa.insert(_RUNS)


def _finish_run(dialect):
    return sa.update(_RUNS).where(_RUNS.c.id == sa.bindparam('b_id'))


def _instance_by_uuid():
    return db._template('test_direct_instance', lambda: sa.select(
        _INSTANCES).where(_INSTANCES.c.uuid == sa.bindparam('b_uuid')))


class _Base(base.DBTestCase):

    def run_values(self, run_id='run-1'):
        return {'id': run_id, 'flow': 'compute.build_instance',
                'version': '1.0', 'status': 'running', 'started_at': WHEN,
                'recovering': False}

    def stored_run(self, run_id='run-1'):
        with db.reader() as connection:
            row = connection.execute(
                sa.select(_RUNS).where(_RUNS.c.id == run_id)).mappings().one()
        return dict(row)

    def instance(self, **values):
        values = dict({'project_id': 'p', 'user_id': 'u',
                       'vm_state': 'building', 'task_state': 'scheduling',
                       'flavor': {'name': 'm1.tiny', 'extra_specs': {}},
                       'metadata': {'k': 'v'}, 'launched_at': WHEN}, **values)
        return db.instance_create(self.ctx, values)

    def break_first_connection(self):
        """Make the first pooled connection's cursor raise the DB-API's
        OperationalError on execute; returns the list of connections
        handed out."""
        engine = db.get_engine()
        real = engine.raw_connection
        calls = []
        error = engine.dialect.loaded_dbapi.OperationalError(
            'lost connection')

        def raw_connection():
            connection = real()
            calls.append(connection)
            if len(calls) == 1:
                cursor = mock.Mock(wraps=connection.cursor())
                cursor.execute.side_effect = error
                connection.cursor = mock.Mock(return_value=cursor)
            return connection

        self.useFixture(fixtures.MockPatchObject(engine, 'raw_connection',
                                                 raw_connection))
        return calls


class WriteIdempotentTestCase(_Base):

    def test_writes_in_one_transaction_with_typed_values(self):
        db.write_idempotent([
            ('test_insert_run', _insert_run, self.run_values()),
            ('test_finish_run', _finish_run,
             {'status': 'success', 'finished_at': WHEN, 'b_id': 'run-1'}),
        ])
        row = self.stored_run()
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
        row = self.stored_run()
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

    def test_writes_are_atomic(self):
        # The second write fails (the run exists): the first is not kept.
        self.assertRaises(db_exc.DBDuplicateEntry, db.write_idempotent, [
            ('test_insert_run', _insert_run, self.run_values('run-1')),
            ('test_insert_run', _insert_run, self.run_values('run-1'))])
        with db.reader() as connection:
            self.assertEqual(0, connection.execute(
                sa.select(sa.func.count()).select_from(_RUNS)).scalar())


class TransactionTestCase(_Base):

    def test_rows_read_directly_equal_rows_through_sqlalchemy(self):
        created = self.instance()
        directly = db.transaction(lambda connection: dict(connection.execute(
            _instance_by_uuid(), {'b_uuid': created['uuid']}).first()),
            writing=False)
        with db.reader() as connection:
            through = dict(connection.execute(
                _instance_by_uuid(),
                {'b_uuid': created['uuid']}).first()._mapping)
        self.assertEqual(through, directly)
        self.assertEqual(WHEN, directly['launched_at'])
        self.assertEqual({'k': 'v'}, directly['metadata'])
        self.assertIs(False, directly['locked'])

    def test_row_answers_attributes_and_mapping(self):
        created = self.instance()

        def body(connection):
            self.assertIsInstance(connection, direct.Connection)
            return connection.execute(_instance_by_uuid(),
                                      {'b_uuid': created['uuid']}).first()
        row = db.transaction(body, writing=False)
        self.assertEqual(created['uuid'], row.uuid)
        self.assertEqual(created['uuid'], row._mapping['uuid'])
        self.assertRaises(AttributeError, getattr, row, 'no_such_column')

    def test_insert_returns_the_new_primary_key(self):
        # RETURNING on PostgreSQL, the cursor's lastrowid elsewhere.
        first, second = self.instance(), self.instance()
        self.assertEqual(first['id'] + 1, second['id'])
        self.assertEqual(second, db.instance_get_by_uuid(self.ctx,
                                                         second['uuid']))

    def test_duplicate_arrives_as_the_oslo_db_error(self):
        created = self.instance()
        self.assertRaises(exception.InstanceExists, self.instance,
                          uuid=created['uuid'])

    def test_database_error_before_commit_runs_it_through_sqlalchemy(self):
        calls = self.break_first_connection()
        created = self.instance()
        self.assertEqual(2, len(calls))
        self.assertEqual(created, db.instance_get_by_uuid(self.ctx,
                                                          created['uuid']))
        write_lock = db._SQLITE_WRITE_LOCKS.get(db.get_engine())
        if write_lock is not None:
            # The failed attempt gave its SQLite write turn back.
            self.assertTrue(write_lock.acquire(timeout=0))
            write_lock.release()

    def test_other_errors_propagate_and_write_nothing(self):
        class Refused(Exception):
            pass

        def body(connection):
            db._insert(connection, _RUNS, self.run_values())
            raise Refused()
        self.assertRaises(Refused, db.transaction, body)
        with db.reader() as connection:
            self.assertEqual(0, connection.execute(
                sa.select(sa.func.count()).select_from(_RUNS)).scalar())
        # The connection went back to the pool clean: writes go on.
        db.write_idempotent([('test_insert_run', _insert_run,
                              self.run_values())])
        self.assertEqual('running', self.stored_run()['status'])

    def test_expanding_parameters_run_through_sqlalchemy(self):
        created = self.instance()
        statement = db._template('test_direct_expanding', lambda: sa.select(
            _INSTANCES.c.uuid).where(_INSTANCES.c.uuid.in_(
                sa.bindparam('b_uuids', expanding=True))))
        seen = []

        def body(connection):
            seen.append(type(connection))
            return [row.uuid for row in connection.execute(
                statement, {'b_uuids': [created['uuid'], 'other']})]
        self.assertEqual([created['uuid']],
                         db.transaction(body, writing=False))
        self.assertEqual([direct.Connection, sa.Connection], seen)

    def test_joins_a_transaction_the_caller_holds(self):
        class Abort(Exception):
            pass

        try:
            with db.writer(self.ctx):
                self.instance(uuid='11111111-2222-3333-4444-555555555555')
                raise Abort()
        except Abort:
            pass
        # Rolled back with the caller's transaction.
        self.assertRaises(exception.InstanceNotFound,
                          db.instance_get_by_uuid, self.ctx,
                          '11111111-2222-3333-4444-555555555555')

    def test_failed_commit(self):
        engine = db.get_engine()
        real = engine.raw_connection
        calls = []

        def raw_connection():
            connection = real()
            calls.append(connection)
            if len(calls) == 1:
                connection.commit = mock.Mock(
                    side_effect=engine.dialect.loaded_dbapi.OperationalError(
                        'server gone'))
            return connection

        with mock.patch.object(engine, 'raw_connection', raw_connection):
            if self.backend == 'sqlite':
                # Nothing was committed: run again through SQLAlchemy.
                created = self.instance()
                self.assertEqual(created['uuid'], db.instance_get_by_uuid(
                    self.ctx, created['uuid'])['uuid'])
            else:
                # Committed or not is unknown: not run again.
                self.assertRaises(db_exc.DBConnectionError, self.instance)
                self.assertEqual(1, len(calls))

    def test_statements_are_counted_once(self):
        counter = self.count_statements()
        created = self.instance()
        db.instance_update(self.ctx, created['uuid'],
                           {'task_state': 'spawning'},
                           expected_task_state=['scheduling', None])
        self.assertEqual(['INSERT', 'UPDATE'],
                         [s.split()[0] for s in counter.statements])


class InstanceUpdateForRequestTestCase(_Base):

    def test_update_and_action_together(self):
        created = self.instance(task_state=None, vm_state='active')
        values, action = db.instance_update_for_request(
            self.ctx, created['uuid'], {'task_state': 'deleting'}, 'delete',
            expected_task_state=[None])
        self.assertEqual('deleting', values['task_state'])
        self.assertEqual('delete', action['action'])
        self.assertEqual('deleting', db.instance_get_by_uuid(
            self.ctx, created['uuid'])['task_state'])
        self.assertEqual(['delete'], [a['action'] for a in db.actions_get(
            self.ctx, created['uuid'])])

    def test_conflict_records_no_action(self):
        created = self.instance(task_state='spawning')
        self.assertRaises(exception.UnexpectedTaskStateError,
                          db.instance_update_for_request, self.ctx,
                          created['uuid'], {'task_state': 'deleting'},
                          'delete', expected_task_state=[None])
        self.assertEqual([], db.actions_get(self.ctx, created['uuid']))

    def test_missing_instance(self):
        self.assertRaises(exception.InstanceNotFound,
                          db.instance_update_for_request, self.ctx,
                          str(uuid.uuid4()), {'task_state': 'deleting'},
                          'delete')


class InstanceCreateForRequestTestCase(_Base):

    def test_instance_mappings_and_action_in_one_transaction(self):
        counter = self.count_statements()
        instance, mappings, action = db.instance_create_for_request(
            self.ctx, {'project_id': 'p', 'user_id': 'u',
                       'vm_state': 'building'},
            [{'boot_index': 0, 'source_type': 'image',
              'destination_type': 'local'}], 'create')
        self.assertEqual(3, counter.count)
        self.assertEqual([instance['uuid']],
                         [m['instance_uuid'] for m in mappings])
        self.assertEqual(instance['uuid'], action['instance_uuid'])
        self.assertEqual(instance, db.instance_get_by_uuid(
            self.ctx, instance['uuid']))

    def test_taken_uuid_creates_nothing(self):
        created = self.instance()
        self.assertRaises(
            exception.InstanceExists, db.instance_create_for_request,
            self.ctx, {'uuid': created['uuid']}, [], 'create')
        self.assertEqual([], db.actions_get(self.ctx, created['uuid']))


class BindProcessorTestCase(testtools.TestCase):
    """The direct path binds every value as SQLAlchemy would."""

    VALUES = [
        None,
        WHEN,
        datetime.datetime(2026, 12, 2, 11, 38, 15, 74537),
        datetime.datetime(5, 1, 2, 3, 4, 5, 6),
        datetime.datetime(2026, 12, 2, tzinfo=datetime.UTC),
        datetime.datetime(2026, 12, 2, 1, tzinfo=datetime.timezone(
            datetime.timedelta(hours=2))),
        datetime.date(2026, 12, 2),
    ]

    def test_sqlite_datetimes_bind_as_through_sqlalchemy(self):
        dialect = sqlite.dialect()
        for type_ in (sa.DateTime(), sa.DateTime(timezone=True),
                      sqlite.DATETIME()):
            theirs = type_._cached_bind_processor(dialect)
            ours = direct._bind_processor(type_, dialect)
            self.assertIsNot(theirs, ours)
            for value in self.VALUES:
                self.assertEqual(theirs(value), ours(value), value)

    def test_other_formats_and_dialects_keep_sqlalchemys(self):
        custom = sqlite.DATETIME(
            storage_format='%(year)04d%(month)02d%(day)02d')
        dialect = sqlite.dialect()
        self.assertIs(custom._cached_bind_processor(dialect),
                      direct._bind_processor(custom, dialect))
        for dialect in (mysql.dialect(), postgresql.dialect()):
            type_ = sa.DateTime()
            self.assertIs(type_._cached_bind_processor(dialect),
                          direct._bind_processor(type_, dialect))
