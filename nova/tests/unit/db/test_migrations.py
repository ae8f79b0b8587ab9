"""The migrations build exactly the schema the models describe."""

from __future__ import annotations

import sqlalchemy as sa
import testscenarios
from alembic import autogenerate
from alembic import migration as alembic_migration

from nova import test
from nova.db import migration, models
from nova.tests.fixtures import database

load_tests = testscenarios.load_tests_apply_scenarios


def schema_drift(engine: sa.Engine, metadata: sa.MetaData) -> list:
    """What alembic's autogenerate would change to make the database
    match ``metadata``; empty when they agree (types included)."""
    with engine.connect() as connection:
        context = alembic_migration.MigrationContext.configure(
            connection, opts={'compare_type': True})
        return autogenerate.compare_metadata(context, metadata)


class TestMigrations(test.TestCase):

    scenarios = database.BACKEND_SCENARIOS
    backend = 'sqlite'

    def setUp(self) -> None:
        super().setUp()
        self.database = self.useFixture(
            database.Database(self.backend, migrate=False))
        assert self.database.engine is not None
        self.engine = self.database.engine

    def test_migrated_schema_matches_models(self) -> None:
        migration.db_sync(engine=self.engine)
        drift = schema_drift(self.engine, models.Base.metadata)
        self.assertEqual([], drift,
                         'The migrations and nova/db/models.py disagree; '
                         'write a migration for the model change')

    def test_drift_is_detected(self) -> None:
        # The check above is only worth something if it can fail.
        migration.db_sync(engine=self.engine)
        metadata = sa.MetaData()
        for table in models.Base.metadata.sorted_tables:
            table.to_metadata(metadata)
        metadata.tables['instances'].append_column(
            sa.Column('not_migrated', sa.Integer))
        drift = schema_drift(self.engine, metadata)
        self.assertIn(('add_column', None, 'instances'),
                      [change[:3] for change in drift
                       if isinstance(change, tuple)])

    def test_version_before_and_after_sync(self) -> None:
        self.assertIsNone(migration.db_version(self.engine))
        migration.db_sync(engine=self.engine)
        self.assertEqual(migration.head_version(),
                         migration.db_version(self.engine))

    def test_sync_twice_is_a_no_op(self) -> None:
        migration.db_sync(engine=self.engine)
        migration.db_sync(engine=self.engine)
        self.assertEqual(migration.head_version(),
                         migration.db_version(self.engine))
        self.assertEqual([], schema_drift(self.engine,
                                          models.Base.metadata))
