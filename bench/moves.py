"""Moves benchmark: resize, cold and live migration across three hosts.

What runs
---------

``nova-api``, ``nova-conductor`` and three ``nova-compute`` processes
(hosts ``compute1``..``compute3``, the fake virt driver with no delay),
each its console module started through bench/nova_stats.py, as
nova/tests/functional/multiprocess.py starts them: one generated
nova.conf per service, a RabbitMQ virtual host made for this run
(``rabbitmqctl add_vhost``, deleted at the end) and a MariaDB database
made for it (``nova-manage db sync``, ``flavor create-standard``, ``image
create``; dropped at the end).  The scheduler is the conductor's.  Every
request is sent from this process over HTTP, each client thread on one
kept-alive connection, with noauth2 tokens: ``demo:demo`` (the servers'
owner) boots, resizes, confirms and reverts; ``admin:demo`` (noauth2
gives the user ``admin`` the admin role) migrates, live-migrates and
reads hosts and ``/os-migrations``, whose policies are admin-only.

``--servers`` servers (10) are booted (flavor ``m1.tiny``, ``--in-flight``
largest at a time, not measured), then a warm-up moves a few of them once
each way (not measured), so that connection pools, RPC executors and
every statement shape exist before the measured phases.  Then, for each
``--rounds`` (3) and each value of ``--in-flight`` (``1,4``: moves at a
time), every server goes through these phases, ``--in-flight`` servers at
a time:

* resize (``{"resize": {"flavorRef": ...}}``, between ``m1.tiny`` and
  ``m1.small``) -> VERIFY_RESIZE; then confirm (``confirmResize``) ->
  ACTIVE;
* cold migrate (``{"migrate": null}``) -> VERIFY_RESIZE; then revert
  (``revertResize``) -> ACTIVE on the host it left;
* live migrate (``{"os-migrateLive": {"host": null, "block_migration":
  "auto"}}``, microversion 2.25) -> ACTIVE on another host, if the cloud
  has it: the warm-up sends one, and a 409 "not supported by this cloud
  yet" leaves the live phase out (the bench says so) while anything else
  fails the bench.

How each figure is measured
---------------------------

* latency: from just before the POST to the moment the move is done,
  read from MariaDB by this bench with its own connection every
  ``--poll-ms`` (5 ms): the instance row (``vm_state``, ``task_state``,
  ``host``) and the newest migration row of the server.  Done means:
  resize and migrate, a new migration ``finished`` and the instance
  ``resized`` (VERIFY_RESIZE) with no task on another host; confirm, the
  migration ``confirmed`` and the instance ACTIVE with no task; revert,
  ``reverted`` and ACTIVE on the source; live, a new ``live-migration``
  ``completed`` and ACTIVE on another host.  An instance in ERROR, a
  migration in ``error``/``failed``/``cancelled``, a resize or migrate
  that ends back where it started, or ``--timeout`` seconds fail the
  bench with the server, the move and what the database showed.  Polling
  the database rather than ``GET /servers/{id}`` costs the services
  nothing, so their CPU and statement counts are the moves' alone; a
  client polling the API sees the same states, later by its poll
  interval.  "resize + confirm" and "migrate + revert" add each server's
  two latencies (and the two phases' per-move figures).  Medians (and
  the 90th percentile) over a phase's moves.
* checked through the API: at the end of every phase (outside the
  measurement) each server is read with ``GET /v2.1/servers/{id}``
  (status, ``OS-EXT-SRV-ATTR:host``, flavor) and ``GET
  /v2.1/os-migrations?instance_uuid=`` (2.23: status, type, source and
  destination of its newest migration) and must be where the phase put
  it, e.g. VERIFY_RESIZE on its new host with the new flavor and a
  ``finished`` ``resize`` from its old host after a resize.
* CPU per move: user + system CPU seconds (psutil ``cpu_times``) of all
  five service processes together over a phase, divided by its moves.
  A phase starts and ends when every process is idle (no statement and
  under 10 ms of CPU each in 100 ms), as in bench/boot.py: a move is
  done before its flows' last records are written, and that work counts
  with it.  The JSON splits it by process.
* SQL statements and RPC messages per move: the sum over the five
  processes of bench/nova_stats.py's counters (SIGUSR1 -> JSON snapshot,
  see that file), taken when idle before and after a phase, divided by
  its moves.  Statements exclude transaction control; messages are calls
  and casts sent (replies not counted).  The only work counted that the
  moves did not cause is the services' heartbeat (one UPDATE per service
  every ``report_interval``, 30 s here).
* moves/s: a phase's moves over the time from its first request to its
  last move done.

Medians of the rounds for every figure (the JSON has each round).  The
second and later values of ``--in-flight`` are printed against the first
(1 by default): the reference this bench measures itself, how a move's
cost and latency change when moves overlap.

Reference: upstream nova 34 was *not* measured.  The issue asks for
upstream's figures from its functional harness, measured side by side
from a separate virtualenv; installing upstream nova 34 there (with its
placement and their dependencies) was left out of this change for time,
so the bench prints a line saying so rather than quote figures it did
not measure.

The machine's load average and a speed probe (bench/boot.py's) are
printed before and after: on a shared machine other work moves every
figure.

Usage::

    python bench/moves.py [--servers 10] [--rounds 3] [--in-flight 1,4]
        [--poll-ms 5] [--timeout 60] [--mode eventlet]
        [--set SECTION.OPTION=VALUE ...]
        [--rabbit-url rabbit://guest:guest@127.0.0.1:5672/]
        [--mysql-url mysql+pymysql://root@127.0.0.1:3306/]
        [--keep] [--json FILE]

Defaults run in about a minute and a half on 2 cores.
"""

from __future__ import annotations

import argparse
import dataclasses
import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid as uuidlib
from collections.abc import Callable
from typing import Any

import boot  # bench/, this script's directory

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OWNER_TOKEN = 'demo:demo'
ADMIN_TOKEN = 'admin:demo'
FLAVORS = ('1', '2')
HOSTS = ('compute1', 'compute2', 'compute3')
START_TIMEOUT = 90.0
STATS_ENV = 'NOVA_STATS_FILE'
NOT_SUPPORTED = 'not supported by this cloud yet'
#: Migration statuses that end a move badly.
FAILED_MIGRATION = ('error', 'failed', 'cancelled')

REFERENCE_LINE = (
    'reference: upstream nova 34 (functional harness) NOT measured: '
    'installing it in a separate virtualenv was left out of this change '
    'for time; in-flight>1 figures are compared with in-flight 1 instead')

CONF_TEMPLATE = """\
[DEFAULT]
host = {host}
state_path = {state}/{host}
transport_url = {transport_url}
# Heartbeats are statements too: one per service every 30 s.
report_interval = 30
service_down_time = 180
debug = false
osapi_compute_listen = 127.0.0.1
osapi_compute_listen_port = {port}

[database]
connection = {database}

[api]
auth_strategy = noauth2

[quota]
# Benchmarks boot far more servers than the default quotas allow.
instances = -1
cores = -1
ram = -1
max_instances_per_request = 100000

[image]
images_path = {state}/images

[fake_driver]
state_path = {state}/hypervisor-{host}
"""


def child_env(**extra: str) -> dict[str, str]:
    """The environment of every process this bench starts: this tree
    first on the path (nova_stats.py puts only bench/ there), so that the
    services run this tree's nova and stevedore finds its entry points."""
    path = os.pathsep.join(p for p in (ROOT, os.environ.get('PYTHONPATH'))
                           if p)
    return dict(os.environ, PYTHONPATH=path, **extra)


class BenchFailure(Exception):
    """A move failed, timed out or left a server where it should not be."""


# -- the cloud ----------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _rabbitmqctl(*args: str) -> None:
    result = subprocess.run(['rabbitmqctl', *args], capture_output=True,
                            text=True, timeout=120)
    if result.returncode:
        raise SystemExit(f'rabbitmqctl {" ".join(args)} failed:\n'
                         f'{result.stdout}{result.stderr}')


def _mysql_connect(url: str, database: str | None = None) -> Any:
    import pymysql
    from sqlalchemy.engine import make_url
    parsed = make_url(url)
    return pymysql.connect(
        host=parsed.host or '127.0.0.1', port=parsed.port or 3306,
        user=parsed.username or 'root', password=parsed.password or '',
        database=database, autocommit=True, charset='utf8mb4')


def _database_url(url: str, name: str) -> str:
    from sqlalchemy.engine import make_url
    parsed = make_url(url).set(database=name).update_query_dict(
        {'charset': 'utf8mb4'})
    return parsed.render_as_string(hide_password=False)


class Service:
    """One nova service process, started through bench/nova_stats.py."""

    def __init__(self, python: str, binary: str, host: str, conf: str,
                 state: str, mode: str) -> None:
        self.binary = binary
        self.host = host
        self.name = f'{binary}/{host}'
        self.log_file = os.path.join(state, f'{binary}-{host}.log')
        self.stats_file = os.path.join(state, f'{binary}-{host}.stats')
        module = 'nova.cmd.' + binary.split('-', 1)[1]
        env = child_env(NOVA_CONCURRENCY=mode,
                        **{STATS_ENV: self.stats_file})
        with open(self.log_file, 'wb') as log:
            self.process = subprocess.Popen(
                [python, os.path.join(ROOT, 'bench', 'nova_stats.py'),
                 module, '--config-file', conf],
                stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
        self._seq = -1
        self._psutil: Any = None
        self._terminated = False

    def wait_ready(self, deadline: float) -> None:
        """Until the service prints its ready line, or dies."""
        ready = f'{self.binary} ready'.encode()
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f'{self.name} exited with '
                                 f'{self.process.returncode}:\n'
                                 f'{self.log_tail()}')
            with open(self.log_file, 'rb') as log:
                if any(line.startswith(ready) for line in log):
                    import psutil
                    self._psutil = psutil.Process(self.process.pid)
                    self._seq = self._read_stats().get('seq', 0)
                    return
            time.sleep(0.1)
        raise SystemExit(f'{self.name} did not start:\n{self.log_tail()}')

    def log_tail(self, size: int = 3000) -> str:
        with open(self.log_file, errors='replace') as log:
            return log.read()[-size:]

    def _read_stats(self) -> dict[str, Any]:
        try:
            with open(self.stats_file) as f:
                return json.load(f)
        except (OSError, ValueError):
            return {}

    def ask_stats(self) -> None:
        self.process.send_signal(signal.SIGUSR1)

    def collect_stats(self, deadline: float) -> dict[str, Any]:
        """The snapshot a SIGUSR1 sent by :meth:`ask_stats` caused."""
        while time.monotonic() < deadline:
            data = self._read_stats()
            if data.get('seq', -1) > self._seq:
                self._seq = data['seq']
                return data
            time.sleep(0.002)
        raise BenchFailure(f'{self.name} wrote no snapshot to '
                           f'{self.stats_file}')

    def cpu(self) -> float:
        times = self._psutil.cpu_times()
        return times.user + times.system

    def stop(self) -> None:
        self.terminate()
        self.wait_stopped()

    def terminate(self) -> None:
        """Ask the service to stop (SIGTERM), without waiting."""
        if self.process.poll() is None and not self._terminated:
            self.process.terminate()
            self._terminated = True

    def wait_stopped(self) -> None:
        """Until a terminated service exited; killed after 30 s."""
        if self.process.poll() is None:
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)


@dataclasses.dataclass
class Counters:
    """All the service processes' counters at one moment."""

    cpu: dict[str, float]
    sql: dict[str, int]
    rpc: int
    #: New database connections each process's pools opened, by service.
    connections: dict[str, int] = dataclasses.field(default_factory=dict)
    #: Connections each process took from its pools (its transactions).
    checkouts: dict[str, int] = dataclasses.field(default_factory=dict)


class Cloud:
    """The vhost, the database, the state directory and the services."""

    def __init__(self, args: argparse.Namespace, name: str = 'moves',
                 ) -> None:
        self.args = args
        #: The bench's name, in the names of what the run creates.
        self.name = name
        self.services: list[Service] = []
        self.state = tempfile.mkdtemp(prefix=f'nova-bench-{name}-')
        tag = f'{os.getpid()}_{uuidlib.uuid4().hex[:8]}'
        self.vhost: str | None = None
        self.database: str | None = None
        self.port = _free_port()
        self.image_id = ''
        self._tag = tag

    # set-up ------------------------------------------------------------

    def setup(self) -> None:
        args = self.args
        vhost = f'nova-bench-{self.name}-{self._tag}'
        _rabbitmqctl('add_vhost', vhost)
        self.vhost = vhost
        _rabbitmqctl('set_permissions', '-p', vhost, 'guest', '.*', '.*',
                     '.*')
        name = f'nova_bench_{self.name}_{self._tag}'
        admin = _mysql_connect(args.mysql_url)
        try:
            with admin.cursor() as cursor:
                cursor.execute(f'CREATE DATABASE {name} CHARACTER SET '
                               f'utf8mb4')
        finally:
            admin.close()
        self.database = name
        self.db_url = _database_url(args.mysql_url, name)
        self.transport_url = args.rabbit_url.rstrip('/') + '/' + vhost
        api_conf = self.config_file('api')
        self._manage(api_conf, 'db', 'sync')
        self._manage(api_conf, 'flavor', 'create-standard')
        image_file = os.path.join(self.state, 'cirros.img')
        with open(image_file, 'wb') as f:
            f.write(b'\0' * 1024 * 1024)
        self.image_id = self._manage(
            api_conf, 'image', 'create', '--name', 'cirros', '--file',
            image_file).strip().splitlines()[-1]
        # Conductor and computes first, so the API serves every request;
        # one at a time, as nova/tests/functional/multiprocess.py does:
        # three nova-compute started together on MariaDB can have one
        # exit on a DBDeadlock (1213) from db.api.compute_node_report's
        # INSERT INTO compute_nodes at init_host (the UPDATE before it
        # matched no row and left a gap lock), 1 start in 5 here.
        for binary, host in self.topology():
            self.start_service(binary, host)

    def topology(self) -> list[tuple[str, str]]:
        """(binary, host) of the services :meth:`setup` starts, in
        order."""
        return [('nova-conductor', 'conductor1'),
                *[('nova-compute', h) for h in HOSTS], ('nova-api', 'api')]

    def start_service(self, binary: str, host: str) -> Service:
        """Start one more service and wait until it is ready."""
        service = Service(self.args.python, binary, host,
                          self.config_file(host), self.state,
                          self.args.mode)
        self.services.append(service)
        service.wait_ready(time.monotonic() + START_TIMEOUT)
        return service

    def stop_service(self, service: Service) -> None:
        """Stop one service; its counters leave the cloud's."""
        service.stop()
        self.services.remove(service)

    def config_file(self, host: str) -> str:
        path = os.path.join(self.state, f'{host}.conf')
        text = CONF_TEMPLATE.format(
            host=host, state=self.state, transport_url=self.transport_url,
            port=self.port, database=self.db_url)
        for setting in self.args.set:
            name, _, value = setting.partition('=')
            scope, _, name = name.rpartition(':')
            if scope and not host.startswith(scope):
                continue
            section, _, option = name.rpartition('.')
            text += f'\n[{section or "DEFAULT"}]\n{option} = {value}\n'
        with open(path, 'w') as f:
            f.write(text)
        return path

    def _manage(self, conf: str, *args: str) -> str:
        result = subprocess.run(
            [self.args.python, '-m', 'nova.cmd.manage', '--config-file',
             conf, *args], capture_output=True, text=True, timeout=300,
            cwd=ROOT, env=child_env())
        if result.returncode:
            raise SystemExit(f'nova-manage {" ".join(args)} failed:\n'
                             f'{result.stdout}{result.stderr}')
        return result.stdout

    # counters ----------------------------------------------------------

    def counters(self) -> Counters:
        for service in self.services:
            if service.process.poll() is not None:
                raise BenchFailure(f'{service.name} exited with '
                                   f'{service.process.returncode}:\n'
                                   f'{service.log_tail()}')
            service.ask_stats()
        deadline = time.monotonic() + 10
        sql: dict[str, int] = {}
        rpc = 0
        cpu = {}
        connections = {}
        checkouts = {}
        for service in self.services:
            data = service.collect_stats(deadline)
            for kind, count in data['sql'].items():
                sql[kind] = sql.get(kind, 0) + count
            rpc += data['rpc'].get('messages', 0)
            connections[service.name] = data.get('db', {}).get(
                'connections', 0)
            checkouts[service.name] = data.get('db', {}).get(
                'checkouts', 0)
            cpu[service.name] = service.cpu()
        return Counters(cpu, sql, rpc, connections, checkouts)

    def settled(self) -> Counters:
        """The counters once every process is idle: no statement and
        under 10 ms of CPU each in 100 ms."""
        deadline = time.monotonic() + self.args.timeout
        before = self.counters()
        while time.monotonic() < deadline:
            time.sleep(0.1)
            after = self.counters()
            if after.sql.get('total') == before.sql.get('total') and all(
                    after.cpu[n] - before.cpu[n] < 0.01 for n in after.cpu):
                return after
            before = after
        raise BenchFailure(f'the services were still busy after '
                           f'{self.args.timeout} s')

    # tear-down ---------------------------------------------------------

    def logs(self) -> str:
        return '\n'.join(f'--- {s.name} (last lines)\n{s.log_tail()}'
                         for s in self.services)

    def teardown(self) -> None:
        # All asked at once: dozens of services stop in the time of one.
        for service in reversed(self.services):
            service.terminate()
        for service in reversed(self.services):
            service.wait_stopped()
        if self.database:
            admin = _mysql_connect(self.args.mysql_url)
            try:
                with admin.cursor() as cursor:
                    cursor.execute(f'DROP DATABASE IF EXISTS '
                                   f'{self.database}')
            finally:
                admin.close()
        if self.vhost:
            _rabbitmqctl('delete_vhost', self.vhost)
        if self.args.keep:
            boot.log(f'kept {self.state}')
        else:
            shutil.rmtree(self.state, ignore_errors=True)


# -- the client ---------------------------------------------------------------

class Client:
    """The REST API, each client thread on its own kept-alive connection."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._local = threading.local()

    def request(self, method: str, path: str, body: Any = None,
                token: str = OWNER_TOKEN, version: str | None = None,
                ) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        headers = {'X-Auth-Token': token, 'Accept': 'application/json'}
        if data is not None:
            headers['Content-Type'] = 'application/json'
        if version:
            headers['OpenStack-API-Version'] = f'compute {version}'
        http_conn = getattr(self._local, 'http_conn', None)
        if http_conn is None:
            http_conn = http.client.HTTPConnection('127.0.0.1', self.port,
                                                   timeout=120)
            self._local.http_conn = http_conn
        try:
            http_conn.request(method, '/v2.1' + path, body=data,
                              headers=headers)
            response = http_conn.getresponse()
            payload = response.read()
        except BaseException:
            http_conn.close()
            self._local.http_conn = None
            raise
        if response.will_close:
            http_conn.close()
            self._local.http_conn = None
        try:
            decoded = json.loads(payload) if payload else None
        except ValueError:
            decoded = payload.decode(errors='replace')
        return response.status, decoded

    def ok(self, method: str, path: str, body: Any = None,
           **kwargs: Any) -> Any:
        status, decoded = self.request(method, path, body, **kwargs)
        if not 200 <= status < 300:
            raise BenchFailure(f'{method} {path} {json.dumps(body)}: '
                               f'{status} {decoded}')
        return decoded


# -- completion, read from the database ---------------------------------------

@dataclasses.dataclass
class Server:
    uuid: str
    host: str = ''
    flavor: str = '1'
    #: The id of its newest migration (0: none yet).
    migration: int = 0
    #: The host its current move started from (for revert).
    source: str = ''


@dataclasses.dataclass
class Move:
    name: str
    label: str
    body: Callable[[Server], dict[str, Any]]
    admin: bool
    #: vm_state when done.
    vm_state: str
    #: Status of its migration when done.
    status: str
    #: Whether it makes a new migration (resize, migrate, live) or ends
    #: the current one (confirm, revert).
    new: bool
    migration_type: str | None = None
    api_status: str = 'ACTIVE'
    version: str | None = None


def _other_flavor(server: Server) -> str:
    return FLAVORS[1] if server.flavor == FLAVORS[0] else FLAVORS[0]


MOVES = {
    'resize': Move('resize', 'resize -> VERIFY_RESIZE',
                   lambda s: {'resize': {'flavorRef': _other_flavor(s)}},
                   False, 'resized', 'finished', True, 'resize',
                   'VERIFY_RESIZE'),
    'confirm': Move('confirm', 'confirm -> ACTIVE',
                    lambda s: {'confirmResize': None}, False, 'active',
                    'confirmed', False),
    'migrate': Move('migrate', 'migrate -> VERIFY_RESIZE',
                    lambda s: {'migrate': None}, True, 'resized',
                    'finished', True, 'migration', 'VERIFY_RESIZE'),
    'revert': Move('revert', 'revert -> ACTIVE',
                   lambda s: {'revertResize': None}, False, 'active',
                   'reverted', False),
    'live': Move('live', 'live migrate -> ACTIVE',
                 lambda s: {'os-migrateLive': {'host': None,
                                               'block_migration': 'auto'}},
                 True, 'active', 'completed', True, 'live-migration',
                 version='2.25'),
}
#: The phases in order, and the totals made of two of them.
PAIRS = {'resize + confirm': ('resize', 'confirm'),
         'migrate + revert': ('migrate', 'revert')}


@dataclasses.dataclass
class Expectation:
    server: Server
    move: Move
    #: Seen done: (time, instance row, migration row).
    done: tuple[float, dict[str, Any], dict[str, Any]] | None = None
    error: str | None = None
    #: ``time.perf_counter()`` once the request was accepted.
    armed: float | None = None
    #: What the last read showed (for a failure's message).
    seen: str = 'nothing yet'

    def judge(self, inst: dict[str, Any] | None,
              mig: dict[str, Any] | None, read_at: float) -> None:
        move, server = self.move, self.server
        if inst is None:
            self.error = 'the instance row is gone'
            return
        seen = (f'instance {inst["vm_state"]}/{inst["task_state"]} on '
                f'{inst["host"]}, migration '
                + (f'{mig["id"]} {mig["migration_type"]} {mig["status"]} '
                   f'{mig["source_compute"]} -> {mig["dest_compute"]}'
                   if mig else 'none'))
        if inst['vm_state'] == 'error':
            self.error = f'the instance is in ERROR ({seen})'
        elif mig is not None and mig['status'] in FAILED_MIGRATION:
            self.error = f'the migration failed ({seen})'
        elif inst['vm_state'] == move.vm_state and \
                inst['task_state'] is None and mig is not None and \
                mig['status'] == move.status and \
                (not move.new or inst['host'] != server.host):
            self.done = (read_at, inst, mig)
        elif move.new and move.vm_state == 'resized' and \
                self.armed is not None and read_at > self.armed and \
                inst['task_state'] is None and \
                inst['vm_state'] != 'resized':
            self.error = f'the move ended without happening ({seen})'
        self.seen = seen


class DBPoller:
    """Reads the awaited servers' instance and newest migration rows
    every ``interval`` seconds with its own MariaDB connection."""

    def __init__(self, url: str, database: str, interval: float) -> None:
        self.interval = interval
        self._db = _mysql_connect(url, database)
        self._cond = threading.Condition()
        self._pending: dict[str, Expectation] = {}
        self._stop = False
        self._failed: str | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def expect(self, expectation: Expectation) -> None:
        with self._cond:
            if self._failed:
                raise BenchFailure(f'reading the database: {self._failed}')
            self._pending[expectation.server.uuid] = expectation
            self._cond.notify_all()

    def wait(self, expectation: Expectation, timeout: float) -> float:
        deadline = time.monotonic() + timeout
        with self._cond:
            while expectation.done is None and expectation.error is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    self._pending.pop(expectation.server.uuid, None)
                    raise BenchFailure(
                        f'{expectation.move.name} of '
                        f'{expectation.server.uuid}: not done after '
                        f'{timeout} s (last seen: {expectation.seen})')
                self._cond.wait(left)
        if expectation.error is not None:
            raise BenchFailure(f'{expectation.move.name} of '
                               f'{expectation.server.uuid} failed: '
                               f'{expectation.error}')
        assert expectation.done is not None
        return expectation.done[0]

    def cancel(self, expectation: Expectation) -> None:
        with self._cond:
            self._pending.pop(expectation.server.uuid, None)

    def _run(self) -> None:
        try:
            self._poll()
        except Exception as error:
            # Fail whatever is awaited rather than let it time out.
            with self._cond:
                for expectation in self._pending.values():
                    expectation.error = f'reading the database: {error!r}'
                self._pending.clear()
                self._failed = repr(error)
                self._cond.notify_all()

    def _poll(self) -> None:
        while not self._stop:
            with self._cond:
                if not self._pending:
                    self._cond.wait(0.1)
                    continue
                pending = dict(self._pending)
            self._check(pending)
            time.sleep(self.interval)

    def _check(self, pending: dict[str, Any]) -> None:
        """Read the rows of the ``pending`` expectations once and settle
        those that are done or failed."""
        read_at = time.perf_counter()
        uuids = list(pending)
        marks = ','.join(['%s'] * len(uuids))
        lowest = min(e.server.migration + (1 if e.move.new else 0)
                     for e in pending.values())
        with self._db.cursor() as cursor:
            cursor.execute(
                f'SELECT uuid, vm_state, task_state, host FROM '
                f'instances WHERE uuid IN ({marks})', uuids)
            instances = {row[0]: dict(zip(
                ('uuid', 'vm_state', 'task_state', 'host'), row,
                strict=True)) for row in cursor.fetchall()}
            cursor.execute(
                f'SELECT id, instance_uuid, status, migration_type, '
                f'source_compute, dest_compute FROM migrations WHERE '
                f'instance_uuid IN ({marks}) AND id >= %s ORDER BY id',
                [*uuids, lowest])
            newest: dict[str, dict[str, Any]] = {}
            for row in cursor.fetchall():
                newest[row[1]] = dict(zip(
                    ('id', 'instance_uuid', 'status', 'migration_type',
                     'source_compute', 'dest_compute'), row,
                    strict=True))
        seen_at = time.perf_counter()
        with self._cond:
            for uuid, expectation in pending.items():
                server = expectation.server
                mig = newest.get(uuid)
                floor = server.migration + (
                    1 if expectation.move.new else 0)
                if mig is not None and mig['id'] < floor:
                    mig = None
                expectation.judge(instances.get(uuid), mig, read_at)
                if expectation.done is not None:
                    expectation.done = (seen_at, *expectation.done[1:])
                if expectation.done or expectation.error:
                    self._pending.pop(uuid, None)
            self._cond.notify_all()

    def close(self) -> None:
        self._stop = True
        self._thread.join()
        self._db.close()


# -- the bench ----------------------------------------------------------------

@dataclasses.dataclass
class Phase:
    move: str
    in_flight: int
    #: uuid -> latency (s)
    latencies: dict[str, float]
    elapsed: float
    cpu: dict[str, float] = dataclasses.field(default_factory=dict)
    sql: dict[str, int] = dataclasses.field(default_factory=dict)
    rpc: int = 0

    def summary(self) -> dict[str, Any]:
        count = len(self.latencies)
        values = sorted(self.latencies.values())
        return {
            'moves': count, 'in_flight': self.in_flight,
            'median_ms': statistics.median(values) * 1e3,
            'p90_ms': values[min(count - 1, int(0.9 * count))] * 1e3,
            'per_s': count / self.elapsed if self.elapsed else None,
            'cpu_ms': sum(self.cpu.values()) / count * 1e3,
            'cpu_ms_by_process': {n: round(v / count * 1e3, 2)
                                  for n, v in self.cpu.items()},
            'sql': self.sql.get('total', 0) / count,
            'sql_by_kind': {k: round(v / count, 2)
                            for k, v in sorted(self.sql.items())},
            'rpc': self.rpc / count,
        }


def pair_summary(first: Phase, second: Phase) -> dict[str, Any]:
    """A move and its confirm or revert as one: each server's two
    latencies added, the per-move figures of the two phases added."""
    a, b = first.summary(), second.summary()
    totals = sorted(first.latencies[u] + second.latencies[u]
                    for u in first.latencies)
    count = len(totals)
    elapsed = first.elapsed + second.elapsed
    return {
        'moves': count, 'in_flight': first.in_flight,
        'median_ms': statistics.median(totals) * 1e3,
        'p90_ms': totals[min(count - 1, int(0.9 * count))] * 1e3,
        'per_s': count / elapsed if elapsed else None,
        'cpu_ms': a['cpu_ms'] + b['cpu_ms'],
        'sql': a['sql'] + b['sql'], 'rpc': a['rpc'] + b['rpc'],
    }


FIGURES = ('median_ms', 'p90_ms', 'per_s', 'cpu_ms', 'sql', 'rpc')


def median_summary(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    merged = dict(rounds[-1])
    for figure in FIGURES:
        values = [r[figure] for r in rounds if r.get(figure) is not None]
        merged[figure] = statistics.median(values) if values else None
    merged['rounds'] = len(rounds)
    merged['cpu_ms_rounds'] = [round(r['cpu_ms'], 2) for r in rounds]
    merged['median_ms_rounds'] = [round(r['median_ms'], 1) for r in rounds]
    return merged


class Bench:

    def __init__(self, cloud: Cloud, client: Client, poller: DBPoller,
                 args: argparse.Namespace) -> None:
        self.cloud = cloud
        self.client = client
        self.poller = poller
        self.args = args
        self.servers: list[Server] = []
        self.live: str | None = None  # why live migration is unavailable

    # moving one server -------------------------------------------------

    def move(self, server: Server, move: Move) -> float:
        """Sends ``move`` for ``server`` and waits until it is done;
        its latency.  Updates ``server`` from the database rows."""
        expectation = Expectation(server, move)
        body = move.body(server)
        self.poller.expect(expectation)
        start = time.perf_counter()
        status, decoded = self.client.request(
            'POST', f'/servers/{server.uuid}/action', body,
            token=ADMIN_TOKEN if move.admin else OWNER_TOKEN,
            version=move.version)
        if not 200 <= status < 300:
            self.poller.cancel(expectation)
            raise BenchFailure(f'{move.name} of {server.uuid}: POST '
                               f'{json.dumps(body)} answered {status} '
                               f'{decoded}')
        expectation.armed = time.perf_counter()
        done = self.poller.wait(expectation, self.args.timeout)
        assert expectation.done is not None
        _, inst, mig = expectation.done
        if move.new:
            server.source = server.host
            server.host = inst['host']
            server.migration = mig['id']
            if move.name == 'resize':
                server.flavor = body['resize']['flavorRef']
        elif move.name == 'revert':
            if inst['host'] != server.source:
                raise BenchFailure(f'revert of {server.uuid}: ACTIVE on '
                                   f'{inst["host"]}, not on '
                                   f'{server.source} where it came from')
            server.host = inst['host']
        return done - start

    def phase(self, name: str, servers: list[Server],
              in_flight: int) -> Phase:
        """``name`` for every server, ``in_flight`` at a time."""
        move = MOVES[name]
        if not servers:
            return Phase(name, in_flight, {}, 0.0)
        lock = threading.Lock()
        queue = list(servers)
        latencies: dict[str, float] = {}
        spans: list[tuple[float, float]] = []
        errors: list[BaseException] = []

        def worker() -> None:
            while True:
                with lock:
                    if errors or not queue:
                        return
                    server = queue.pop(0)
                start = time.perf_counter()
                try:
                    latency = self.move(server, move)
                except BaseException as error:
                    with lock:
                        errors.append(error)
                    return
                with lock:
                    latencies[server.uuid] = latency
                    spans.append((start, start + latency))

        threads = [threading.Thread(target=worker, daemon=True)
                   for _ in range(min(in_flight, len(servers)))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]
        elapsed = max(e for _, e in spans) - min(s for s, _ in spans)
        return Phase(name, in_flight, latencies, elapsed)

    def measured(self, name: str, in_flight: int) -> Phase:
        before = self.cloud.settled()
        result = self.phase(name, self.servers, in_flight)
        after = self.cloud.settled()
        result.cpu = {n: after.cpu[n] - before.cpu[n] for n in after.cpu}
        result.sql = {k: v - before.sql.get(k, 0)
                      for k, v in after.sql.items()
                      if v - before.sql.get(k, 0)}
        result.rpc = after.rpc - before.rpc
        self.check(name, self.servers)
        return result

    # checking through the API ------------------------------------------

    def check(self, name: str, servers: list[Server]) -> None:
        """Every server where ``name`` should have left it, read through
        the API: status, host, flavor, and its newest migration."""
        move = MOVES[name]
        wrong = []
        for server in servers:
            view = self.client.ok('GET', f'/servers/{server.uuid}',
                                  token=ADMIN_TOKEN)['server']
            migrations = self.client.ok(
                'GET', f'/os-migrations?instance_uuid={server.uuid}',
                token=ADMIN_TOKEN, version='2.23')['migrations']
            newest = max(migrations, key=lambda m: m['id'])
            got = {'status': view['status'],
                   'host': view.get('OS-EXT-SRV-ATTR:host'),
                   'flavor': str(view['flavor'].get('id')),
                   'migration': newest['id'],
                   'migration_status': newest['status']}
            want = {'status': move.api_status, 'host': server.host,
                    'flavor': server.flavor,
                    'migration': server.migration,
                    'migration_status': move.status}
            if move.new:
                got.update(type=newest.get('migration_type'),
                           source=newest['source_compute'],
                           dest=newest['dest_compute'])
                want.update(type=move.migration_type, source=server.source,
                            dest=server.host)
                if server.source == server.host:
                    wrong.append(f'{server.uuid}: still on '
                                 f'{server.host}')
            if got != want:
                wrong.append(f'{server.uuid}: {got}, expected {want}')
        if wrong:
            raise BenchFailure(f'after the {name} phase, through the API:\n'
                               + '\n'.join(wrong))

    # the run -----------------------------------------------------------

    def boot(self, count: int, in_flight: int) -> None:
        lock = threading.Lock()
        names = list(range(count))
        errors: list[BaseException] = []

        def worker() -> None:
            while True:
                with lock:
                    if errors or not names:
                        return
                    index = names.pop(0)
                try:
                    body = self.client.ok('POST', '/servers', {'server': {
                        'name': f'bench-move-{index}',
                        'imageRef': self.cloud.image_id,
                        'flavorRef': FLAVORS[0]}})
                    server = Server(body['server']['id'])
                    self._wait_active(server)
                except BaseException as error:
                    with lock:
                        errors.append(error)
                    return
                with lock:
                    self.servers.append(server)

        threads = [threading.Thread(target=worker, daemon=True)
                   for _ in range(in_flight)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]
        for server in self.servers:
            view = self.client.ok('GET', f'/servers/{server.uuid}',
                                  token=ADMIN_TOKEN)['server']
            if view['status'] != 'ACTIVE':
                raise BenchFailure(f'{server.uuid} booted to '
                                   f'{view["status"]}')
            server.host = view['OS-EXT-SRV-ATTR:host']

    def _wait_active(self, server: Server) -> None:
        deadline = time.monotonic() + self.args.timeout
        while time.monotonic() < deadline:
            view = self.client.ok('GET', f'/servers/{server.uuid}',
                                  token=ADMIN_TOKEN)['server']
            if view['status'] == 'ACTIVE':
                return
            if view['status'] == 'ERROR':
                raise BenchFailure(f'{server.uuid} booted to ERROR: '
                                   f'{view.get("fault")}')
            time.sleep(0.05)
        raise BenchFailure(f'{server.uuid} not ACTIVE after '
                           f'{self.args.timeout} s')

    def warm_up(self, in_flight: int) -> None:
        """One of each move for a few servers, not measured; finds out
        whether the cloud has live migration."""
        servers = self.servers[:max(1, min(in_flight, len(self.servers)))]
        for name in ('resize', 'confirm', 'migrate', 'revert'):
            self.phase(name, servers, in_flight)
            self.check(name, servers)
        server = servers[0]
        status, decoded = self.client.request(
            'POST', f'/servers/{server.uuid}/action',
            MOVES['live'].body(server), token=ADMIN_TOKEN,
            version=MOVES['live'].version)
        if status == 409 and NOT_SUPPORTED in json.dumps(decoded):
            self.live = f'409 {_fault_message(decoded)}'
            return
        if not 200 <= status < 300:
            raise BenchFailure(f'live migration of {server.uuid}: '
                               f'{status} {decoded}')
        # Accepted: wait for it like a measured one (a second request).
        expectation = Expectation(server, MOVES['live'])
        expectation.armed = time.perf_counter()
        self.poller.expect(expectation)
        self.poller.wait(expectation, self.args.timeout)
        assert expectation.done is not None
        _, inst, mig = expectation.done
        server.source, server.host = server.host, inst['host']
        server.migration = mig['id']
        self.check('live', [server])
        self.phase('live', servers[1:], in_flight)
        self.check('live', servers[1:])

    def run(self) -> dict[str, Any]:
        args = self.args
        levels = args.in_flight
        names = ['resize', 'confirm', 'migrate', 'revert']
        boot.log(f'booting {args.servers} servers')
        started = time.monotonic()
        self.boot(args.servers, max(levels))
        boot.log(f'  {len(self.servers)} ACTIVE in '
                 f'{time.monotonic() - started:.1f} s on '
                 f'{sorted({s.host for s in self.servers})}')
        boot.log('warm-up')
        self.warm_up(max(levels))
        if self.live is None:
            names.append('live')
        else:
            boot.log(f'  live migration not available: {self.live}')
        rounds: dict[int, dict[str, list[dict[str, Any]]]] = {
            k: {n: [] for n in [*names, *PAIRS]} for k in levels}
        for index in range(args.rounds):
            for in_flight in levels:
                boot.log(f'round {index + 1}/{args.rounds}, {in_flight} in '
                         f'flight')
                phases = {}
                for name in names:
                    phases[name] = self.measured(name, in_flight)
                    rounds[in_flight][name].append(phases[name].summary())
                for pair, (first, second) in PAIRS.items():
                    rounds[in_flight][pair].append(
                        pair_summary(phases[first], phases[second]))
        return {
            'in_flight': {str(k): {n: median_summary(r)
                                   for n, r in by_name.items()}
                          for k, by_name in rounds.items()},
            'rounds': {str(k): by_name for k, by_name in rounds.items()},
            'live_migration': self.live or 'available',
        }


def _fault_message(decoded: Any) -> str:
    if isinstance(decoded, dict):
        for value in decoded.values():
            if isinstance(value, dict) and 'message' in value:
                return str(value['message'])
    return str(decoded)


# -- report -------------------------------------------------------------------

ROWS = [('resize', 'resize -> VERIFY_RESIZE'),
        ('confirm', 'confirm -> ACTIVE'),
        ('resize + confirm', 'resize + confirm'),
        ('migrate', 'cold migrate -> VERIFY_RESIZE'),
        ('revert', 'revert -> ACTIVE'),
        ('migrate + revert', 'cold migrate + revert'),
        ('live', 'live migrate -> ACTIVE')]


def _fmt(value: float | None, digits: int = 1) -> str:
    return '-' if value is None else f'{value:.{digits}f}'


def _table(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(r[i]) for r in [header, *rows])
              for i in range(len(header))]
    print('  '.join(h.ljust(w) for h, w in zip(header, widths,
                                               strict=True)).rstrip())
    print('-' * (sum(widths) + 2 * (len(widths) - 1)))
    for row in rows:
        print('  '.join(c.ljust(w) for c, w in zip(row, widths,
                                                   strict=True)).rstrip())


def report(result: dict[str, Any], live: str | None) -> None:
    by_level = result['in_flight']
    levels = list(by_level)
    print('live migration: ' + ('measured' if live is None else
                                f'n/a, not available on this cloud: {live}'))
    for level in levels:
        phases = by_level[level]
        print(f'\n== {level} move{"s" if level != "1" else ""} in flight '
              f'(medians of {phases["resize"]["rounds"]} rounds, '
              f'{phases["resize"]["moves"]} moves each) ==')
        rows = []
        for key, label in ROWS:
            if key not in phases:
                rows.append([label, 'n/a', '', '', '', '', ''])
                continue
            p = phases[key]
            rows.append([label, _fmt(p['median_ms']), _fmt(p['p90_ms']),
                         _fmt(p['per_s'], 2), _fmt(p['cpu_ms']),
                         _fmt(p['sql']), _fmt(p['rpc'])])
        _table(['move', 'median ms', 'p90 ms', 'moves/s', 'CPU ms/move',
                'SQL/move', 'RPC/move'], rows)
        by_process: dict[str, float] = {}
        for key in MOVES:
            for name, value in phases.get(key, {}).get(
                    'cpu_ms_by_process', {}).items():
                by_process[name] = by_process.get(name, 0.0) + value
        print('  CPU ms per server over all its moves, by process (last '
              'round): ' + ', '.join(f'{n} {v:.0f}'
                                     for n, v in by_process.items()))
    base = levels[0]
    for level in levels[1:]:
        print(f'\n== {level} in flight against {base} in flight (the '
              f'reference this bench measures itself; x = {level} / '
              f'{base}) ==')
        rows = []
        for key, label in ROWS:
            if key not in by_level[level]:
                rows.append([label, 'n/a', '', '', '', ''])
                continue
            a, b = by_level[base][key], by_level[level][key]
            rows.append([label] + [
                f'x{b[f] / a[f]:.2f}' if a[f] and b[f] is not None else '-'
                for f in ('median_ms', 'per_s', 'cpu_ms', 'sql', 'rpc')])
        _table(['move', 'latency', 'moves/s', 'CPU/move', 'SQL/move',
                'RPC/move'], rows)
    print('\n' + REFERENCE_LINE)


def add_cloud_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of a bench that starts a :class:`Cloud` (also
    bench/scale.py's): concurrency mode, broker, database server,
    interpreter, extra nova.conf settings, --keep and --json."""
    parser.add_argument('--mode', default='eventlet',
                        help='NOVA_CONCURRENCY of the services (eventlet or '
                             'threading; default eventlet)')
    parser.add_argument('--rabbit-url',
                        default=os.environ.get(
                            'NOVA_TEST_RABBIT_URL',
                            'rabbit://guest:guest@127.0.0.1:5672/'))
    parser.add_argument('--mysql-url',
                        default=os.environ.get(
                            'NOVA_TEST_MYSQL_URL',
                            'mysql+pymysql://root@127.0.0.1:3306/'))
    parser.add_argument('--python', default=None,
                        help='interpreter with nova installed (default: '
                             'this one)')
    parser.add_argument('--set', action='append', default=[],
                        metavar='[HOST:]SECTION.OPTION=VALUE',
                        help='add an option to every service\'s nova.conf, '
                             'or with HOST: only to the services whose host '
                             'starts with it (api, conductor, compute) '
                             '(repeatable), to measure a setting')
    parser.add_argument('--keep', action='store_true',
                        help='keep the state directory (logs, configs)')
    parser.add_argument('--json', default=None,
                        help='also write the results to this file')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--servers', type=int, default=10,
                        help='servers booted and moved (default 10)')
    parser.add_argument('--rounds', type=int, default=3,
                        help='times every phase runs at each in-flight '
                             'level; figures are medians (default 3)')
    parser.add_argument('--in-flight', default='1,4',
                        help='moves at a time, comma-separated; the first '
                             'is the reference of the others (default '
                             '1,4)')
    parser.add_argument('--poll-ms', type=float, default=5.0,
                        help='how often the bench reads the moving '
                             'servers\' rows (default 5 ms)')
    parser.add_argument('--timeout', type=float, default=60.0,
                        help='seconds a move may take before the bench '
                             'fails (default 60)')
    add_cloud_arguments(parser)
    args = parser.parse_args()
    args.python = args.python or sys.executable
    args.in_flight = [int(x) for x in args.in_flight.split(',') if x]
    if args.servers < 1 or args.rounds < 1 or not args.in_flight or \
            min(args.in_flight) < 1:
        parser.error('--servers, --rounds and --in-flight must be >= 1')

    machine = boot.Machine()
    print(f'moves benchmark: nova-api, nova-conductor and 3 nova-compute '
          f'processes (fake driver, no delay, '
          f'NOVA_CONCURRENCY={args.mode}) over RabbitMQ on MariaDB; '
          f'{args.servers} servers, {",".join(map(str, args.in_flight))} '
          f'moves in flight, medians of {args.rounds} rounds')
    print(machine.start_line())
    sys.stdout.flush()
    cloud = Cloud(args)
    poller = None
    try:
        boot.log('setting up: vhost, database, services')
        cloud.setup()
        assert cloud.database is not None
        poller = DBPoller(args.mysql_url, cloud.database,
                          args.poll_ms / 1000)
        bench = Bench(cloud, Client(cloud.port), poller, args)
        result = bench.run()
    except BenchFailure as failure:
        boot.log(cloud.logs())
        print(f'\nFAILED: {failure}', flush=True)
        return 1
    finally:
        if poller is not None:
            poller.close()
        cloud.teardown()
    report(result, bench.live)
    print(machine.end_line())
    if args.json:
        with open(args.json, 'w') as f:
            json.dump({'args': {k: v for k, v in vars(args).items()
                                if k != 'python'},
                       'result': result, 'reference': REFERENCE_LINE,
                       **machine.as_json()},
                      f, indent=1)
    return 0


if __name__ == '__main__':
    sys.exit(main())
