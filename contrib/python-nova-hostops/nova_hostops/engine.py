"""Plan, state file and execution of a host-wide operation.

Only the public Compute API through an openstacksdk compute proxy
(``conn.compute``) is used, so this works against any nova.

A run is a *plan*: one entry per server of the host, each with the move
it gets (``live-migrate``, ``migrate`` or ``evacuate``) and a status:

``queued`` -> ``moving`` -> ``done`` | ``failed``   (or ``skipped``)

The plan is written to a JSON state file (atomically: a temporary file
renamed over the old one) before the first request and after every
change, so a run interrupted at any point (Ctrl-C, a crash, SIGKILL) is
continued by the same command with ``--resume`` without moving any
server twice:

* before a move request is sent the entry is ``moving`` with the IDs of
  the server's migrations that already existed;
* a ``moving`` entry found at resume is *followed*, not sent again, when
  the server left the host, is busy, or has a migration that was not
  there before; only when none of that is true (the request never
  reached the API) is it sent again.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from typing import IO, Any

STATE_VERSION = 1

LIVE = 'live-migrate'
COLD = 'migrate'
EVACUATE = 'evacuate'

QUEUED = 'queued'
MOVING = 'moving'
DONE = 'done'
FAILED = 'failed'
SKIPPED = 'skipped'
FINISHED = (DONE, FAILED, SKIPPED)

#: Server statuses a live migration keeps the guest running through.
LIVE_STATUSES = ('ACTIVE', 'PAUSED')
#: Statuses of a server that is in the middle of something.
BUSY_STATUSES = ('BUILD', 'MIGRATING', 'RESIZE', 'REBUILD', 'REBOOT',
                 'HARD_REBOOT', 'PASSWORD', 'REVERT_RESIZE')
#: Migration statuses that end a move without moving.
FAILED_MIGRATION = ('error', 'failed', 'cancelled')


class PlanError(Exception):
    """The plan or the state file does not allow what was asked."""


def default_state_file(command: str, host: str) -> str:
    base = os.environ.get('XDG_CACHE_HOME') or os.path.join(
        os.path.expanduser('~'), '.cache')
    return os.path.join(base, 'nova-hostops', f'{command}-{host}.json')


# -- the plan -----------------------------------------------------------------

def server_fields(server: Any) -> dict[str, Any]:
    return {'id': server.id, 'name': server.name, 'status': server.status,
            'task_state': getattr(server, 'task_state', None),
            'host': getattr(server, 'compute_host', None)}


def plan(command: str, host: str, servers: list[Any],
         options: dict[str, Any]) -> dict[str, Any]:
    """The state of a new run: an entry per server, in the order given.

    ``drain``: live-migrate servers that run (ACTIVE, PAUSED), cold
    migrate the others (a stopped guest loses nothing by it) - or cold
    migrate all with ``options['mode'] == 'cold'``; servers in ERROR or
    busy with another task are skipped. ``evacuate``: every server.
    """
    entries = []
    for server in servers:
        fields = server_fields(server)
        entry = {'id': fields['id'], 'name': fields['name'],
                 'action': None, 'source': host,
                 'target': options.get('target'), 'dest': None,
                 'status': QUEUED, 'error': None,
                 'known_migrations': None, 'confirmed': False}
        if command == 'evacuate':
            entry['action'] = EVACUATE
        elif fields['status'] == 'ERROR':
            entry.update(status=SKIPPED,
                         error='server is in ERROR; not moved')
        elif fields['task_state'] or fields['status'] in BUSY_STATUSES:
            entry.update(status=SKIPPED, error=(
                f"server is busy ({fields['status']}, task "
                f"{fields['task_state']}); not moved"))
        elif options.get('mode') == 'cold' or \
                fields['status'] not in LIVE_STATUSES:
            entry['action'] = COLD
        else:
            entry['action'] = LIVE
        entries.append(entry)
    return {'version': STATE_VERSION, 'command': command, 'host': host,
            'options': dict(options), 'servers': entries}


def unfinished(state: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for e in state['servers'] if e['status'] not in FINISHED]


def prepare_resume(state: dict[str, Any], command: str, host: str,
                   retry_failed: bool) -> dict[str, Any]:
    """Check a loaded state belongs to this command and host; with
    ``retry_failed`` put failed entries back in the queue."""
    if state.get('version') != STATE_VERSION:
        raise PlanError(f"state file version {state.get('version')} is "
                        f"not {STATE_VERSION}")
    if (state.get('command'), state.get('host')) != (command, host):
        raise PlanError(
            f"the state file is of 'compute host {state.get('command')} "
            f"{state.get('host')}', not of 'compute host {command} {host}'")
    if retry_failed:
        for entry in state['servers']:
            if entry['status'] == FAILED:
                # Checked again before anything is sent: a move that
                # finished after its timeout is done, one still going
                # is followed (Runner._move).
                entry.update(status=QUEUED, error=None)
    return state


# -- the state file -----------------------------------------------------------

class StateFile:
    """The run's JSON state, written atomically after every change."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.lock = threading.Lock()

    def exists(self) -> bool:
        return os.path.exists(self.path)

    def load(self) -> dict[str, Any]:
        try:
            with open(self.path) as f:
                return json.load(f)
        except FileNotFoundError:
            raise PlanError(f'no state file {self.path} to resume') from None
        except (OSError, ValueError) as exc:
            raise PlanError(f'cannot read state file {self.path}: '
                            f'{exc}') from None

    def save(self, state: dict[str, Any]) -> None:
        directory = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(directory, exist_ok=True)
        with self.lock:
            fd, tmp = tempfile.mkstemp(prefix='.hostops-', dir=directory)
            try:
                with os.fdopen(fd, 'w') as f:
                    json.dump(state, f, indent=1, sort_keys=True)
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(tmp, self.path)
            except BaseException:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
                raise


# -- progress -----------------------------------------------------------------

class Progress:
    """Per-server progress on a stream: a redrawn bar on a terminal, one
    line per change otherwise."""

    def __init__(self, stream: IO[str] | None = None,
                 tty: bool | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.lock = threading.Lock()

    def changed(self, state: dict[str, Any], entry: dict[str, Any]) -> None:
        with self.lock:
            if self.tty:
                self._bar(state)
            else:
                what = entry['action'] or 'none'
                line = (f"{entry['name']} ({entry['id']}): {entry['status']}"
                        f" [{what} from {entry['source']}")
                if entry['dest']:
                    line += f" to {entry['dest']}"
                line += ']'
                if entry['error']:
                    line += f": {entry['error']}"
                self.stream.write(line + '\n')
            self.stream.flush()

    def _bar(self, state: dict[str, Any]) -> None:
        counts = {s: 0 for s in (QUEUED, MOVING, DONE, FAILED, SKIPPED)}
        for e in state['servers']:
            counts[e['status']] += 1
        total = len(state['servers']) or 1
        finished = counts[DONE] + counts[FAILED] + counts[SKIPPED]
        width = 30
        filled = width * finished // total
        self.stream.write(
            f"\r[{'#' * filled}{'.' * (width - filled)}] "
            f"{finished}/{total}  queued {counts[QUEUED]}  moving "
            f"{counts[MOVING]}  done {counts[DONE]}  failed "
            f"{counts[FAILED]}  skipped {counts[SKIPPED]}\x1b[K")

    def finish(self) -> None:
        if self.tty:
            self.stream.write('\n')
            self.stream.flush()


# -- execution ----------------------------------------------------------------

class Runner:
    """Moves every unfinished server of a plan, ``concurrency`` at a
    time, through ``compute`` (an openstacksdk compute proxy)."""

    def __init__(self, compute: Any, state: dict[str, Any],
                 state_file: StateFile | None, progress: Progress,
                 concurrency: int = 2, wait: bool = True,
                 timeout: float = 600.0, poll_interval: float = 2.0,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Any] | None = None) -> None:
        self.compute = compute
        self.state = state
        self.state_file = state_file
        self.progress = progress
        self.concurrency = max(1, concurrency)
        self.wait = wait
        self.timeout = timeout
        self.poll_interval = poll_interval
        self.clock = clock
        self.stopping = threading.Event()
        self.sleep = sleep or self.stopping.wait
        self.lock = threading.Lock()

    # state changes

    def update(self, entry: dict[str, Any], **values: Any) -> None:
        with self.lock:
            entry.update(values)
            if self.state_file is not None:
                self.state_file.save(self.state)
        self.progress.changed(self.state, entry)

    def run(self) -> dict[str, Any]:
        todo = unfinished(self.state)
        if self.state_file is not None:
            self.state_file.save(self.state)
        pool = concurrent.futures.ThreadPoolExecutor(self.concurrency)
        try:
            futures = [pool.submit(self.move, e) for e in todo]
            for future in futures:
                while True:
                    try:
                        future.result(timeout=0.5)
                        break
                    except concurrent.futures.TimeoutError:
                        continue
        except BaseException:
            # Ctrl-C: stop following; the state file says where each
            # server is, --resume continues from there.
            self.stopping.set()
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        finally:
            pool.shutdown(wait=True)
            self.progress.finish()
        return self.state

    # one server

    def move(self, entry: dict[str, Any]) -> None:
        if self.stopping.is_set():
            return
        try:
            self._move(entry)
        except Exception as exc:  # one server's failure is its own
            self.update(entry, status=FAILED, error=_message(exc))

    def _move(self, entry: dict[str, Any]) -> None:
        server = self.compute.get_server(entry['id'])
        if entry['status'] == MOVING:
            if self._started(entry, server):
                return self._follow(entry)
        elif getattr(server, 'compute_host', None) != entry['source']:
            return self.update(
                entry, status=DONE, dest=server.compute_host,
                error=None)
        elif entry['known_migrations'] is not None and _busy(server):
            # Retried after a timeout: the earlier move is still going.
            self.update(entry, status=MOVING)
            return self._follow(entry)
        known = [m['id'] for m in self._migrations(entry['id'])]
        self.update(entry, status=MOVING, known_migrations=known,
                    error=None)
        self._request(entry)
        if self.wait:
            self._follow(entry)

    def _started(self, entry: dict[str, Any], server: Any) -> bool:
        """Whether the move of a ``moving`` entry reached the API."""
        if getattr(server, 'compute_host', None) != entry['source']:
            return True
        return _busy(server) or bool(self._new_migrations(entry))

    def _request(self, entry: dict[str, Any]) -> None:
        action, target = entry['action'], entry['target']
        options = self.state['options']
        if action == LIVE:
            self.compute.live_migrate_server(
                entry['id'], host=target, block_migration='auto')
        elif action == COLD:
            self.compute.migrate_server(entry['id'], host=target)
        elif action == EVACUATE:
            kwargs = {}
            if options.get('on_shared_storage'):
                kwargs['on_shared_storage'] = True
            self.compute.evacuate_server(entry['id'], host=target, **kwargs)
        else:
            raise PlanError(f'unknown action {action}')

    def _follow(self, entry: dict[str, Any]) -> None:
        """Poll the server until its move ended (or the timeout)."""
        if not self.wait:
            return
        deadline = self.clock() + self.timeout
        while not self.stopping.is_set():
            server = self.compute.get_server(entry['id'])
            host = getattr(server, 'compute_host', None)
            task = getattr(server, 'task_state', None)
            if server.status == 'VERIFY_RESIZE' and not task:
                # Cold migration: confirmed by the plugin (see README).
                self.compute.confirm_server_resize(entry['id'])
                self.update(entry, confirmed=True, dest=host)
            elif not task and server.status not in BUSY_STATUSES:
                if host != entry['source']:
                    if server.status == 'ERROR':
                        return self.update(entry, status=FAILED, dest=host,
                                           error=self._error(entry, server))
                    return self.update(entry, status=DONE, dest=host)
                ended = [m for m in self._new_migrations(entry)
                         if m['status'] in FAILED_MIGRATION]
                if ended:
                    return self.update(
                        entry, status=FAILED,
                        error=self._error(entry, server, ended[-1]))
            if self.clock() >= deadline:
                return self.update(entry, status=FAILED, error=(
                    f'timed out after {self.timeout:g}s waiting for the '
                    f'move (server {server.status}, task {task}, on {host})'))
            self.sleep(self.poll_interval)

    # what the API says

    def _migrations(self, server_id: str) -> list[dict[str, Any]]:
        found = []
        for m in self.compute.migrations(server_id=server_id):
            found.append({'id': str(m.id), 'status': m.status,
                          'type': getattr(m, 'migration_type', None)})
        return found

    def _new_migrations(self, entry: dict[str, Any]) -> list[dict[str, Any]]:
        known = set(entry.get('known_migrations') or ())
        return sorted((m for m in self._migrations(entry['id'])
                       if m['id'] not in known), key=_migration_order)

    def _error(self, entry: dict[str, Any], server: Any,
               migration: dict[str, Any] | None = None) -> str:
        """The server's fault, else the failed event of the move's
        instance action, else the migration's status."""
        fault = getattr(server, 'fault', None) or {}
        if fault.get('message'):
            return str(fault['message'])
        event = self._failed_event(entry)
        if event:
            return event
        if migration is not None:
            return f"migration {migration['id']} is {migration['status']}"
        return f'server is {server.status} on {server.compute_host}'

    def _failed_event(self, entry: dict[str, Any]) -> str | None:
        try:
            actions = list(self.compute.server_actions(entry['id']))
        except Exception:  # the events are a nicety
            return None
        names = {LIVE: 'live-migration', COLD: 'migrate',
                 EVACUATE: 'evacuate'}
        for action in actions:  # newest first
            if action.action != names.get(entry['action']):
                continue
            try:
                detail = self.compute.get_server_action(
                    action.request_id, entry['id'])
            except Exception:
                return action.message or None
            for event in detail.events or ():
                if event.get('result') == 'Error':
                    text = event.get('details') or _last_line(
                        event.get('traceback'))
                    return f"{event.get('event')}: {text}" if text else \
                        str(event.get('event'))
            return action.message or None
        return None


def _busy(server: Any) -> bool:
    return bool(getattr(server, 'task_state', None)) or \
        server.status in BUSY_STATUSES or server.status == 'VERIFY_RESIZE'


def _migration_order(migration: dict[str, Any]) -> Any:
    ident = migration['id']
    return (0, int(ident), '') if ident.isdigit() else (1, 0, ident)


def _last_line(text: str | None) -> str | None:
    if not text:
        return None
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else None


def _message(exc: Exception) -> str:
    details = getattr(exc, 'details', None)
    status = getattr(exc, 'status_code', None)
    if details and status:
        return f'{details} (HTTP {status})'
    return str(exc) or type(exc).__name__


def report_rows(state: dict[str, Any]) -> list[tuple[Any, ...]]:
    rows = []
    for e in state['servers']:
        rows.append((e['id'], e['name'], e['action'] or '', e['source'],
                     e['dest'] or e['target'] or '', e['status'],
                     e['error'] or ''))
    return rows


REPORT_COLUMNS = ('Server ID', 'Name', 'Action', 'From', 'To', 'Result',
                  'Error')
