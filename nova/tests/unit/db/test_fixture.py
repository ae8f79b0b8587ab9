"""The Database fixture: fresh, isolated, and honest about missing
servers."""

from __future__ import annotations

import unittest

import fixtures
import sqlalchemy as sa
import testscenarios

import nova.conf
from nova import test
from nova.db import api as db
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
