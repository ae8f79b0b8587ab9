"""Transactions sent to a pooled DB-API connection directly.

Why
---
A transaction through SQLAlchemy's ``Connection`` and oslo.db's
enginefacade (transaction context, connection and transaction objects,
about a dozen event dispatches, an execution context per statement,
result metadata) costs several times the database's own work: a
compare-and-swap UPDATE of one instance row in its own transaction took
~600 us of CPU that way and ~85 us sent to the sqlite3 connection, and a
boot runs about a dozen such transactions.  The statements of a boot and
a delete are built once per shape (``nova.db.api._template``), so what
SQLAlchemy does per execution for them is bookkeeping; here it is done
once per statement shape and the DB-API cursor is driven directly.

What stays SQLAlchemy's
-----------------------
Everything but the execution: statements are SQLAlchemy constructs,
compiled by SQLAlchemy for the engine's dialect, with the columns' own
bind and result processors (datetimes, JSON, booleans) and the engine's
pooled connections (so the pool's events, SQLite's write turn and
eventlet's yield at check-in apply as for every other transaction).

Errors: the same function runs again through SQLAlchemy
-----------------------------------------------------------
A transaction is a function of a connection (``body(connection)``),
written against what both connection kinds offer (``execute``,
``dialect``; results with ``rowcount``, ``first()``, ``scalar()``,
``inserted_primary_key``, iteration; rows with ``_mapping`` and attribute
access).  When the DB-API raises before the transaction committed, it is
rolled back and ``body`` runs again through SQLAlchemy, where oslo.db
translates the error (duplicate entry, deadlock, lost connection ...)
exactly as for every other caller; so callers see only oslo.db's
exceptions, and a transient error gets SQLAlchemy's handling.  Running
``body`` twice is safe because the first attempt committed nothing.

The one ambiguous case is a database server failing the COMMIT itself
(the connection lost while committing): whether the transaction
committed is unknown, so it is not run again; it raises
``oslo_db.exception.DBConnectionError`` as SQLAlchemy's path would.
(SQLite's commit either happens or raises with nothing committed.)

Not used inside a transaction a caller holds open (the enginefacade's
joined transactions): see ``nova.db.api._transaction``.
"""

from __future__ import annotations

import datetime
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa
from oslo_db import exception as db_exc
from sqlalchemy.dialects import sqlite

LOG = logging.getLogger(__name__)

T = TypeVar('T')

#: Called as ``observer(engine, statement)`` for every statement sent
#: here, which SQLAlchemy's ``before_cursor_execute`` event does not see
#: (statement counters: nova.stats, the tests' StatementCounter).
statement_observers: list[Callable[[sa.Engine, str], None]] = []


class NotDirect(Exception):
    """The statement cannot be sent directly (expanding or post-compile
    parameters): the transaction runs through SQLAlchemy instead."""


class Statement:
    """A statement compiled once for one dialect, with how to bind its
    parameters and read its rows."""

    __slots__ = ('sql', 'is_select', 'positional', 'names', 'processors',
                 'defaults', 'prefetch', 'keys', 'row_processors',
                 'returns_rows', 'returning', '_types', '_dialect')

    def __init__(self, statement: Any, dialect: sa.Dialect,
                 column_keys: Sequence[str] = ()) -> None:
        compiled = statement.compile(dialect=dialect,
                                     column_keys=list(column_keys))
        if any(bind.expanding or bind.literal_execute
               for bind in compiled.binds.values()) or \
                '__[POSTCOMPILE_' in compiled.string:
            raise NotDirect(compiled.string)
        self.sql: str = compiled.string
        self.is_select: bool = self.sql.lstrip()[:6].upper() == 'SELECT'
        self.positional: bool = bool(dialect.positional)
        names = (list(compiled.positiontup or ()) if self.positional
                 else list(dict.fromkeys(compiled.bind_names.values())))
        self.names: list[str] = names
        binds = {compiled.bind_names[b]: b for b in compiled.bind_names}
        self.processors: dict[str, Callable[[Any], Any]] = {}
        #: Values of the binds the statement itself carries (literals
        #: compared with, LIMIT ...).
        self.defaults: dict[str, Any] = {}
        for name in names:
            bind = binds[name]
            processor = _bind_processor(bind.type, dialect)
            if processor is not None:
                self.processors[name] = processor
            if not bind.required:
                self.defaults[name] = bind.effective_value
        #: Columns whose Python-side default (INSERT) or onupdate
        #: (UPDATE) SQLAlchemy would compute, when not given.
        self.prefetch: list[tuple[str, Any]] = [
            (column.key, column.default) for column in
            getattr(compiled, 'insert_prefetch', ())] + [
            (column.key, column.onupdate) for column in
            getattr(compiled, 'update_prefetch', ())]
        result_columns = compiled._result_columns
        self.returns_rows: bool = bool(result_columns)
        self.returning: bool = bool(
            getattr(compiled, 'effective_returning', None))
        self.keys: tuple[str, ...] = tuple(c.keyname for c in result_columns)
        self._types = [c.type for c in result_columns]
        self._dialect = dialect
        #: Set at the first execution: a result processor may depend on
        #: the type code the DB-API reports for the column (PostgreSQL's
        #: numerics), a constant per column and backend.
        self.row_processors: list[tuple[int, Callable[[Any], Any]]] | None \
            = None

    def parameters(self, values: dict[str, Any]) -> Any:
        if self.prefetch:
            values = dict(values)
            for key, default in self.prefetch:
                if key not in values:
                    values[key] = default_value(default)
        defaults = self.defaults
        processors = self.processors
        bound = []
        for name in self.names:
            value = values[name] if name in values else defaults.get(name)
            processor = processors.get(name)
            bound.append(value if processor is None else processor(value))
        if self.positional:
            return bound
        return dict(zip(self.names, bound, strict=True))

    def rows(self, cursor: Any) -> list[Row]:
        keys = self.keys
        processors = self.row_processors
        if processors is None:
            processors = self.row_processors = self._row_processors(
                cursor.description)
        rows = []
        for raw in cursor.fetchall():
            if processors:
                raw = list(raw)
                for index, processor in processors:
                    raw[index] = processor(raw[index])
            rows.append(Row(zip(keys, raw, strict=True)))
        return rows


    def _row_processors(self, description: Sequence[Any],
                        ) -> list[tuple[int, Callable[[Any], Any]]]:
        found = []
        for index, type_ in enumerate(self._types):
            processor = type_._cached_result_processor(
                self._dialect, description[index][1])
            if processor is not None:
                found.append((index, processor))
        return found


def _bind_processor(type_: Any, dialect: sa.Dialect,
                    ) -> Callable[[Any], Any] | None:
    """``type_``'s bind processor for ``dialect``, SQLAlchemy's, except
    for SQLite datetimes in the default storage format."""
    processor = type_._cached_bind_processor(dialect)
    if processor is None or dialect.name != 'sqlite':
        return processor
    impl = type_.dialect_impl(dialect)
    if type(impl) is sqlite.DATETIME and \
            impl._storage_format == sqlite.DATETIME._storage_format:
        return _sqlite_datetime(processor)
    return processor


def _sqlite_datetime(fallback: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """SQLAlchemy's SQLite DATETIME bind processor, with a fast path.

    SQLAlchemy stores an SQLite datetime as text through a %-format of a
    dict of its seven fields; for a naive datetime that is exactly
    ``isoformat(' ', 'microseconds')``, which is done in C.  A boot binds
    dozens of datetimes (created/updated times, every stage event's start
    and finish), and SQLAlchemy's processor was the largest Python
    function outside the database driver in a py-spy profile of
    bench/boot.py (3% of nova-all's samples).  Anything else (None, dates,
    aware datetimes, whose offset SQLAlchemy drops) goes to SQLAlchemy's.
    """
    naive_datetime = datetime.datetime

    def process(value: Any) -> Any:
        if value.__class__ is naive_datetime and value.tzinfo is None:
            return value.isoformat(' ', 'microseconds')
        return fallback(value)

    return process


def default_value(default: Any) -> Any:
    """The value a column's ``default`` (or ``onupdate``) gives a row
    that does not set the column."""
    if default is None:
        return None
    if default.is_callable:
        # SQLAlchemy wraps the callable to take an execution context.
        return default.arg(None)
    return default.arg if default.is_scalar else None


class Row(dict):
    """A result row: a dict that also answers ``row.column`` and
    ``row._mapping`` as SQLAlchemy's rows do."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def _mapping(self) -> Row:
        return self


class Result:
    """What the callers read of a SQLAlchemy ``CursorResult``."""

    __slots__ = ('rowcount', '_rows', 'inserted_primary_key')

    def __init__(self, rowcount: int, rows: list[Row],
                 inserted_primary_key: list[Any]) -> None:
        self.rowcount = rowcount
        self._rows = rows
        self.inserted_primary_key = inserted_primary_key

    def __iter__(self) -> Iterator[Row]:
        return iter(self._rows)

    def first(self) -> Row | None:
        return self._rows[0] if self._rows else None

    def scalar(self) -> Any:
        row = self.first()
        return None if row is None else next(iter(row.values()))


# Statement shapes compiled so far: (id of a statement kept for the
# process's life, dialect name, parameter names) -> Statement.  Only
# statements registered with keep() are cached (by identity, which a kept
# statement never gives up); any other is compiled on each execution
# (rare paths).
_COMPILED: dict[Any, Statement | NotDirect] = {}
_KEPT: dict[int, Any] = {}
_compile_lock = threading.Lock()


def keep(statement: Any) -> Any:
    """Register ``statement`` as built once for the process's life (its
    compiled form is then cached); returns it."""
    _KEPT[id(statement)] = statement
    return statement


def compiled(statement: Any, dialect: sa.Dialect,
             names: Sequence[str]) -> Statement:
    """``statement`` compiled for ``dialect`` and these parameter names
    (an INSERT's columns and an UPDATE's SET clause come from them).
    A kept statement is compiled once per dialect and names, and one that
    cannot be sent directly is remembered as such (NotDirect each time,
    without compiling again)."""
    if id(statement) not in _KEPT:
        return Statement(statement, dialect, names)
    cache_key = (id(statement), dialect.name, tuple(names))
    found = _COMPILED.get(cache_key)
    if found is None:
        with _compile_lock:
            found = _COMPILED.get(cache_key)
            if found is None:
                try:
                    found = Statement(statement, dialect, names)
                except NotDirect as error:
                    found = error
                _COMPILED[cache_key] = found
    if isinstance(found, NotDirect):
        raise found
    return found


class Connection:
    """The part of SQLAlchemy's Connection that nova.db.api's
    transaction functions use, on a pooled DB-API connection."""

    def __init__(self, engine: sa.Engine, dbapi_connection: Any,
                 take_write_turn: Callable[[Any], None] | None) -> None:
        self.engine = engine
        self.dialect = engine.dialect
        self._connection = dbapi_connection
        self._cursor = dbapi_connection.cursor()
        self._take_write_turn = take_write_turn

    def execute(self, statement: Any,
                parameters: dict[str, Any] | None = None) -> Result:
        values = parameters or {}
        direct = compiled(statement, self.dialect, list(values))
        if not direct.is_select and self._take_write_turn is not None:
            self._take_write_turn(self._connection.info)
            self._take_write_turn = None
        for observer in statement_observers:
            observer(self.engine, direct.sql)
        cursor = self._cursor
        cursor.execute(direct.sql, direct.parameters(values))
        rows = direct.rows(cursor) if direct.returns_rows else []
        if direct.returning:
            primary_key = [rows[0][k] for k in direct.keys] if rows else []
        else:
            primary_key = [cursor.lastrowid]
        return Result(cursor.rowcount, rows, primary_key)

    def close(self) -> None:
        self._cursor.close()


def run(engine: sa.Engine, body: Callable[[Any], T], *, writing: bool,
        fallback: Callable[[], T],
        take_write_turn: Callable[[Any], None] | None = None) -> T:
    """``body(connection)`` in one transaction on a pooled DB-API
    connection of ``engine``; ``fallback()`` (the same body through
    SQLAlchemy) when the DB-API fails before the commit.

    :param writing: commit at the end (else the pool's reset rolls the
        read transaction back).
    :param take_write_turn: called with the pooled connection's ``info``
        before the first statement that writes (SQLite's write turn).
    """
    dbapi_error = engine.dialect.loaded_dbapi.Error
    try:
        pooled = engine.raw_connection()
    except Exception:
        # Let SQLAlchemy and oslo.db report (or handle) it.
        return fallback()
    connection = None
    try:
        connection = Connection(engine, pooled, take_write_turn)
        if engine.dialect.name == 'sqlite' and \
                pooled.driver_connection.isolation_level is None:
            # oslo.db turns pysqlite's implicit BEGIN off and sends its
            # own; so does this.
            connection._cursor.execute('BEGIN')
        result = body(connection)
    except (dbapi_error, NotDirect) as error:
        LOG.debug('Direct transaction failed (%s); running it through '
                  'SQLAlchemy', error)
        _discard(pooled, connection)
        return fallback()
    except BaseException:
        _discard(pooled, connection)
        raise
    try:
        if writing:
            pooled.commit()
    except dbapi_error as error:
        _discard(pooled, connection)
        if engine.dialect.name == 'sqlite':
            # Nothing was committed: run it again through SQLAlchemy.
            return fallback()
        raise db_exc.DBConnectionError(error) from error
    connection.close()
    pooled.close()
    return result


def _discard(pooled: Any, connection: Connection | None) -> None:
    """Roll back and give the connection back; one whose state is unknown
    (the rollback failed too) is never pooled again."""
    try:
        if connection is not None:
            connection.close()
        pooled.rollback()
    except Exception:
        pooled.invalidate()
    pooled.close()
