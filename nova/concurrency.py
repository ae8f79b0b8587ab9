"""The one concurrency seam of nova.

nova runs its work either on eventlet green threads (the default, as
upstream nova always has) or on native threads. Everything in nova that
starts a thread, sleeps, waits or locks goes through this module, so the
choice is made in one place and no other module imports eventlet (a unit
test enforces that).

The mode comes from upstream nova's environment variable
``OS_NOVA_DISABLE_EVENTLET_PATCHING`` (a true value - ``1``, ``true``,
``yes`` - selects native threads, a false one eventlet), or from this
tree's older alias ``NOVA_CONCURRENCY`` (``eventlet`` or ``threading``);
both may be set if they agree.  Not from nova.conf: eventlet's monkey
patching must replace ``socket``, ``threading``, ``time`` ... before any
other module binds them, which is before oslo.config is even imported, let
alone before a config file is read. Upstream nova has the same constraint and
solves it the same way (``OS_NOVA_DISABLE_EVENTLET_PATCHING``).

How the seam works: every primitive here (``Event``, ``Lock``, ``spawn`` ...)
is created from the ``threading`` and ``time`` modules *at call time*.
``setup()`` in eventlet mode monkey-patches those modules in place, after
which the very same calls produce green objects. So:

* every nova entry point calls ``setup()`` first, before importing anything
  else from nova or oslo;
* primitives must be created after ``setup()`` (create them in
  constructors, not as module globals of modules imported before it);
* before ``setup()`` (library use, unit tests) the eventlet mode runs on
  native threads, which is correct, merely not green.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any

# stdlib logging rather than oslo.log: this module is imported before
# monkey patching, and oslo.log would drag half of oslo in with it.
LOG = logging.getLogger(__name__)

ENV_VAR = 'NOVA_CONCURRENCY'
#: Upstream nova's switch: true -> native threads.
UPSTREAM_ENV_VAR = 'OS_NOVA_DISABLE_EVENTLET_PATCHING'
_TRUE = ('1', 'true', 'yes', 'on', 'y', 't')
_FALSE = ('0', 'false', 'no', 'off', 'n', 'f')
EVENTLET = 'eventlet'
THREADING = 'threading'
MODES = (EVENTLET, THREADING)
DEFAULT_MODE = EVENTLET

_mode: str | None = None
# True once eventlet has monkey-patched this process.
_green = False
# eventlet.tpool.execute, bound by setup() so that no function here
# imports eventlet on the hot path.
_tpool_execute: Callable[..., Any] | None = None
# Native lock: taken only at start-up and around O(1) bookkeeping that never
# yields, so it is safe in both modes.
_setup_lock = threading.Lock()
_default_keyed_lock: KeyedLock | None = None
# True once psycopg2 waits through eventlet (green_psycopg2).
_psycopg2_green = False
# time.monotonic() when cooperative_yield() last gave a turn or a green
# thread resumed after one: the start of the current slice, or earlier.
_turn_started = float('-inf')


class ConcurrencyModeError(ValueError):
    """The environment names no known mode, or two different ones."""


def _mode_from_environment() -> str:
    alias = os.environ.get(ENV_VAR, '').strip().lower() or None
    if alias is not None and alias not in MODES:
        raise ConcurrencyModeError(
            f'{ENV_VAR}={alias!r} is not a concurrency mode; use one of '
            f'{", ".join(MODES)}')
    raw = os.environ.get(UPSTREAM_ENV_VAR, '').strip()
    upstream = None
    if raw:
        if raw.lower() in _TRUE:
            upstream = THREADING
        elif raw.lower() in _FALSE:
            upstream = EVENTLET
        else:
            raise ConcurrencyModeError(
                f'{UPSTREAM_ENV_VAR}={raw!r} is neither true nor false')
    if alias is not None and upstream is not None and alias != upstream:
        raise ConcurrencyModeError(
            f'{UPSTREAM_ENV_VAR}={raw!r} selects {upstream} but '
            f'{ENV_VAR}={alias!r} selects {alias}: set one of them')
    return upstream or alias or DEFAULT_MODE


def mode() -> str:
    """The configured mode: ``'eventlet'`` or ``'threading'``."""
    global _mode
    if _mode is None:
        _mode = _mode_from_environment()
    return _mode


def setup() -> str:
    """Prepare the process for the configured mode; return the mode.

    In eventlet mode this monkey-patches the standard library, so it must be
    the first thing a nova entry point does. Calling it again is a no-op.
    """
    global _green, _tpool_execute
    chosen = mode()
    # eventlet reads this when first imported - by this function in
    # eventlet mode, by oslo.service (through oslo.messaging) in threading
    # mode.  Its green DNS resolver imports and patches all of dnspython:
    # 15 MiB of every nova process, for lookups that happen a few times
    # at start (database, broker) and that upstream nova has long done
    # with the blocking resolver too (it also mishandles IPv6-only hosts
    # files).  An operator who wants it sets EVENTLET_NO_GREENDNS=no.
    os.environ.setdefault('EVENTLET_NO_GREENDNS', 'yes')
    if chosen != EVENTLET:
        _prefer_threading_oslo_service()
        return chosen
    with _setup_lock:
        if _green:
            return chosen
        if threading.active_count() > 1:
            # Threads started before patching stay native and may hold
            # native locks that green code then blocks the whole hub on.
            LOG.warning('%d threads were started before eventlet monkey '
                        'patching; nova.concurrency.setup() must run '
                        'first', threading.active_count() - 1)
        with warnings.catch_warnings():
            # eventlet warns on import that it is deprecated; the threading
            # mode is nova's way off it, repeating that on every command
            # start helps no operator.
            warnings.simplefilter('ignore')
            import eventlet
            import eventlet.tpool
        # Not psycopg: eventlet would import psycopg2 (4.5 MiB with its
        # libpq and OpenSSL) into every process, most of which never talk
        # to PostgreSQL.  The database layer greens it when it first
        # connects to PostgreSQL (green_psycopg2).
        eventlet.monkey_patch(psycopg=False)
        _tpool_execute = eventlet.tpool.execute
        _green = True
    return chosen


def green_psycopg2() -> None:
    """Make psycopg2 wait for PostgreSQL on the eventlet hub, so that a
    query blocks its green thread rather than the whole process.

    A no-op unless this process is green.  Call it before psycopg2 opens
    a connection: psycopg2 decides at connect time whether a connection
    waits through the callback installed here.
    """
    global _psycopg2_green
    if not _green or _psycopg2_green:
        return
    from eventlet.support import psycopg2_patcher
    psycopg2_patcher.make_psycopg_green()
    _psycopg2_green = True


def _prefer_threading_oslo_service() -> None:
    """Make oslo.service (which oslo.messaging imports) use its threading
    backend rather than its default eventlet one, where that is available.

    Its threading backend needs the ``cotyledon`` package; without it
    oslo.service stays on its eventlet backend, which then imports (but
    never patches) eventlet - harmless, as nothing runs on it in nova.
    """
    if importlib.util.find_spec('cotyledon') is None:
        return
    try:
        from oslo_service import backend
    except ImportError:
        return
    register = getattr(backend, 'register_backend_default_hook', None)
    if register is not None:
        register(lambda: backend.BackendType.THREADING)


def is_green() -> bool:
    """True when this process runs on eventlet green threads."""
    return _green


def executor_name() -> str:
    """The oslo.messaging RPC server executor matching this process.

    oslo.messaging 18.3 still ships the ``eventlet`` executor (futurist's
    GreenThreadPoolExecutor), deprecated but supported, and picks it itself
    when threads are monkey-patched. We name it explicitly so the choice
    is nova's and visible: green threads only when the process really is
    patched (an unpatched process would starve a green executor), native
    threads otherwise.
    """
    return EVENTLET if _green else THREADING


# -- primitives --------------------------------------------------------------
# Factories rather than aliases: ``threading.Event`` must be looked up when
# called, after setup() may have patched it (see the module docstring).

def Event() -> threading.Event:
    return threading.Event()


def Lock() -> threading.Lock:
    return threading.Lock()


def RLock() -> threading.RLock:
    return threading.RLock()


def Semaphore(value: int = 1) -> threading.Semaphore:
    return threading.Semaphore(value)


def Condition(lock: Any = None) -> threading.Condition:
    return threading.Condition(lock)


def sleep(seconds: float) -> None:
    """Sleep; ``sleep(0)`` yields to other (green) threads."""
    time.sleep(seconds)


def cooperative_yield() -> None:
    """Let other green threads run if this one has run for the
    interpreter's switch interval; a no-op under native threads.

    For points where a green thread could yield but need not, such as the
    end of each database transaction: code that talks to SQLite (a C
    library, never green) otherwise holds the hub from one network wait
    to the next.  Yielding at every such point (oslo.db's ``sleep(0)`` at
    each connection check-in) bounds that to one transaction, at the
    price of a hub round trip and a switch to another task every few
    hundred microseconds: in bench/boot.py a fifth of the CPU of a boot
    with 20 in flight.  Yielding once the interpreter's switch interval
    (``sys.getswitchinterval()``, 5 ms) has passed gives green threads
    the time slice the interpreter gives native ones, and costs a clock
    read otherwise.

    The slice is counted from the last time a green thread yielded or
    resumed here; a thread that was switched to by I/O meanwhile is
    measured from that earlier moment, so it yields sooner, never later.
    """
    global _turn_started
    if not _green:
        return
    if time.monotonic() - _turn_started < sys.getswitchinterval():
        return
    # The next thread's slice starts now (or all the ready ones would
    # yield in turn at their next check), and this one's when it resumes.
    _turn_started = time.monotonic()
    time.sleep(0)
    _turn_started = time.monotonic()


#: Most functions ``spawn`` runs at once (others wait for one to end).
#: They are long-lived service loops and background tasks, a few per
#: service; the limit only bounds a runaway.
SPAWN_MAX_WORKERS = 1000

_spawn_executor: Any = None


def _import_futurist() -> None:
    """Import futurist, quietly.

    Imported on first use: futurist imports eventlet when it is
    installed, which a process in threading mode then pays for only if
    it spawns anything (as it would for oslo.messaging's executors).
    eventlet warns on import that it is deprecated; as in setup(), the
    threading mode is nova's way off it and the warning helps no
    operator.
    """
    if 'futurist.periodics' in sys.modules:
        return
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        import futurist  # noqa: F401
        import futurist.periodics  # noqa: F401
        import futurist.waiters  # noqa: F401


def _new_executor(max_workers: int) -> Any:
    """A futurist executor for this process's mode: green threads when
    it is patched, native (daemon) threads otherwise.

    Native threads: futurist's DynamicThreadPoolExecutor, which keeps
    about as many threads as the work needs.  futurist's plain
    ThreadPoolExecutor starts a thread at every submission until it has
    ``max_workers``, and keeps them: a long-lived process (a service,
    a test worker) that spawns now and then ends with ``max_workers``
    idle threads, each waking every second to look for work (1,000 in
    the spawn executor: a test worker was seen with 1,000 such threads
    and a load average over 100).
    """
    _import_futurist()
    import futurist
    if _green:
        return futurist.GreenThreadPoolExecutor(max_workers=max_workers)
    if max_workers > 1:
        return futurist.DynamicThreadPoolExecutor(max_workers=max_workers)
    return futurist.ThreadPoolExecutor(max_workers=max_workers)


def _default_executor() -> Any:
    global _spawn_executor
    if _spawn_executor is None:
        with _setup_lock:
            if _spawn_executor is None:
                _spawn_executor = _new_executor(SPAWN_MAX_WORKERS)
    return _spawn_executor


class Handle:
    """A spawned function (a futurist future): ``wait()`` returns its
    result or raises its error.

    An error nobody retrieved with ``wait()`` is logged when the handle is
    garbage collected, so a failing fire-and-forget task is not silent.
    """

    __slots__ = ('future', 'name', '_retrieved')

    def __init__(self, future: Any, name: str = '') -> None:
        self.future = future
        self.name = name
        self._retrieved = False

    def done(self) -> bool:
        return bool(self.future.done())

    def wait(self, timeout: float | None = None) -> Any:
        """The function's result; its exception is re-raised here.

        :raises TimeoutError: if it has not finished within ``timeout``.
        """
        if not self.future.done():
            from futurist import waiters
            waiters.wait_for_all([self.future], timeout)
            if not self.future.done():
                raise TimeoutError(f'{self.name or "task"} still running '
                                   f'after {timeout}s')
        self._retrieved = True
        return self.future.result()

    def __del__(self) -> None:
        try:
            if self._retrieved or not self.future.done():
                return
            error = self.future.exception()
            if error is not None:
                LOG.error('Unhandled error in %s: %r', self.name or 'task',
                          error, exc_info=error)
        except Exception:
            # Logging may be torn down already at interpreter exit.
            pass


def spawn(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Handle:
    """Run ``fn(*args, **kwargs)`` concurrently (on the process's futurist
    executor); returns its Handle."""
    return Handle(_default_executor().submit(fn, *args, **kwargs),
                  getattr(fn, '__qualname__', ''))


def run_in_native_thread(fn: Callable[..., Any], *args: Any,
                         **kwargs: Any) -> Any:
    """Call a blocking function that monkey patching cannot make green.

    C extensions (a DB driver written in C, a hypervisor binding) block the
    whole process under eventlet; eventlet's tpool runs them in a native
    thread while other green threads go on. In threading mode this is a
    plain call.
    """
    if _tpool_execute is not None:
        return _tpool_execute(fn, *args, **kwargs)
    return fn(*args, **kwargs)


class KeyedLock:
    """One lock per key (e.g. per instance UUID), created on demand.

    oslo.concurrency's internal locks: a key's semaphore lives in a
    ``lockutils.Semaphores`` container (one per KeyedLock) only while
    someone holds or waits for it, so locking on millions of different
    UUIDs over a service's life leaks nothing.  Keys that are not strings
    are named by their ``repr``.
    """

    def __init__(self) -> None:
        from oslo_concurrency import lockutils
        self._lockutils = lockutils
        self._semaphores = lockutils.Semaphores()

    def __len__(self) -> int:
        """Keys currently held or waited for."""
        return len(self._semaphores)

    @contextlib.contextmanager
    def lock(self, key: Any, timeout: float | None = None) -> Iterator[None]:
        """Hold the lock of ``key`` for the ``with`` block.

        :raises TimeoutError: if ``timeout`` seconds pass without getting it.
        """
        name = key if isinstance(key, str) else repr(key)
        semaphore = self._lockutils.internal_lock(name, self._semaphores)
        if not semaphore.acquire(timeout=timeout):
            # Not kept alive by the traceback: a key nobody holds must
            # leave the container.
            del semaphore
            raise TimeoutError(f'lock {key!r} not acquired within '
                               f'{timeout}s')
        try:
            yield
        finally:
            semaphore.release()

    __call__ = lock


def keyed_lock() -> KeyedLock:
    """The process-wide KeyedLock behind ``lock_for``."""
    global _default_keyed_lock
    if _default_keyed_lock is None:
        with _setup_lock:
            if _default_keyed_lock is None:
                _default_keyed_lock = KeyedLock()
    return _default_keyed_lock


def lock_for(key: Any, timeout: float | None = None
             ) -> contextlib.AbstractContextManager[None]:
    """Serialise work on ``key`` in this process: ``with lock_for(uuid):``."""
    return keyed_lock().lock(key, timeout)


class Pool:
    """At most ``size`` functions running at once, on a futurist executor
    of that size.

    ``spawn`` blocks while the pool is full, which gives callers (e.g. an
    RPC endpoint accepting builds) back-pressure instead of an unbounded
    queue.
    """

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError(f'pool size must be at least 1, not {size}')
        self.size = size
        self._slots = Semaphore(size)
        self._guard = Lock()
        self._running: set[Handle] = set()
        self._executor = _new_executor(size)

    def running(self) -> int:
        return len(self._running)

    def free(self) -> int:
        return self.size - len(self._running)

    def spawn(self, fn: Callable[..., Any], *args: Any,
              **kwargs: Any) -> Handle:
        self._slots.acquire()
        try:
            future = self._executor.submit(fn, *args, **kwargs)
        except BaseException:
            self._slots.release()
            raise
        handle = Handle(future, getattr(fn, '__qualname__', ''))
        with self._guard:
            self._running.add(handle)

        def finished(_: Any) -> None:
            with self._guard:
                self._running.discard(handle)
            self._slots.release()

        # Runs at once if the function already ended.
        future.add_done_callback(finished)
        return handle

    def shutdown(self) -> None:
        """Wait until nothing runs, then end the executor's threads (no
        more ``spawn``)."""
        self._executor.shutdown(wait=True)

    def waitall(self, timeout: float | None = None) -> None:
        """Wait until nothing runs (including work spawned meanwhile).

        Errors stay with their handles; this only waits.

        :raises TimeoutError: if work is still running after ``timeout``.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._guard:
                pending = [handle.future for handle in self._running]
            if not pending:
                return
            left = (None if deadline is None
                    else max(0.0, deadline - time.monotonic()))
            from futurist import waiters
            waiters.wait_for_all(pending, left)
            if any(not future.done() for future in pending):
                raise TimeoutError(f'{len(self._running)} tasks still '
                                   f'running after {timeout}s')


def map_bounded(fn: Callable[[Any], Any], items: Sequence[Any],
                workers: int) -> list[Any]:
    """``[fn(item) for item in items]``, at most ``workers`` at a time (a
    Pool of that size; one item or one worker: in this thread).

    Every item runs even if another fails; the first error (in the
    items' order) is raised once all have ended.
    """
    if workers <= 1 or len(items) <= 1:
        outcomes = [_outcome(fn, item) for item in items]
    else:
        pool = Pool(min(workers, len(items)))
        try:
            handles = [pool.spawn(_outcome, fn, item) for item in items]
        finally:
            pool.shutdown()
        outcomes = [handle.wait() for handle in handles]
    for _, error in outcomes:
        if error is not None:
            raise error
    return [result for result, _ in outcomes]


def _outcome(fn: Callable[[Any], Any], item: Any,
             ) -> tuple[Any, Exception | None]:
    try:
        return fn(item), None
    except Exception as exc:
        return None, exc


class Periodic:
    """A function called every ``interval`` seconds until ``stop()``:
    a futurist ``PeriodicWorker`` running in a spawned thread.

    Runs are spaced start to start (futurist's ``last_started``
    strategy), so the period does not drift by the run time; a failed run
    is logged and the next one happens as planned.
    """

    def __init__(self, fn: Callable[[], Any], interval: float,
                 initial_delay: float | None = None) -> None:
        if interval <= 0:
            raise ValueError(f'interval must be positive, not {interval}')
        _import_futurist()
        from futurist import periodics
        self.fn = fn
        self.interval = interval
        self.initial_delay = initial_delay
        self.name = getattr(fn, '__qualname__', repr(fn))
        self._stopped = Event()

        @periodics.periodic(interval, run_immediately=True)
        def run() -> None:
            fn()

        # Condition and Event looked up now, after setup(): green ones in
        # eventlet mode (futurist's defaults are bound at its import).
        self._worker = periodics.PeriodicWorker(
            [(run, None, None)], cond_cls=threading.Condition,
            event_cls=threading.Event, schedule_strategy='last_started',
            on_failure=self._failed)
        self._handle = spawn(self._loop)

    def _failed(self, cb: Any, kind: str, spacing: float, exc_info: Any,
                traceback: str | None = None) -> None:
        # One failed run must not end the task for the process life
        # (futurist goes on after this).
        LOG.error('Periodic task %s failed', self.name, exc_info=exc_info)

    def _loop(self) -> None:
        if self.initial_delay and self._stopped.wait(self.initial_delay):
            return
        if self._stopped.is_set():
            return
        try:
            self._worker.start()
        except RuntimeError:
            # stop() came between the check above and start(): the
            # worker is tombstoned and refuses to start, as wanted.
            if not self._stopped.is_set():
                raise

    def stop(self) -> None:
        """Stop after the current run, if any (does not wait)."""
        self._stopped.set()
        self._worker.stop()

    def wait(self, timeout: float | None = None) -> None:
        """Wait for the loop to end after ``stop()``."""
        self._handle.wait(timeout)


def start_periodic(fn: Callable[[], Any], interval: float,
                   initial_delay: float | None = None) -> Periodic:
    """Call ``fn()`` every ``interval`` seconds; ``.stop()`` ends it."""
    return Periodic(fn, interval, initial_delay)


# -- the API's HTTP server under eventlet ------------------------------------

def _green_protocol(base: Any, server_name: str,
                    error_body: Callable[[int, str], bytes] | None) -> Any:
    """eventlet.wsgi's protocol class, with the errors it answers itself
    (a request it cannot parse: bad request line or header, HTTP
    version, ...; reported through ``http.server``'s public
    ``send_error``) in the API's JSON error body instead of
    ``http.server``'s HTML page, and ``server_name`` as the Server
    header instead of "BaseHTTP/0.6 Python/3.x" (``version_string``).
    """

    class Protocol(base):
        def version_string(self) -> str:
            return server_name

        def send_error(self, code: int, message: str | None = None,
                       explain: str | None = None) -> None:
            if error_body is None:
                super().send_error(code, message, explain)
                return
            short = self.responses.get(code, ('Error', ''))[0]
            body = error_body(code, message or short)
            # A request line that could not be parsed leaves HTTP/0.9,
            # which has no status line or headers: answer as HTTP/1.0.
            if getattr(self, 'request_version', 'HTTP/0.9') == 'HTTP/0.9':
                self.request_version = 'HTTP/1.0'
            self.close_connection = True
            self.send_response(code, short)
            self.send_header('Content-Type', 'application/json')
            self.send_header('Connection', 'close')
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            if getattr(self, 'command', None) != 'HEAD':
                self.wfile.write(body)

    return Protocol


class GreenWSGIServer:
    """``eventlet.wsgi`` serving a WSGI app: the API's server in a green
    process, as upstream nova's was while it ran on eventlet.

    One green thread per connection (at most ``max_connections``; further
    connections wait in the listen backlog), HTTP/1.1 keep-alive and
    chunked request bodies.  Under native threads nova serves the API with
    waitress instead (nova.wsgi.server): waitress's worker threads wake
    its I/O loop by writing to one pipe, which eventlet refuses once two
    green threads wait to write it at once (100 concurrent clients are
    enough), so it is not used green.
    """

    def __init__(self, app: Any, host: str, port: int, *,
                 max_connections: int, keep_alive: bool,
                 socket_timeout: float | None, backlog: int = 1024,
                 server_name: str = 'nova-api',
                 error_body: Callable[[int, str], bytes] | None = None,
                 ) -> None:
        if not _green:
            raise RuntimeError('GreenWSGIServer needs an eventlet-patched '
                               'process (nova.concurrency.setup())')
        import eventlet
        import eventlet.wsgi
        protocol = _green_protocol(eventlet.wsgi.HttpProtocol, server_name,
                                   error_body)
        self._sock = eventlet.listen((host, port), backlog=backlog)
        self.port: int = self._sock.getsockname()[1]
        self._pool = eventlet.GreenPool(max_connections)
        self._done = threading.Event()
        self._thread = eventlet.spawn(
            eventlet.wsgi.server, self._sock, app, custom_pool=self._pool,
            keepalive=keep_alive, socket_timeout=socket_timeout,
            protocol=protocol,
            # Requests are logged by the API's request_log filter, and a
            # failing app gets a 500 without a traceback in the body.
            log_output=False, debug=False,
            log=logging.getLogger('nova.wsgi.eventlet'))

    def stop(self) -> None:
        """Stop accepting and close every connection, kept-alive ones
        included."""
        self._thread.kill()
        self._sock.close()
        for connection in list(self._pool.coroutines_running):
            connection.kill()
        self._done.set()

    def wait(self) -> None:
        self._done.wait()
        self._pool.waitall()
