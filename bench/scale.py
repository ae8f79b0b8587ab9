"""Scale benchmark: boots across nova-api, conductors and K nova-computes.

What runs
---------

For each K of ``--hosts`` (1,10,50) a fresh cloud, started as
bench/moves.py starts its own (its ``Cloud``: one generated nova.conf per
service, a RabbitMQ virtual host and a MariaDB database made for the run
and removed at the end, every service a console module started through
bench/nova_stats.py): ``nova-api``, ``nova-conductor`` (which schedules in
this fork: ``nova.scheduler.host_manager.Scheduler`` inside the
conductor's ``conductor.build_instances`` flow) and K ``nova-compute``
processes (hosts ``compute1``..``computeK``, the fake virt driver with no
delay: ``[fake_driver] delay_seconds`` is left at its default, empty),
started five at a time after the conductor and the API.
Heartbeats and the down time are upstream's defaults
(``report_interval = 10``, ``service_down_time = 60``: K=50 writes five
heartbeats a second), RPC settings are oslo.messaging's defaults, logs at
INFO (``debug = false``).

Within that cloud, for each level of ``--existing`` (0,5000 instances
already in the region) and each count of ``--conductors`` (1,2: a second
``nova-conductor`` process on the same topic is started, or stopped):

* warm-up: rounds of ``2 x --clients`` (at least ``2 x K``) boots and
  their deletes, until a round opens no new database connection (at most
  six), not measured (every
  process's connection pools, RPC executors and statement shapes exist
  before measuring; a new conductor is cold);
* idle: the region's CPU over 10 s with nothing asked of it (below);
* boots: ``--servers`` (N, 1000) ``POST /v2.1/servers`` (m1.tiny, noauth2
  token ``demo:demo``) from a pool of ``--clients`` (32) client threads,
  each on its own kept-alive HTTP connection, each sending its next boot
  when its last one is ACTIVE (a closed loop: what a client pool does);
* the scheduler probe (below), with the cloud idle;
* deletes of the N servers, the same way, until each row is deleted.

Existing instances: inserted straight into the database through
``nova.db.api.instance_create`` (a helper subprocess of this script,
``--helper fill``), ACTIVE m1.tiny rows on host ``bench-existing`` (no
compute service, no compute node: nothing schedules to it), spread over
100 projects other than the measured ``demo`` one.  Booting 5,000 through
the API would take minutes at each K and would change nothing the
instance table's size changes: what grows with them is every query that
reads instances (lists, quota counts per project are indexed); a fake host
keeps the K measured hosts' resources free.  They stay for the following
configurations of the cloud (levels only grow).

How each figure is measured
---------------------------

* boot -> ACTIVE: from just before the POST to the moment the bench sees
  the instance row ACTIVE with no task, read from MariaDB with its own
  connection every ``--poll-ms`` (10 ms) for all awaited servers in one
  SELECT (a client polling ``GET /servers/{id}`` sees the same, later by
  its interval, and its GETs would be counted as boot cost).  p50 and p99
  over the N boots.
* boots/s: N over the time from the first POST to the last ACTIVE.
* CPU per boot, by process kind: utime + stime of each service process
  (``/proc/PID/stat``, read through psutil's ``cpu_times``) between two
  idle moments (no statement and under 10 ms of CPU per process in 100 ms,
  as bench/moves.py's ``Cloud.settled``) around the boots, summed per
  kind (``nova-api``, the conductors, the K computes) and divided by N.
  Heartbeats and periodic tasks during the phase are counted with it:
  they are part of running K hosts.
* idle CPU: utime + stime of each service process (``/proc``, as
  above) and of the database server and broker over ``IDLE_SECONDS``
  (10 s) once the region has settled after the warm-up, per second and
  by process kind; the report also divides it by the configuration's
  boot rate, the part of each boot's CPU that K hosts cost by running
  (heartbeats, periodic tasks, each RPC server's poll of its queues).
* scheduler CPU per decision: the conductor's scheduler
  (``host_manager.Scheduler.select_destinations`` for one m1.tiny server,
  the call the build flow makes) called ``--decisions`` (200) times by a
  helper subprocess (``--helper probe``) against the run's database while
  the cloud is idle: its process CPU over the calls, divided by them.
  The decisions are for ``PROBE_IN_FLIGHT`` (16) servers in turn, none
  claimed, so that many picks are always in flight, as under load (each
  decision counts them in their hosts' usage and reads whether their
  hosts claimed them: one indexed SELECT).  The
  same code and queries as in the conductor, with nothing else in the
  process, so the figure is the decision's alone (the conductor's CPU per
  boot includes it, the build flow and the RPC).  Its growth with K is
  the target.
* SQL statements per boot, two counts: the services' own
  (bench/nova_stats.py's per-process statement counters, all processes
  summed: exactly the statements the cloud sent), and MariaDB's
  ``SHOW GLOBAL STATUS`` (``Com_select + Com_insert + Com_update +
  Com_delete``) deltas over the same window minus this bench's own polling
  SELECTs.  The server's counters are global: the run's database is its
  own, but another client of the same server (a CI run) adds to them, so
  the services' count is the figure and MariaDB's the cross-check.
  Beside it, the connections the server accepted per boot
  (``Connections``, global too): a process whose connection pool
  (``[database] max_pool_size``) is smaller than the transactions it has
  open at once opens and closes a connection for each one over it.
* RPC messages per boot: calls and casts sent, nova_stats's count.
* where a boot's time goes: after the boots, each boot's rows are read
  back (the instance's ``created_at``, the ``started_at`` of its
  ``conductor.build_instances`` and ``compute.build_instance`` runs
  - a reschedule's first: microseconds, the services' clock,
  which is this machine's), and its time from POST to ACTIVE is cut at
  them: nova-api (POST to the instance row), to nova-conductor (the row
  to the conductor's run), nova-conductor (its run to the host's run:
  the decision and the cast) and nova-compute (the host's run to the
  bench's read of ACTIVE, which comes up to ``--poll-ms`` late; not to
  the run's end, which the run records after the instance is ACTIVE).
  Printed for the median boot of each phase and as the mean of the
  slowest 1 % of boots: which phases a slow boot is slow in.
* deletes: deletes/s, CPU and SQL per delete, the same way.

Where the time goes (py-spy and the counts above, K = 10, 32 clients).
Before this bench sized anything: a third of the API's and half the
conductor's busy samples were PyMySQL opening connections, each
building a TLS context (PyMySQL's default "preferred" TLS), because
oslo.db's pool keeps 5 connections (``[database] max_pool_size``) and
32 boots in flight need more, so every transaction over 5 opened and
closed one.  Hence the pools of nova-api and nova-conductor sized for
the clients (``sized_for``).  The computes still opened one per two
boots: all decisions made at the same time saw the same usage (a host
claims its build only when the build starts) and picked the same best
host, which took bursts of builds over its pool while other hosts idled;
``[filter_scheduler] host_subset_size`` (upstream's answer) spreads them.
Now each conductor also counts its own picks until their hosts claim
(nova.scheduler.host_manager), as upstream's host manager does: before
that, at K = 50 the first seconds of a run could send a burst of builds
to one host, whose slow boots then made the run's p99.
What is left is transactions: each costs its COMMIT or ROLLBACK
beside its statements (and, before nova.db.pool, the pool's ping at
check-out and reset ROLLBACK at check-in), and a send to MariaDB on a
loaded 2-core machine is where a fifth of every service's samples are.  The
"transactions per boot" line says how many each kind of process runs
(the flow recorder's rows are most of the computes').

At K = 50 (py-spy on nova-api, the conductor and five computes, 32
clients): a quarter of the computes' samples were PyMySQL opening
connections again - not churn but pools still growing, as one warm-up
round of 64 boots gives most of 50 hosts one or two builds; hence the
warm-up rounds.  With the pools grown, the region is CPU-bound: the
services' 30-38 ms and MariaDB's and RabbitMQ's ~11 ms of CPU per boot
are the machine's two cores at about 40-45 boots/s, and every process
is runnable most of the time (py-spy's samples of the computes are half
in the event hub's poll, waiting for a core).  Per boot, nova-api runs
4 transactions, nova-conductor 4 and nova-compute 7 (5, 5 and 10
before the volume stages of an image boot, the conductor's
claim_resources of a one-server boot and the build's allocate_network
stopped writing their starts - the last holds it, its revert running
at recovery whenever the run may have reached it - and the quota
recheck stopped running where no limit applies).

What those transactions are, from MariaDB's general log of one boot:
nova-api reads the flavor, the quota limits and the image, then
writes the instance, its block device mapping and its create action;
nova-conductor inserts its run, reads the aggregates and compute nodes
to schedule, writes its point of no return (with its stages' events)
and its run's end; nova-compute inserts its run, takes the instance
(with claim_resources' start), claims, allocates the port, sets
``spawning`` (with the held events and driver_spawn's start), sets
ACTIVE and ends its run.  Each is a pool check-out, the statements
and the COMMIT or ROLLBACK.  Until nova.db.pool, oslo.db's engine also
pinged the connection at every check-out and sent a reset ROLLBACK at
every check-in: 30 of a boot's ~75 round trips.  Now a connection is
pinged only when it has been idle ``[database] pool_ping_after`` (1 s)
and reset only when a transaction may be open; ``--set
database.connection_parameters=`` measures the region without it.

py-spy's samples on a saturated 2-core machine overstate where the CPU
goes: a process woken by a reply is runnable, and counted, long before
it gets a core, and a send that wakes MariaDB is often preempted in the
call.  At K = 2 with two clients (a lightly loaded machine) the
computes' samples were still a quarter in the event hub's poll and a
fifth in ``socket.send``; what remains is spread thin: the flow engine
and the recorder, SQLAlchemy's execution path, PyMySQL, the RPC
dispatch.  The per-boot figure falls with fewer round trips, not with
any one function made faster.

nova-api's profile at K = 50 (py-spy, 12 s of the boots) had a third
of its CPU in reading quota limits: each of a boot's two checks read
the project's and the user's, and the recheck read them again; now
they are read once and the recheck runs only where a limit applies
(the bench's quotas are unlimited, see bench/moves.py).  In the
conductor's, a tenth was the server group lookup of a build without a
group hint (no longer made) and a sixth reading the compute nodes
(now only the columns the scheduler uses).  15-27 % of each
service's samples are in ``socket.send`` to MariaDB: a send on
loopback runs the TCP receive path in the sender's time, so each
round trip saved - a statement, or a transaction's COMMIT or
ROLLBACK (or the pool's ping and reset ROLLBACK, which nova.db.pool
now makes only when needed) - saves CPU in the service and in
MariaDB.

Reference: upstream nova 34 in one process, as bench/boot.py names it
(``boot.REFERENCE``): 0.43 s of CPU and 239 SQL statements per boot,
about 2 boots/s on this kind of machine; each run's figures are printed
against it.  Targets: >= 50 boots/s at K = 50, scheduler CPU per decision
flat or better than linear in K, p99 boot -> ACTIVE <= 1 s.

The machine's load average and speed probe (bench/boot.py's) are printed
before and after: on a shared machine other work (a CI rehearsal) makes
every figure pessimistic.

Usage::

    python bench/scale.py [--hosts 1,10,50] [--servers 1000]
        [--existing 0,5000] [--conductors 1,2] [--clients 32]
        [--decisions 200] [--poll-ms 10] [--quick] [--mode eventlet]
        [--set SECTION.OPTION=VALUE ...] [--keep] [--json FILE]

``--quick``: K = 1,10, N = 100, existing 0 (a few minutes).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import datetime
import json
import os
import statistics
import subprocess
import sys
import time
import uuid as uuidlib
from typing import Any

import boot  # bench/, this script's directory
import moves

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: Upstream's defaults (moves.py's template writes 30/180): later values
#: of an option win in oslo.config.
SETTINGS = ['DEFAULT.report_interval=10', 'DEFAULT.service_down_time=60',
            # Room for N servers' fixed IPs (the default /24 holds 253).
            'network.flat_network_cidr=10.0.0.0/16']
#: The region's tuning for its load, as an operator sizes it (the
#: figures with oslo.db's and upstream's defaults: ``--set
#: database.max_pool_size=5 --set filter_scheduler.host_subset_size=1``):
#: the scheduler spreads decisions made at the same time over the 10
#: best hosts: each conductor counts its own picks until their hosts
#: claim, but two conductors' decisions would otherwise send a burst
#: to the one best host (see ``[filter_scheduler] host_subset_size``).
TUNING = ['filter_scheduler.host_subset_size=10']
#: MariaDB connections the bench makes room for (``max_connections``,
#: raised for the running server when lower, as tools/run-tests.sh does).
MAX_CONNECTIONS = 1000
REFERENCE = boot.REFERENCE
TARGET_BOOTS_PER_S = 50.0
TARGET_AT_HOSTS = 50
TARGET_P99_MS = 1000.0
#: "Flat": at most this much more CPU per decision from the fewest hosts
#: to the most (the noise of a shared machine).
FLAT_RATIO = 1.5
EXISTING_HOST = 'bench-existing'
EXISTING_PROJECTS = 100
#: Warm-up rounds at most (Bench.warm_up).
WARM_UP_ROUNDS = 6
#: Unclaimed picks during the scheduler probe (about half the clients:
#: the part of a boot between its decision and its host's claim).
PROBE_IN_FLIGHT = 16
#: Seconds the idle region's CPU is read over (Bench.idle).
IDLE_SECONDS = 10.0
#: nova-compute processes started at once.
COMPUTE_BATCH = 5
KINDS = ('nova-api', 'nova-conductor', 'nova-compute')
MYSQL_COUNTERS = ('Com_select', 'Com_insert', 'Com_update', 'Com_delete')
#: Connections the server accepted (a pool that runs out opens some).
MYSQL_STATUS = (*MYSQL_COUNTERS, 'Connections')


def sized_for(clients: int) -> list[str]:
    """The tuning, with the connection pools sized for the load: with
    oslo.db's default pool of 5 (``[database] max_pool_size``), every
    transaction over 5 open at once opens and closes a connection of its
    own, and PyMySQL builds a TLS context for each (tens of ms).
    nova-api: one request per client at a time (``clients``, measured:
    32 transactions open at once for 32 clients), and a few more.  Each
    nova-conductor: up to oslo.messaging's ``executor_thread_pool_size``
    (64) requests at once (measured: 45 for 32 clients - a build's last
    writes overlap its client's next request).  Each nova-compute: a few
    builds at a time at K = 50, up to 15 at once at K = 10, and at K = 1
    every client's build (a pool of 16 still opened connections after
    six warm-up rounds), so as nova-api's.  A pool grows to what its
    process needed at once, not to its size, so a larger size costs
    nothing on an idle host."""
    return [*TUNING, f'api:database.max_pool_size={clients + 8}',
            'conductor:database.max_pool_size=64',
            f'compute:database.max_pool_size={clients + 8}']


def make_room(mysql_url: str) -> None:
    """Raise the server's ``max_connections`` (not persisted) to
    MAX_CONNECTIONS when it is lower: K = 50 computes and pools sized for
    the clients need more than MariaDB's default 151."""
    db = moves._mysql_connect(mysql_url)
    try:
        with db.cursor() as cursor:
            cursor.execute('SELECT @@GLOBAL.max_connections')
            current = int(cursor.fetchone()[0])
            if current < MAX_CONNECTIONS:
                cursor.execute(
                    f'SET GLOBAL max_connections = {MAX_CONNECTIONS}')
                print(f'MariaDB: max_connections raised from {current} to '
                      f'{MAX_CONNECTIONS} for this run')
    finally:
        db.close()


# -- the cloud ----------------------------------------------------------------

class ScaleCloud(moves.Cloud):
    """bench/moves.py's cloud with K compute hosts and N conductors."""

    def __init__(self, args: argparse.Namespace, hosts: int) -> None:
        super().__init__(args, 'scale')
        self.hosts = hosts
        self.conductors = [1]
        self.existing = 0

    def topology(self) -> list[tuple[str, str]]:
        # The computes after these, a few at a time (start_computes):
        # no request is sent before all are ready.
        return [('nova-conductor', 'conductor1'), ('nova-api', 'api')]

    def setup(self) -> None:
        super().setup()
        self.start_computes()

    def start_computes(self) -> None:
        """The K nova-compute processes, COMPUTE_BATCH at a time (one at
        a time, as bench/moves.py starts its three, takes minutes at
        K = 50).  One that exits while starting (on MariaDB two first
        heartbeats can deadlock, see bench/moves.py) is started again,
        alone."""
        hosts = [f'compute{i}' for i in range(1, self.hosts + 1)]
        for first in range(0, len(hosts), COMPUTE_BATCH):
            batch = [moves.Service(self.args.python, 'nova-compute', host,
                                   self.config_file(host), self.state,
                                   self.args.mode)
                     for host in hosts[first:first + COMPUTE_BATCH]]
            self.services.extend(batch)
            # Several start at once: each may take longer to be ready.
            deadline = time.monotonic() + 2 * moves.START_TIMEOUT
            for service in batch:
                try:
                    service.wait_ready(deadline)
                except SystemExit:
                    if service.process.poll() is None:
                        raise  # did not start in time
                    boot.log(f'  {service.name} exited while starting; '
                             f'starting it again')
                    self.services.remove(service)
                    self.start_service('nova-compute', service.host)

    def set_conductors(self, count: int) -> None:
        while len(self.conductors) < count:
            number = len(self.conductors) + 1
            self.start_service('nova-conductor', f'conductor{number}')
            self.conductors.append(number)
        while len(self.conductors) > count:
            number = self.conductors.pop()
            service = next(s for s in self.services
                           if s.name == f'nova-conductor/conductor{number}')
            self.stop_service(service)

    def helper(self, *argv: str) -> dict[str, Any]:
        """Run this script's helper against the cloud's database."""
        result = subprocess.run(
            [self.args.python, os.path.abspath(__file__), '--helper',
             *argv, '--config-file', os.path.join(self.state, 'api.conf')],
            capture_output=True, text=True, timeout=1800, cwd=ROOT,
            env=moves.child_env(NOVA_CONCURRENCY='threading'))
        if result.returncode:
            raise moves.BenchFailure(f'helper {" ".join(argv)} failed:\n'
                                     f'{result.stdout}{result.stderr}')
        return json.loads(result.stdout.strip().splitlines()[-1])

    def fill(self, level: int) -> None:
        if level > self.existing:
            self.helper('fill', '--count', str(level - self.existing))
            self.existing = level

    def mysql_status(self) -> dict[str, int]:
        db = moves._mysql_connect(self.args.mysql_url)
        try:
            with db.cursor() as cursor:
                marks = ','.join(['%s'] * len(MYSQL_STATUS))
                cursor.execute(f'SHOW GLOBAL STATUS WHERE Variable_name IN '
                               f'({marks})', MYSQL_STATUS)
                return {name: int(value) for name, value in cursor}
        finally:
            db.close()


#: The database server's and the broker's processes (by name): their
#: CPU is part of what a boot costs the machine.
SERVER_PROCESSES = {'mariadbd': 'MariaDB', 'mysqld': 'MariaDB',
                    'beam.smp': 'RabbitMQ'}


def server_cpu() -> dict[str, float]:
    """CPU seconds (user + system) so far of the MariaDB and RabbitMQ
    server processes on this machine.  They serve every client, so a
    concurrent job's work counts too (as for MariaDB's counters)."""
    import psutil
    totals = dict.fromkeys(sorted(set(SERVER_PROCESSES.values())), 0.0)
    for process in psutil.process_iter(['name', 'cpu_times']):
        kind = SERVER_PROCESSES.get(process.info['name'] or '')
        times = process.info['cpu_times']
        if kind and times is not None:
            totals[kind] += times.user + times.system
    return totals


# -- completion, read from the database ---------------------------------------

@dataclasses.dataclass
class Awaited:
    """An instance the bench waits for: ACTIVE with no task ('active')
    or deleted ('gone')."""

    uuid: str
    state: str
    #: ``time.perf_counter()`` when seen so.
    done: float | None = None
    error: str | None = None


class Poller(moves.DBPoller):
    """bench/moves.py's poller, reading instance rows only: every
    ``interval`` seconds, all awaited instances in one SELECT on its own
    connection; counts its SELECTs (MariaDB's counters include them)."""

    def __init__(self, url: str, database: str, interval: float) -> None:
        self.queries = 0
        super().__init__(url, database, interval)

    def wait_for(self, uuid: str, state: str, timeout: float) -> float:
        """When the instance was seen ``state``."""
        awaited = Awaited(uuid, state)
        deadline = time.monotonic() + timeout
        with self._cond:
            if self._failed:
                raise moves.BenchFailure(f'reading the database: '
                                         f'{self._failed}')
            self._pending[uuid] = awaited  # type: ignore[assignment]
            self._cond.notify_all()
            while awaited.done is None and awaited.error is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    self._pending.pop(uuid, None)
                    raise moves.BenchFailure(f'{uuid} not {state} after '
                                             f'{timeout} s')
                self._cond.wait(left)
        if awaited.error is not None:
            raise moves.BenchFailure(f'{uuid}: {awaited.error}')
        assert awaited.done is not None
        return awaited.done

    def _check(self, pending: dict[str, Any]) -> None:
        marks = ','.join(['%s'] * len(pending))
        with self._db.cursor() as cursor:
            cursor.execute(
                f'SELECT uuid, vm_state, task_state, deleted FROM '
                f'instances WHERE uuid IN ({marks})', list(pending))
            rows = {row[0]: row for row in cursor.fetchall()}
        self.queries += 1
        seen = time.perf_counter()
        with self._cond:
            for uuid, awaited in pending.items():
                assert isinstance(awaited, Awaited)
                row = rows.get(uuid)
                if awaited.state == 'gone':
                    if row is None or row[3]:
                        awaited.done = seen
                elif row is None or row[3]:
                    awaited.error = 'the instance is gone'
                elif row[1] == 'error':
                    awaited.error = 'the instance is in ERROR'
                elif row[1] == 'active' and row[2] is None:
                    awaited.done = seen
                if awaited.done is not None or \
                        awaited.error is not None:
                    self._pending.pop(uuid, None)
            self._cond.notify_all()


# -- the bench ----------------------------------------------------------------

def _kind(name: str) -> str:
    return name.split('/', 1)[0]


#: The flows whose runs cut a boot into phases (Bench.phases).
CONDUCTOR_FLOW = 'conductor.build_instances'
COMPUTE_FLOW = 'compute.build_instance'
PHASES = ('nova-api', 'to nova-conductor', 'nova-conductor',
          'nova-compute')
#: The slowest boots whose phases are printed beside the median's.
SLOWEST = 0.01


def _epoch(moment: Any) -> float:
    """A naive UTC datetime from the database, as time.time() reads."""
    return moment.replace(tzinfo=datetime.UTC).timestamp()


class Bench:

    def __init__(self, cloud: ScaleCloud, poller: Poller,
                 args: argparse.Namespace) -> None:
        self.cloud = cloud
        self.poller = poller
        self.args = args
        self.client = moves.Client(cloud.port)

    def _boot(self, index: int) -> tuple[str, float, float, float]:
        started = time.perf_counter()
        body = self.client.ok('POST', '/servers', {'server': {
            'name': f'bench-scale-{index}', 'imageRef': self.cloud.image_id,
            'flavorRef': moves.FLAVORS[0]}})
        uuid = body['server']['id']
        done = self.poller.wait_for(uuid, 'active', self.args.timeout)
        return uuid, started, done, done - started

    def phases(self, results: list[tuple[str, float, float, float]]
               ) -> dict[str, list[float]]:
        """Each phase of PHASES: [median over the boots, mean over the
        slowest SLOWEST of them], in ms (see the module docstring).  A
        boot without both runs (none here: each boot is one build) is
        left out."""
        offset = time.time() - time.perf_counter()
        uuids = [r[0] for r in results]
        marks = ','.join(['%s'] * len(uuids))
        db = moves._mysql_connect(self.args.mysql_url, self.cloud.database)
        try:
            with db.cursor() as cursor:
                cursor.execute(f'SELECT uuid, created_at FROM instances '
                               f'WHERE uuid IN ({marks})', uuids)
                created = {u: _epoch(t) for u, t in cursor}
                cursor.execute(
                    f'SELECT instance_uuid, flow, MIN(started_at) FROM '
                    f'flow_runs WHERE instance_uuid IN ({marks}) AND flow '
                    f'IN (%s, %s) GROUP BY instance_uuid, flow',
                    [*uuids, CONDUCTOR_FLOW, COMPUTE_FLOW])
                runs = {(u, flow): _epoch(t) for u, flow, t in cursor}
        finally:
            db.close()
        cuts = []
        for uuid, started, done, latency in results:
            conductor = runs.get((uuid, CONDUCTOR_FLOW))
            compute = runs.get((uuid, COMPUTE_FLOW))
            if uuid not in created or conductor is None or compute is None:
                continue
            moments = [started + offset, created[uuid], conductor, compute,
                       done + offset]
            cuts.append((latency, [
                (moments[i + 1] - moments[i]) * 1e3
                for i in range(len(PHASES))]))
        if not cuts:
            return {}
        cuts.sort(key=lambda cut: cut[0])
        slowest = cuts[-max(1, int(len(cuts) * SLOWEST)):]
        return {name: [round(statistics.median(c[1][i] for c in cuts), 1),
                       round(statistics.fmean(c[1][i] for c in slowest), 1)]
                for i, name in enumerate(PHASES)}

    def _delete(self, uuid: str) -> tuple[str, float, float, float]:
        started = time.perf_counter()
        self.client.ok('DELETE', f'/servers/{uuid}')
        done = self.poller.wait_for(uuid, 'gone', self.args.timeout)
        return uuid, started, done, done - started

    def _run(self, work: Any, items: list[Any],
             ) -> list[tuple[str, float, float, float]]:
        with concurrent.futures.ThreadPoolExecutor(
                self.args.clients) as pool:
            return list(pool.map(work, items))

    def measured(self, work: Any, items: list[Any]) -> dict[str, Any]:
        """Run ``work`` over ``items`` between two idle moments; the
        per-item figures."""
        before = self.cloud.settled()
        servers_before = server_cpu()
        mysql_before = self.cloud.mysql_status()
        polls_before = self.poller.queries
        results = self._run(work, items)
        after = self.cloud.settled()
        servers_after = server_cpu()
        mysql_after = self.cloud.mysql_status()
        polls = self.poller.queries - polls_before
        count = len(results)
        latencies = sorted(r[3] for r in results)
        elapsed = max(r[2] for r in results) - min(r[1] for r in results)
        cpu = dict.fromkeys(KINDS, 0.0)
        for name, value in after.cpu.items():
            cpu[_kind(name)] += value - before.cpu.get(name, value)
        opened = dict.fromkeys(KINDS, 0)
        for name, value in after.connections.items():
            opened[_kind(name)] += value - before.connections.get(name, value)
        taken = dict.fromkeys(KINDS, 0)
        for name, value in after.checkouts.items():
            taken[_kind(name)] += value - before.checkouts.get(name, value)
        mysql = sum(mysql_after[c] - mysql_before[c]
                    for c in MYSQL_COUNTERS) - polls
        sql = {k: v - before.sql.get(k, 0) for k, v in after.sql.items()}
        figures = {
            'count': count, 'uuids': [r[0] for r in results],
            'per_s': count / elapsed,
            'p50_ms': statistics.median(latencies) * 1e3,
            'p99_ms': latencies[min(count - 1, int(0.99 * count))] * 1e3,
            'cpu_ms': sum(cpu.values()) / count * 1e3,
            'cpu_ms_by_kind': {k: v / count * 1e3 for k, v in cpu.items()},
            'sql': sql.get('total', 0) / count,
            'sql_by_kind': {k: round(v / count, 2)
                            for k, v in sorted(sql.items()) if v},
            'mysql_statements': mysql / count,
            # The bench's own status reads open one each.
            'mysql_connections': (mysql_after['Connections'] -
                                  mysql_before['Connections'] - 1) / count,
            'rpc': (after.rpc - before.rpc) / count,
            'connections_by_kind': {k: round(v / count, 2)
                                    for k, v in opened.items()},
            'transactions_by_kind': {k: round(v / count, 2)
                                     for k, v in taken.items()},
            'server_cpu_ms': {
                k: round((servers_after[k] - servers_before.get(k, 0.0))
                         / count * 1e3, 1) for k in servers_after},
        }
        if work == self._boot:
            # After the counters: its reads are not a boot's cost.
            figures['phases_ms'] = self.phases(results)
        return figures

    def warm_up(self) -> None:
        """Rounds of boots and deletes until one opens no new database
        connection in any process (at most WARM_UP_ROUNDS): a pool grows
        to the most transactions its process had open at once, and each
        connection it opens costs tens of ms (PyMySQL builds a TLS
        context for it), so a pool still growing would be measured as the
        cost of a boot.  A region running for hours has its pools grown;
        one round of ``2 x --clients`` boots leaves most of K = 50
        computes' pools at one or two connections."""
        count = max(2 * self.args.clients, 2 * self.cloud.hosts)
        for round_ in range(1, WARM_UP_ROUNDS + 1):
            before = self.cloud.settled().connections
            booted = self._run(self._boot, list(range(count)))
            self._run(self._delete, [r[0] for r in booted])
            after = self.cloud.settled().connections
            opened = sum(after.values()) - sum(before.values())
            if not opened:
                boot.log(f'    warm-up: {round_} round(s) of {count} '
                         f'boots')
                return
        boot.log(f'    warm-up: the pools still opened {opened} '
                 f'connections in round {WARM_UP_ROUNDS} of {count} boots')

    def idle(self) -> dict[str, float]:
        """CPU per second of the idle region over IDLE_SECONDS, by
        process kind, the database server and the broker: heartbeats,
        periodic tasks and the RPC servers' polling of K hosts doing
        nothing.  Read from /proc (``Service.cpu``), not from the stats
        snapshots, which would wake every process."""
        self.cloud.settled()
        before = {s.name: s.cpu() for s in self.cloud.services}
        servers_before = server_cpu()
        started = time.monotonic()
        time.sleep(IDLE_SECONDS)
        after = {s.name: s.cpu() for s in self.cloud.services}
        servers_after = server_cpu()
        elapsed = time.monotonic() - started
        idle = dict.fromkeys(KINDS, 0.0)
        for name, value in after.items():
            idle[_kind(name)] += value - before.get(name, value)
        for name, value in servers_after.items():
            idle[name] = value - servers_before.get(name, 0.0)
        return {k: round(v / elapsed * 1e3, 1) for k, v in idle.items()}

    def configuration(self) -> dict[str, Any]:
        boot.log('  warm-up')
        self.warm_up()
        idle = self.idle()
        boot.log('  idle, CPU ms/s: ' + ', '.join(
            f'{k} {v:g}' for k, v in idle.items()))
        boot.log(f'  {self.args.servers} boots, {self.args.clients} '
                 f'clients')
        boots = self.measured(self._boot, list(range(self.args.servers)))
        boot.log(f'    {boots["per_s"]:.1f} boots/s, p50 '
                 f'{boots["p50_ms"]:.0f} ms, p99 {boots["p99_ms"]:.0f} ms, '
                 f'CPU {boots["cpu_ms"]:.1f} ms/boot ('
                 + ', '.join(f'{k} {v:.1f}' for k, v in
                             boots['cpu_ms_by_kind'].items())
                 + f'), SQL {boots["sql"]:.1f}/boot')
        if boots['phases_ms']:
            boot.log('    where the time goes, ms (median boot / mean of '
                     f'the slowest {SLOWEST:.0%}): '
                     + _phases_text(boots['phases_ms']))
        boot.log('    scheduler probe')
        probe = self.cloud.helper('probe', '--count',
                                  str(self.args.decisions))
        boot.log(f'    scheduler {probe["cpu_ms"]:.2f} ms CPU per decision '
                 f'over {probe["hosts"]} hosts')
        boot.log('  deletes')
        deletes = self.measured(self._delete, boots.pop('uuids'))
        deletes.pop('uuids')
        return {'boots': boots, 'deletes': deletes, 'scheduler': probe,
                'idle_cpu_ms_per_s': idle}


def run_hosts(args: argparse.Namespace, hosts: int) -> list[dict[str, Any]]:
    cloud = ScaleCloud(args, hosts)
    poller = None
    results = []
    try:
        boot.log(f'K={hosts}: setting up (vhost, database, {hosts + 2} '
                 f'services)')
        started = time.monotonic()
        cloud.setup()
        boot.log(f'  started in {time.monotonic() - started:.0f} s')
        assert cloud.database is not None
        poller = Poller(args.mysql_url, cloud.database, args.poll_ms / 1e3)
        bench = Bench(cloud, poller, args)
        for level in args.existing:
            boot.log(f'K={hosts}: {level} existing instances')
            cloud.fill(level)
            for conductors in args.conductors:
                cloud.set_conductors(conductors)
                boot.log(f'K={hosts}, existing {level}, {conductors} '
                         f'conductor(s)')
                result = bench.configuration()
                result.update(hosts=hosts, existing=level,
                              conductors=conductors)
                results.append(result)
    except moves.BenchFailure:
        boot.log(cloud.logs())
        raise
    finally:
        if poller is not None:
            poller.close()
        cloud.teardown()
    return results


# -- the helper: inside the cloud's database ----------------------------------

def helper_main(args: argparse.Namespace) -> int:
    from nova import concurrency
    concurrency.setup()
    import nova.conf
    nova.conf.CONF(['--config-file', args.config_file], project='nova')
    from nova import context as nova_context
    from nova.db import api as db
    ctx = nova_context.get_admin_context()
    flavor = dict(db.flavor_get_by_flavor_id(ctx, moves.FLAVORS[0]))
    if args.helper == 'fill':
        for index in range(args.count):
            db.instance_create(ctx, {
                'user_id': 'bench',
                'project_id': f'bench-{index % EXISTING_PROJECTS}',
                'display_name': f'existing-{index}',
                'hostname': f'existing-{index}',
                'host': EXISTING_HOST, 'node': EXISTING_HOST,
                'vm_state': 'active', 'task_state': None, 'power_state': 1,
                'memory_mb': flavor['memory_mb'], 'vcpus': flavor['vcpus'],
                'root_gb': flavor['root_gb'],
                'ephemeral_gb': flavor['ephemeral_gb'],
                'swap': flavor['swap'], 'flavor': flavor,
                'image_ref': '', 'launch_index': 0})
        print(json.dumps({'created': args.count}))
        return 0
    from nova.scheduler import host_manager
    scheduler = host_manager.Scheduler(db)
    spec = {'flavor': flavor,
            'image': {'id': str(uuidlib.uuid4()), 'properties': {},
                      'disk_format': 'raw', 'container_format': 'bare',
                      'min_disk': 0, 'min_ram': 0},
            'availability_zone': None, 'scheduler_hints': {},
            'num_instances': 1, 'min_count': 1, 'retry': None}

    # Each decision is for one of PROBE_IN_FLIGHT consumers in turn, so
    # that many picks are always unclaimed, as under load (the scheduler
    # counts them in their nodes' usage until their hosts claim).
    consumers = [str(uuidlib.uuid4()) for _ in range(PROBE_IN_FLIGHT)]

    def decide(index: int) -> Any:
        return scheduler.select_destinations(
            ctx, dict(spec, instance_uuids=[
                consumers[index % len(consumers)]]), 1)

    for index in range(10):  # connections, statement shapes
        decide(index)
    cpu = time.process_time()
    wall = time.perf_counter()
    for index in range(args.count):
        decide(index)
    cpu = time.process_time() - cpu
    wall = time.perf_counter() - wall
    print(json.dumps({'decisions': args.count,
                      'hosts': len(scheduler.host_states(ctx)),
                      'cpu_ms': cpu / args.count * 1e3,
                      'wall_ms': wall / args.count * 1e3}))
    return 0


# -- report -------------------------------------------------------------------

def _fmt(value: float | None, digits: int = 1) -> str:
    return '-' if value is None else f'{value:.{digits}f}'


def _ratio(measured: float, reference: float,
           higher_is_better: bool) -> str:
    ratio = measured / reference if higher_is_better else \
        reference / measured
    return f'{ratio:.1f}x better' if ratio >= 1 else \
        f'{1 / ratio:.1f}x worse'


def scheduler_growth(results: list[dict[str, Any]],
                     ) -> tuple[bool | None, str]:
    """CPU per decision at the most hosts against the fewest (existing 0,
    one conductor): flat or better than linear in K."""
    by_hosts: dict[int, float] = {}
    for r in results:
        if r['existing'] == min(x['existing'] for x in results) and \
                r['conductors'] == min(x['conductors'] for x in results):
            by_hosts[r['hosts']] = r['scheduler']['cpu_ms']
    if len(by_hosts) < 2:
        return None, 'one K only: not measured'
    low, high = min(by_hosts), max(by_hosts)
    growth = by_hosts[high] / by_hosts[low]
    hosts_growth = high / low
    if growth <= FLAT_RATIO:
        shape = 'flat'
    elif growth < hosts_growth:
        shape = 'sub-linear'
    else:
        shape = 'linear or worse'
    return growth < hosts_growth, (
        f'K {low} -> {high} (x{hosts_growth:g}): CPU per decision '
        f'{by_hosts[low]:.2f} -> {by_hosts[high]:.2f} ms '
        f'(x{growth:.2f}, {shape})')


def report(results: list[dict[str, Any]]) -> list[tuple[str, str,
                                                         bool | None]]:
    header = ['K', 'cond', 'existing', 'boots/s', 'p50 ms', 'p99 ms',
              'CPU ms/boot', 'api', 'conductor', 'compute',
              'sched ms/decision', 'SQL/boot', 'MariaDB/boot', 'DB conn/boot',
              'RPC/boot']
    rows = []
    for r in results:
        b, by = r['boots'], r['boots']['cpu_ms_by_kind']
        rows.append([str(r['hosts']), str(r['conductors']),
                     str(r['existing']), _fmt(b['per_s']),
                     _fmt(b['p50_ms'], 0), _fmt(b['p99_ms'], 0),
                     _fmt(b['cpu_ms']), _fmt(by['nova-api']),
                     _fmt(by['nova-conductor']), _fmt(by['nova-compute']),
                     _fmt(r['scheduler']['cpu_ms'], 2), _fmt(b['sql']),
                     _fmt(b['mysql_statements']),
                     _fmt(b['mysql_connections'], 2), _fmt(b['rpc'])])
    print('\n== boots (CPU per boot by process kind; compute: all K '
          'together) ==')
    moves._table(header, rows)
    rows = []
    for r in results:
        d = r['deletes']
        rows.append([str(r['hosts']), str(r['conductors']),
                     str(r['existing']), _fmt(d['per_s']),
                     _fmt(d['p50_ms'], 0), _fmt(d['p99_ms'], 0),
                     _fmt(d['cpu_ms']), _fmt(d['sql']),
                     _fmt(d['mysql_statements']), _fmt(d['rpc'])])
    print('\n== deletes ==')
    moves._table(['K', 'cond', 'existing', 'deletes/s', 'p50 ms', 'p99 ms',
                  'CPU ms/delete', 'SQL/delete', 'MariaDB/delete',
                  'RPC/delete'], rows)
    first = results[0]['boots']['sql_by_kind']
    print('\n  SQL per boot by statement (first row): ' + ', '.join(
        f'{k} {v:g}' for k, v in first.items() if k != 'total'))
    print('  new DB connections per boot, by process kind (each row): ' +
          _per_row(results, 'connections_by_kind'))
    print('  database server and broker CPU per boot, ms (each row; '
          'machine-wide processes): ' + _per_row(results, 'server_cpu_ms'))
    print('  idle region, CPU ms per second (each row; ms of each boot\'s '
          'CPU at the row\'s boot rate): ' + '; '.join(
              _row_name(r) + ': ' + ', '.join(
                  f'{k} {v:g} ({v / r["boots"]["per_s"]:.1f})'
                  for k, v in r['idle_cpu_ms_per_s'].items())
              for r in results))
    print('  transactions (pool check-outs) per boot, by process kind '
          '(first row): ' + ', '.join(
              f'{k} {v:g}' for k, v in
              results[0]['boots']['transactions_by_kind'].items()))
    print('  where the time goes, ms: median boot / mean of the slowest '
          f'{SLOWEST:.0%} (each row): ' + '; '.join(
              _row_name(r) + ': '
              + _phases_text(r['boots'].get('phases_ms', {}))
              for r in results))

    print('\n== against upstream nova 34, one process (0.43 s CPU, 239 SQL '
          'statements per boot, 2 boots/s) ==')
    rows = []
    for r in results:
        b = r['boots']
        rows.append([str(r['hosts']), str(r['conductors']),
                     str(r['existing']),
                     _ratio(b['cpu_ms'], REFERENCE['cpu_ms'], False),
                     _ratio(b['sql'], REFERENCE['sql'], False),
                     _ratio(b['per_s'], REFERENCE['boots_per_s'], True)])
    moves._table(['K', 'cond', 'existing', 'CPU/boot', 'SQL/boot',
                  'boots/s'], rows)

    verdicts: list[tuple[str, str, bool | None]] = []
    at_target = [r for r in results if r['hosts'] == TARGET_AT_HOSTS]
    if at_target:
        best = max(r['boots']['per_s'] for r in at_target)
        verdicts.append((f'boots/s at K = {TARGET_AT_HOSTS} (best '
                         f'configuration) >= {TARGET_BOOTS_PER_S:g}',
                         f'{best:.1f}', best >= TARGET_BOOTS_PER_S))
    else:
        verdicts.append((f'boots/s at K = {TARGET_AT_HOSTS} >= '
                         f'{TARGET_BOOTS_PER_S:g}', 'not measured', None))
    ok, text = scheduler_growth(results)
    verdicts.append(('scheduler CPU per decision flat or sub-linear in K',
                     text, ok))
    worst = max(r['boots']['p99_ms'] for r in results)
    verdicts.append((f'p99 boot -> ACTIVE <= {TARGET_P99_MS:g} ms (worst '
                     f'configuration)', f'{worst:.0f} ms',
                     worst <= TARGET_P99_MS))
    print('\n== targets ==')
    for figure, measured, passed in verdicts:
        verdict = 'not measured' if passed is None else (
            'PASS' if passed else 'FAIL')
        print(f'  {figure}: {measured}  {verdict}')
    return verdicts


def _phases_text(phases: dict[str, list[float]]) -> str:
    """Bench.phases' figures as printed: ``phase median/slowest``."""
    return ', '.join(f'{name} {median:.0f}/{slow:.0f}'
                     for name, (median, slow) in phases.items())


def _row_name(result: dict[str, Any]) -> str:
    return (f'K={result["hosts"]} cond={result["conductors"]} '
            f'existing={result["existing"]}')


def _per_row(results: list[dict[str, Any]], figure: str) -> str:
    """A by-kind figure of the boots of every configuration, on one
    line."""
    return '; '.join(
        _row_name(r) + ': '
        + ', '.join(f'{k} {v:g}' for k, v in r['boots'][figure].items())
        for r in results)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--hosts', default='1,10,50',
                        help='nova-compute processes, one cloud each '
                             '(default 1,10,50)')
    parser.add_argument('--servers', type=int, default=1000,
                        help='boots (and deletes) measured per '
                             'configuration (default 1000)')
    parser.add_argument('--existing', default='0,5000',
                        help='instances already in the region (default '
                             '0,5000)')
    parser.add_argument('--conductors', default='1,2',
                        help='nova-conductor processes (default 1,2)')
    parser.add_argument('--clients', type=int, default=32,
                        help='client threads, each one boot at a time '
                             '(default 32)')
    parser.add_argument('--decisions', type=int, default=200,
                        help='scheduler decisions of the probe (default '
                             '200)')
    parser.add_argument('--poll-ms', type=float, default=10.0,
                        help='how often the bench reads the awaited rows '
                             '(default 10 ms)')
    parser.add_argument('--timeout', type=float, default=120.0,
                        help='seconds a boot or delete may take before the '
                             'bench fails (default 120)')
    parser.add_argument('--quick', action='store_true',
                        help='K = 1,10, N = 100, existing 0')
    moves.add_cloud_arguments(parser)
    # The helper (internal).
    parser.add_argument('--helper', choices=('fill', 'probe'),
                        help=argparse.SUPPRESS)
    parser.add_argument('--count', type=int, help=argparse.SUPPRESS)
    parser.add_argument('--config-file', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.helper:
        return helper_main(args)
    if args.quick:
        args.hosts, args.servers, args.existing = '1,10', 100, '0'
    args.hosts = [int(x) for x in args.hosts.split(',') if x]
    args.existing = sorted({int(x) for x in args.existing.split(',') if x})
    args.conductors = [int(x) for x in args.conductors.split(',') if x]
    if not args.hosts or min(args.hosts) < 1 or args.servers < 1 or \
            not args.conductors or min(args.conductors) < 1 or \
            args.clients < 1:
        parser.error('--hosts, --servers, --conductors and --clients must '
                     'be >= 1')
    args.python = args.python or sys.executable
    args.set = [*SETTINGS, *sized_for(args.clients), *args.set]

    machine = boot.Machine()
    print(f'scale benchmark: nova-api, {",".join(map(str, args.conductors))}'
          f' nova-conductor and K = {",".join(map(str, args.hosts))} '
          f'nova-compute processes (fake driver, no delay, '
          f'NOVA_CONCURRENCY={args.mode}) over RabbitMQ on MariaDB; '
          f'{args.servers} boots and deletes per configuration from '
          f'{args.clients} client threads; existing instances '
          f'{",".join(map(str, args.existing))}')
    print(machine.start_line())
    print('settings beside upstream\'s defaults: ' + ', '.join(args.set))
    make_room(args.mysql_url)
    sys.stdout.flush()
    results: list[dict[str, Any]] = []
    try:
        for hosts in args.hosts:
            results.extend(run_hosts(args, hosts))
    except moves.BenchFailure as failure:
        print(f'\nFAILED: {failure}', flush=True)
        if not results:
            return 1
        print('(figures of the configurations measured before it follow)')
    verdicts = report(results)
    print(machine.end_line())
    if args.json:
        with open(args.json, 'w') as f:
            json.dump({'args': {k: v for k, v in vars(args).items()
                                if k != 'python'},
                       'results': results, 'reference': REFERENCE,
                       'targets': verdicts,
                       **machine.as_json()},
                      f, indent=1)
    return 0


if __name__ == '__main__':
    sys.exit(main())
