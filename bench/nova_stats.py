"""What a nova process has done, counted for benchmarks: SQL statements,
RPC messages and context switches.

Instrumentation the benchmarks install themselves, not part of nova: no
nova service imports this module. A bench starts the service through
it::

    NOVA_STATS_FILE=PATH python bench/nova_stats.py nova.cmd.all \
        --config-file nova.conf

which prepares the concurrency mode as the service's console script
would, enables counting (SQLAlchemy's public ``before_cursor_execute``
event on every engine, and a count of the RPC messages nova's serializer
sees, and the new database connections its pools open), writes a JSON
snapshot of the counters to PATH on every SIGUSR1
and once more at exit, and then runs the module as ``__main__``; the in-
process bench path calls :func:`enable` and :func:`snapshot` itself. A
benchmark (``bench/boot.py``) signals the process before and after a
phase and subtracts, so the counts are those of the process under test,
taken inside it, without any request that would itself run statements.
An environment variable rather than a nova.conf option: it is an
instrument for whoever starts the process, not a setting of the
deployment, and the sample configuration should not offer it.

The snapshot::

    {"pid": 1234, "seq": 3, "time": 1700000000.0,
     "sql": {"total": 120, "SELECT": 40, "INSERT instances": 10, ...},
     "rpc": {"messages": 20}, "db": {"connections": 2,
     "checkouts": 9},
     "switches": {"voluntary": 5000, "involuntary": 300}}

``sql`` counts every statement an SQLAlchemy engine of the process sent
to its database, by verb (and table, for INSERT, UPDATE and DELETE);
transaction control (BEGIN, COMMIT, SAVEPOINT ...) is left out, as in
the tests' ``StatementCounter``, so the figure is the same on every
backend. ``rpc`` counts the RPC messages (calls and casts) the process
sent. ``switches`` are the process's context switches so far, all its
threads together, finished ones included (``getrusage``): a voluntary
one is a thread going to sleep (a lock, a queue, the interpreter lock,
I/O), an involuntary one the kernel preempting it. Under native threads
most voluntary switches are interpreter-lock hand-offs, and they are
what makes concurrent work cost more CPU per operation than the same
work done one at a time.
"""

from __future__ import annotations

import collections
import json
import os
import resource
import signal
import sys
import threading
import time
from typing import Any

ENV_VAR = 'NOVA_STATS_FILE'

_CONTROL = frozenset({'BEGIN', 'COMMIT', 'ROLLBACK', 'SAVEPOINT', 'RELEASE',
                      'END'})
# Statements whose table is worth telling apart (the second or third
# word); SELECTs are counted as one kind.
_TABLE_WORD = {'INSERT': 2, 'UPDATE': 1, 'DELETE': 2}

_sql: collections.Counter = collections.Counter()
_rpc: collections.Counter = collections.Counter()
_db: collections.Counter = collections.Counter()
_lock: Any = None
_enabled = False
_seq = 0


def enabled() -> bool:
    return _enabled


def enable() -> None:
    """Start counting SQL statements in this process (every engine, those
    created later included).  Calling it again is a no-op."""
    global _enabled, _lock
    if _enabled:
        return
    import sqlalchemy as sa
    # Created here, after nova.concurrency.setup(): a green lock under
    # eventlet, a native one otherwise.  Never taken by the signal
    # handler (see snapshot).
    _lock = threading.Lock()
    sa.event.listen(sa.engine.Engine, 'before_cursor_execute', _count)
    sa.event.listen(sa.pool.Pool, 'connect', _count_connection)
    sa.event.listen(sa.pool.Pool, 'checkout', _count_checkout)
    _count_rpc_messages()
    _enabled = True


def _count_rpc_messages() -> None:
    """Count every RPC message nova sends (call or cast; a fanout cast
    once): oslo.messaging's client serialises the request context
    exactly once per message, through nova's serializer, so the bench
    wraps that method of nova's own class (no library internals).
    Replies and notifications are not counted (notifications are off
    unless configured)."""
    from nova import rpc
    serializer = rpc.RequestContextSerializer
    if getattr(serializer.serialize_context, 'nova_stats_counting', False):
        return
    original = serializer.serialize_context

    def counting(self: Any, ctxt: Any) -> Any:
        with _lock:
            _rpc['messages'] += 1
        return original(self, ctxt)

    counting.nova_stats_counting = True  # type: ignore[attr-defined]
    serializer.serialize_context = counting  # type: ignore[method-assign]


def disable() -> None:
    """Stop counting (what was counted stays until :func:`reset`)."""
    global _enabled
    if not _enabled:
        return
    import sqlalchemy as sa
    sa.event.remove(sa.engine.Engine, 'before_cursor_execute', _count)
    sa.event.remove(sa.pool.Pool, 'connect', _count_connection)
    sa.event.remove(sa.pool.Pool, 'checkout', _count_checkout)
    _enabled = False


def _count(conn: Any, cursor: Any, statement: str, parameters: Any,
           context: Any, executemany: bool) -> None:
    _count_statement(statement)


def _count_connection(dbapi_connection: Any, record: Any) -> None:
    """A new DB-API connection opened by a pool (SQLAlchemy's public
    pool ``connect`` event): a pool smaller than the transactions open
    at once opens one for each transaction over it."""
    with _lock:
        _db['connections'] += 1


def _count_checkout(dbapi_connection: Any, record: Any,
                    proxy: Any) -> None:
    """A connection taken from a pool: one per transaction (and per
    round of oslo.db's liveness ping and the pool's reset at return)."""
    with _lock:
        _db['checkouts'] += 1


def _count_statement(statement: str) -> None:
    words = statement.split(None, 3)
    if not words:
        return
    verb = words[0].upper()
    if verb in _CONTROL:
        return
    index = _TABLE_WORD.get(verb)
    key = verb if index is None or len(words) <= index else \
        f'{verb} {words[index].strip(chr(34) + "`")}'
    with _lock:
        _sql[key] += 1


def reset() -> None:
    """Forget what was counted so far (SQL and RPC)."""
    if _lock is not None:
        with _lock:
            _sql.clear()
            _rpc.clear()
            _db.clear()


def snapshot() -> dict[str, Any]:
    """The counters now.

    Takes no lock, so that a signal handler may call it whatever the
    interrupted code holds (under eventlet that may be a green thread in
    the middle of counting): copying a dict is atomic under the GIL, and
    a count one short while a statement is being counted is harmless.
    """
    global _seq
    _seq += 1
    sql = dict(_sql)
    sql['total'] = sum(sql.values())
    messages = dict(_rpc)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {'pid': os.getpid(), 'seq': _seq, 'time': time.time(),
            'sql': sql, 'rpc': messages, 'db': dict(_db),
            'switches': {'voluntary': usage.ru_nvcsw,
                         'involuntary': usage.ru_nivcsw}}


def write(path: str) -> None:
    """Write :func:`snapshot` to ``path`` atomically (a reader never sees
    half a file)."""
    data = snapshot()
    # A name per snapshot: a second signal may interrupt this one's write.
    tmp = f'{path}.{os.getpid()}.{data["seq"]}.tmp'
    data = json.dumps(data, sort_keys=True)
    with open(tmp, 'w', encoding='utf-8') as f:
        f.write(data)
    os.replace(tmp, path)


def install_from_env() -> str | None:
    """If ``NOVA_STATS_FILE`` is set: enable counting, write the file on
    SIGUSR1 and at exit; returns the path (None when not set)."""
    path = os.environ.get(ENV_VAR)
    if not path:
        return None
    import atexit
    enable()

    def on_signal(signum: int, frame: Any) -> None:
        try:
            write(path)
        except OSError as error:
            print(f'{ENV_VAR}: cannot write {path}: {error}',
                  file=sys.stderr)

    signal.signal(signal.SIGUSR1, on_signal)
    atexit.register(on_signal, 0, None)
    write(path)
    return path


def main(argv: list[str]) -> int:
    """``nova_stats.py MODULE [ARGS...]``: run a nova console module with
    the counters installed (see the module docstring)."""
    if not argv:
        print('usage: nova_stats.py MODULE [ARGS...]', file=sys.stderr)
        return 2
    from nova import concurrency
    concurrency.setup()
    install_from_env()
    import runpy
    sys.argv = [argv[0], *argv[1:]]
    runpy.run_module(argv[0], run_name='__main__', alter_sys=True)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
