"""Alembic environment: runs nova's migrations on a given connection.

:func:`nova.db.migration.db_sync` passes the connection in
``config.attributes['connection']``; without one (plain ``alembic``
commands) the engine comes from nova's ``[database]`` configuration.
"""

from alembic import context

from nova.db import models

config = context.config
target_metadata = models.Base.metadata


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode copies the table.
        render_as_batch=connection.dialect.name == 'sqlite',
        compare_type=True,
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get('connection')
    if connection is not None:
        _run(connection)
        return
    from nova.db import api as db_api
    with db_api.get_engine().connect() as connection:
        _run(connection)


if context.is_offline_mode():
    raise SystemExit('nova migrations run online only (nova-manage db sync)')
run_migrations_online()
