"""nova's database API: every query and write, as functions.

Conventions
-----------

* Every function takes the request context first (``None`` is accepted
  for internal callers without one).  Transactions come from oslo.db's
  enginefacade (:data:`context_manager`); functions called under one
  ``writer(context)`` block share its transaction.  The functions a boot
  and a delete call put their statements in a function of the connection
  and run it with :func:`transaction`: one enginefacade transaction of
  its own, or the caller's if it holds one open.  There is one execution
  path, SQLAlchemy Core through oslo.db, and only its public API.
* **Reads return plain dicts** (``{column name: value}``, JSON columns
  decoded, timestamps naive UTC) or lists of them.  Dicts, not ORM
  objects: they outlive the session, cross RPC as they are, and never
  load anything lazily.
* **Writes return what they wrote** rather than reading the row back:
  creates return the full row as inserted (defaults included, the new
  ``id`` from the INSERT itself), updates return the values they set
  (with ``updated_at``).  SQL statements are the cost that matters here
  (the boot benchmark counts them), so no function reads before it
  writes: an update is one conditional UPDATE, and only when it matches
  no row is there a second statement, to say why.
* Soft-deleted rows have ``deleted == id``; reads skip them unless the
  context says ``read_deleted = 'yes'`` (or ``'only'``).
* Secrets (``user_data``, ``key_data``, connection_info, admin
  passwords) are stored as given and never logged here.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import ipaddress
import json
import os
import re
import threading
import traceback
import types
import uuid as uuidlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Final, NoReturn, TypeVar, cast

import sqlalchemy as sa
from oslo_db import api as oslo_db_api
from oslo_db import exception as db_exc
from oslo_db.sqlalchemy import enginefacade
from oslo_log import log as logging
from oslo_utils import strutils, timeutils

import nova.conf
from nova import concurrency, exception
from nova.db import models, pool

LOG = logging.getLogger(__name__)
CONF = nova.conf.CONF

Row = dict[str, Any]
_T = TypeVar('_T')

#: The transaction factory of nova's database.  Tests swap its factory
#: (``context_manager.patch_factory``); see nova.tests.fixtures.database.
context_manager = enginefacade.transaction_context()
# SQLite ignores foreign keys unless asked; enforce them as the servers do.
# Not oslo.db's sleep(0) at each connection check-in: other green threads
# get their turn at a check-in once the switch interval has passed
# (_cooperative_checkin).
context_manager.configure(sqlite_fk=True, thread_checkin=False)


def _tune_sqlite(engine: sa.Engine) -> None:
    """Make an SQLite file database fit for a service (nova-all's
    embedded default): one writer at a time, WAL journal.

    Only public API: SQLAlchemy event listeners on the engine oslo.db
    made.  The engine keeps the pool oslo.db chose for it (a NullPool for
    a file: a connection per transaction).

    * One writing transaction at a time (see below).
    * WAL journal with ``synchronous = NORMAL``: a commit appends to the
      log without an fsync (the log is synced at checkpoints), and readers
      never block the writer.  A killed process loses no committed
      transaction; only a power loss or an OS crash can lose the last
      ones, which is the usual trade for an embedded database (MariaDB's
      and PostgreSQL's own settings decide this for them).  With
      ``[database] sqlite_synchronous = false`` oslo.db's
      ``synchronous = OFF`` is left as it is.
    """
    if engine.dialect.name != 'sqlite' or engine.url.database in (
            None, '', ':memory:'):
        return
    # One writing transaction at a time in this process.  SQLite allows
    # one writer per database; a second one gets SQLITE_BUSY and its busy
    # handler sleeps 1, 2, 5, 10 ... ms before trying again, so with
    # concurrent requests each write would wait milliseconds for a lock
    # held microseconds - and under eventlet that sleep blocks every green
    # thread, the holder included.  A lock here hands the turn over at
    # once instead (green under eventlet).  Taken at a transaction's first
    # write, released when its connection goes back to the pool; never
    # waited for longer than SQLite itself would wait, after which SQLite
    # decides as before - so it cannot turn a bug into a hang.
    write_lock = concurrency.Lock()

    @sa.event.listens_for(engine, 'before_cursor_execute')
    def _take_write_lock(connection: sa.Connection, cursor: Any,
                         statement: str, parameters: Any, context: Any,
                         executemany: bool) -> None:
        # Reads, and transaction control: oslo.db sends SQLite's BEGIN
        # as a statement, and a reader's BEGIN must not wait for a writer.
        if statement.startswith(_NOT_WRITES) or \
                'nova_writing' in connection.info:
            return
        _take_sqlite_write_turn(write_lock, connection.info)

    @sa.event.listens_for(engine, 'checkin')
    def _release_write_lock(dbapi_connection: Any, record: Any) -> None:
        if record is not None and record.info.pop('nova_writing', False):
            write_lock.release()

    synchronous = CONF.database.sqlite_synchronous
    # WAL is a property of the database file: once set, every connection
    # opened later is in WAL mode too.  Setting it takes a lock on the
    # file and reads its header, and oslo.db pools file databases with
    # NullPool (a new connection per transaction): done on every connect
    # it was a fifth of the sampled time of nova-all under native
    # threads (py-spy, bench/boot.py).  So only until it has taken.
    wal = [False]

    @sa.event.listens_for(engine, 'connect')
    def _pragmas(dbapi_connection: Any, record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            if not wal[0]:
                mode = cursor.execute('PRAGMA journal_mode = WAL').fetchone()
                wal[0] = bool(mode) and str(mode[0]).lower() == 'wal'
            if synchronous:
                cursor.execute('PRAGMA synchronous = NORMAL')
        finally:
            cursor.close()


context_manager.append_on_engine_create(_tune_sqlite)


def _cooperative_checkin(dbapi_connection: Any, record: Any) -> None:
    concurrency.cooperative_yield()


def _yield_at_checkin(engine: sa.Engine) -> None:
    """Under eventlet, a check-in is where a green thread that has run
    for its time slice lets the others run (see
    nova.concurrency.cooperative_yield)."""
    sa.event.listen(engine, 'checkin', _cooperative_checkin)


context_manager.append_on_engine_create(_yield_at_checkin)
context_manager.append_on_engine_create(pool.warn_if_not_applied)


@sa.event.listens_for(sa.engine.Engine, 'do_connect')
def _green_postgresql_driver(dialect: sa.Dialect, record: Any,
                             cargs: Any, cparams: Any) -> None:
    """Under eventlet, make psycopg2 green before its first connection
    (nova.concurrency.setup leaves psycopg2 unimported, and oslo.db opens
    a connection while it creates the engine, before any per-engine hook
    could run)."""
    if dialect.driver == 'psycopg2':
        concurrency.green_psycopg2()

#: Statements that never take the SQLite write turn.
_NOT_WRITES: Final = ('SELECT', 'BEGIN', 'COMMIT', 'ROLLBACK', 'SAVEPOINT',
                      'RELEASE', 'PRAGMA')
#: The sqlite3 module's default busy timeout.
_SQLITE_WRITE_WAIT: Final = 5.0


def _take_sqlite_write_turn(write_lock: Any, info: dict[str, Any]) -> None:
    """Wait for the write lock; mark ``info`` (a pooled connection's)
    so that the check-in releases it."""
    if write_lock.acquire(timeout=_SQLITE_WRITE_WAIT):
        info['nova_writing'] = True
    else:
        info['nova_writing'] = False
        LOG.warning('No SQLite write turn within %ss; writing anyway',
                    _SQLITE_WRITE_WAIT)


class _Unset:
    def __repr__(self) -> str:
        return 'UNSET'


#: "No expectation" for the compare-and-swap arguments (``None`` is a
#: legitimate expected state).
UNSET: Final = _Unset()

# vm_states.DELETED; the DB layer does not import the compute package.
_VM_DELETED: Final = 'deleted'

def table_of(model: Any) -> sa.Table:
    """A model's table (declarative ``__table__`` is typed as a
    FromClause; for these models it is a Table)."""
    return cast(sa.Table, model.__table__)


_INSTANCES = table_of(models.Instance)
_FAULTS = table_of(models.InstanceFault)
_ACTIONS = table_of(models.InstanceAction)
_EVENTS = table_of(models.InstanceActionEvent)
_RUNS = table_of(models.FlowRun)
_BDMS = table_of(models.BlockDeviceMapping)
_SERVICES = table_of(models.Service)
_NODES = table_of(models.ComputeNode)
_ALLOCATIONS = table_of(models.Allocation)
_FLAVORS = table_of(models.Flavor)
_FLAVOR_PROJECTS = table_of(models.FlavorProject)
_KEY_PAIRS = table_of(models.KeyPair)
_FIXED_IPS = table_of(models.FixedIP)
_VOLUMES = table_of(models.Volume)
_IMAGES = table_of(models.Image)
_MIGRATIONS = table_of(models.Migration)
_QUOTAS = table_of(models.Quota)
_USER_QUOTAS = table_of(models.ProjectUserQuota)
_GROUPS = table_of(models.InstanceGroup)
_GROUP_MEMBERS = table_of(models.InstanceGroupMember)
_AGGREGATES = table_of(models.Aggregate)
_AGGREGATE_HOSTS = table_of(models.AggregateHost)
_CONSOLE_AUTH_TOKENS = table_of(models.ConsoleAuthToken)
_NETWORKS = table_of(models.Network)
_SUBNETS = table_of(models.Subnet)
_SECGROUPS = table_of(models.SecurityGroup)
_SECGROUP_RULES = table_of(models.SecurityGroupRule)
_SECGROUP_PORTS = table_of(models.SecurityGroupPortBinding)


# -- sessions -----------------------------------------------------------------


class _Scope:
    """Stands in for a request context where a caller has none: the
    enginefacade keeps its per-thread transaction state on the object."""


_prepared = False
_prepare_lock = threading.Lock()


def _prepare() -> None:
    """Create the directory of an SQLite database file before first use.

    The default connection points under ``state_path``, which a fresh
    deployment does not have yet.
    """
    global _prepared
    if _prepared:
        return
    with _prepare_lock:
        connection = CONF.database.connection
        if connection and connection.startswith('sqlite'):
            path = sa.engine.make_url(connection).database
            if path and path != ':memory:':
                os.makedirs(os.path.dirname(os.path.abspath(path)),
                            exist_ok=True)
        _prepared = True


#: How many of nova's transaction blocks (writer/reader) this thread (or
#: green thread: nova.cmd monkey-patches before this module is imported)
#: is inside.  A function called inside one joins its transaction and
#: must not retry on its own (see retry_on_disconnect).
_open = threading.local()


@contextlib.contextmanager
def _counted(transaction: contextlib.AbstractContextManager[sa.Connection]
             ) -> Iterator[sa.Connection]:
    _open.depth = getattr(_open, 'depth', 0) + 1
    try:
        with transaction as connection:
            yield connection
    finally:
        _open.depth -= 1


def in_transaction() -> bool:
    """True inside a ``with writer()`` / ``reader()`` block of this
    thread: what a DB API function runs there joins that transaction."""
    return bool(getattr(_open, 'depth', 0))


def writer(context: Any = None) -> contextlib.AbstractContextManager[
        sa.Connection]:
    """A writer transaction for ``context`` (joined if one is open).

    A Core connection, not an ORM session: every query here is a Core
    statement, and a session costs a third more CPU per transaction for
    nothing it would be used for.
    """
    _prepare()
    return _counted(context_manager.writer.connection.using(
        _Scope() if context is None else context))


def reader(context: Any = None) -> contextlib.AbstractContextManager[
        sa.Connection]:
    """A reader transaction for ``context`` (joined if one is open)."""
    _prepare()
    return _counted(context_manager.reader.connection.using(
        _Scope() if context is None else context))


def retry_on_disconnect(function: Callable[..., _T]) -> Callable[..., _T]:
    """``function``, retried while the database cannot be reached.

    When the database server restarts, or a connection to it is lost,
    oslo.db raises DBConnectionError.  A service must not lose the
    write it was making (a flow's state or record: a run whose record
    cannot be written is left unfinished, see nova.flow.recovery), so
    the call is made again, with oslo.db's own retry decorator and
    options: up to ``[database] db_max_retries`` more times (-1: until
    it works), ``[database] db_retry_interval`` seconds apart, doubling
    up to ``[database] db_max_retry_interval`` when
    ``[database] db_inc_retry_interval`` (20 retries over about three
    minutes by default).  Then the error is raised.

    Only a call that runs a transaction of its own is retried: inside a
    ``with writer()`` block the call joins the caller's transaction,
    which is lost with the connection; the caller's own retry (a
    function of this module) re-runs the whole transaction.

    Retrying is safe for reads and for idempotent writes.  A write whose
    COMMIT reached the server just before the connection was lost may
    run twice; a create then fails as a duplicate (the row exists), an
    update writes the same values again.
    """
    @functools.wraps(function)
    def retried(*args: Any, **kwargs: Any) -> _T:
        if getattr(_open, 'depth', 0):
            return function(*args, **kwargs)
        try:
            return function(*args, **kwargs)
        except Exception as error:
            if not connection_lost(error):
                raise
            retries = CONF.database.db_max_retries
            if retries == 0:
                raise
            LOG.warning('Database connection lost in %s (%s); retrying '
                        '(up to %s times)', getattr(
                            function, '__qualname__', function),
                        error, 'unlimited' if retries < 0 else retries)
        # The first retry at once (a connection lost while the pool held
        # it: oslo.db has dropped the pool, a new one may work), then
        # oslo.db's intervals.
        database = CONF.database
        return oslo_db_api.wrap_db_retry(
            max_retries=retries - 1 if retries > 0 else -1,
            retry_interval=database.db_retry_interval,
            inc_retry_interval=database.db_inc_retry_interval,
            max_retry_interval=database.db_max_retry_interval,
            retry_on_disconnect=True,
            exception_checker=connection_lost)(function)(*args, **kwargs)
    return retried


def connection_lost(error: BaseException) -> bool:
    """True when ``error`` says the database could not be reached.

    oslo.db raises DBConnectionError for what it recognises.  An error
    raised while the pool opens a new connection can reach nova as
    SQLAlchemy's own OperationalError, when oslo.db's filters do not
    know the driver's message (psycopg2 under eventlet says only
    "Connection refused"): an OperationalError that oslo.db left as it
    was is a failure to connect, or one SQLAlchemy marked as a lost
    connection.
    """
    if isinstance(error, db_exc.DBConnectionError):
        return True
    if isinstance(error, sa.exc.DBAPIError):
        return (isinstance(error, sa.exc.OperationalError)
                or error.connection_invalidated)
    return False


#: The name the recorder uses; the same as :func:`writer`.
writer_connection = writer


def get_engine() -> sa.Engine:
    """The writer engine (starts the enginefacade if needed)."""
    _prepare()
    return context_manager.writer.get_engine()


# -- statement templates ------------------------------------------------------
# Building a statement (columns compared, values coerced into bind
# parameters) and computing its cache key costs SQLAlchemy more CPU than
# executing it does - on SQLite about twice as much.  The statements of the
# hot paths (what a boot and a delete run) are therefore built once per
# shape, with bind parameters for what varies, and executed with a
# parameter dict; SQLAlchemy finds their compiled form by their memoized
# cache key.  Bind parameter names start with ``b_``, so they never clash
# with the column names an UPDATE takes its SET clause from.

_TEMPLATES: dict[Any, Any] = {}


def _template(key: Any, build: Callable[[], Any]) -> Any:
    """The statement built by ``build`` for ``key``, built once."""
    statement = _TEMPLATES.get(key)
    if statement is None:
        statement = _TEMPLATES.setdefault(key, build())
    return statement


def _bind(name: str, column: sa.ColumnElement[Any]) -> sa.BindParameter:
    """A bind parameter typed like ``column`` (so that datetimes and JSON
    are converted as the column's own values are)."""
    return sa.bindparam(name, type_=column.type)


def _plain(values: dict[str, Any]) -> bool:
    """True when no value is an SQL expression (a template takes values
    as parameters only)."""
    return not any(isinstance(v, sa.ClauseElement) for v in values.values())


def _match_shape(expected: Any) -> tuple[int, bool] | None:
    """What ``_matches`` builds for ``expected``: (how many values, has
    None); None for UNSET."""
    if expected is UNSET:
        return None
    wanted = _as_list(expected)
    return (sum(v is not None for v in wanted),
            any(v is None for v in wanted))


def _match_template(column: sa.ColumnElement[Any], name: str,
                    shape: tuple[int, bool]) -> Any:
    """``_matches`` with the values as the parameters ``name_0``,
    ``name_1`` ... (one each rather than an expanding parameter, which
    SQLAlchemy renders anew at each execution)."""
    count, has_none = shape
    clauses = []
    if count:
        clauses.append(column.in_([sa.bindparam(f'{name}_{i}')
                                   for i in range(count)]))
    if has_none:
        clauses.append(column.is_(None))
    return sa.or_(*clauses) if clauses else sa.false()


def _match_parameters(name: str, expected: Any) -> dict[str, Any]:
    """The parameters of ``_match_template(column, name, ...)``."""
    return {f'{name}_{i}': value for i, value in enumerate(
        v for v in _as_list(expected) if v is not None)}


# -- transactions -------------------------------------------------------------
# The functions of the hot paths (what a boot and a delete run) put their
# statements in a function of the connection and run it with
# transaction(), one enginefacade transaction each (the caller's, when it
# holds one open for the same context).


#: For the writes that take row locks on both ``compute_nodes`` and
#: ``allocations`` (claims, releases, the hand-over of a move, a compute
#: node's report): under concurrency MariaDB may pick one of two such
#: transactions as a deadlock victim, which is to be retried, as upstream
#: nova retries its placement and compute node writes.  Only for
#: functions that run a transaction of their own (not joined to a
#: caller's): a retry re-runs the whole transaction.
retry_on_deadlock = oslo_db_api.wrap_db_retry(
    max_retries=5, retry_interval=0.05, inc_retry_interval=True,
    max_retry_interval=0.5, retry_on_deadlock=True, jitter=True)


def transaction(body: Callable[[Any], _T], context: Any = None, *,
                writing: bool = True) -> _T:
    """``body(connection)`` in one transaction; its return value.

    A transaction of its own, or, inside a ``with writer(context)`` block
    the caller holds for ``context``, that transaction (oslo.db's
    enginefacade joins it).
    """
    with (writer if writing else reader)(context) as connection:
        return body(connection)


#: (key, build, parameters): a statement for :func:`write_idempotent`.
Write = tuple[Any, Callable[[sa.Dialect], Any], dict[str, Any]]


def write_idempotent(writes: Sequence[Write], context: Any = None) -> None:
    """Run ``writes`` in one transaction of their own (the flow
    recorder's rows), or in the writer transaction open for ``context``.

    Each write is ``(key, build, parameters)``: ``build(dialect)`` returns
    the statement, built and compiled once per key, dialect and parameter
    names (an UPDATE's SET clause is the parameters that name columns).
    """
    def body(connection: Any) -> None:
        dialect = connection.dialect
        for key, build, values in writes:
            connection.execute(_template(
                ('write_idempotent', key, dialect.name),
                functools.partial(build, dialect)), values)

    transaction(body, context)


# -- helpers ------------------------------------------------------------------


def _as_dict(row: sa.Row | None) -> Row | None:
    return None if row is None else dict(row._mapping)


def _as_dicts(rows: Iterable[sa.Row]) -> list[Row]:
    return [dict(row._mapping) for row in rows]


def _read_first(context: Any, statement: Any,
                parameters: dict[str, Any]) -> Row | None:
    """The first row of a template query, in a read transaction."""
    return transaction(lambda connection: _as_dict(
        connection.execute(statement, parameters).first()),
        context, writing=False)


def _read_all(context: Any, statement: Any,
              parameters: dict[str, Any] | None = None) -> list[Row]:
    """Every row of a template query, in a read transaction."""
    return transaction(lambda connection: _as_dicts(
        connection.execute(statement, parameters)), context, writing=False)


def _full_row(table: sa.Table, values: dict[str, Any]) -> Row:
    """``values`` completed with the column defaults, in column order."""
    unknown = set(values) - set(table.c.keys())
    if unknown:
        raise ValueError(f'{table.name} has no column(s) '
                         f'{", ".join(sorted(unknown))}')
    return {column.key: values[column.key] if column.key in values
            else _default_value(column.default) for column in table.c}


def _default_value(default: Any) -> Any:
    """The value a column's ``default`` gives a row that does not set the
    column (None for a server-side default)."""
    if default is None:
        return None
    if default.is_callable:
        # SQLAlchemy wraps the callable to take an execution context.
        return default.arg(None)
    return default.arg if default.is_scalar else None


def _insert(session: sa.Connection, table: sa.Table,
            values: dict[str, Any]) -> Row:
    """INSERT one row; returns it as stored, without reading it back."""
    row = _full_row(table, values)
    to_write = dict(row)
    autoincrement = 'id' in table.c and table.c.id.autoincrement is True
    if autoincrement and to_write.get('id') is None:
        del to_write['id']
    if _plain(to_write):
        result = session.execute(_template(
            ('insert', table.name), lambda: sa.insert(table)), to_write)
    else:
        result = session.execute(sa.insert(table).values(to_write))
    if autoincrement and row.get('id') is None:
        primary_key = result.inserted_primary_key
        assert primary_key is not None  # an INSERT's result has one
        row['id'] = primary_key[0]
    return row


def _update_values(values: dict[str, Any],
                   now: datetime.datetime | None = None) -> dict[str, Any]:
    values = dict(values)
    values.setdefault('updated_at', now or timeutils.utcnow())
    return values


def _soft_delete_values(table: sa.Table,
                        now: datetime.datetime | None = None
                        ) -> dict[str, Any]:
    now = now or timeutils.utcnow()
    return {'deleted': table.c.id, 'deleted_at': now, 'updated_at': now}


def _read_deleted(context: Any, override: str | None = None) -> str:
    if override is not None:
        return override
    return getattr(context, 'read_deleted', None) or 'no'


def _deleted_clause(table: sa.Table, read_deleted: str) -> Any:
    if read_deleted == 'yes':
        return sa.true()
    if read_deleted == 'only':
        return table.c.deleted != 0
    return table.c.deleted == 0


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, (list, tuple, set, frozenset)):
        return list(value)
    return [value]


def _matches(column: sa.ColumnElement, expected: Any) -> Any:
    """``column`` is one of ``expected`` (a value or a list; None = NULL)."""
    wanted = _as_list(expected)
    values = [v for v in wanted if v is not None]
    clauses = []
    if values:
        clauses.append(column.in_(values))
    if len(values) != len(wanted):
        clauses.append(column.is_(None))
    return sa.or_(*clauses) if clauses else sa.false()


def _value_matches(actual: Any, expected: Any) -> bool:
    return actual in _as_list(expected)


def _filter_value(column: sa.ColumnElement, value: Any) -> Any:
    if isinstance(value, (list, tuple, set, frozenset)):
        return _matches(column, value)
    if value is None:
        return column.is_(None)
    return column == value


def _parse_time(value: Any) -> datetime.datetime:
    if isinstance(value, datetime.datetime):
        moment = value
    else:
        moment = timeutils.parse_isotime(str(value))
    return timeutils.normalize_time(moment)


def _is_true(value: Any) -> bool:
    if isinstance(value, str):
        return strutils.bool_from_string(value, strict=True)
    return bool(value)


def _escape_like(text: str) -> str:
    return (text.replace('\\', '\\\\').replace('%', '\\%')
            .replace('_', '\\_'))


def _sort_clauses(table: sa.Table, sort_keys: Sequence[str],
                  sort_dirs: Sequence[str]) -> list[Any]:
    """ORDER BY with NULL the lowest value on every backend (MySQL and
    SQLite put NULLs first ascending, PostgreSQL last)."""
    clauses = []
    for key, direction in zip(sort_keys, sort_dirs, strict=True):
        column = table.c[key]
        order = sa.asc if direction == 'asc' else sa.desc
        if column.nullable and not column.primary_key:
            clauses.append(order(sa.case((column.is_(None), 0), else_=1)))
        clauses.append(order(column))
    return clauses


def _after_marker(table: sa.Table, sort_keys: Sequence[str],
                  sort_dirs: Sequence[str], marker: Row) -> Any:
    """Rows strictly after ``marker`` in the order of _sort_clauses."""
    alternatives = []
    for index, key in enumerate(sort_keys):
        equal = []
        for previous in sort_keys[:index]:
            column = table.c[previous]
            value = marker[previous]
            equal.append(column.is_(None) if value is None
                         else column == value)
        column = table.c[key]
        value = marker[key]
        if sort_dirs[index] == 'asc':
            after = (column.is_not(None) if value is None
                     else column > value)
        else:
            after = (sa.false() if value is None
                     else sa.or_(column < value, column.is_(None)))
        alternatives.append(sa.and_(*equal, after))
    return sa.or_(*alternatives)


def _sort_spec(table: sa.Table, sort_keys: Sequence[str] | None,
               sort_dirs: Sequence[str] | None, default_keys: Sequence[str],
               default_dir: str, unique_key: str = 'id',
               allowed: Iterable[str] | None = None,
               ) -> tuple[list[str], list[str]]:
    keys = list(sort_keys or default_keys)
    dirs = [d.lower() for d in (sort_dirs or [])]
    allowed_keys = set(allowed) if allowed is not None else set(
        table.c.keys())
    for key in keys:
        if key not in allowed_keys:
            raise exception.InvalidSortKey(sort_key=key)
    for direction in dirs:
        if direction not in ('asc', 'desc'):
            raise exception.Invalid(
                reason=f'Sort direction {direction} is not asc or desc.')
    if len(dirs) > len(keys):
        raise exception.Invalid(reason='More sort directions than keys.')
    dirs += [dirs[0] if dirs else default_dir] * (len(keys) - len(dirs))
    if unique_key not in keys:
        # A total order, or pages would skip and repeat rows.
        keys.append(unique_key)
        dirs.append(dirs[0])
    return keys, dirs


def _paginate(session: sa.Connection, query: sa.Select, table: sa.Table,
              sort_keys: list[str], sort_dirs: list[str],
              limit: int | None, marker_row: Row | None) -> list[Row]:
    if marker_row is not None:
        query = query.where(_after_marker(table, sort_keys, sort_dirs,
                                          marker_row))
    query = query.order_by(*_sort_clauses(table, sort_keys, sort_dirs))
    if limit is not None:
        query = query.limit(int(limit))
    return _as_dicts(session.execute(query))


def _returning_delete(session: sa.Connection, table: sa.Table, where: Any,
                      columns: Sequence[sa.Column],
                      parameters: dict[str, Any] | None = None,
                      key: str | None = None) -> list[sa.Row]:
    """DELETE rows and return some of their columns, in one statement
    where the backend can (PostgreSQL, SQLite, MariaDB), else lock and
    read them first.

    With ``key``, ``where`` uses bind parameters (given in
    ``parameters``) and the statements are templates kept under ``key``.
    """
    def cached(kind: str, build: Callable[[], Any]) -> Any:
        return build() if key is None else _template((key, kind), build)

    parameters = parameters or {}
    if session.dialect.delete_returning:
        return list(session.execute(cached(
            'delete_returning',
            lambda: sa.delete(table).where(where).returning(*columns)),
            parameters))
    rows = list(session.execute(cached(
        'select_for_update',
        lambda: sa.select(*columns).where(where).with_for_update()),
        parameters))
    if rows:
        session.execute(cached('delete', lambda: sa.delete(table).where(
            where)), parameters)
    return rows


# -- instances ----------------------------------------------------------------


def instance_create(context: Any, values: dict[str, Any]) -> Row:
    """Create an instance; ``uuid`` is generated when not given.

    :raises InstanceExists: the UUID is taken.
    """
    values = _instance_values(values)
    try:
        return transaction(
            lambda connection: _insert(connection, _INSTANCES, values),
            context)
    except db_exc.DBDuplicateEntry:
        raise exception.InstanceExists(name=values['uuid']) from None


def _instance_values(values: dict[str, Any]) -> dict[str, Any]:
    values = dict(values)
    values.setdefault('uuid', str(uuidlib.uuid4()))
    for key, empty in (('metadata', dict), ('system_metadata', dict),
                       ('tags', list), ('security_groups', list)):
        if values.get(key) is None:
            values[key] = empty()
    return values


def instance_create_for_request(
        context: Any, values: dict[str, Any],
        block_device_mappings: Sequence[dict[str, Any]], action: str,
        group_id: int | None = None,
) -> tuple[Row, list[Row], Row]:
    """Create an instance, its block device mappings and the instance
    action of the request that creates it, in one transaction: they exist
    together or not at all.  Returns (instance, mappings, action).
    With ``group_id`` the instance joins that server group in the same
    transaction.

    :raises InstanceExists: the UUID is taken.
    """
    values = _instance_values(values)
    now = timeutils.utcnow()
    mappings = [dict(bdm, instance_uuid=values['uuid'])
                for bdm in block_device_mappings]
    for bdm in mappings:
        bdm.setdefault('uuid', str(uuidlib.uuid4()))
    action_values = _action_values(context, values['uuid'], action, None,
                                   now)

    def body(connection: Any) -> tuple[Row, list[Row], Row]:
        result = (_insert(connection, _INSTANCES, values),
                  [_insert(connection, _BDMS, bdm) for bdm in mappings],
                  _insert(connection, _ACTIONS, action_values))
        if group_id is not None:
            _insert(connection, _GROUP_MEMBERS,
                    {'group_id': group_id, 'instance_uuid': values['uuid']})
        return result

    try:
        return transaction(body, context)
    except db_exc.DBDuplicateEntry:
        raise exception.InstanceExists(name=values['uuid']) from None


def instance_get_by_uuid(context: Any, instance_uuid: str,
                         read_deleted: str | None = None) -> Row:
    """:raises InstanceNotFound:"""
    t = _INSTANCES
    deleted = _read_deleted(context, read_deleted)
    query = _template(('instance_get', deleted), lambda: sa.select(t).where(
        t.c.uuid == sa.bindparam('b_uuid'), _deleted_clause(t, deleted)))
    row = _read_first(context, query, {'b_uuid': instance_uuid})
    if row is None:
        raise exception.InstanceNotFound(instance_id=instance_uuid)
    return row


# Filters that are plain column comparisons (a list value means "any of").
_INSTANCE_EXACT_FILTERS: Final = frozenset({
    'uuid', 'project_id', 'user_id', 'host', 'node', 'vm_state',
    'task_state', 'power_state', 'image_ref', 'kernel_id', 'ramdisk_id',
    'key_name', 'reservation_id', 'availability_zone', 'hostname',
    'display_name', 'launch_index', 'locked', 'config_drive', 'launched_on',
})
# Never a sort key: big or secret columns.
_INSTANCE_UNSORTABLE: Final = frozenset({
    'flavor', 'user_data', 'key_data', 'metadata', 'system_metadata', 'tags',
    'security_groups', 'display_description'})


def _instance_conditions(context: Any, filters: dict[str, Any]) -> list[Any]:
    t = _INSTANCES
    filters = dict(filters)
    conditions: list[Any] = []
    changes_since = filters.pop('changes-since',
                                filters.pop('changes_since', None))
    changes_before = filters.pop('changes-before',
                                 filters.pop('changes_before', None))
    deleted = filters.pop('deleted', None)
    # Rows never updated have updated_at NULL; they changed when created.
    changed = sa.func.coalesce(t.c.updated_at, t.c.created_at)
    if changes_since is not None:
        conditions.append(changed >= _parse_time(changes_since))
    if changes_before is not None:
        conditions.append(changed <= _parse_time(changes_before))
    if deleted is not None:
        conditions.append(t.c.deleted != 0 if _is_true(deleted)
                          else t.c.deleted == 0)
    elif changes_since is None and changes_before is None:
        # "What changed" includes what was deleted, as upstream.
        conditions.append(_deleted_clause(t, _read_deleted(context)))
    name = filters.pop('name', None)
    if name:
        conditions.append(t.c.display_name.regexp_match(name))
    ips = _FIXED_IPS
    for key, version_test in (('ip', ips.c.address.not_like('%:%')),
                              ('ip6', ips.c.address.like('%:%'))):
        pattern = filters.pop(key, None)
        if pattern:
            conditions.append(t.c.uuid.in_(
                sa.select(ips.c.instance_uuid).where(
                    version_test, ips.c.address.regexp_match(pattern))))
    if 'image' in filters:
        # The API's name for image_ref.
        filters.setdefault('image_ref', filters.pop('image'))
    # Tags are a JSON list: a tag matches as its quoted JSON string.
    for key, combine, negate in (('tags', sa.and_, False),
                                 ('tags-any', sa.or_, False),
                                 ('not-tags', sa.and_, True),
                                 ('not-tags-any', sa.or_, True)):
        tags = filters.pop(key, None)
        if not tags:
            continue
        if isinstance(tags, str):
            tags = tags.split(',')
        clause = combine(*(
            # type_coerce: match the stored text, not a JSON-encoded
            # pattern.
            sa.type_coerce(t.c.tags, sa.Text).like(
                '%' + _escape_like(json.dumps(tag)) + '%', escape='\\')
            for tag in tags))
        conditions.append(sa.not_(clause) if negate else clause)
    for key, value in filters.items():
        if key in _INSTANCE_EXACT_FILTERS:
            conditions.append(_filter_value(t.c[key], value))
        else:
            # Upstream ignores filters it does not know; so does this.
            LOG.debug('Ignoring unknown instance filter %s', key)
    return conditions


def instance_get_all_by_filters(context: Any,
                                filters: dict[str, Any] | None = None,
                                limit: int | None = None,
                                marker: str | None = None,
                                sort_keys: Sequence[str] | None = None,
                                sort_dirs: Sequence[str] | None = None,
                                ) -> list[Row]:
    """Instances matching ``filters``, sorted and paged.

    Filters: exact-match columns (``project_id``, ``user_id``, ``host``,
    ``node``, ``uuid``, ``vm_state``, ``task_state``, ``hostname``,
    ``reservation_id``, ``availability_zone``, ``key_name``,
    ``image_ref`` (or ``image``), ``locked`` ...; a list means "any of"),
    ``name`` (a regular expression on display_name), ``ip`` / ``ip6`` (a
    regular expression on the instance's IPv4 / IPv6 addresses),
    ``tags`` / ``tags-any`` / ``not-tags`` / ``not-tags-any``,
    ``changes-since`` / ``changes-before`` (these
    include deleted instances) and ``deleted`` (True: only deleted,
    False: only live; default: the context's read_deleted).  The API maps
    its ``status`` to ``vm_state`` before calling.

    Sorted by ``sort_keys`` (default ``created_at``, ``id``) and
    ``sort_dirs`` (default ``desc``); ``marker`` is the UUID of the last
    instance of the previous page.

    :raises MarkerNotFound:
    :raises InvalidSortKey:
    """
    t = _INSTANCES
    keys, dirs = _sort_spec(
        t, sort_keys, sort_dirs, ('created_at',), 'desc',
        allowed=set(t.c.keys()) - _INSTANCE_UNSORTABLE)
    with reader(context) as session:
        marker_row = None
        if marker is not None:
            marker_row = _as_dict(session.execute(
                sa.select(*(t.c[k] for k in keys)).where(
                    t.c.uuid == marker)).first())
            if marker_row is None:
                raise exception.MarkerNotFound(marker=marker)
        query = sa.select(t).where(*_instance_conditions(context,
                                                         filters or {}))
        return _paginate(session, query, t, keys, dirs, limit, marker_row)


def instance_update(context: Any, instance_uuid: str,
                    values: dict[str, Any],
                    expected_task_state: Any = UNSET,
                    expected_vm_state: Any = UNSET) -> Row:
    """Set ``values`` on a live instance, as one conditional UPDATE.

    ``expected_task_state`` / ``expected_vm_state`` (a value or a list;
    ``None`` means "no task") make it a compare-and-swap: the row is only
    written if its current state is one of them.  Returns the values
    written (``updated_at`` included); the caller already holds the rest.

    :raises InstanceNotFound:
    :raises UnexpectedTaskStateError: the task state did not match.
    :raises UnexpectedVMStateError: the vm_state did not match.
    """
    values = _update_values(values)
    current = transaction(lambda connection: _instance_update_in(
        connection, instance_uuid, values, expected_task_state,
        expected_vm_state), context)
    if current is None:
        return values
    _raise_update_conflict(instance_uuid, current, expected_task_state,
                           expected_vm_state)


def _instance_update_in(connection: Any, instance_uuid: str,
                        values: dict[str, Any], expected_task_state: Any,
                        expected_vm_state: Any) -> Any:
    """instance_update's statements: None when the row was written, else
    the row's current (task_state, vm_state) - or the _GONE marker."""
    t = _INSTANCES
    result = connection.execute(*_instance_update_statement(
        instance_uuid, values, expected_task_state, expected_vm_state))
    if result.rowcount:
        return None
    # Nothing matched: one more statement, only on this path, to say why.
    current = connection.execute(_template(
        'instance_states', lambda: sa.select(
            t.c.task_state, t.c.vm_state).where(
            t.c.uuid == sa.bindparam('b_uuid'), t.c.deleted == 0)),
        {'b_uuid': instance_uuid}).first()
    return _GONE if current is None else current


#: instance_update's "no such live instance".
_GONE: Final = object()


def _raise_update_conflict(instance_uuid: str, current: Any,
                           expected_task_state: Any,
                           expected_vm_state: Any) -> NoReturn:
    if current is _GONE:
        raise exception.InstanceNotFound(instance_id=instance_uuid)
    if expected_vm_state is not UNSET and not _value_matches(
            current.vm_state, expected_vm_state):
        raise exception.UnexpectedVMStateError(
            instance_uuid=instance_uuid, expected=expected_vm_state,
            actual=current.vm_state)
    # Either the task state differs, or it changed back between the two
    # statements; a conflict either way.
    raise exception.UnexpectedTaskStateError(
        instance_uuid=instance_uuid,
        expected=(None if expected_task_state is UNSET
                  else expected_task_state),
        actual=current.task_state)


def instance_update_for_request(context: Any, instance_uuid: str,
                                values: dict[str, Any], action: str,
                                expected_task_state: Any = UNSET,
                                expected_vm_state: Any = UNSET,
                                ) -> tuple[Row, Row]:
    """instance_update and action_start of the request that changes the
    instance, in one transaction: the action is recorded if and only if
    the update happened.  Returns (values written, action).

    :raises InstanceNotFound:
    :raises UnexpectedTaskStateError:
    :raises UnexpectedVMStateError:
    """
    values = _update_values(values)
    action_values = _action_values(context, instance_uuid, action, None,
                                   None)

    def body(connection: Any) -> tuple[Any, Row | None]:
        current = _instance_update_in(connection, instance_uuid, values,
                                      expected_task_state, expected_vm_state)
        if current is not None:
            return current, None
        return None, _insert(connection, _ACTIONS, action_values)

    current, action_row = transaction(body, context)
    if action_row is None:
        _raise_update_conflict(instance_uuid, current, expected_task_state,
                               expected_vm_state)
    return values, action_row


def _instance_update_statement(instance_uuid: str, values: dict[str, Any],
                               expected_task_state: Any,
                               expected_vm_state: Any) -> tuple[Any, ...]:
    """(statement, parameters) of instance_update's UPDATE."""
    t = _INSTANCES
    if not _plain(values):
        conditions = [t.c.uuid == instance_uuid, t.c.deleted == 0]
        if expected_task_state is not UNSET:
            conditions.append(_matches(t.c.task_state, expected_task_state))
        if expected_vm_state is not UNSET:
            conditions.append(_matches(t.c.vm_state, expected_vm_state))
        return (sa.update(t).where(*conditions).values(values),)
    task_shape = _match_shape(expected_task_state)
    vm_shape = _match_shape(expected_vm_state)

    def build() -> Any:
        conditions = [t.c.uuid == sa.bindparam('b_uuid'), t.c.deleted == 0]
        if task_shape is not None:
            conditions.append(_match_template(t.c.task_state, 'b_task',
                                              task_shape))
        if vm_shape is not None:
            conditions.append(_match_template(t.c.vm_state, 'b_vm',
                                              vm_shape))
        return sa.update(t).where(*conditions)

    # The SET clause comes from the parameters' column names.
    statement = _template(('instance_update', frozenset(values),
                           task_shape, vm_shape), build)
    parameters = dict(values, b_uuid=instance_uuid)
    if task_shape is not None:
        parameters.update(_match_parameters('b_task', expected_task_state))
    if vm_shape is not None:
        parameters.update(_match_parameters('b_vm', expected_vm_state))
    return statement, parameters


def instance_destroy(context: Any, instance_uuid: str) -> None:
    """Soft-delete an instance and its block device mappings.

    Sets vm_state ``deleted``, clears the task state and stamps
    ``terminated_at`` (if unset) in the same statement.  Destroying an
    instance that is already deleted does nothing, so a resumed terminate
    can run it again.

    :raises InstanceNotFound: no such instance, deleted or not.
    """
    t, b = _INSTANCES, _BDMS

    def build_instance() -> Any:
        now = _bind('b_now', t.c.deleted_at)
        return sa.update(t).where(
            t.c.uuid == sa.bindparam('b_uuid'), t.c.deleted == 0).values(
            deleted=t.c.id, deleted_at=now, updated_at=now,
            vm_state=_VM_DELETED, task_state=None,
            terminated_at=sa.func.coalesce(t.c.terminated_at, now))

    def build_bdms() -> Any:
        now = _bind('b_now', b.c.deleted_at)
        return sa.update(b).where(
            b.c.instance_uuid == sa.bindparam('b_uuid'), b.c.deleted == 0,
        ).values(deleted=b.c.id, deleted_at=now, updated_at=now)

    parameters = {'b_uuid': instance_uuid, 'b_now': timeutils.utcnow()}

    def body(connection: Any) -> bool:
        """False when there is no such instance, deleted or not."""
        result = connection.execute(
            _template('instance_destroy', build_instance), parameters)
        if not result.rowcount:
            return connection.execute(sa.select(t.c.id).where(
                t.c.uuid == instance_uuid)).first() is not None
        connection.execute(_template('instance_destroy_bdms', build_bdms),
                           parameters)
        return True

    if not transaction(body, context):
        raise exception.InstanceNotFound(instance_id=instance_uuid)


def instance_usage_by_project(context: Any, project_id: str,
                              user_id: str | None = None) -> dict[str, int]:
    """Live instances, vCPUs and RAM of a project (for quotas)."""
    t = _INSTANCES
    conditions = [t.c.project_id == project_id, t.c.deleted == 0]
    if user_id is not None:
        conditions.append(t.c.user_id == user_id)
    with reader(context) as session:
        row = session.execute(sa.select(
            sa.func.count(t.c.id),
            sa.func.coalesce(sa.func.sum(t.c.vcpus), 0),
            sa.func.coalesce(sa.func.sum(t.c.memory_mb), 0),
        ).where(*conditions)).one()
    return {'instances': int(row[0]), 'cores': int(row[1]),
            'ram': int(row[2])}


def instance_get_active_by_window(context: Any, begin: datetime.datetime,
                                  end: datetime.datetime,
                                  project_id: str | None = None,
                                  ) -> list[Row]:
    """Instances, deleted ones included, that existed at some time in
    [begin, end] (not terminated before ``begin``, launched or created
    by ``end``), oldest first: what usage is reported for."""
    t = _INSTANCES
    conditions = [
        sa.or_(t.c.terminated_at.is_(None), t.c.terminated_at >= begin),
        sa.func.coalesce(t.c.launched_at, t.c.created_at) <= end]
    if project_id is not None:
        conditions.append(t.c.project_id == project_id)
    with reader(context) as session:
        return _as_dicts(session.execute(
            sa.select(t).where(*conditions).order_by(t.c.created_at,
                                                     t.c.id)))


# -- instance faults ----------------------------------------------------------


# user_data as a key with a quoted value, as a dict repr or JSON shows it.
_USER_DATA = re.compile(
    r"""(['"]?user_data['"]?\s*[:=]\s*)(['"])(?:(?!\2).)*\2""",
    re.DOTALL)


def mask_secrets(text: str | None) -> str | None:
    """``text`` with passwords and user data replaced by ``***``.

    For what is stored from exceptions (tracebacks, fault details, flow
    records): their text can quote the request that failed.
    """
    if text is None:
        return None
    text = strutils.mask_password(text)
    return _USER_DATA.sub(r'\1\2***\2', text)


_mask = mask_secrets


def instance_fault_create(context: Any, instance_uuid: str,
                          fault: BaseException | str,
                          host: str | None = None, *,
                          code: int | None = None,
                          details: str | None = None) -> Row:
    """Record what went wrong with an instance (``server show`` fault).

    ``fault`` is the exception (or a message).  As upstream: a nova
    exception gives its code and message; any other exception is a 500
    whose message is the exception's class name only (its text may hold
    internals) and whose details carry the traceback.
    """
    if isinstance(fault, BaseException):
        fault_code = getattr(fault, 'code', None)
        if code is None:
            code = fault_code if isinstance(fault_code, int) else 500
        if hasattr(fault, 'format_message'):
            message = fault.format_message()
        else:
            message = type(fault).__name__
        if details is None:
            if code >= 500:
                details = ''.join(traceback.format_exception(fault))
            else:
                details = str(fault)
    else:
        message = str(fault)
        code = 500 if code is None else code
    values = {'instance_uuid': instance_uuid, 'code': code,
              'message': (_mask(message) or '')[:255],
              'details': _mask(details), 'host': host}
    with writer(context) as session:
        return _insert(session, _FAULTS, values)


def instance_fault_get_by_instance_uuids(context: Any,
                                         instance_uuids: Sequence[str],
                                         latest: bool = False,
                                         ) -> dict[str, list[Row]]:
    """Faults per instance, newest first (only the newest if ``latest``)."""
    f = _FAULTS
    faults: dict[str, list[Row]] = {u: [] for u in instance_uuids}
    if not instance_uuids:
        return faults
    with reader(context) as session:
        rows = session.execute(
            sa.select(f).where(f.c.instance_uuid.in_(list(instance_uuids)),
                               f.c.deleted == 0)
            .order_by(f.c.created_at.desc(), f.c.id.desc()))
        for row in _as_dicts(rows):
            bucket = faults[row['instance_uuid']]
            if latest and bucket:
                continue
            bucket.append(row)
    return faults


# -- instance actions and events ----------------------------------------------


def action_start(context: Any, instance_uuid: str, action: str, *,
                 request_id: str | None = None,
                 start_time: datetime.datetime | None = None,
                 ) -> Row:
    """Record a user request on an instance (os-instance-actions).

    ``request_id``, the user and the project come from the context unless
    given; the flow runs the request starts find the action by
    (instance, request ID).
    """
    values = _action_values(context, instance_uuid, action, request_id,
                            start_time)
    return transaction(
        lambda connection: _insert(connection, _ACTIONS, values), context)


def _action_values(context: Any, instance_uuid: str, action: str,
                   request_id: str | None,
                   start_time: datetime.datetime | None) -> dict[str, Any]:
    return {
        'action': action, 'instance_uuid': instance_uuid,
        'request_id': request_id or getattr(context, 'request_id', None),
        'user_id': getattr(context, 'user_id', None),
        'project_id': getattr(context, 'project_id', None),
        'start_time': start_time or timeutils.utcnow(),
    }


def action_finish(context: Any, instance_uuid: str,
                  request_id: str | None = None, *,
                  finish_time: datetime.datetime | None = None,
                  message: str | None = None) -> None:
    """Stamp the action's finish time (and message, e.g. 'Error').

    :raises InstanceActionNotFound:
    """
    request_id = request_id or getattr(context, 'request_id', None)
    a = _ACTIONS
    now = timeutils.utcnow()
    values: dict[str, Any] = {'finish_time': finish_time or now,
                              'updated_at': now}
    if message is not None:
        values['message'] = message
    with writer(context) as session:
        result = session.execute(sa.update(a).where(
            a.c.instance_uuid == instance_uuid,
            a.c.request_id == request_id).values(values))
    if not result.rowcount:
        raise exception.InstanceActionNotFound(
            request_id=request_id, instance_uuid=instance_uuid)


def create_requests_lost(context: Any, older_than: datetime.datetime,
                         limit: int = 100) -> list[Row]:
    """Create requests no service took: the ``create`` action started
    before ``older_than`` (finished or not: a recovered conductor run
    may have finished it), no run linked to it is
    going on (the conductor's run and the compute's build run link
    themselves to it), and its instance still waits to be scheduled
    (BUILDING, ``scheduling``, no host).  So a request is lost whether
    no conductor took it, or the conductor cast it to a host that lost
    it (the cast came while the host could not reach the database:
    before its run was recorded, or its run ended without its state
    written).  Rows: the action's ``id``, ``instance_uuid``,
    ``request_id``, ``user_id``, ``project_id``; oldest first.
    """
    a, i, r = _ACTIONS, _INSTANCES, _RUNS
    query = sa.select(a.c.id, a.c.instance_uuid, a.c.request_id,
                      a.c.user_id, a.c.project_id).join(
        i, i.c.uuid == a.c.instance_uuid).where(
        a.c.action == 'create', a.c.start_time < older_than,
        ~sa.exists().where(r.c.action_id == a.c.id,
                           r.c.status == 'running'),
        i.c.deleted == 0, i.c.vm_state == 'building',
        i.c.task_state == 'scheduling', i.c.host.is_(None),
    ).order_by(a.c.start_time).limit(limit)
    with reader(context) as connection:
        return _as_dicts(connection.execute(query))


def action_get_by_request_id(context: Any, instance_uuid: str,
                             request_id: str) -> Row | None:
    a = _ACTIONS
    with reader(context) as session:
        return _as_dict(session.execute(
            sa.select(a).where(a.c.instance_uuid == instance_uuid,
                               a.c.request_id == request_id)
            .order_by(a.c.id.desc()).limit(1)).first())


def actions_get(context: Any, instance_uuid: str, limit: int | None = None,
                marker: str | None = None,
                filters: dict[str, Any] | None = None) -> list[Row]:
    """An instance's actions, newest first.

    ``marker`` is a request ID; ``filters`` may hold ``changes-since`` /
    ``changes-before`` (on ``updated_at``).

    :raises MarkerNotFound:
    """
    a = _ACTIONS
    keys, dirs = ['created_at', 'id'], ['desc', 'desc']
    conditions = [a.c.instance_uuid == instance_uuid]
    filters = filters or {}
    changed = sa.func.coalesce(a.c.updated_at, a.c.created_at)
    if filters.get('changes-since') is not None:
        conditions.append(changed >= _parse_time(filters['changes-since']))
    if filters.get('changes-before') is not None:
        conditions.append(changed <= _parse_time(filters['changes-before']))
    with reader(context) as session:
        marker_row = None
        if marker is not None:
            marker_row = _as_dict(session.execute(
                sa.select(a.c.created_at, a.c.id).where(
                    a.c.instance_uuid == instance_uuid,
                    a.c.request_id == marker)).first())
            if marker_row is None:
                raise exception.MarkerNotFound(marker=marker)
        return _paginate(session, sa.select(a).where(*conditions), a, keys,
                         dirs, limit, marker_row)


def action_events_get(context: Any, action_id: int) -> list[Row]:
    """The events (flow stages) of an action, newest first as upstream;
    the events of one run are told apart by ``run_id`` and ordered by
    ``seq``."""
    e = _EVENTS
    with reader(context) as session:
        return _as_dicts(session.execute(
            sa.select(e).where(e.c.action_id == action_id)
            .order_by(e.c.created_at.desc(), e.c.id.desc())))


def action_event_get_by_id(context: Any, action_id: int,
                           event_id: int) -> Row:
    """:raises InstanceActionEventNotFound:"""
    e = _EVENTS
    with reader(context) as session:
        row = session.execute(sa.select(e).where(
            e.c.action_id == action_id, e.c.id == event_id)).first()
    if row is None:
        raise exception.InstanceActionEventNotFound(event=event_id,
                                                    action_id=action_id)
    return dict(row._mapping)


# -- flow runs ----------------------------------------------------------------


def _runs_with_events(session: sa.Connection, runs: list[Row]) -> list[Row]:
    if not runs:
        return runs
    e = _EVENTS
    by_id = {run['id']: run for run in runs}
    for run in runs:
        run['events'] = []
    rows = session.execute(
        sa.select(e).where(e.c.run_id.in_(list(by_id)))
        .order_by(e.c.run_id, e.c.seq))
    for event in _as_dicts(rows):
        by_id[event['run_id']]['events'].append(event)
    return runs


def flow_run_get(context: Any, run_id: str) -> Row:
    """A run with its stage events (``events``, in start order).

    :raises FlowRunNotFound:
    """
    r = _RUNS
    with reader(context) as session:
        row = _as_dict(session.execute(
            sa.select(r).where(r.c.id == run_id)).first())
        if row is None:
            raise exception.FlowRunNotFound(run_id=run_id)
        return _runs_with_events(session, [row])[0]


def flow_runs_get_unfinished(context: Any, host: str | None) -> list[Row]:
    """Runs on ``host`` still ``running`` (cut by a crash, or going on),
    oldest first, each with its events in start order."""
    r = _RUNS
    with reader(context) as session:
        runs = _as_dicts(session.execute(
            sa.select(r).where(_filter_value(r.c.host, host),
                               r.c.status == 'running')
            .order_by(r.c.started_at, r.c.id)))
        return _runs_with_events(session, runs)


def flow_runs_get_all(context: Any, filters: dict[str, Any] | None = None,
                      limit: int | None = None,
                      with_events: bool = True) -> list[Row]:
    """Runs newest first; ``filters`` on ``flow``, ``status``, ``host``,
    ``instance_uuid``, ``request_id``, ``action_id`` (a list means "any
    of")."""
    r = _RUNS
    conditions = []
    for key, value in (filters or {}).items():
        if key not in ('flow', 'status', 'host', 'instance_uuid',
                       'request_id', 'action_id'):
            raise exception.Invalid(reason=f'Unknown flow run filter {key}')
        conditions.append(_filter_value(r.c[key], value))
    query = sa.select(r).where(*conditions).order_by(
        r.c.started_at.desc(), r.c.id.desc())
    if limit is not None:
        query = query.limit(int(limit))
    with reader(context) as session:
        runs = _as_dicts(session.execute(query))
        return _runs_with_events(session, runs) if with_events else runs


def flow_runs_get_by_instance(context: Any, instance_uuid: str,
                              limit: int | None = None) -> list[Row]:
    return flow_runs_get_all(context, {'instance_uuid': instance_uuid},
                             limit=limit)


def flow_run_close(context: Any, run_id: str, status: str,
                   message: str | None = None) -> None:
    """End a run by decision rather than by running it (e.g. its
    instance is gone): sets status, finish time and message."""
    r = _RUNS
    with writer(context) as session:
        result = session.execute(sa.update(r).where(r.c.id == run_id).values(
            status=status, finished_at=timeutils.utcnow(),
            message=_mask(message)))
    if not result.rowcount:
        raise exception.FlowRunNotFound(run_id=run_id)


# -- services -----------------------------------------------------------------


def service_create(context: Any, values: dict[str, Any]) -> Row:
    """:raises ServiceExists: same host and binary or topic."""
    values = dict(values)
    values.setdefault('uuid', str(uuidlib.uuid4()))
    try:
        with writer(context) as session:
            return _insert(session, _SERVICES, values)
    except db_exc.DBDuplicateEntry:
        raise exception.ServiceExists(
            host=values.get('host'), binary=values.get('binary'),
            topic=values.get('topic')) from None


def _service_get(context: Any, condition: Any) -> Row | None:
    s = _SERVICES
    with reader(context) as session:
        return _as_dict(session.execute(
            sa.select(s).where(condition, s.c.deleted == 0)).first())


def service_get(context: Any, service_id: int) -> Row:
    """:raises ServiceNotFound:"""
    row = _service_get(context, _SERVICES.c.id == service_id)
    if row is None:
        raise exception.ServiceNotFound(service_id=service_id)
    return row


def service_get_by_uuid(context: Any, service_uuid: str) -> Row:
    """:raises ServiceNotFound:"""
    row = _service_get(context, _SERVICES.c.uuid == service_uuid)
    if row is None:
        raise exception.ServiceNotFound(service_id=service_uuid)
    return row


def service_get_by_host_and_binary(context: Any, host: str,
                                   binary: str) -> Row:
    """:raises HostBinaryNotFound:"""
    s = _SERVICES
    row = _service_get(context, sa.and_(s.c.host == host,
                                        s.c.binary == binary))
    if row is None:
        raise exception.HostBinaryNotFound(host=host, binary=binary)
    return row


def service_register(context: Any, host: str, binary: str,
                     topic: str | None = None) -> Row:
    """The record of a starting service: created the first time, else
    the existing one (whose ``disabled`` / ``forced_down`` flags stay as
    the operator set them)."""
    for _attempt in range(2):
        try:
            return service_get_by_host_and_binary(context, host, binary)
        except exception.HostBinaryNotFound:
            pass
        try:
            return service_create(context, {'host': host, 'binary': binary,
                                            'topic': topic or binary})
        except exception.ServiceExists:
            # Another process of this host won the race: read its row.
            continue
    return service_get_by_host_and_binary(context, host, binary)


def service_get_all(context: Any, disabled: bool | None = None,
                    binary: str | None = None,
                    host: str | None = None) -> list[Row]:
    s = _SERVICES
    conditions = [s.c.deleted == 0]
    if disabled is not None:
        conditions.append(s.c.disabled == disabled)
    if binary is not None:
        conditions.append(s.c.binary == binary)
    if host is not None:
        conditions.append(s.c.host == host)
    with reader(context) as session:
        return _as_dicts(session.execute(
            sa.select(s).where(*conditions).order_by(s.c.id)))


def service_update(context: Any, service_id: int,
                   values: dict[str, Any]) -> Row:
    """:raises ServiceNotFound:"""
    s = _SERVICES
    values = _update_values(values)
    with writer(context) as session:
        result = session.execute(sa.update(s).where(
            s.c.id == service_id, s.c.deleted == 0).values(values))
    if not result.rowcount:
        raise exception.ServiceNotFound(service_id=service_id)
    return values


def service_heartbeat(context: Any, host: str,
                      binary: str) -> datetime.datetime:
    """One report of a running service: count it and stamp
    ``last_seen_up``.  One UPDATE, by (host, binary), so the service
    needs no ID to report.

    :raises HostBinaryNotFound: the service was never registered (or was
        deleted).
    """
    s = _SERVICES
    now = timeutils.utcnow()
    with writer(context) as session:
        result = session.execute(sa.update(s).where(
            s.c.host == host, s.c.binary == binary, s.c.deleted == 0)
            .values(report_count=s.c.report_count + 1, last_seen_up=now,
                    updated_at=now))
    if not result.rowcount:
        raise exception.HostBinaryNotFound(host=host, binary=binary)
    return now


def service_destroy(context: Any, service_id: int) -> None:
    """Soft-delete a service. :raises ServiceNotFound:"""
    s = _SERVICES
    with writer(context) as session:
        result = session.execute(sa.update(s).where(
            s.c.id == service_id, s.c.deleted == 0).values(
            _soft_delete_values(s)))
    if not result.rowcount:
        raise exception.ServiceNotFound(service_id=service_id)


# -- compute nodes and claims -------------------------------------------------


# Usage belongs to the claims; a capacity report never writes it.
_NODE_USAGE: Final = frozenset({'vcpus_used', 'memory_mb_used',
                                'local_gb_used', 'running_vms'})


def compute_node_create(context: Any, values: dict[str, Any]) -> Row:
    values = dict(values)
    values.setdefault('uuid', str(uuidlib.uuid4()))
    with writer(context) as session:
        return _insert(session, _NODES, values)


def _node_get(context: Any, *conditions: Any) -> list[Row]:
    n = _NODES
    with reader(context) as session:
        return _as_dicts(session.execute(
            sa.select(n).where(*conditions, n.c.deleted == 0)
            .order_by(n.c.id)))


def compute_node_get(context: Any, node_id: int) -> Row:
    """:raises ComputeNodeNotFound:"""
    rows = _node_get(context, _NODES.c.id == node_id)
    if not rows:
        raise exception.ComputeNodeNotFound(hypervisor_id=node_id)
    return rows[0]


def compute_node_get_by_uuid(context: Any, node_uuid: str) -> Row:
    """:raises ComputeNodeNotFound:"""
    rows = _node_get(context, _NODES.c.uuid == node_uuid)
    if not rows:
        raise exception.ComputeNodeNotFound(hypervisor_id=node_uuid)
    return rows[0]


def compute_node_get_by_host_and_nodename(context: Any, host: str,
                                          nodename: str) -> Row:
    """:raises ComputeHostNotFound:"""
    n = _NODES
    rows = _node_get(context, n.c.host == host,
                     n.c.hypervisor_hostname == nodename)
    if not rows:
        raise exception.ComputeHostNotFound(host=f'{host}/{nodename}')
    return rows[0]


def compute_node_get_all_by_host(context: Any, host: str) -> list[Row]:
    return _node_get(context, _NODES.c.host == host)


def compute_node_get_all(context: Any) -> list[Row]:
    return _node_get(context)


def compute_node_update(context: Any, node_id: int,
                        values: dict[str, Any]) -> Row:
    """:raises ComputeNodeNotFound:"""
    n = _NODES
    values = _update_values(values)
    with writer(context) as session:
        result = session.execute(sa.update(n).where(
            n.c.id == node_id, n.c.deleted == 0).values(values))
    if not result.rowcount:
        raise exception.ComputeNodeNotFound(hypervisor_id=node_id)
    return values


def compute_node_delete(context: Any, node_id: int) -> None:
    """Soft-delete a node. :raises ComputeNodeNotFound:"""
    n = _NODES
    with writer(context) as session:
        result = session.execute(sa.update(n).where(
            n.c.id == node_id, n.c.deleted == 0).values(
            _soft_delete_values(n)))
    if not result.rowcount:
        raise exception.ComputeNodeNotFound(hypervisor_id=node_id)


@retry_on_deadlock
def compute_node_report(context: Any, host: str, nodename: str,
                        values: dict[str, Any]) -> Row:
    """Record a node's capacity (create the node the first time).

    Usage columns in ``values`` are ignored: usage is what the claims
    add up to.  Returns the whole node row, usage included.  Called by
    the periodic resource report, so it may read after it writes.
    """
    n = _NODES
    capacity = {k: v for k, v in values.items() if k not in _NODE_USAGE}
    where = (n.c.host == host, n.c.hypervisor_hostname == nodename,
             n.c.deleted == 0)
    for attempt in range(2):
        try:
            with writer(context) as session:
                result = session.execute(sa.update(n).where(*where).values(
                    _update_values(capacity)))
                if not result.rowcount:
                    _insert(session, n, dict(
                        capacity, host=host, hypervisor_hostname=nodename,
                        uuid=capacity.get('uuid') or str(uuidlib.uuid4())))
                return dict(session.execute(
                    sa.select(n).where(*where)).one()._mapping)
        except db_exc.DBDuplicateEntry:
            # Created concurrently since our UPDATE: update that one.
            if attempt:
                raise
    raise AssertionError('unreachable')


#: The node columns the scheduler reads (HostState's): a decision reads
#: every node, so each column it does not need (UUIDs, timestamps) is
#: decoded once per node per decision for nothing.
_SCHEDULING_COLUMNS = (
    'id', 'host', 'hypervisor_hostname', 'availability_zone', 'vcpus',
    'memory_mb', 'local_gb', 'vcpus_used', 'memory_mb_used',
    'local_gb_used', 'cpu_allocation_ratio', 'ram_allocation_ratio',
    'disk_allocation_ratio')


def compute_nodes_for_scheduling(context: Any) -> list[Row]:
    """Every live node with its compute service's state, in one query.

    Each row is the node's columns the scheduler reads
    (:data:`_SCHEDULING_COLUMNS`) plus ``disabled``, ``forced_down`` and
    ``last_seen_up`` (the last heartbeat, else the service record's last
    update or creation, as upstream's DB servicegroup driver reads it).
    A node without a service row has ``last_seen_up`` None.
    """
    n, s = _NODES, _SERVICES

    def build() -> Any:
        join = n.outerjoin(s, sa.and_(s.c.host == n.c.host,
                                      s.c.binary == 'nova-compute',
                                      s.c.deleted == 0))
        return sa.select(
            *(n.c[name] for name in _SCHEDULING_COLUMNS),
            sa.func.coalesce(s.c.disabled, False).label('disabled'),
            sa.func.coalesce(s.c.forced_down, False).label('forced_down'),
            sa.func.coalesce(s.c.last_seen_up, s.c.updated_at,
                             s.c.created_at).label('last_seen_up'),
        ).select_from(join).where(n.c.deleted == 0).order_by(n.c.id)

    return _read_all(context, _template('nodes_for_scheduling', build))


def _claim_statement() -> Any:
    n = _NODES

    def build() -> Any:
        vcpus, memory_mb, disk_gb = (
            _bind('b_vcpus', n.c.vcpus_used),
            _bind('b_memory_mb', n.c.memory_mb_used),
            _bind('b_disk_gb', n.c.local_gb_used))
        return sa.update(n).where(
            n.c.id == sa.bindparam('b_node_id'), n.c.deleted == 0,
            n.c.vcpus_used + vcpus <= n.c.vcpus * n.c.cpu_allocation_ratio,
            n.c.memory_mb_used + memory_mb
            <= n.c.memory_mb * n.c.ram_allocation_ratio,
            n.c.local_gb_used + disk_gb
            <= n.c.local_gb * n.c.disk_allocation_ratio,
        ).values(vcpus_used=n.c.vcpus_used + vcpus,
                 memory_mb_used=n.c.memory_mb_used + memory_mb,
                 local_gb_used=n.c.local_gb_used + disk_gb,
                 running_vms=n.c.running_vms + 1,
                 updated_at=_bind('b_now', n.c.updated_at))

    return _template('allocation_claim', build)


def _claim_in(connection: Any, node_id: int, consumer: str | None,
              vcpus: int, memory_mb: int, disk_gb: int,
              now: datetime.datetime) -> tuple[Any, Any] | None:
    """Claim on ``node_id`` for ``consumer`` inside ``connection``'s
    transaction: None when claimed, else (the consumer's allocation row
    or None, the node row or None) to say why not.  Without a consumer
    only the node's usage changes (the caller records the allocation)."""
    n, a = _NODES, _ALLOCATIONS
    parameters = {'b_node_id': node_id, 'b_vcpus': int(vcpus),
                  'b_memory_mb': int(memory_mb), 'b_disk_gb': int(disk_gb),
                  'b_now': now}
    if connection.execute(_claim_statement(), parameters).rowcount:
        if consumer is not None:
            # A second claim for the consumer fails here on the unique
            # key and rolls the usage increment back with it.
            _insert(connection, a, {
                'instance_uuid': consumer, 'compute_node_id': node_id,
                'vcpus': vcpus, 'memory_mb': memory_mb,
                'disk_gb': disk_gb, 'created_at': now})
        return None
    held = None if consumer is None else connection.execute(
        sa.select(a.c.id).where(a.c.instance_uuid == consumer)).first()
    node = connection.execute(sa.select(n).where(
        n.c.id == node_id, n.c.deleted == 0)).first()
    return held, node


def _claim_refused(node_id: int, node: Any, vcpus: int, memory_mb: int,
                   disk_gb: int) -> Exception:
    if node is None:
        return exception.ComputeNodeNotFound(hypervisor_id=node_id)
    short = []
    for used, total, ratio, amount, name in (
            (node.vcpus_used, node.vcpus, node.cpu_allocation_ratio, vcpus,
             'vcpus'),
            (node.memory_mb_used, node.memory_mb, node.ram_allocation_ratio,
             memory_mb, 'memory_mb'),
            (node.local_gb_used, node.local_gb, node.disk_allocation_ratio,
             disk_gb, 'disk_gb')):
        if used + amount > total * ratio:
            short.append(f'{name}: requested {amount}, free '
                         f'{int(total * ratio - used)}')
    return exception.ComputeResourcesUnavailable(
        reason=f'node {node_id}: ' + ('; '.join(short) or 'changed'))


def _check_amounts(*amounts: int) -> None:
    for amount in amounts:
        if int(amount) < 0:
            raise exception.Invalid(reason='Negative claim.')


@retry_on_deadlock
def allocation_claim(context: Any, node_id: int, instance_uuid: str,
                     vcpus: int, memory_mb: int, disk_gb: int) -> bool:
    """Claim resources on a node for an instance; never overcommits.

    One conditional UPDATE adds the amounts to the node's usage only if
    every total stays within capacity x allocation ratio, and an INSERT
    records the allocation, in one transaction.  The database evaluates
    the condition on the locked row, so concurrent claims from any number
    of processes cannot together exceed the capacity.

    Idempotent: if the instance already holds an allocation, nothing
    changes and False is returned (True when this call claimed).

    :raises ComputeResourcesUnavailable: the node is full.
    :raises ComputeNodeNotFound:
    """
    _check_amounts(vcpus, memory_mb, disk_gb)
    now = timeutils.utcnow()
    try:
        refused = transaction(lambda connection: _claim_in(
            connection, node_id, instance_uuid, vcpus, memory_mb, disk_gb,
            now), context)
    except db_exc.DBDuplicateEntry:
        return False
    if refused is None:
        return True
    held, node = refused
    if held is not None:
        return False
    raise _claim_refused(node_id, node, vcpus, memory_mb, disk_gb)


@retry_on_deadlock
def allocation_move_claim(context: Any, instance_uuid: str,
                          migration_uuid: str, node_id: int, vcpus: int,
                          memory_mb: int, disk_gb: int) -> bool:
    """The destination's claim of a move, in one transaction: what the
    instance holds on its source passes to the migration (upstream
    placement's "move the allocation to the migration consumer"), and the
    instance claims ``node_id`` with the new sizes.  There is no moment
    when the instance is counted on neither host.

    Idempotent: when the migration already holds the source's
    allocation, nothing changes and False is returned.  An instance that
    holds nothing (its source never claimed) just claims.

    :raises ComputeResourcesUnavailable: the node is full; nothing
        changed.
    :raises ComputeNodeNotFound:
    """
    _check_amounts(vcpus, memory_mb, disk_gb)
    a = _ALLOCATIONS
    now = timeutils.utcnow()

    def body(connection: Any) -> tuple[Any, Any] | None:
        if connection.execute(sa.select(a.c.id).where(
                a.c.instance_uuid == migration_uuid)).first() is not None:
            return (True, None)
        # The node row first, then the allocations, as a plain claim
        # takes its locks: opposite orders would deadlock each other.
        refused = _claim_in(connection, node_id, None, vcpus, memory_mb,
                            disk_gb, now)
        if refused is not None:
            raise _claim_refused(node_id, refused[1], vcpus, memory_mb,
                                 disk_gb)
        connection.execute(sa.update(a).where(
            a.c.instance_uuid == instance_uuid).values(
            instance_uuid=migration_uuid, updated_at=now))
        _insert(connection, a, {
            'instance_uuid': instance_uuid, 'compute_node_id': node_id,
            'vcpus': vcpus, 'memory_mb': memory_mb, 'disk_gb': disk_gb,
            'created_at': now})
        return None

    return transaction(body, context) is None


@retry_on_deadlock
def allocation_move_revert(context: Any, instance_uuid: str,
                           migration_uuid: str) -> bool:
    """Undo :func:`allocation_move_claim` in one transaction: the
    destination's allocation is released and the source's passes back
    from the migration to the instance.

    Idempotent: when the migration holds nothing (never claimed, or
    already reverted or confirmed), nothing changes and False is
    returned - the instance's allocation is then its only one.
    """
    a = _ALLOCATIONS
    now = timeutils.utcnow()

    def body(connection: Any) -> bool:
        if connection.execute(sa.select(a.c.id).where(
                a.c.instance_uuid == migration_uuid)).first() is None:
            return False
        _release_in(connection, instance_uuid, now)
        connection.execute(sa.update(a).where(
            a.c.instance_uuid == migration_uuid).values(
            instance_uuid=instance_uuid, updated_at=now))
        return True

    return transaction(body, context)


def _release_in(connection: Any, consumer: str,
                now: datetime.datetime) -> bool:
    n, a = _NODES, _ALLOCATIONS
    rows = _returning_delete(
        connection, a, a.c.instance_uuid == sa.bindparam('b_uuid'),
        (a.c.compute_node_id, a.c.vcpus, a.c.memory_mb, a.c.disk_gb),
        {'b_uuid': consumer}, key='allocation_release')
    if not rows:
        return False
    held = rows[0]
    connection.execute(_template('allocation_release', lambda: sa.update(
        n).where(n.c.id == sa.bindparam('b_node_id')).values(
        vcpus_used=n.c.vcpus_used - _bind('b_vcpus', n.c.vcpus_used),
        memory_mb_used=n.c.memory_mb_used
        - _bind('b_memory_mb', n.c.memory_mb_used),
        local_gb_used=n.c.local_gb_used
        - _bind('b_disk_gb', n.c.local_gb_used),
        running_vms=n.c.running_vms - 1,
        updated_at=_bind('b_now', n.c.updated_at))), {
        'b_node_id': held.compute_node_id, 'b_vcpus': held.vcpus,
        'b_memory_mb': held.memory_mb, 'b_disk_gb': held.disk_gb,
        'b_now': now})
    return True


@retry_on_deadlock
def allocation_release(context: Any, instance_uuid: str) -> bool:
    """Give what a consumer (an instance, or a migration holding its
    source's share) holds back to its node.

    Idempotent: without an allocation nothing happens (False).  The
    DELETE goes first and returns what it deleted, so of two concurrent
    releases only one decrements the usage.
    """
    now = timeutils.utcnow()
    return transaction(
        lambda connection: _release_in(connection, instance_uuid, now),
        context)


def allocation_get_by_instance(context: Any,
                               instance_uuid: str) -> Row | None:
    a = _ALLOCATIONS
    with reader(context) as session:
        return _as_dict(session.execute(sa.select(a).where(
            a.c.instance_uuid == instance_uuid)).first())


#: How many consumers one read of allocation_nodes_by_consumer asks for
#: per statement (under every backend's limit of bind parameters).
_CONSUMERS_PER_READ = 500


def allocation_nodes_by_consumer(context: Any,
                                 consumers: Sequence[str]) -> dict[str, int]:
    """The node each of ``consumers`` (instance or migration UUIDs) holds
    an allocation on; a consumer without one is not in the result.

    One indexed statement per ``_CONSUMERS_PER_READ`` consumers, in the
    caller's reader transaction when it holds one for ``context``.
    """
    a = _ALLOCATIONS
    statement = _template('allocation_nodes_by_consumer', lambda: sa.select(
        a.c.instance_uuid, a.c.compute_node_id).where(
            a.c.instance_uuid.in_(sa.bindparam('b_consumers',
                                               expanding=True))))
    held: dict[str, int] = {}

    def body(connection: Any) -> None:
        for start in range(0, len(consumers), _CONSUMERS_PER_READ):
            chunk = list(consumers[start:start + _CONSUMERS_PER_READ])
            held.update((row[0], row[1]) for row in connection.execute(
                statement, {'b_consumers': chunk}))

    if consumers:
        transaction(body, context, writing=False)
    return held


def allocations_get_by_node(context: Any, node_id: int) -> list[Row]:
    a = _ALLOCATIONS
    with reader(context) as session:
        return _as_dicts(session.execute(sa.select(a).where(
            a.c.compute_node_id == node_id).order_by(a.c.id)))


# -- migrations ---------------------------------------------------------------

#: Statuses after which a migration has nothing left to do.
MIGRATION_FINAL_STATUSES: Final = (
    'confirmed', 'reverted', 'error', 'failed', 'completed', 'cancelled',
    'done')


def migration_create(context: Any, values: dict[str, Any]) -> Row:
    values = dict(values)
    values.setdefault('uuid', str(uuidlib.uuid4()))
    return transaction(
        lambda connection: _insert(connection, _MIGRATIONS, values), context)


def _migration_get(context: Any, condition: Any, ident: Any) -> Row:
    m = _MIGRATIONS
    with reader(context) as session:
        row = session.execute(sa.select(m).where(
            condition, m.c.deleted == 0)).first()
    if row is None:
        raise exception.MigrationNotFound(migration_id=ident)
    return dict(row._mapping)


def migration_get(context: Any, migration_id: int) -> Row:
    """:raises MigrationNotFound:"""
    return _migration_get(context, _MIGRATIONS.c.id == migration_id,
                          migration_id)


def migration_get_by_uuid(context: Any, migration_uuid: str) -> Row:
    """:raises MigrationNotFound:"""
    return _migration_get(context, _MIGRATIONS.c.uuid == migration_uuid,
                          migration_uuid)


def migration_update(context: Any, migration_uuid: str,
                     values: dict[str, Any],
                     expected_status: Any = UNSET) -> Row:
    """One UPDATE; with ``expected_status`` (a value or a list) a
    compare-and-swap.  Returns the values written.

    :raises MigrationNotFound:
    :raises UnexpectedMigrationStatusError:
    """
    m = _MIGRATIONS
    values = _update_values(values)
    conditions = [m.c.uuid == migration_uuid, m.c.deleted == 0]
    if expected_status is not UNSET:
        conditions.append(_matches(m.c.status, expected_status))
    with writer(context) as session:
        if session.execute(sa.update(m).where(*conditions)
                           .values(values)).rowcount:
            return values
        current = session.execute(sa.select(m.c.status).where(
            m.c.uuid == migration_uuid, m.c.deleted == 0)).first()
    if current is None:
        raise exception.MigrationNotFound(migration_id=migration_uuid)
    raise exception.UnexpectedMigrationStatusError(
        migration_id=migration_uuid, expected=expected_status,
        actual=current.status)


def migration_get_in_progress_by_instance(
        context: Any, instance_uuid: str,
        migration_type: str | None = None) -> list[Row]:
    """The instance's migrations not in a final status, newest first."""
    m = _MIGRATIONS
    conditions = [m.c.instance_uuid == instance_uuid, m.c.deleted == 0,
                  m.c.status.not_in(MIGRATION_FINAL_STATUSES)]
    if migration_type is not None:
        conditions.append(m.c.migration_type == migration_type)
    with reader(context) as session:
        return _as_dicts(session.execute(sa.select(m).where(
            *conditions).order_by(m.c.id.desc())))


def migration_get_by_instance_and_status(context: Any, instance_uuid: str,
                                         status: Any) -> Row:
    """The newest migration of the instance in ``status`` (a value or a
    list). :raises MigrationNotFoundByStatus:"""
    m = _MIGRATIONS
    with reader(context) as session:
        row = session.execute(sa.select(m).where(
            m.c.instance_uuid == instance_uuid, m.c.deleted == 0,
            _matches(m.c.status, status)).order_by(m.c.id.desc())).first()
    if row is None:
        raise exception.MigrationNotFoundByStatus(
            instance_id=instance_uuid, status=status)
    return dict(row._mapping)


def migration_get_all_by_filters(context: Any,
                                 filters: dict[str, Any] | None = None,
                                 sort_keys: Sequence[str] | None = None,
                                 sort_dirs: Sequence[str] | None = None,
                                 limit: int | None = None,
                                 marker: str | None = None) -> list[Row]:
    """Migrations matching ``filters``, newest first (``created_at``,
    ``id`` descending unless sorted otherwise), paged by the UUID
    ``marker``.

    Filters (upstream's): ``host`` (source or destination compute),
    ``node`` (with host: source or destination node), ``source_compute``,
    ``dest_compute``, ``status``, ``instance_uuid``, ``migration_type``
    and ``user_id`` / ``project_id`` (a value or a list: any of),
    ``hidden``, ``changes-since`` / ``changes-before`` (on updated_at).

    :raises MarkerNotFound:
    """
    m = _MIGRATIONS
    filters = filters or {}
    conditions: list[Any] = [m.c.deleted == 0]
    host = filters.get('host')
    node = filters.get('node')
    if host and node:
        conditions.append(sa.or_(
            sa.and_(m.c.source_compute == host, m.c.source_node == node),
            sa.and_(m.c.dest_compute == host, m.c.dest_node == node)))
    elif host:
        conditions.append(sa.or_(m.c.source_compute == host,
                                 m.c.dest_compute == host))
    for key in ('source_compute', 'dest_compute', 'status',
                'instance_uuid', 'migration_type', 'user_id', 'project_id'):
        if filters.get(key) is not None:
            conditions.append(_matches(m.c[key], filters[key]))
    if 'hidden' in filters:
        conditions.append(sa.func.coalesce(m.c.hidden, False).is_(
            bool(filters['hidden'])))
    if filters.get('changes-since') is not None:
        conditions.append(m.c.updated_at >= _parse_time(
            filters['changes-since']))
    if filters.get('changes-before') is not None:
        conditions.append(m.c.updated_at <= _parse_time(
            filters['changes-before']))
    keys, dirs = _sort_spec(m, sort_keys, sort_dirs, ('created_at',),
                            'desc')
    with reader(context) as session:
        marker_row = None
        if marker is not None:
            marker_row = _as_dict(session.execute(
                sa.select(*(m.c[k] for k in keys)).where(
                    m.c.uuid == marker, m.c.deleted == 0)).first())
            if marker_row is None:
                raise exception.MarkerNotFound(marker=marker)
        return _paginate(session, sa.select(m).where(*conditions), m, keys,
                         dirs, limit, marker_row)


def migration_get_unconfirmed_by_dest_compute(
        context: Any, confirm_window: int, dest_compute: str) -> list[Row]:
    """Resizes waiting for their user (status ``finished``) on
    ``dest_compute`` for longer than ``confirm_window`` seconds."""
    m = _MIGRATIONS
    cutoff = timeutils.utcnow() - datetime.timedelta(
        seconds=confirm_window)
    with reader(context) as session:
        return _as_dicts(session.execute(sa.select(m).where(
            m.c.deleted == 0, m.c.status == 'finished',
            m.c.dest_compute == dest_compute,
            m.c.updated_at <= cutoff).order_by(m.c.id)))


# -- flavors ------------------------------------------------------------------


def _flavor_duplicate(error: db_exc.DBDuplicateEntry,
                      values: dict[str, Any]) -> exception.Conflict:
    if 'flavorid' in (error.columns or []):
        return exception.FlavorIdExists(flavor_id=values.get('flavorid'))
    return exception.FlavorExists(name=values.get('name'))


def flavor_create(context: Any, values: dict[str, Any],
                  projects: Iterable[str] | None = None) -> Row:
    """Create a flavor (``flavorid`` defaults to a new UUID); ``projects``
    may use it when it is private.

    :raises FlavorExists: the name is taken.
    :raises FlavorIdExists: the flavor ID is taken.
    """
    values = dict(values)
    if values.get('flavorid') in (None, '', 'auto'):
        values['flavorid'] = str(uuidlib.uuid4())
    values['flavorid'] = str(values['flavorid'])
    values.setdefault('extra_specs', {})
    try:
        with writer(context) as session:
            flavor = _insert(session, _FLAVORS, values)
            projects = sorted(set(projects or ()))
            if projects:
                session.execute(sa.insert(_FLAVOR_PROJECTS), [
                    {'flavor_id': flavor['id'], 'project_id': project,
                     'created_at': flavor['created_at']}
                    for project in projects])
            return flavor
    except db_exc.DBDuplicateEntry as error:
        raise _flavor_duplicate(error, values) from None


def _flavor_get(context: Any, column: str, value: Any,
                flavor_id: Any) -> Row:
    f = _FLAVORS
    query = _template(('flavor_get', column), lambda: sa.select(f).where(
        f.c[column] == sa.bindparam('b_value')))
    row = _read_first(context, query, {'b_value': value})
    if row is None:
        raise exception.FlavorNotFound(flavor_id=flavor_id)
    return row


def flavor_get(context: Any, id: int) -> Row:
    """By internal ``id``. :raises FlavorNotFound:"""
    return _flavor_get(context, 'id', id, id)


def flavor_get_by_flavor_id(context: Any, flavorid: str) -> Row:
    """By the API's flavor ID. :raises FlavorNotFound:"""
    return _flavor_get(context, 'flavorid', str(flavorid), flavorid)


def flavor_get_by_name(context: Any, name: str) -> Row:
    """:raises FlavorNotFound:"""
    return _flavor_get(context, 'name', name, name)


def flavor_get_all(context: Any, filters: dict[str, Any] | None = None,
                   sort_key: str = 'flavorid', sort_dir: str = 'asc',
                   limit: int | None = None,
                   marker: str | None = None) -> list[Row]:
    """Flavors, sorted and paged (``marker`` is a flavor ID).

    Filters: ``is_public`` (True, False, or None for both),
    ``disabled``, ``min_memory_mb``, ``min_root_gb``, and ``project_id``:
    only flavors that project may use (public ones and those shared with
    it).

    :raises MarkerNotFound:
    """
    f, fp = _FLAVORS, _FLAVOR_PROJECTS
    filters = dict(filters or {})
    conditions = []
    if filters.get('is_public') is not None:
        conditions.append(f.c.is_public == _is_true(filters['is_public']))
    if filters.get('disabled') is not None:
        conditions.append(f.c.disabled == _is_true(filters['disabled']))
    if filters.get('min_memory_mb') is not None:
        conditions.append(f.c.memory_mb >= int(filters['min_memory_mb']))
    if filters.get('min_root_gb') is not None:
        conditions.append(f.c.root_gb >= int(filters['min_root_gb']))
    if filters.get('project_id') is not None:
        conditions.append(sa.or_(
            f.c.is_public == sa.true(),
            f.c.id.in_(sa.select(fp.c.flavor_id).where(
                fp.c.project_id == filters['project_id']))))
    keys, dirs = _sort_spec(f, [sort_key], [sort_dir], (), 'asc',
                            allowed=set(f.c.keys()) - {'extra_specs'})
    with reader(context) as session:
        marker_row = None
        if marker is not None:
            marker_row = _as_dict(session.execute(
                sa.select(*(f.c[k] for k in keys)).where(
                    f.c.flavorid == str(marker))).first())
            if marker_row is None:
                raise exception.MarkerNotFound(marker=marker)
        return _paginate(session, sa.select(f).where(*conditions), f, keys,
                         dirs, limit, marker_row)


def flavor_update(context: Any, flavorid: str,
                  values: dict[str, Any]) -> Row:
    """Change a flavor; returns the whole updated flavor.

    The one update that reads back: an admin call, where the API shows
    the flavor it changed.

    :raises FlavorNotFound:
    """
    f = _FLAVORS
    values = _update_values(values)
    with writer(context) as session:
        result = session.execute(sa.update(f).where(
            f.c.flavorid == str(flavorid)).values(values))
        if not result.rowcount:
            raise exception.FlavorNotFound(flavor_id=flavorid)
        return dict(session.execute(sa.select(f).where(
            f.c.flavorid == str(flavorid))).one()._mapping)


def flavor_destroy(context: Any, flavorid: str) -> None:
    """Delete a flavor and its project access (instances keep their copy
    of it). :raises FlavorNotFound:"""
    f, fp = _FLAVORS, _FLAVOR_PROJECTS
    with writer(context) as session:
        session.execute(sa.delete(fp).where(fp.c.flavor_id.in_(
            sa.select(f.c.id).where(f.c.flavorid == str(flavorid)))))
        result = session.execute(sa.delete(f).where(
            f.c.flavorid == str(flavorid)))
    if not result.rowcount:
        raise exception.FlavorNotFound(flavor_id=flavorid)


def _flavor_internal_id(session: sa.Connection, flavorid: str) -> int:
    f = _FLAVORS
    row = session.execute(sa.select(f.c.id).where(
        f.c.flavorid == str(flavorid))).first()
    if row is None:
        raise exception.FlavorNotFound(flavor_id=flavorid)
    return row.id


def flavor_access_get_by_flavor_id(context: Any,
                                   flavorid: str) -> list[Row]:
    """Projects a flavor is shared with. :raises FlavorNotFound:"""
    fp = _FLAVOR_PROJECTS
    with reader(context) as session:
        flavor_id = _flavor_internal_id(session, flavorid)
        return _as_dicts(session.execute(
            sa.select(fp).where(fp.c.flavor_id == flavor_id)
            .order_by(fp.c.project_id)))


def _flavor_internal_id_read(context: Any, flavorid: str) -> int:
    """The flavor's internal ID, read in a transaction of its own.

    Read before, not inside, the write that uses it: on SQLite a
    transaction that reads and then writes cannot take the write lock
    while another writer holds it ("database is locked" at once, not
    after the busy timeout).  The ID never changes; a flavor deleted in
    between fails the write's foreign key or matches nothing.
    """
    with reader(context) as session:
        return _flavor_internal_id(session, flavorid)


def flavor_access_add(context: Any, flavorid: str, project_id: str) -> Row:
    """:raises FlavorNotFound: :raises FlavorAccessExists:"""
    flavor_id = _flavor_internal_id_read(context, flavorid)
    try:
        with writer(context) as session:
            return _insert(session, _FLAVOR_PROJECTS, {
                'flavor_id': flavor_id, 'project_id': project_id})
    except db_exc.DBDuplicateEntry:
        raise exception.FlavorAccessExists(flavor_id=flavorid,
                                           project_id=project_id) from None
    except db_exc.DBReferenceError:
        raise exception.FlavorNotFound(flavor_id=flavorid) from None


def flavor_access_remove(context: Any, flavorid: str,
                         project_id: str) -> None:
    """:raises FlavorNotFound: :raises FlavorAccessNotFound:"""
    fp = _FLAVOR_PROJECTS
    flavor_id = _flavor_internal_id_read(context, flavorid)
    with writer(context) as session:
        result = session.execute(sa.delete(fp).where(
            fp.c.flavor_id == flavor_id, fp.c.project_id == project_id))
    if not result.rowcount:
        raise exception.FlavorAccessNotFound(flavor_id=flavorid,
                                             project_id=project_id)


def flavor_extra_specs_get(context: Any, flavorid: str) -> dict[str, str]:
    """:raises FlavorNotFound:"""
    return dict(flavor_get_by_flavor_id(context, flavorid)['extra_specs']
                or {})


def _flavor_specs_change(context: Any, flavorid: str,
                         change: Callable[[dict[str, str]], None],
                         ) -> dict[str, str]:
    f = _FLAVORS
    with writer(context) as session:
        # The specs are one JSON document: lock the row, merge, write.
        row = session.execute(sa.select(f.c.extra_specs).where(
            f.c.flavorid == str(flavorid)).with_for_update()).first()
        if row is None:
            raise exception.FlavorNotFound(flavor_id=flavorid)
        specs = dict(row.extra_specs or {})
        change(specs)
        session.execute(sa.update(f).where(
            f.c.flavorid == str(flavorid)).values(
            extra_specs=specs, updated_at=timeutils.utcnow()))
    return specs


def flavor_extra_specs_update_or_create(context: Any, flavorid: str,
                                        specs: dict[str, Any],
                                        ) -> dict[str, str]:
    """Merge ``specs`` into the flavor's; returns all of them.

    :raises FlavorNotFound:
    """
    new = {str(k): str(v) for k, v in specs.items()}
    return _flavor_specs_change(context, flavorid,
                                lambda current: current.update(new))


def flavor_extra_specs_delete(context: Any, flavorid: str,
                              key: str) -> dict[str, str]:
    """:raises FlavorNotFound: :raises FlavorExtraSpecsNotFound:"""
    def remove(current: dict[str, str]) -> None:
        if key not in current:
            raise exception.FlavorExtraSpecsNotFound(
                flavor_id=flavorid, extra_specs_key=key)
        del current[key]
    return _flavor_specs_change(context, flavorid, remove)


# -- key pairs ----------------------------------------------------------------


def key_pair_create(context: Any, values: dict[str, Any]) -> Row:
    """:raises KeyPairExists:"""
    values = dict(values)
    try:
        with writer(context) as session:
            return _insert(session, _KEY_PAIRS, values)
    except db_exc.DBDuplicateEntry:
        raise exception.KeyPairExists(key_name=values.get('name')) from None


def key_pair_get(context: Any, user_id: str, name: str) -> Row:
    """:raises KeypairNotFound:"""
    k = _KEY_PAIRS
    with reader(context) as session:
        row = session.execute(sa.select(k).where(
            k.c.user_id == user_id, k.c.name == name,
            k.c.deleted == 0)).first()
    if row is None:
        raise exception.KeypairNotFound(user_id=user_id, name=name)
    return dict(row._mapping)


def key_pair_get_all_by_user(context: Any, user_id: str,
                             limit: int | None = None,
                             marker: str | None = None) -> list[Row]:
    """A user's key pairs by name; ``marker`` is a key pair name.

    :raises MarkerNotFound:
    """
    k = _KEY_PAIRS
    conditions = [k.c.user_id == user_id, k.c.deleted == 0]
    keys, dirs = ['name', 'id'], ['asc', 'asc']
    with reader(context) as session:
        marker_row = None
        if marker is not None:
            marker_row = _as_dict(session.execute(
                sa.select(k.c.name, k.c.id).where(
                    *conditions, k.c.name == marker)).first())
            if marker_row is None:
                raise exception.MarkerNotFound(marker=marker)
        return _paginate(session, sa.select(k).where(*conditions), k, keys,
                         dirs, limit, marker_row)


def key_pair_count_by_user(context: Any, user_id: str) -> int:
    k = _KEY_PAIRS
    with reader(context) as session:
        return int(session.execute(sa.select(sa.func.count(k.c.id)).where(
            k.c.user_id == user_id, k.c.deleted == 0)).scalar_one())


def key_pair_destroy(context: Any, user_id: str, name: str) -> None:
    """Soft-delete (the name can be reused). :raises KeypairNotFound:"""
    k = _KEY_PAIRS
    with writer(context) as session:
        result = session.execute(sa.update(k).where(
            k.c.user_id == user_id, k.c.name == name, k.c.deleted == 0)
            .values(_soft_delete_values(k)))
    if not result.rowcount:
        raise exception.KeypairNotFound(user_id=user_id, name=name)


# -- quotas -------------------------------------------------------------------


def quota_get_all_by_project(context: Any, project_id: str,
                             ) -> dict[str, int]:
    """{resource: hard_limit} of the limits stored for a project."""
    q = _QUOTAS
    with reader(context) as session:
        rows = session.execute(sa.select(q.c.resource, q.c.hard_limit)
                               .where(q.c.project_id == project_id))
        return {r.resource: int(r.hard_limit) for r in rows
                if r.hard_limit is not None}


def quota_get_all_by_project_and_user(context: Any, project_id: str,
                                      user_id: str) -> dict[str, int]:
    """{resource: hard_limit} of the limits stored for a user."""
    q = _USER_QUOTAS
    with reader(context) as session:
        rows = session.execute(sa.select(q.c.resource, q.c.hard_limit)
                               .where(q.c.project_id == project_id,
                                      q.c.user_id == user_id))
        return {r.resource: int(r.hard_limit) for r in rows
                if r.hard_limit is not None}


def quota_get_user_limits_of_project(context: Any, project_id: str,
                                     ) -> list[Row]:
    """Every user limit stored in a project."""
    q = _USER_QUOTAS
    with reader(context) as session:
        return _as_dicts(session.execute(sa.select(q).where(
            q.c.project_id == project_id)))


def quota_set(context: Any, project_id: str, limits: dict[str, int],
              user_id: str | None = None) -> None:
    """Store limits of a project (or of one of its users), creating or
    updating a row per resource, in one transaction."""
    table = _QUOTAS if user_id is None else _USER_QUOTAS
    owner = [table.c.project_id == project_id]
    if user_id is not None:
        owner.append(table.c.user_id == user_id)
    now = timeutils.utcnow()

    def body(session: Any) -> None:
        for resource, limit in limits.items():
            result = session.execute(sa.update(table).where(
                *owner, table.c.resource == resource).values(
                    hard_limit=limit, updated_at=now))
            if not result.rowcount:
                values = {'project_id': project_id, 'resource': resource,
                          'hard_limit': limit, 'created_at': now}
                if user_id is not None:
                    values['user_id'] = user_id
                session.execute(sa.insert(table).values(values))

    transaction(body, context)


def quota_destroy_all_by_project(context: Any, project_id: str) -> None:
    """Back to the defaults: the project's and its users' limits go."""
    with writer(context) as session:
        for table in (_USER_QUOTAS, _QUOTAS):
            session.execute(sa.delete(table).where(
                table.c.project_id == project_id))


def quota_destroy_all_by_project_and_user(context: Any, project_id: str,
                                          user_id: str) -> None:
    """A user's limits go: the project's apply again."""
    q = _USER_QUOTAS
    with writer(context) as session:
        session.execute(sa.delete(q).where(q.c.project_id == project_id,
                                           q.c.user_id == user_id))


# -- block device mappings ----------------------------------------------------


def block_device_mapping_create(context: Any,
                                values: dict[str, Any]) -> Row:
    values = dict(values)
    values.setdefault('uuid', str(uuidlib.uuid4()))
    return transaction(
        lambda connection: _insert(connection, _BDMS, values), context)


def block_device_mapping_get(context: Any, bdm_id: int) -> Row:
    """:raises BDMNotFound:"""
    b = _BDMS
    with reader(context) as session:
        row = session.execute(sa.select(b).where(
            b.c.id == bdm_id, b.c.deleted == 0)).first()
    if row is None:
        raise exception.BDMNotFound(id=bdm_id)
    return dict(row._mapping)


def block_device_mapping_get_all_by_instance(context: Any,
                                             instance_uuid: str,
                                             ) -> list[Row]:
    b = _BDMS
    query = _template('bdms_by_instance', lambda: sa.select(b).where(
        b.c.instance_uuid == sa.bindparam('b_uuid'), b.c.deleted == 0)
        .order_by(b.c.id))
    return _read_all(context, query, {'b_uuid': instance_uuid})


def block_device_mapping_get_all_by_instance_uuids(
        context: Any, instance_uuids: Sequence[str],
        ) -> dict[str, list[Row]]:
    """The mappings of many instances in one query (a page of
    ``GET /servers/detail``), each instance's oldest first."""
    b = _BDMS
    found: dict[str, list[Row]] = {u: [] for u in instance_uuids}
    if not instance_uuids:
        return found
    with reader(context) as session:
        rows = session.execute(
            sa.select(b).where(b.c.instance_uuid.in_(list(instance_uuids)),
                               b.c.deleted == 0).order_by(b.c.id))
        for row in _as_dicts(rows):
            found[row['instance_uuid']].append(row)
    return found


def block_device_mapping_get_by_volume_id(context: Any, volume_id: str,
                                          instance_uuid: str | None = None,
                                          ) -> Row:
    """:raises VolumeBDMNotFound:"""
    b = _BDMS
    conditions = [b.c.volume_id == volume_id, b.c.deleted == 0]
    if instance_uuid is not None:
        conditions.append(b.c.instance_uuid == instance_uuid)
    with reader(context) as session:
        row = session.execute(sa.select(b).where(*conditions)
                              .order_by(b.c.id.desc())).first()
    if row is None:
        raise exception.VolumeBDMNotFound(volume_id=volume_id)
    return dict(row._mapping)


def block_device_mapping_update(context: Any, bdm_id: int,
                                values: dict[str, Any]) -> Row:
    """:raises BDMNotFound:"""
    b = _BDMS
    values = _update_values(values)
    with writer(context) as session:
        result = session.execute(sa.update(b).where(
            b.c.id == bdm_id, b.c.deleted == 0).values(values))
    if not result.rowcount:
        raise exception.BDMNotFound(id=bdm_id)
    return values


def block_device_mapping_destroy(context: Any, bdm_id: int) -> None:
    """Soft-delete. :raises BDMNotFound:"""
    b = _BDMS
    with writer(context) as session:
        result = session.execute(sa.update(b).where(
            b.c.id == bdm_id, b.c.deleted == 0).values(
            _soft_delete_values(b)))
    if not result.rowcount:
        raise exception.BDMNotFound(id=bdm_id)


def block_device_mapping_destroy_by_instance_and_volume(
        context: Any, instance_uuid: str, volume_id: str) -> int:
    """Soft-delete; returns how many mappings it deleted (0 is fine)."""
    b = _BDMS
    with writer(context) as session:
        return session.execute(sa.update(b).where(
            b.c.instance_uuid == instance_uuid, b.c.volume_id == volume_id,
            b.c.deleted == 0).values(_soft_delete_values(b))).rowcount


# -- fixed IPs (nova.network's local flat network) ----------------------------


def fixed_ip_associate(context: Any, network: str, address: str,
                       instance_uuid: str | None, mac: str,
                       port_id: str,
                       fields: dict[str, Any] | None = None,
                       security_group_ids: Sequence[str] = ()) -> Row:
    """Take ``address`` on ``network`` for a port: one INSERT, which the
    unique (network, address) key makes race-safe.  ``fields`` sets the
    port's other columns (name, project_id, host, preserve_on_delete).

    ``security_group_ids``: the new port's groups, bound by a second
    INSERT in the same transaction - a port never exists without its
    groups, and a boot pays one commit for both.

    :raises FixedIpAlreadyInUse: :raises SecurityGroupNotFound: a group
        is gone (no port is made).
    """
    values = {**(fields or {}), 'network': network, 'address': address,
              'instance_uuid': instance_uuid, 'mac': mac, 'port_id': port_id}
    bindings = [{'port_id': port_id, 'security_group_id': g}
                for g in dict.fromkeys(security_group_ids)]

    def insert(connection: Any) -> Row:
        row = _insert(connection, _FIXED_IPS, values)
        if bindings:
            connection.execute(_template(
                ('insert', _SECGROUP_PORTS.name),
                lambda: sa.insert(_SECGROUP_PORTS)), bindings)
        return row

    try:
        return transaction(insert, context)
    except db_exc.DBDuplicateEntry:
        raise exception.FixedIpAlreadyInUse(address=address,
                                            network=network) from None
    except db_exc.DBReferenceError:
        raise exception.SecurityGroupNotFound(
            security_group_id=', '.join(security_group_ids)) from None


def fixed_ip_get_by_instance(context: Any, instance_uuid: str) -> list[Row]:
    """The instance's ports, in allocation order."""
    ip = _FIXED_IPS
    query = _template('fixed_ips_by_instance', lambda: sa.select(ip).where(
        ip.c.instance_uuid == sa.bindparam('b_uuid')).order_by(ip.c.id))
    return _read_all(context, query, {'b_uuid': instance_uuid})


def fixed_ips_get_by_instances(context: Any, instance_uuids: Sequence[str],
                               ) -> dict[str, list[Row]]:
    """The ports of many instances in one query (for server lists)."""
    ip = _FIXED_IPS
    found: dict[str, list[Row]] = {u: [] for u in instance_uuids}
    if not found:
        return found
    with reader(context) as session:
        for row in _as_dicts(session.execute(sa.select(ip).where(
                ip.c.instance_uuid.in_(list(found))).order_by(ip.c.id))):
            found[row['instance_uuid']].append(row)
    return found


def fixed_ip_get_by_port(context: Any, port_id: str) -> Row:
    """:raises PortNotFound:"""
    ip = _FIXED_IPS
    with reader(context) as session:
        row = session.execute(sa.select(ip).where(
            ip.c.port_id == port_id)).first()
    if row is None:
        raise exception.PortNotFound(port_id=port_id)
    return dict(row._mapping)


def fixed_ip_get_addresses(context: Any, network: str) -> set[str]:
    """Every address in use on ``network``."""
    ip = _FIXED_IPS
    with reader(context) as session:
        return set(session.execute(sa.select(ip.c.address).where(
            ip.c.network == network)).scalars())


def fixed_ip_disassociate(context: Any, port_id: str,
                          unbound_only: bool = False) -> bool:
    """Free a port's address; False if there was no such port (or, with
    ``unbound_only``, an instance has it)."""
    ip = _FIXED_IPS
    query = sa.delete(ip).where(ip.c.port_id == port_id)
    if unbound_only:
        query = query.where(ip.c.instance_uuid.is_(None))
    with writer(context) as session:
        return bool(session.execute(query).rowcount)


def fixed_ips_disassociate_by_instance(context: Any,
                                       instance_uuid: str) -> int:
    """Release every port of an instance: delete those nova created for
    it, unbind those the user created (``preserve_on_delete``), in one
    transaction; returns how many ports it released."""
    ip = _FIXED_IPS
    delete = _template('fixed_ips_free_instance', lambda: sa.delete(
        ip).where(ip.c.instance_uuid == sa.bindparam('b_uuid'),
                  ip.c.preserve_on_delete == sa.false()))
    unbind = _template('fixed_ips_unbind_instance', lambda: sa.update(
        ip).where(ip.c.instance_uuid == sa.bindparam('b_uuid')).values(
        instance_uuid=None, host=None))

    def release(connection: Any) -> int:
        parameters = {'b_uuid': instance_uuid}
        freed = connection.execute(delete, parameters).rowcount
        return freed + connection.execute(unbind, parameters).rowcount

    return transaction(release, context)


def fixed_ip_get_all(context: Any,
                     filters: dict[str, Any] | None = None) -> list[Row]:
    """Every port whose columns equal ``filters`` (a list value: any of
    its items), in creation order."""
    ip = _FIXED_IPS
    query = sa.select(ip).order_by(ip.c.id)
    for key, value in (filters or {}).items():
        column = ip.c[key]
        if isinstance(value, (list, tuple, set)):
            query = query.where(column.in_(list(value)))
        else:
            query = query.where(column == value)
    with reader(context) as session:
        return _as_dicts(session.execute(query))


def fixed_ip_bind(context: Any, port_id: str, instance_uuid: str,
                  values: dict[str, Any]) -> bool:
    """Give a port that no instance has to ``instance_uuid`` (and set
    ``values``); False if the port is gone or another instance has it.
    One conditional UPDATE, so two servers cannot both take a port."""
    ip = _FIXED_IPS
    with writer(context) as session:
        return bool(session.execute(sa.update(ip).where(
            ip.c.port_id == port_id,
            sa.or_(ip.c.instance_uuid.is_(None),
                   ip.c.instance_uuid == instance_uuid)).values(
            instance_uuid=instance_uuid, **values)).rowcount)


def fixed_ips_set_host(context: Any, instance_uuid: str,
                       host: str | None) -> int:
    """Bind every port of an instance to ``host``; how many."""
    ip = _FIXED_IPS
    with writer(context) as session:
        return int(session.execute(sa.update(ip).where(
            ip.c.instance_uuid == instance_uuid).values(host=host)).rowcount)


def fixed_ip_update(context: Any, port_id: str,
                    values: dict[str, Any]) -> bool:
    """Set a port's columns; False if there is no such port."""
    ip = _FIXED_IPS
    with writer(context) as session:
        return bool(session.execute(sa.update(ip).where(
            ip.c.port_id == port_id).values(**values)).rowcount)


# -- networks and subnets (nova.network's local service) ----------------------


def _where_in(query: Any, table: sa.Table,
              filters: dict[str, Any] | None) -> Any:
    """``query`` restricted to rows whose columns equal ``filters`` (a
    list value: any of its items)."""
    for key, value in (filters or {}).items():
        column = table.c[key]
        if isinstance(value, (list, tuple, set, frozenset)):
            query = query.where(column.in_(list(value)))
        else:
            query = query.where(column == value)
    return query


def _create_with_id(context: Any, table: sa.Table,
                    values: dict[str, Any]) -> Row:
    """Insert ``values`` into ``table``, with a new UUID ``id`` unless
    they name one."""
    values = dict(values)
    values.setdefault('id', str(uuidlib.uuid4()))
    return transaction(lambda connection: _insert(connection, table, values),
                       context)


def _get_by_id(context: Any, table: sa.Table, row_id: str,
               not_found: Callable[[], Exception]) -> Row:
    """The row of ``table`` with ``row_id``; raises ``not_found()``."""
    with reader(context) as session:
        row = session.execute(sa.select(table).where(
            table.c.id == row_id)).first()
    if row is None:
        raise not_found()
    return dict(row._mapping)


def _get_all_by_filters(context: Any, table: sa.Table,
                        filters: dict[str, Any] | None) -> list[Row]:
    """Rows of ``table`` whose columns equal ``filters``, in creation
    order."""
    query = _where_in(sa.select(table), table, filters).order_by(
        table.c.created_at, table.c.id)
    with reader(context) as session:
        return _as_dicts(session.execute(query))


def _update_by_id(context: Any, table: sa.Table, row_id: str,
                  values: dict[str, Any],
                  not_found: Callable[[], Exception]) -> None:
    """Update the row of ``table`` with ``row_id`` (and its
    ``updated_at``); raises ``not_found()`` when there is none."""
    with writer(context) as session:
        done = session.execute(sa.update(table).where(
            table.c.id == row_id).values(updated_at=timeutils.utcnow(),
                                         **values)).rowcount
    if not done:
        raise not_found()


def network_create(context: Any, values: dict[str, Any]) -> Row:
    return _create_with_id(context, _NETWORKS, values)


def network_get(context: Any, network_id: str) -> Row:
    """:raises NetworkNotFound:"""
    return _get_by_id(context, _NETWORKS, network_id, lambda:
                      exception.NetworkNotFound(network_id=network_id))


def network_get_all(context: Any,
                    filters: dict[str, Any] | None = None) -> list[Row]:
    """Networks whose columns equal ``filters``, in creation order."""
    return _get_all_by_filters(context, _NETWORKS, filters)


def network_update(context: Any, network_id: str,
                   values: dict[str, Any]) -> None:
    """:raises NetworkNotFound:"""
    _update_by_id(context, _NETWORKS, network_id, values, lambda:
                  exception.NetworkNotFound(network_id=network_id))


def network_destroy(context: Any, network_id: str) -> None:
    """Delete a network and its subnets, in one transaction.

    :raises NetworkNotFound: :raises NetworkInUse: it has ports.
    """
    n, s, ip = _NETWORKS, _SUBNETS, _FIXED_IPS

    def destroy(connection: Any) -> int:
        # Locks the network's row: a subnet or port made meanwhile
        # reads it first (subnet_create, fixed_ip_associate's caller).
        found = connection.execute(sa.select(n.c.id).where(
            n.c.id == network_id).with_for_update()).first()
        if found is None:
            return 0
        used = connection.execute(sa.select(ip.c.port_id).where(
            ip.c.network == network_id).limit(1)).first()
        if used is not None:
            raise exception.NetworkInUse(net_id=network_id)
        connection.execute(sa.delete(s).where(s.c.network_id == network_id))
        return int(connection.execute(sa.delete(n).where(
            n.c.id == network_id)).rowcount)

    if not transaction(destroy, context):
        raise exception.NetworkNotFound(network_id=network_id)


def subnet_create(context: Any, values: dict[str, Any]) -> Row:
    """:raises NetworkNotFound: the network is gone."""
    try:
        return _create_with_id(context, _SUBNETS, values)
    except db_exc.DBReferenceError:
        raise exception.NetworkNotFound(
            network_id=values.get('network_id')) from None


def subnet_get(context: Any, subnet_id: str) -> Row:
    """:raises SubnetNotFound:"""
    return _get_by_id(context, _SUBNETS, subnet_id, lambda:
                      exception.SubnetNotFound(subnet_id=subnet_id))


def subnet_get_all(context: Any,
                   filters: dict[str, Any] | None = None) -> list[Row]:
    """Subnets whose columns equal ``filters``, in creation order."""
    return _get_all_by_filters(context, _SUBNETS, filters)


def subnet_destroy(context: Any, subnet_id: str) -> None:
    """Delete a subnet none of whose addresses a port has.

    :raises SubnetNotFound: :raises SubnetInUse:
    """
    s, ip = _SUBNETS, _FIXED_IPS

    def destroy(connection: Any) -> int:
        subnet = connection.execute(sa.select(s).where(
            s.c.id == subnet_id).with_for_update()).first()
        if subnet is None:
            return 0
        cidr = ipaddress.ip_network(subnet.cidr)
        for address in connection.execute(sa.select(ip.c.address).where(
                ip.c.network == subnet.network_id)).scalars():
            if ipaddress.ip_address(address) in cidr:
                raise exception.SubnetInUse(subnet_id=subnet_id)
        return int(connection.execute(sa.delete(s).where(
            s.c.id == subnet_id)).rowcount)

    if not transaction(destroy, context):
        raise exception.SubnetNotFound(subnet_id=subnet_id)


# -- security groups (nova.network's local service) ---------------------------


def security_group_create(context: Any, values: dict[str, Any],
                          rules: Sequence[dict[str, Any]] = ()) -> Row:
    """A group and its first ``rules`` in one transaction (a rule's
    ``remote_group_id`` ``'self'`` names the new group).

    :raises SecurityGroupExists: the project's default group exists
        already (``default_for`` set).
    """
    values = dict(values)
    values.setdefault('id', str(uuidlib.uuid4()))

    def create(connection: Any) -> Row:
        group = _insert(connection, _SECGROUPS, values)
        for rule in rules:
            rule = dict(rule, security_group_id=group['id'],
                        project_id=group['project_id'])
            if rule.get('remote_group_id') == 'self':
                rule['remote_group_id'] = group['id']
            rule.setdefault('id', str(uuidlib.uuid4()))
            _insert(connection, _SECGROUP_RULES, rule)
        return group

    try:
        return transaction(create, context)
    except db_exc.DBDuplicateEntry:
        raise exception.SecurityGroupExists(
            security_group_name=values.get('name'),
            project_id=values.get('project_id')) from None


def security_group_get(context: Any, group_id: str) -> Row:
    """:raises SecurityGroupNotFound:"""
    return _get_by_id(context, _SECGROUPS, group_id, lambda:
                      exception.SecurityGroupNotFound(
                          security_group_id=group_id))


def security_group_get_default(context: Any, project_id: str) -> Row | None:
    """The project's ``default`` group, if it has been made."""
    g = _SECGROUPS
    with reader(context) as session:
        return _as_dict(session.execute(sa.select(g).where(
            g.c.default_for == project_id)).first())


def security_group_get_all(context: Any,
                           filters: dict[str, Any] | None = None,
                           ) -> list[Row]:
    """Groups whose columns equal ``filters``, in creation order."""
    return _get_all_by_filters(context, _SECGROUPS, filters)


def security_group_update(context: Any, group_id: str,
                          values: dict[str, Any]) -> None:
    """:raises SecurityGroupNotFound:"""
    _update_by_id(context, _SECGROUPS, group_id, values, lambda:
                  exception.SecurityGroupNotFound(security_group_id=group_id))


def security_group_destroy(context: Any, group_id: str) -> None:
    """Delete a group and its rules.

    :raises SecurityGroupNotFound: :raises SecurityGroupInUse: a port
        has it (or a rule of another group names it as remote group, as
        Neutron refuses).
    """
    g, b, r = _SECGROUPS, _SECGROUP_PORTS, _SECGROUP_RULES

    def destroy(connection: Any) -> int:
        used = connection.execute(sa.select(b.c.port_id).where(
            b.c.security_group_id == group_id).limit(1)).first()
        if used is not None:
            raise exception.SecurityGroupInUse(id=group_id)
        connection.execute(sa.delete(r).where(
            r.c.security_group_id == group_id))
        return int(connection.execute(sa.delete(g).where(
            g.c.id == group_id)).rowcount)

    try:
        deleted = transaction(destroy, context)
    except db_exc.DBReferenceError:
        # A port took the group meanwhile.
        raise exception.SecurityGroupInUse(id=group_id) from None
    if not deleted:
        raise exception.SecurityGroupNotFound(security_group_id=group_id)


def security_group_rule_create(context: Any, values: dict[str, Any]) -> Row:
    """:raises SecurityGroupNotFound: the group (or remote group) is gone.
    """
    try:
        return _create_with_id(context, _SECGROUP_RULES, values)
    except db_exc.DBReferenceError:
        raise exception.SecurityGroupNotFound(
            security_group_id=values.get('security_group_id')) from None


def security_group_rule_get(context: Any, rule_id: str) -> Row:
    """:raises SecurityGroupRuleNotFound:"""
    return _get_by_id(context, _SECGROUP_RULES, rule_id, lambda:
                      exception.SecurityGroupRuleNotFound(rule_id=rule_id))


def security_group_rule_get_all(context: Any,
                                filters: dict[str, Any] | None = None,
                                ) -> list[Row]:
    """Rules whose columns equal ``filters``, in creation order."""
    return _get_all_by_filters(context, _SECGROUP_RULES, filters)


def security_group_rule_destroy(context: Any, rule_id: str) -> None:
    """:raises SecurityGroupRuleNotFound:"""
    r = _SECGROUP_RULES
    with writer(context) as session:
        done = session.execute(sa.delete(r).where(r.c.id == rule_id)).rowcount
    if not done:
        raise exception.SecurityGroupRuleNotFound(rule_id=rule_id)


def port_security_groups_get(context: Any, port_ids: Sequence[str],
                             ) -> dict[str, list[str]]:
    """Port ID -> the IDs of its security groups."""
    b = _SECGROUP_PORTS
    found: dict[str, list[str]] = {p: [] for p in port_ids}
    if not found:
        return found
    with reader(context) as session:
        for port_id, group_id in session.execute(sa.select(
                b.c.port_id, b.c.security_group_id).where(
                b.c.port_id.in_(list(found))).order_by(
                b.c.security_group_id)):
            found[port_id].append(group_id)
    return found


def port_security_groups_set(context: Any, port_ids: Sequence[str],
                             group_ids: Sequence[str],
                             new_ports: bool = False) -> None:
    """Make ``group_ids`` the security groups of each port, in one
    transaction; ``new_ports``: ports that have none yet (one INSERT).

    :raises SecurityGroupNotFound: a group is gone.
    :raises PortNotFound: a port is gone.
    """
    b = _SECGROUP_PORTS
    wanted = list(dict.fromkeys(group_ids))

    def replace(connection: Any) -> None:
        if not new_ports:
            connection.execute(sa.delete(b).where(
                b.c.port_id.in_(list(port_ids))))
        rows = [{'port_id': p, 'security_group_id': g}
                for p in port_ids for g in wanted]
        if rows:
            connection.execute(sa.insert(b), rows)

    if port_ids:
        _write_bindings(context, replace, port_ids, wanted)


def port_security_group_add(context: Any, port_ids: Sequence[str],
                            group_id: str) -> None:
    """Add a group to ports that do not have it yet.

    :raises SecurityGroupNotFound: :raises PortNotFound:
    """
    b = _SECGROUP_PORTS

    def add(connection: Any) -> None:
        connection.execute(sa.insert(b), [
            {'port_id': p, 'security_group_id': group_id}
            for p in port_ids])

    if port_ids:
        _write_bindings(context, add, port_ids, [group_id])


def port_security_group_remove(context: Any, port_ids: Sequence[str],
                               group_id: str) -> int:
    """Take a group from ports; how many had it."""
    b = _SECGROUP_PORTS
    if not port_ids:
        return 0
    with writer(context) as session:
        return int(session.execute(sa.delete(b).where(
            b.c.port_id.in_(list(port_ids)),
            b.c.security_group_id == group_id)).rowcount)


@retry_on_deadlock
def _write_bindings(context: Any, body: Callable[[Any], None],
                    port_ids: Sequence[str],
                    group_ids: Sequence[str]) -> None:
    try:
        transaction(body, context)
    except db_exc.DBReferenceError as error:
        if error.key_table == _FIXED_IPS.name or error.key == 'port_id':
            raise exception.PortNotFound(
                port_id=', '.join(port_ids)) from None
        raise exception.SecurityGroupNotFound(
            security_group_id=', '.join(group_ids)) from None


# -- volumes (nova.volume's local volumes) ------------------------------------


def volume_create(context: Any, values: dict[str, Any]) -> Row:
    values = dict(values)
    values.setdefault('id', str(uuidlib.uuid4()))
    with writer(context) as session:
        return _insert(session, _VOLUMES, values)


def volume_get(context: Any, volume_id: str) -> Row:
    """:raises VolumeNotFound:"""
    v = _VOLUMES
    with reader(context) as session:
        row = session.execute(sa.select(v).where(
            v.c.id == volume_id)).first()
    if row is None:
        raise exception.VolumeNotFound(volume_id=volume_id)
    return dict(row._mapping)


def volume_get_all(context: Any,
                   filters: dict[str, Any] | None = None) -> list[Row]:
    """Filters: ``project_id``, ``user_id``, ``instance_uuid``,
    ``status``, ``attach_status`` (a list means "any of")."""
    v = _VOLUMES
    conditions = []
    for key, value in (filters or {}).items():
        if key not in ('project_id', 'user_id', 'instance_uuid', 'status',
                       'attach_status', 'display_name'):
            raise exception.Invalid(reason=f'Unknown volume filter {key}')
        conditions.append(_filter_value(v.c[key], value))
    with reader(context) as session:
        return _as_dicts(session.execute(sa.select(v).where(*conditions)
                                         .order_by(v.c.created_at, v.c.id)))


def _volume_conflict(session: sa.Connection, volume_id: str,
                     expected: Any) -> exception.NovaException:
    v = _VOLUMES
    row = session.execute(sa.select(v.c.status).where(
        v.c.id == volume_id)).first()
    if row is None:
        return exception.VolumeNotFound(volume_id=volume_id)
    return exception.UnexpectedVolumeStateError(
        volume_id=volume_id, expected=expected, actual=row.status)


def volume_update(context: Any, volume_id: str, values: dict[str, Any],
                  expected_status: Any = UNSET,
                  expected_instance_uuid: Any = UNSET) -> Row:
    """One conditional UPDATE; ``expected_status`` (a value or a list)
    and ``expected_instance_uuid`` make it a compare-and-swap.

    :raises VolumeNotFound:
    :raises UnexpectedVolumeStateError: the status (or the instance) did
        not match; ``kwargs['actual']`` holds the current status.
    """
    v = _VOLUMES
    values = _update_values(values)
    conditions = [v.c.id == volume_id]
    if expected_status is not UNSET:
        conditions.append(_matches(v.c.status, expected_status))
    if expected_instance_uuid is not UNSET:
        conditions.append(_matches(v.c.instance_uuid,
                                   expected_instance_uuid))
    with writer(context) as session:
        if session.execute(sa.update(v).where(*conditions)
                           .values(values)).rowcount:
            return values
        error = _volume_conflict(session, volume_id, expected_status)
    raise error


def volume_destroy(context: Any, volume_id: str,
                   expected_status: Any = UNSET) -> None:
    """Delete the record (volumes are not soft-deleted).

    :raises VolumeNotFound:
    :raises UnexpectedVolumeStateError:
    """
    v = _VOLUMES
    conditions = [v.c.id == volume_id]
    if expected_status is not UNSET:
        conditions.append(_matches(v.c.status, expected_status))
    with writer(context) as session:
        if session.execute(sa.delete(v).where(*conditions)).rowcount:
            return
        error = _volume_conflict(session, volume_id, expected_status)
    raise error


# -- images (nova.image's local store) ----------------------------------------


def _image_visible(context: Any) -> Any:
    m = _IMAGES
    if context is None or getattr(context, 'is_admin', False):
        return sa.true()
    return sa.or_(m.c.visibility.in_(('public', 'community')),
                  m.c.owner == getattr(context, 'project_id', None))


def image_create(context: Any, values: dict[str, Any]) -> Row:
    values = dict(values)
    values.setdefault('id', str(uuidlib.uuid4()))
    values.setdefault('properties', {})
    with writer(context) as session:
        return _insert(session, _IMAGES, values)


def image_get(context: Any, image_id: str,
              read_deleted: bool = False) -> Row:
    """An image the context may see (admins see all).

    :raises ImageNotFound:
    """
    m = _IMAGES
    admin = context is None or bool(getattr(context, 'is_admin', False))

    def build() -> Any:
        conditions = [m.c.id == sa.bindparam('b_id')]
        if not admin:
            # Comparisons rather than IN (a literal IN list is rendered
            # anew at each execution).
            conditions.append(sa.or_(
                m.c.visibility == 'public', m.c.visibility == 'community',
                m.c.owner == sa.bindparam('b_project')))
        if not read_deleted:
            conditions.append(m.c.deleted == sa.false())
        return sa.select(m).where(*conditions)

    parameters: dict[str, Any] = {'b_id': image_id}
    if not admin:
        parameters['b_project'] = getattr(context, 'project_id', None)
    row = _read_first(context, _template(
        ('image_get', admin, bool(read_deleted)), build), parameters)
    if row is None:
        raise exception.ImageNotFound(image_id=image_id)
    return row


_IMAGE_FILTERS: Final = frozenset({
    'id', 'name', 'status', 'visibility', 'owner', 'disk_format',
    'container_format', 'protected'})


def image_get_all(context: Any, filters: dict[str, Any] | None = None,
                  limit: int | None = None, marker: str | None = None,
                  sort_key: str = 'created_at',
                  sort_dir: str = 'desc') -> list[Row]:
    """Images the context may see, sorted and paged.

    Filters as glance's: ``id``, ``name``, ``status``, ``visibility``,
    ``owner``, ``disk_format``, ``container_format``, ``protected``; a
    list, or a string ``in:a,b``, means "any of".  ``marker`` is an image
    ID.

    :raises MarkerNotFound:
    """
    m = _IMAGES
    conditions = [m.c.deleted == sa.false(), _image_visible(context)]
    for key, value in (filters or {}).items():
        if key not in _IMAGE_FILTERS:
            raise exception.Invalid(reason=f'Unknown image filter {key}')
        if isinstance(value, str) and value.startswith('in:'):
            value = [v.strip('"') for v in value[3:].split(',') if v]
        if key == 'protected':
            value = _is_true(value)
        conditions.append(_filter_value(m.c[key], value))
    keys, dirs = _sort_spec(m, [sort_key], [sort_dir], (), 'desc',
                            allowed=set(m.c.keys()) - {'properties'})
    with reader(context) as session:
        marker_row = None
        if marker is not None:
            marker_row = _as_dict(session.execute(
                sa.select(*(m.c[k] for k in keys)).where(
                    m.c.id == marker)).first())
            if marker_row is None:
                raise exception.MarkerNotFound(marker=marker)
        return _paginate(session, sa.select(m).where(*conditions), m, keys,
                         dirs, limit, marker_row)


def image_update(context: Any, image_id: str, values: dict[str, Any],
                 expected_status: Any = UNSET) -> Row:
    """One conditional UPDATE of a live image.

    :raises ImageNotFound:
    :raises InvalidImageState: ``expected_status`` did not match.
    """
    m = _IMAGES
    values = _update_values(values)
    conditions = [m.c.id == image_id, m.c.deleted == sa.false()]
    if expected_status is not UNSET:
        conditions.append(_matches(m.c.status, expected_status))
    with writer(context) as session:
        if session.execute(sa.update(m).where(*conditions)
                           .values(values)).rowcount:
            return values
        row = session.execute(sa.select(m.c.status).where(
            m.c.id == image_id, m.c.deleted == sa.false())).first()
    if row is None:
        raise exception.ImageNotFound(image_id=image_id)
    raise exception.InvalidImageState(image_id=image_id,
                                      expected=expected_status,
                                      actual=row.status)


def image_destroy(context: Any, image_id: str) -> None:
    """Soft-delete (status ``deleted``).

    :raises ImageNotFound:
    :raises ImageProtected:
    """
    m = _IMAGES
    now = timeutils.utcnow()
    with writer(context) as session:
        if session.execute(sa.update(m).where(
                m.c.id == image_id, m.c.deleted == sa.false(),
                m.c.protected == sa.false()).values(
                deleted=True, deleted_at=now, updated_at=now,
                status='deleted')).rowcount:
            return
        row = session.execute(sa.select(m.c.protected).where(
            m.c.id == image_id, m.c.deleted == sa.false())).first()
    if row is None:
        raise exception.ImageNotFound(image_id=image_id)
    raise exception.ImageProtected(image_id=image_id)


# -- server groups ------------------------------------------------------------


def _group_members(session: sa.Connection,
                   group_ids: Sequence[int]) -> dict[int, list[Row]]:
    """Each group's live members: ``{'instance_uuid', 'host',
    'vm_state'}`` (host None while unscheduled), oldest first."""
    m, i = _GROUP_MEMBERS, _INSTANCES
    result: dict[int, list[Row]] = {gid: [] for gid in group_ids}
    if not group_ids:
        return result
    rows = session.execute(
        sa.select(m.c.group_id, m.c.instance_uuid, i.c.host, i.c.vm_state)
        .select_from(m.join(i, sa.and_(i.c.uuid == m.c.instance_uuid,
                                       i.c.deleted == 0)))
        .where(m.c.group_id.in_(list(group_ids))).order_by(m.c.id))
    for row in rows:
        result[row.group_id].append({'instance_uuid': row.instance_uuid,
                                     'host': row.host,
                                     'vm_state': row.vm_state})
    return result


def _with_members(session: sa.Connection, groups: list[Row]) -> list[Row]:
    members = _group_members(session, [g['id'] for g in groups])
    for group in groups:
        group['members'] = members[group['id']]
    return groups


def instance_group_create(context: Any, values: dict[str, Any]) -> Row:
    """A server group (``uuid`` generated when not given)."""
    values = dict(values)
    values.setdefault('uuid', str(uuidlib.uuid4()))
    values.setdefault('rules', {})
    with writer(context) as session:
        row = _insert(session, _GROUPS, values)
    row['members'] = []
    return row


def instance_group_get(context: Any, group_uuid: str) -> Row:
    """The group with its ``members``. :raises InstanceGroupNotFound:"""
    g = _GROUPS
    with reader(context) as session:
        row = _as_dict(session.execute(sa.select(g).where(
            g.c.uuid == group_uuid, g.c.deleted == 0)).first())
        if row is None:
            raise exception.InstanceGroupNotFound(group_uuid=group_uuid)
        return _with_members(session, [row])[0]


def instance_group_get_all(context: Any, project_id: str | None = None,
                           limit: int | None = None,
                           offset: int | None = None) -> list[Row]:
    """Groups (of one project, or all), oldest first, with members."""
    g = _GROUPS
    query = sa.select(g).where(g.c.deleted == 0).order_by(g.c.id)
    if project_id is not None:
        query = query.where(g.c.project_id == project_id)
    if offset:
        query = query.offset(offset)
    if limit is not None:
        query = query.limit(limit)
    with reader(context) as session:
        return _with_members(session, _as_dicts(session.execute(query)))


def instance_group_get_by_instance(context: Any,
                                   instance_uuid: str) -> Row | None:
    """The group ``instance_uuid`` is a member of, or None."""
    g, m = _GROUPS, _GROUP_MEMBERS
    with reader(context) as session:
        row = _as_dict(session.execute(
            sa.select(g).select_from(g.join(m, m.c.group_id == g.c.id))
            .where(m.c.instance_uuid == instance_uuid,
                   g.c.deleted == 0)).first())
        if row is None:
            return None
        return _with_members(session, [row])[0]


def instance_group_delete(context: Any, group_uuid: str) -> None:
    """Soft-delete the group and drop its memberships.

    :raises InstanceGroupNotFound:
    """
    g, m = _GROUPS, _GROUP_MEMBERS
    with writer(context) as session:
        row = session.execute(sa.select(g.c.id).where(
            g.c.uuid == group_uuid, g.c.deleted == 0)).first()
        if row is None:
            raise exception.InstanceGroupNotFound(group_uuid=group_uuid)
        session.execute(sa.delete(m).where(m.c.group_id == row.id))
        session.execute(sa.update(g).where(g.c.id == row.id).values(
            _soft_delete_values(g)))


# -- host aggregates ----------------------------------------------------------


def _aggregate_rows(session: sa.Connection, *conditions: Any) -> list[Row]:
    a, h = _AGGREGATES, _AGGREGATE_HOSTS
    rows = _as_dicts(session.execute(sa.select(a).where(
        a.c.deleted == 0, *conditions).order_by(a.c.id)))
    hosts: dict[int, list[str]] = {row['id']: [] for row in rows}
    if rows:
        for entry in session.execute(sa.select(
                h.c.aggregate_id, h.c.host).where(
                h.c.aggregate_id.in_(list(hosts))).order_by(h.c.id)):
            hosts[entry.aggregate_id].append(entry.host)
    for row in rows:
        row['hosts'] = hosts[row['id']]
        row['metadata'] = dict(row.get('metadata') or {})
    return rows


def aggregate_create(context: Any, name: str,
                     metadata: dict[str, str] | None = None) -> Row:
    """:raises AggregateNameExists:"""
    a = _AGGREGATES
    values = {'uuid': str(uuidlib.uuid4()), 'name': name,
              'metadata': dict(metadata or {})}
    with writer(context) as session:
        if session.execute(sa.select(a.c.id).where(
                a.c.name == name, a.c.deleted == 0)).first():
            raise exception.AggregateNameExists(aggregate_name=name)
        try:
            row = _insert(session, a, values)
        except db_exc.DBDuplicateEntry:
            raise exception.AggregateNameExists(
                aggregate_name=name) from None
    row['hosts'] = []
    return row


def aggregate_get(context: Any, aggregate_id: int) -> Row:
    """The aggregate with ``hosts``. :raises AggregateNotFound:"""
    with reader(context) as session:
        rows = _aggregate_rows(session, _AGGREGATES.c.id == aggregate_id)
    if not rows:
        raise exception.AggregateNotFound(aggregate_id=aggregate_id)
    return rows[0]


def aggregate_get_all(context: Any) -> list[Row]:
    with reader(context) as session:
        return _aggregate_rows(session)


def aggregate_get_by_host(context: Any, host: str) -> list[Row]:
    """The aggregates ``host`` is in."""
    h = _AGGREGATE_HOSTS
    with reader(context) as session:
        return _aggregate_rows(session, _AGGREGATES.c.id.in_(
            sa.select(h.c.aggregate_id).where(h.c.host == host)))


def aggregate_update(context: Any, aggregate_id: int,
                     name: str | None = None,
                     metadata: dict[str, str | None] | None = None) -> Row:
    """Rename and/or merge ``metadata`` (a None value removes the key).

    :raises AggregateNotFound:
    :raises AggregateNameExists:
    """
    a = _AGGREGATES
    with writer(context) as session:
        rows = _aggregate_rows(session, a.c.id == aggregate_id)
        if not rows:
            raise exception.AggregateNotFound(aggregate_id=aggregate_id)
        row = rows[0]
        values: dict[str, Any] = {}
        if name is not None and name != row['name']:
            if session.execute(sa.select(a.c.id).where(
                    a.c.name == name, a.c.deleted == 0)).first():
                raise exception.AggregateNameExists(aggregate_name=name)
            values['name'] = name
        if metadata is not None:
            merged = dict(row['metadata'])
            for key, value in metadata.items():
                if value is None:
                    merged.pop(key, None)
                else:
                    merged[key] = value
            values['metadata'] = merged
        if values:
            values = _update_values(values)
            session.execute(sa.update(a).where(a.c.id == aggregate_id)
                            .values(values))
            row.update(values)
    return row


def aggregate_delete(context: Any, aggregate_id: int) -> None:
    """:raises AggregateNotFound:"""
    a, h = _AGGREGATES, _AGGREGATE_HOSTS
    with writer(context) as session:
        if not session.execute(sa.update(a).where(
                a.c.id == aggregate_id, a.c.deleted == 0).values(
                _soft_delete_values(a))).rowcount:
            raise exception.AggregateNotFound(aggregate_id=aggregate_id)
        session.execute(sa.delete(h).where(h.c.aggregate_id == aggregate_id))


def aggregate_host_add(context: Any, aggregate_id: int, host: str) -> None:
    """:raises AggregateNotFound: :raises AggregateHostExists:"""
    a, h = _AGGREGATES, _AGGREGATE_HOSTS
    with writer(context) as session:
        if not session.execute(sa.select(a.c.id).where(
                a.c.id == aggregate_id, a.c.deleted == 0)).first():
            raise exception.AggregateNotFound(aggregate_id=aggregate_id)
        if session.execute(sa.select(h.c.id).where(
                h.c.aggregate_id == aggregate_id, h.c.host == host)).first():
            raise exception.AggregateHostExists(aggregate_id=aggregate_id,
                                                host=host)
        try:
            _insert(session, h, {'aggregate_id': aggregate_id,
                                 'host': host})
        except db_exc.DBDuplicateEntry:
            raise exception.AggregateHostExists(
                aggregate_id=aggregate_id, host=host) from None


def aggregate_host_delete(context: Any, aggregate_id: int,
                          host: str) -> None:
    """:raises AggregateHostNotFound:"""
    h = _AGGREGATE_HOSTS
    with writer(context) as session:
        if not session.execute(sa.delete(h).where(
                h.c.aggregate_id == aggregate_id,
                h.c.host == host)).rowcount:
            raise exception.AggregateHostNotFound(
                aggregate_id=aggregate_id, host=host)


# -- console auth tokens ------------------------------------------------------


def console_auth_token_create(context: Any, values: dict[str, Any]) -> Row:
    """Store a console token (``values`` has its ``token_hash``, never
    the token)."""
    with writer(context) as session:
        return _insert(session, _CONSOLE_AUTH_TOKENS, dict(values))


def console_auth_token_get_valid(context: Any, token_hash: str,
                                 instance_uuid: str | None = None,
                                 ) -> Row | None:
    """The unexpired token of hash ``token_hash`` (and of the instance
    ``instance_uuid`` if given); None if there is none: an expired token
    is as good as a missing one."""
    c = _CONSOLE_AUTH_TOKENS
    conditions = [c.c.token_hash == token_hash,
                  c.c.expires > int(timeutils.utcnow_ts())]
    if instance_uuid is not None:
        conditions.append(c.c.instance_uuid == instance_uuid)
    with reader(context) as session:
        return _as_dict(session.execute(
            sa.select(c).where(*conditions)).first())


def console_auth_token_destroy_all_by_instance(context: Any,
                                               instance_uuid: str) -> int:
    """Remove every console token of an instance; how many."""
    c = _CONSOLE_AUTH_TOKENS
    with writer(context) as session:
        return int(session.execute(sa.delete(c).where(
            c.c.instance_uuid == instance_uuid)).rowcount)


def console_auth_token_destroy_expired(context: Any) -> int:
    """Remove the tokens that have expired; how many."""
    c = _CONSOLE_AUTH_TOKENS
    with writer(context) as session:
        return int(session.execute(sa.delete(c).where(
            c.c.expires <= int(timeutils.utcnow_ts()))).rowcount)


# -- lost connections, for every function above ---------------------------
# Every public function of this module runs its own transaction when
# called outside one: each retries while the database cannot be reached
# (retry_on_disconnect), and one added here later is covered too.  Not
# the transaction blocks themselves (a ``with`` body cannot be re-run)
# nor the functions that do not touch the database.
_NOT_RETRIED = frozenset((
    'writer', 'reader', 'writer_connection', 'in_transaction',
    'get_engine', 'table_of', 'mask_secrets', 'retry_on_disconnect',
    'connection_lost'))


def _retry_public_functions(namespace: dict[str, Any]) -> None:
    for name, value in list(namespace.items()):
        if (not name.startswith('_') and name not in _NOT_RETRIED
                and isinstance(value, types.FunctionType)
                and value.__module__ == __name__):
            namespace[name] = retry_on_disconnect(value)


_retry_public_functions(globals())
