"""What a nova process has done, counted for benchmarks: SQL statements,
RPC messages and context switches.

Off unless asked for: a process counts nothing until :func:`enable` is
called, so a deployment pays nothing for this module.

A service process started with the environment variable
``NOVA_STATS_FILE`` set to a path (``nova-all``, ``nova-compute`` ...;
see ``nova.cmd.common.serve``) enables counting at start and writes a
JSON snapshot of its counters to that path on every SIGUSR1 and once more
when it exits.  A benchmark (``bench/boot.py``) signals the process before
and after a phase and subtracts, so the counts are those of the process
under test, taken inside it, without any request that would itself run
statements.  An environment variable rather than a nova.conf option: it is
an instrument for whoever starts the process, not a setting of the
deployment, and the sample configuration should not offer it.

The snapshot::

    {"pid": 1234, "seq": 3, "time": 1700000000.0,
     "sql": {"total": 120, "SELECT": 40, "INSERT instances": 10, ...},
     "rpc": {"call": 0, "cast": 20, "cast:build_instances": 10, ...},
     "switches": {"voluntary": 5000, "involuntary": 300}}

``sql`` counts every statement an SQLAlchemy engine of the process sent
to its database, by verb (and table, for INSERT, UPDATE and DELETE);
transaction control (BEGIN, COMMIT, SAVEPOINT ...) is left out, as in the
tests' ``StatementCounter``, so the figure is the same on every backend.
``rpc`` is :func:`nova.rpc.message_counts`.  ``switches`` are the
process's context switches so far, all its threads together, finished
ones included (``getrusage``): a voluntary one is a thread going to sleep
(a lock, a queue, the interpreter lock, I/O), an involuntary one the
kernel preempting it.  Under native threads most voluntary switches are
interpreter-lock hand-offs, and they are what makes concurrent work cost
more CPU per operation than the same work done one at a time.
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
    _enabled = True


def disable() -> None:
    """Stop counting (what was counted stays until :func:`reset`)."""
    global _enabled
    if not _enabled:
        return
    import sqlalchemy as sa
    sa.event.remove(sa.engine.Engine, 'before_cursor_execute', _count)
    _enabled = False


def _count(conn: Any, cursor: Any, statement: str, parameters: Any,
           context: Any, executemany: bool) -> None:
    _count_statement(statement)


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
    rpc = sys.modules.get('nova.rpc')
    if rpc is not None:
        rpc.reset_message_counts()


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
    rpc = sys.modules.get('nova.rpc')
    messages: dict[str, int] = {}
    if rpc is not None:
        messages = dict(getattr(rpc, '_counts', {}))
        messages.setdefault('call', 0)
        messages.setdefault('cast', 0)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {'pid': os.getpid(), 'seq': _seq, 'time': time.time(),
            'sql': sql, 'rpc': messages,
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
