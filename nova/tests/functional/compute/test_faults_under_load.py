"""Nothing stays stuck when nova-api or a conductor dies, or the broker
restarts, in the middle of traffic.

Servers are created from several threads while nova-conductor is
SIGKILLed and restarted, or while RabbitMQ (a node of the test's own)
is stopped and started, or through nova-api's HTTP endpoint while
nova-api is SIGKILLed, or (and deleted) while the database server (a
MariaDB or PostgreSQL server of the test's own) is stopped and
started; the services are processes (the conductor, two nova-compute
hosts, and nova-api where it is killed).  The machine's broker and
database servers are never stopped.  Afterwards every server must end
ACTIVE, or in ERROR with a fault that says why (a create the killed
conductor or nova-api had taken but not passed on is found by
``[conductor] lost_build_timeout``): the number of servers left in
BUILD or with a task is reported and must be 0, and no flow run is left
unfinished.

The database is down for OUTAGE_SECONDS.  With oslo.db's default
retries (nova.db.api.retry_on_disconnect) the services wait it out and
every server ends ACTIVE; with none (TestMariaDBDownPastTheRetries) the
runs the outage cut are finished or reverted by the running services
(nova.flow.recovery.recover_abandoned_runs), the deletes they lost
finished and the builds they lost failed with a fault, all without a
restart.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request

import testtools

from nova import test
from nova.compute import vm_states
from nova.tests.fixtures import dbserver, rabbit
from nova.tests.functional import fixtures as func_fixtures
from nova.tests.functional import multiprocess

#: Short, so that lost creates are found within the test.
LOST_BUILD_TIMEOUT = 10
SERVERS_PER_WAVE = 6


class _UnderLoad(test.TestCase):

    def start_cloud(self, transport_url=None, backend='mysql',
                    server_url=None, options=None):
        """nova-conductor and two nova-compute processes; ``options``
        (by group) on top of the test's own for every service."""
        merged = {'conductor': {
            'lost_build_timeout': str(LOST_BUILD_TIMEOUT)}}
        for group, values in (options or {}).items():
            merged.setdefault(group, {}).update(values)
        self.cloud = self.useFixture(multiprocess.ProcessCloud(
            self, backend, conductor_in_process=False,
            transport_url=transport_url, server_url=server_url,
            options=merged))
        self.conductor = self.cloud.start('nova-conductor', 'conductor1')
        for host in ('compute1', 'compute2'):
            self.cloud.start('nova-compute', host)
        self.ctx = self.cloud.user_context()
        self.uuids: list[str] = []
        self.errors: list[BaseException] = []
        self.lock = threading.Lock()

    def create_wave(self):
        """SERVERS_PER_WAVE creates at once, each from its own thread, as
        many users would; returns the threads (not joined)."""
        def create():
            try:
                uuid = self.cloud.boot(self.ctx)['uuid']
            except BaseException as error:  # reported by the test
                with self.lock:
                    self.errors.append(error)
                return
            with self.lock:
                self.uuids.append(uuid)
        threads = [threading.Thread(target=create)
                   for _ in range(SERVERS_PER_WAVE)]
        for thread in threads:
            thread.start()
        return threads

    def join(self, threads):
        for thread in threads:
            thread.join(func_fixtures.WAIT_SECONDS * 4)

    def stuck(self):
        servers = [self.cloud.instance(uuid) for uuid in self.uuids]
        return [s for s in servers if s['vm_state'] == vm_states.BUILDING
                or s['task_state'] is not None]

    def assert_nothing_stuck(self):
        self.assertEqual([], self.errors)
        self.assertEqual(2 * SERVERS_PER_WAVE, len(self.uuids))
        self.assert_settled()

    def assert_settled(self):
        """Every server of self.uuids ACTIVE, or ERROR with a fault, in
        time; no run unfinished."""
        try:
            func_fixtures.wait_for(
                lambda: not self.stuck(), LOST_BUILD_TIMEOUT * 4 + 60,
                'every server to leave BUILD')
        finally:
            stuck = [(s['uuid'], s['vm_state'], s['task_state'], [
                (r['flow'], r['status'], r['current_stage'])
                for r in self.cloud.db.flow_runs_get_by_instance(
                    self.cloud.ctx, s['uuid'])]) for s in self.stuck()]
            self.addDetail('stuck', testtools.content.text_content(
                f'{len(stuck)} of {len(self.uuids)} servers stuck: '
                f'{stuck}'))
        servers = [self.cloud.instance(uuid) for uuid in self.uuids]
        faults = self.cloud.db.instance_fault_get_by_instance_uuids(
            self.cloud.ctx, self.uuids)
        for server in servers:
            self.assertIn(server['vm_state'],
                          (vm_states.ACTIVE, vm_states.ERROR))
            if server['vm_state'] == vm_states.ERROR:
                self.assertTrue(faults[server['uuid']], server['uuid'])
        self.assertEqual([], self.cloud.db.flow_runs_get_unfinished(
            self.cloud.ctx, None))
        active = [s for s in servers if s['vm_state'] == vm_states.ACTIVE]
        self.addDetail('outcome', testtools.content.text_content(
            f'{len(active)} ACTIVE, {len(servers) - len(active)} ERROR, '
            f'0 stuck'))


class TestConductorKilledUnderLoad(_UnderLoad):

    def test_nothing_stuck(self):
        self.start_cloud()
        first = self.create_wave()
        self.conductor.kill()
        # Sent while no conductor runs: they wait in its durable queue.
        second = self.create_wave()
        self.join(first + second)
        self.conductor = self.cloud.start('nova-conductor', 'conductor1')
        self.assert_nothing_stuck()


class TestBrokerRestartUnderLoad(_UnderLoad):

    def test_nothing_stuck(self):
        node = self.useFixture(rabbit.PrivateNode(self))
        self.start_cloud(transport_url=node.url)
        first = self.create_wave()
        node.stop_app()
        # Sent while the broker is down: the casts wait for it.
        second = self.create_wave()
        node.start_app()
        self.join(first + second)
        self.assert_nothing_stuck()


class TestApiKilledUnderLoad(_UnderLoad):
    """Creates stream into nova-api over HTTP, from several threads, when
    it is SIGKILLed.  A create it answered is built; one it was killed
    in left nothing (its transaction rolled back) or a server that never
    reached the conductor, which ``lost_build_timeout`` ends in ERROR
    with a fault.  Every server in the database is counted, whether its
    creator got an answer or not."""

    THREADS = 4

    def start_api(self):
        with socket.socket() as sock:
            sock.bind(('127.0.0.1', 0))
            port = sock.getsockname()[1]
        self.api = self.cloud.start('nova-api', 'api1', options={
            'DEFAULT': {'osapi_compute_listen': '127.0.0.1',
                        'osapi_compute_listen_port': str(port),
                        'osapi_compute_workers': '1'},
            'api': {'auth_strategy': 'noauth2'},
            # The load is what is tested, not the quota.
            'quota': {'instances': '-1', 'cores': '-1', 'ram': '-1'}})
        self.endpoint = f'http://127.0.0.1:{port}/v2.1'

    def post_server(self):
        request = urllib.request.Request(
            f'{self.endpoint}/servers', method='POST',
            headers={'X-Auth-Token': 'admin:admin',
                     'Content-Type': 'application/json'},
            data=json.dumps({'server': {
                'name': 'load', 'flavorRef': '1',
                'imageRef': self.cloud.image['id']}}).encode())
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.load(response)['server']['id']

    def servers_in_database(self):
        return [s['uuid'] for s in self.cloud.db.instance_get_all_by_filters(
            self.cloud.ctx, {})]

    def test_nothing_stuck(self):
        self.start_cloud()
        self.start_api()
        answered, cut = [], []
        enough = threading.Event()

        def create_until_cut():
            while True:
                try:
                    uuid = self.post_server()
                except urllib.error.HTTPError as error:
                    # An answer, not a cut: the test fails on it.
                    with self.lock:
                        self.errors.append(error)
                    return
                except (urllib.error.URLError, ConnectionError,
                        OSError) as error:
                    with self.lock:
                        cut.append(error)
                    return
                with self.lock:
                    answered.append(uuid)
                    if len(answered) >= 2 * self.THREADS:
                        enough.set()
        threads = [threading.Thread(target=create_until_cut)
                   for _ in range(self.THREADS)]
        for thread in threads:
            thread.start()
        # Killed while every thread is in a request (each posts again as
        # soon as it has its answer).
        self.assertTrue(enough.wait(func_fixtures.WAIT_SECONDS))
        self.api.kill()
        self.join(threads)
        self.assertEqual([], self.errors)
        self.assertEqual(self.THREADS, len(cut))

        # A new nova-api takes creates at once.
        self.start_api()
        after = [self.post_server() for _ in range(2)]
        self.uuids = self.servers_in_database()
        self.assertTrue(set(answered + after) <= set(self.uuids))
        self.addDetail('requests', testtools.content.text_content(
            f'{len(answered)} answered before the kill, {len(cut)} cut, '
            f'{len(after)} after; {len(self.uuids)} servers created'))
        self.assert_settled()


#: How long the database server stays down: as in the split deployment
#: where servers were first seen stuck (MariaDB down for 5 s).
OUTAGE_SECONDS = 5.0


class _DatabaseRestartUnderLoad:
    """Boots and deletes in flight while the database server (one of the
    test's own) is stopped and started again: no request is lost.
    Every server ends ACTIVE, ERROR with a fault, or deleted, none in
    BUILD or with a task; a create the API could not record (the
    database down) fails clearly to its caller; the services reconnect
    by themselves (new boots work afterwards).  The figures are printed
    (and attached).

    A mixin of the MariaDB and PostgreSQL tests (with _UnderLoad), not
    a test itself."""

    backend: str
    #: dbserver.PrivateMariaDB or dbserver.PrivatePostgreSQL.
    private_server: type[dbserver.PrivateMariaDB] | \
        type[dbserver.PrivatePostgreSQL]

    #: Options of every service (by group).
    service_options: dict[str, dict[str, str]] = {}

    def stop_server(self):
        self.server.stop()

    def start_server(self):
        """Start the server unless it runs; returns once it accepts
        connections."""
        self.server.start()

    def delete_all(self, uuids):
        threads = []

        def delete(uuid):
            try:
                instance = self.cloud.instance(uuid)
                self.cloud.compute_api.delete(self.ctx, instance)
            except BaseException as error:  # reported by the test
                with self.lock:
                    self.refused.append(('delete', uuid, error))
        for uuid in uuids:
            threads.append(threading.Thread(target=delete, args=(uuid,)))
            threads[-1].start()
        return threads

    def test_nothing_stuck(self):
        self.server = self.useFixture(self.private_server(self))
        self.start_cloud(backend=self.backend, server_url=self.server.url,
                         options=self.service_options)
        self.refused = []
        # Servers to delete while the database restarts.
        first = self.create_wave()
        self.join(first)
        self.assertEqual([], self.errors)
        for uuid in self.uuids:
            self.cloud.wait_for_state(uuid, vm_states.ACTIVE)
        to_delete, self.uuids = list(self.uuids), []
        # The cloud's cleanups need it.
        self.addCleanup(self.start_server)
        in_flight = self.create_wave() + self.delete_all(to_delete)
        # Stopped once the API took them (created and cast, deletes
        # accepted), while their builds and deletes run: the server of
        # the test's own stops in a fraction of a second, so stopping it
        # at once would only refuse them at the API.
        self.join(in_flight)
        self.stop_server()
        # Sent while the database is down: refused clearly, or recorded
        # once it is back.
        during = self.create_wave()
        # The fault itself: the server stays down for a while.
        time.sleep(OUTAGE_SECONDS)
        self.start_server()
        self.join(during)
        # A create the API could not record fails to its caller: it is
        # no lost request.  Every server the database holds is counted,
        # whether its creator got an answer or not.
        refused_creates, self.errors = self.errors, []
        sent = 2 * SERVERS_PER_WAVE
        self.uuids = [
            s['uuid'] for s in self.cloud.db.instance_get_all_by_filters(
                self.cloud.ctx, {}) if s['uuid'] not in to_delete]
        try:
            self.assert_settled()
            func_fixtures.wait_for(
                lambda: all(self.cloud.instance(u) is None
                            for u in to_delete if not any(
                                r[1] == u for r in self.refused)),
                func_fixtures.WAIT_SECONDS * 2, 'the deletes to end')
            # A delete refused while the database was down left its
            # server as it was, with no task.
            for uuid in to_delete:
                server = self.cloud.instance(uuid)
                self.assertTrue(server is None or (
                    server['task_state'] is None and
                    server['vm_state'] == vm_states.ACTIVE), server)
            # The services took the database back by themselves.
            after = self.cloud.boot(self.ctx)['uuid']
            self.cloud.wait_for_state(after, vm_states.ACTIVE)
        finally:
            servers = [self.cloud.instance(u) for u in self.uuids]
            active = sum(1 for s in servers
                         if s and s['vm_state'] == vm_states.ACTIVE)
            error = sum(1 for s in servers
                        if s and s['vm_state'] == vm_states.ERROR)
            figures = (
                f'{self.backend} restart: {sent} creates sent, '
                f'{len(refused_creates)} refused while down, '
                f'{len(self.uuids)} recorded: {active} ACTIVE, {error} '
                f'ERROR, {len(self.stuck())} stuck; '
                f'{len(to_delete)} deletes sent, '
                f'{len(self.refused)} refused, '
                f'{sum(1 for u in to_delete if self.cloud.instance(u))} '
                f'not deleted')
            left = [(s['uuid'], s['vm_state'], s['task_state'], s['host'])
                    for s in map(self.cloud.instance, to_delete) if s]
            if left:
                figures += f' {left}'
            print(figures)
            self.addDetail('figures', testtools.content.text_content(
                figures))
        self.assertLessEqual(sent, len(refused_creates) + len(self.uuids))


class TestMariaDBRestartUnderLoad(_DatabaseRestartUnderLoad, _UnderLoad):

    backend = 'mysql'
    private_server = dbserver.PrivateMariaDB


class TestPostgreSQLRestartUnderLoad(_DatabaseRestartUnderLoad,
                                     _UnderLoad):

    backend = 'postgresql'
    private_server = dbserver.PrivatePostgreSQL


class TestMariaDBDownPastTheRetries(_DatabaseRestartUnderLoad, _UnderLoad):
    """The services do not retry ([database] db_max_retries = 0), so the
    outage cuts their runs: a run whose record could not be written is
    finished or reverted by the running service once the database is
    back ([flow] abandoned_run_check_interval), without a restart."""

    backend = 'mysql'
    private_server = dbserver.PrivateMariaDB
    service_options = {'database': {'db_max_retries': '0'},
                       'flow': {'abandoned_run_check_interval': '2'}}
