"""The Database fixture: fresh, isolated, and honest about missing
servers."""

from __future__ import annotations

import sqlite3
import unittest

import fixtures
import sqlalchemy as sa
import testscenarios

import nova.conf
from nova import test
from nova.db import api as db
from nova.db import migration, models
from nova.flow import testing
from nova.tests.fixtures import database, services

load_tests = testscenarios.load_tests_apply_scenarios
CONF = nova.conf.CONF


class UnreachableServerTestCase(test.TestCase):

    def setUp(self) -> None:
        super().setUp()
        # Nothing listens on port 1.
        self.useFixture(fixtures.MonkeyPatch(
            'nova.tests.fixtures.database.SERVER_URLS',
            {'mysql': 'mysql+pymysql://root@127.0.0.1:1/',
             'postgresql': 'postgresql+psycopg2://postgres@127.0.0.1:1/x'}))
        self.useFixture(fixtures.MonkeyPatch(
            'nova.tests.fixtures.database._ServerDatabases._by_url', {}))

    def test_skips_by_default(self):
        self.useFixture(fixtures.EnvironmentVariable(services.REQUIRE_ENV))
        for backend in ('mysql', 'postgresql'):
            fixture = database.Database(backend)
            error = self.assertRaises(unittest.SkipTest, fixture.setUp)
            self.assertIn('not reachable', str(error))

    def test_a_server_of_its_own(self):
        self.useFixture(fixtures.EnvironmentVariable(services.REQUIRE_ENV))
        fixture = database.Database(
            'postgresql',
            server_url='postgresql+psycopg2://postgres@127.0.0.1:2/x')
        error = self.assertRaises(unittest.SkipTest, fixture.setUp)
        self.assertIn('127.0.0.1:2/x', str(error))
        self.assertRaises(ValueError, database.Database, 'sqlite',
                          server_url='sqlite://')

    def test_fails_when_services_are_required(self):
        self.useFixture(fixtures.EnvironmentVariable(services.REQUIRE_ENV,
                                                     '1'))
        error = self.assertRaises(database.ServiceUnavailable,
                                  database.Database('mysql').setUp)
        self.assertIn(services.REQUIRE_ENV, str(error))


class DatabaseFixtureTestCase(test.TestCase):

    scenarios = database.BACKEND_SCENARIOS
    backend = 'sqlite'

    def test_points_config_and_db_api_at_a_migrated_database(self):
        fixture = self.useFixture(database.Database(self.backend))
        self.assertEqual(fixture.url, CONF.database.connection)
        self.assertIs(fixture.engine, db.get_engine())
        tables = sa.inspect(fixture.engine).get_table_names()
        self.assertIn('instances', tables)

    def test_each_use_starts_empty(self):
        for _ in range(2):
            with database.Database(self.backend) as fixture:
                # Another test may have used (and emptied) this database.
                self.assertEqual([], db.instance_get_all_by_filters(None))
                db.instance_create(None, {'display_name': 'left behind'})
                self.assertIsNotNone(fixture.url)

    def test_statement_counter_ignores_transaction_control(self):
        fixture = self.useFixture(database.Database(self.backend))
        counter = self.useFixture(database.StatementCounter(fixture.engine))
        db.instance_get_all_by_filters(None)
        self.assertEqual(1, counter.count, counter.statements)


class SQLiteCopiesTestCase(test.TestCase):
    """SQLite databases are copies of one migrated per process; each
    test's copy is its own."""

    def test_a_copy_has_the_newest_schema(self):
        fixture = self.useFixture(database.Database('sqlite'))
        self.assertEqual(migration.head_version(),
                         migration.db_version(fixture.engine))
        self.assertEqual(
            sorted(models.Base.metadata.tables),
            sorted(t for t in sa.inspect(fixture.engine).get_table_names()
                   if t != 'alembic_version'))

    def test_what_a_test_changes_stays_in_its_copy(self):
        with database.Database('sqlite') as first:
            db.instance_create(None, {'display_name': 'left behind'})
            with first.engine.begin() as connection:
                connection.exec_driver_sql('CREATE TABLE leaked (id INT)')
                connection.exec_driver_sql('DROP TABLE key_pairs')
        with database.Database('sqlite') as second:
            self.assertNotEqual(first.url, second.url)
            self.assertEqual([], db.instance_get_all_by_filters(None))
            tables = sa.inspect(second.engine).get_table_names()
            self.assertNotIn('leaked', tables)
            self.assertIn('key_pairs', tables)

    def test_copies_are_separate_files(self):
        directory = self.useFixture(fixtures.TempDir()).path
        paths = [f'{directory}/{name}.sqlite' for name in ('a', 'b')]
        for path in paths:
            testing.create_migrated_sqlite(path)
        with sqlite3.connect(paths[0]) as connection:
            connection.execute('CREATE TABLE only_in_a (id INT)')
        connection.close()
        testing.create_migrated_sqlite(f'{directory}/c.sqlite')
        for path in (paths[1], f'{directory}/c.sqlite'):
            connection = sqlite3.connect(path)
            try:
                names = [row[0] for row in connection.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table'")]
            finally:
                connection.close()
            self.assertNotIn('only_in_a', names)
            self.assertIn('instances', names)
