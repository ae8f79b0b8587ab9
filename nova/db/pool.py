"""The connection pool's round trips: ping and reset only when needed.

oslo.db creates every engine with SQLAlchemy's ``pool_pre_ping`` and the
pool's default reset on return, and offers no option for either.  So
every transaction costs two round trips besides its statements and its
COMMIT or ROLLBACK:

* at check-out, a ping (MySQL's COM_PING, PostgreSQL's ``SELECT 1``),
  even for a connection that came back to the pool a millisecond ago;
* at check-in, a ROLLBACK, even when the transaction has just been
  committed or rolled back (SQLAlchemy skips it only when it ends the
  transaction itself as the connection closes, and oslo.db's
  enginefacade always ends it first).

A boot runs 15 transactions over nova-api, nova-conductor and
nova-compute: 30 of its about 75 round trips were these two
(bench/scale.py; MariaDB's general log shows the reset ROLLBACKs).

This module is a SQLAlchemy ``CreateEnginePlugin`` (public API: named
``nova_pool`` in the ``sqlalchemy.plugins`` entry points, enabled by
``plugin=nova_pool`` in the database URL's query, which nova's default
``[database] connection_parameters`` adds).  It turns both off in the
pool's arguments and does the same work only when it is needed, with
SQLAlchemy's public events:

* **ping** at check-out only when the connection has been idle in the
  pool for ``[database] pool_ping_after`` seconds or more (a new
  connection is not pinged).  A failed ping raises DisconnectionError,
  on which the pool drops the connection and opens another, as its own
  pre-ping does.  A connection that died less than that ago (a server
  restart under load) fails at its first statement instead; oslo.db
  turns that into DBConnectionError and nova.db.api retries the whole
  transaction on a new connection (``retry_on_disconnect``), as it does
  for a transaction under way when the server goes.  0 pings at every
  check-out, as oslo.db does.
* **reset** at check-in only when the connection may hold an open
  transaction: one began (the ``begin`` event) and no COMMIT or
  ROLLBACK ended it, or an error was raised on the connection since
  (``handle_error``), or its state is unknown.  The reset is the same
  DBAPI ``rollback()`` the pool would have made.

Where the plugin is not named (an operator's own
``connection_parameters`` without ``plugin=nova_pool``), the engine is
oslo.db's as before, and nova logs a warning once per engine saying so.
"""

from __future__ import annotations

import logging
import time
import weakref
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import CreateEnginePlugin

LOG = logging.getLogger(__name__)

#: The plugin's name (``sqlalchemy.plugins`` entry point, URL query).
NAME = 'nova_pool'
#: What nova's default ``[database] connection_parameters`` holds.
CONNECTION_PARAMETERS = f'plugin={NAME}'

# Keys of the pool record's info dict (kept with the DBAPI connection).
_OPEN = 'nova_pool_open'
_IDLE_SINCE = 'nova_pool_idle_since'

#: Engines the plugin set up (weakly: an engine disposed of is gone).
_configured: weakref.WeakSet[sa.Engine] = weakref.WeakSet()


def _now() -> float:
    return time.monotonic()


def _ping_after() -> float:
    import nova.conf
    return float(nova.conf.CONF.database.pool_ping_after)


class PoolPlugin(CreateEnginePlugin):
    """Pings and resets pooled connections only when needed (see the
    module docstring)."""

    def __init__(self, url: Any, kwargs: dict[str, Any]) -> None:
        super().__init__(url, kwargs)
        self.active = False

    def update_url(self, url: Any) -> Any:
        return url  # no parameters of its own in the URL

    def handle_pool_kwargs(self, pool_cls: type, pool_args: dict[str, Any],
                           ) -> None:
        # Both are arguments of every sqlalchemy.pool.Pool.
        if issubclass(pool_cls, sa.pool.Pool):
            pool_args['pre_ping'] = False
            pool_args['reset_on_return'] = None
            self.active = True

    def engine_created(self, engine: sa.Engine) -> None:
        if not self.active:
            return
        ping_after = _ping_after()
        dialect = engine.dialect
        sa.event.listen(engine, 'connect', _connected)
        sa.event.listen(engine, 'checkin', _checked_in)
        sa.event.listen(engine, 'checkout', _checkout_ping(
            dialect, ping_after))
        sa.event.listen(engine, 'reset', _reset)
        sa.event.listen(engine, 'begin', _began)
        sa.event.listen(engine, 'commit', _ended)
        sa.event.listen(engine, 'rollback', _ended)
        sa.event.listen(engine, 'handle_error', _failed)
        _configured.add(engine)


def applied(engine: sa.Engine) -> bool:
    """Whether the plugin set ``engine`` up."""
    return engine in _configured


def warn_if_not_applied(engine: sa.Engine) -> None:
    """oslo.db's engine-create hook: say once per engine when a server
    database runs without the plugin (each transaction then pays the
    pool's ping and reset)."""
    if engine.dialect.name != 'sqlite' and not applied(engine):
        LOG.warning(
            'The database engine for %s was created without the %s '
            'plugin: every transaction pays a ping and a reset ROLLBACK. '
            'Add "%s" to [database] connection_parameters (nova\'s '
            'default) to avoid them.', engine.url.render_as_string(),
            NAME, CONNECTION_PARAMETERS)


# -- the listeners ------------------------------------------------------------

def _connected(dbapi_connection: Any, record: Any) -> None:
    record.info[_OPEN] = False
    record.info[_IDLE_SINCE] = _now()


def _checked_in(dbapi_connection: Any, record: Any) -> None:
    if record is not None:
        record.info[_IDLE_SINCE] = _now()


def _checkout_ping(dialect: sa.Dialect, ping_after: float) -> Any:
    def checkout(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        idle_since = record.info.get(_IDLE_SINCE)
        if idle_since is not None and _now() - idle_since < ping_after:
            return
        try:
            alive = dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            raise sa_exc.DisconnectionError(
                f'ping failed: {error}') from error
        if not alive:
            raise sa_exc.DisconnectionError('ping failed')
    return checkout


def _reset(dbapi_connection: Any, record: Any, reset_state: Any) -> None:
    if reset_state.terminate_only:
        return
    if record.info.get(_OPEN, True):
        dbapi_connection.rollback()
        record.info[_OPEN] = False


def _mark(connection: sa.Connection | None, is_open: bool) -> None:
    # An invalidated connection (lost, or being dropped) is never put
    # back in the pool, and reading its ``info`` would try to reconnect
    # it in the middle of its failed transaction.
    if connection is not None and not connection.invalidated and \
            not connection.closed:
        connection.info[_OPEN] = is_open


def _began(connection: sa.Connection) -> None:
    _mark(connection, True)


def _ended(connection: sa.Connection) -> None:
    _mark(connection, False)


def _failed(context: Any) -> None:
    # Whatever the error, the transaction's state is unknown: reset it
    # when the connection goes back to the pool.
    _mark(context.connection, True)
