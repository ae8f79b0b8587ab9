"""nova services as separate processes over RabbitMQ, for functional tests.

The test process plays the API: it casts through the real compute API on a
RabbitMQ transport, while ``nova-conductor`` and ``nova-compute`` run as
the installed console scripts with a generated nova.conf.

Each test gets a new RabbitMQ virtual host of its own (made with the
local ``rabbitmqctl``, deleted after the test): queue names depend only on
topic and host ("compute.compute1"), so tests running side by side, or a
test after one whose service was killed with messages still queued, would
otherwise consume each other's messages.  ``rabbitmqctl`` starts an Erlang
node for each command, 1-2 s each, three commands a test: a test process
makes the next test's virtual host while the current test runs, and
deletes a used one in the background (:class:`_VirtualHosts`).
"""

from __future__ import annotations

import atexit
import os
import signal
import subprocess
import sys
import threading
import uuid
from typing import Any

import fixtures
from oslo_config import fixture as config_fixture
from testtools import content

import nova.conf
from nova import context as nova_context
from nova import rpc
from nova.tests.fixtures import database, services
from nova.tests.fixtures import rpc as rpc_fixture
from nova.tests.functional import fixtures as func_fixtures

CONF = nova.conf.CONF

RABBIT_URL = os.environ.get('NOVA_TEST_RABBIT_URL',
                            'rabbit://guest:guest@127.0.0.1:5672/')
BIN = os.path.dirname(sys.executable)
START_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0


def _rabbitmqctl(*args: str) -> None:
    try:
        subprocess.run(['rabbitmqctl', *args], check=True,
                       capture_output=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as exc:
        raise AssertionError(
            f'rabbitmqctl {" ".join(args)} failed: {exc}') from exc


def _new_virtual_host() -> str:
    name = f'nova-test-{uuid.uuid4().hex[:12]}'
    _rabbitmqctl('add_vhost', name)
    try:
        _rabbitmqctl('set_permissions', '-p', name, 'guest', '.*', '.*',
                     '.*')
    except AssertionError:
        _rabbitmqctl('delete_vhost', name)
        raise
    return name


class _Making:
    """A virtual host being made in a thread of its own (not a daemon:
    the interpreter waits for it at exit, before the atexit hooks)."""

    def __init__(self) -> None:
        self._name: str | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._make,
                                        name='nova-test-vhost')
        self._thread.start()

    def _make(self) -> None:
        try:
            self._name = _new_virtual_host()
        except BaseException as exc:
            self._error = exc

    def name(self) -> str:
        """Its name once made; ``rabbitmqctl``'s error if it failed."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._name is not None
        return self._name


class _VirtualHosts:
    """The RabbitMQ virtual hosts of this test process's tests, each new
    and used by one test only.

    ``take()`` returns the one made in the background since the last
    call (or makes one) and starts making the next; ``release()`` deletes
    one in the background (threads the interpreter waits for at exit).
    At exit, the one made for a test that did not come is deleted.  An
    error of ``rabbitmqctl`` making one fails the test that takes it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next: _Making | None = None
        atexit.register(self._at_exit)

    def take(self) -> str:
        with self._lock:
            making, self._next = self._next, None
        name = (making or _Making()).name()
        with self._lock:
            if self._next is None:
                self._next = _Making()
        return name

    def release(self, name: str) -> None:
        threading.Thread(target=_rabbitmqctl, args=('delete_vhost', name),
                         name='nova-test-vhost').start()

    def _at_exit(self) -> None:
        with self._lock:
            making, self._next = self._next, None
        if making is not None:
            try:
                _rabbitmqctl('delete_vhost', making.name())
            except AssertionError:
                pass


_virtual_hosts: _VirtualHosts | None = None


def _process_virtual_hosts() -> _VirtualHosts:
    global _virtual_hosts
    if _virtual_hosts is None:
        _virtual_hosts = _VirtualHosts()
    return _virtual_hosts


class ServiceProcess:
    """One nova service process started from its console script."""

    def __init__(self, binary: str, config_file: str, log_file: str,
                 env: dict[str, str], wait_for_recovery: bool = True,
                 ) -> None:
        self.binary = binary
        self.wait_for_recovery = wait_for_recovery
        self.config_file = config_file
        self.log_file = log_file
        self.env = env
        self.process: subprocess.Popen | None = None
        self._log_start = 0

    def start(self, wait_ready: bool = True) -> None:
        """Start the process; unless not ``wait_ready``, until it is
        ready (a process held in its start by the fault-injection hook
        never is)."""
        # stdout and stderr both go to the log file: oslo.log writes to
        # stdout, and a pipe nobody drains would block the service.
        with open(self.log_file, 'ab') as log:
            # A restarted service appends to the log of the one it
            # replaces: only what this process writes says it is ready.
            self._log_start = log.tell()
            self.process = subprocess.Popen(
                [os.path.join(BIN, self.binary), '--config-file',
                 self.config_file], stdout=log, stderr=subprocess.STDOUT,
                env=self.env)
        if wait_ready:
            self._wait_ready()

    def _wait_ready(self) -> None:
        """Until the service prints its ready line (after init_host) and,
        for nova-compute, the end of its crash recovery, or dies."""
        assert self.process is not None
        ready = f'{self.binary} ready'.encode()
        # nova-compute takes requests while it recovers, in the
        # background: a test acting after a restart waits for the end.
        recovered = (b'Crash recovery ended on '
                     if self.binary == 'nova-compute' and
                     self.wait_for_recovery else None)
        process = self.process

        def started() -> bool:
            if process.poll() is not None:
                raise AssertionError(
                    f'{self.binary} exited with {process.returncode}:'
                    f'\n{self.log_tail()}')
            with open(self.log_file, 'rb') as log:
                log.seek(self._log_start)
                lines = log.readlines()
            return (any(line.startswith(ready) for line in lines) and
                    (recovered is None or
                     any(recovered in line for line in lines)))
        try:
            func_fixtures.wait_for(started, START_TIMEOUT,
                                   f'{self.binary} to start')
        except AssertionError:
            self.kill()
            raise AssertionError(f'{self.binary} did not start:\n'
                                 f'{self.log_tail()}') from None

    def own_log(self) -> str:
        """What this process wrote to its log (not the process it
        replaced)."""
        with open(self.log_file, 'rb') as log:
            log.seek(self._log_start)
            return log.read().decode(errors='replace')

    def log_tail(self, size: int = 4000) -> str:
        with open(self.log_file, errors='replace') as log:
            return log.read()[-size:]

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(STOP_TIMEOUT)

    def stop(self) -> None:
        """SIGTERM, and SIGKILL if that does not end it in time (a service
        held inside a stage by the fault-injection hook never will)."""
        self.terminate()
        self.wait_stopped()

    def terminate(self) -> None:
        """SIGTERM, without waiting (then :meth:`wait_stopped`)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def wait_stopped(self) -> None:
        """Until it has ended after :meth:`terminate`; SIGKILL if it has
        not within STOP_TIMEOUT."""
        if self.process is None:
            return
        try:
            self.process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.kill(signal.SIGKILL)


class ProcessCloud(func_fixtures.CloudHelpers, fixtures.Fixture):
    """A database, a RabbitMQ virtual host, a conductor in this process and
    nova-compute processes started on demand."""

    def __init__(self, test: Any, backend: str = 'mysql',
                 conductor_in_process: bool = True,
                 concurrency: str = 'eventlet',
                 options: dict[str, dict[str, str]] | None = None,
                 transport_url: str | None = None,
                 server_url: str | None = None) -> None:
        super().__init__()
        #: A broker of the test's own (rabbit.PrivateNode.url) instead of
        #: a virtual host of the machine's.
        self.given_transport_url = transport_url
        #: A database server of the test's own (dbserver.PrivateMariaDB
        #: .url ...) instead of the machine's.
        self.server_url = server_url
        #: More options for every service's configuration file, by group.
        self.options = options or {}
        self.test = test
        self.backend = backend
        #: NOVA_CONCURRENCY of the service processes.
        self.concurrency = concurrency
        self.conductor_in_process = conductor_in_process
        self.processes: dict[str, ServiceProcess] = {}
        #: Every process started, restarted ones included, oldest first.
        self._started: list[ServiceProcess] = []

    def _setUp(self) -> None:
        if self.given_transport_url is None:
            services.require_url(self.test, RABBIT_URL, 'RabbitMQ')
        self.dir = self.useFixture(fixtures.TempDir()).path
        # Registered before the processes' own cleanups, so it runs after
        # they stopped: a failing test shows what each service logged.
        self.addCleanup(self._attach_logs)
        self.state_path = self.dir
        self.transport_url = (self.given_transport_url or
                              self._make_vhost())
        self.db_fixture = self.useFixture(database.Database(
            self.backend, server_url=self.server_url))
        rpc.register_opts(CONF)
        config = self.useFixture(config_fixture.Config(CONF))
        config.config(state_path=self.dir, host='api-test',
                      report_interval=60)
        self.useFixture(rpc_fixture.RPCFixture(url=self.transport_url))
        self.marker_dir = os.path.join(self.dir, 'markers')
        os.makedirs(self.marker_dir)

        from nova.compute import api as compute_api
        from nova.compute import flavors
        from nova.db import api as db
        self.db = db
        self.ctx = nova_context.get_admin_context()
        flavors.ensure_standard_flavors(self.ctx)
        self.image = self.create_image()
        self.compute_api = compute_api.API()
        if self.conductor_in_process:
            from nova import service
            from nova.conductor import rpcapi
            conductor = service.Service(
                'conductor-test', 'nova-conductor', rpcapi.TOPIC,
                service.make_conductor_manager('conductor-test'), db)
            conductor.start()
            self.addCleanup(conductor.stop)

    def _make_vhost(self) -> str:
        virtual_hosts = _process_virtual_hosts()
        name = virtual_hosts.take()
        self.addCleanup(virtual_hosts.release, name)
        return RABBIT_URL.rstrip('/') + '/' + name

    def _attach_logs(self) -> None:
        for name in sorted(os.listdir(self.dir)):
            if name.endswith('.log'):
                with open(os.path.join(self.dir, name),
                          errors='replace') as log:
                    lines = [line for line in log if ' DEBUG ' not in line]
                self.test.addDetail(name, content.text_content(
                    ''.join(lines[-200:])))

    def config_file(self, host: str, hooks: tuple[str, ...] = (),
                    options: dict[str, dict[str, str]] | None = None,
                    ) -> str:
        """The configuration file of ``host``'s service: ``options`` (by
        group) are added to, or replace, those of every service."""
        merged = {group: dict(values)
                  for group, values in self.options.items()}
        for group, values in (options or {}).items():
            merged.setdefault(group, {}).update(values)
        path = os.path.join(self.dir, f'{host}.conf')
        with open(path, 'w') as conf:
            conf.write(f'''[DEFAULT]
host = {host}
state_path = {self.dir}/{host}
transport_url = {self.transport_url}
report_interval = 60
debug = True

[database]
connection = {self.db_fixture.url}

[fake_driver]
state_path = {self.dir}/hypervisor-{host}

[flow]
enabled_hooks = {','.join(hooks)}
''')
            for group, values in merged.items():
                conf.write(f'\n[{group}]\n')
                for name, value in values.items():
                    conf.write(f'{name} = {value}\n')
        return path

    def start(self, binary: str, host: str, hooks: tuple[str, ...] = (),
              options: dict[str, dict[str, str]] | None = None,
              wait_for_recovery: bool = True, wait_ready: bool = True,
              **env: str) -> ServiceProcess:
        """Start ``binary`` as ``host``, with ``options`` (by group) for
        this host only on top of ``self.options``, and ``env`` in its
        environment; until it is ready, unless not ``wait_ready``, and
        for nova-compute until its crash recovery ended too, unless not
        ``wait_for_recovery``."""
        process_env = dict(os.environ, NOVA_FAULT_MARKER_DIR=self.marker_dir,
                           NOVA_CONCURRENCY=self.concurrency, **env)
        process = ServiceProcess(
            binary, self.config_file(host, hooks, options),
            os.path.join(self.dir, f'{binary}-{host}.log'), process_env,
            wait_for_recovery)
        if not self._started:
            self.addCleanup(self._stop_processes)
        self._started.append(process)
        process.start(wait_ready)
        self.processes[host] = process
        return process

    def _stop_processes(self) -> None:
        """Stop every service process still running, all at once: SIGTERM
        to each, newest first, then wait for each (SIGKILL if it does not
        end in time).  A process takes from a few tenths of a second to
        a few seconds to stop (its RPC servers, its RabbitMQ connection,
        its threads at exit); one after another that added up to several
        seconds of a test.  (The fixture's first cleanup, as each
        process's own was: nothing else of the fixture's runs between
        them.)"""
        processes = list(reversed(self._started))
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait_stopped()

    def wait_for_marker(self, stage_id: str,
                        timeout: float = func_fixtures.WAIT_SECONDS) -> None:
        path = os.path.join(self.marker_dir, stage_id)
        func_fixtures.wait_for(lambda: os.path.exists(path), timeout,
                               f'a process to stop in {stage_id}')

    def hypervisor_guests(self, host: str) -> list[str]:
        """Guests the fake hypervisor of ``host`` holds (its state files)."""
        from nova.virt import fake
        return sorted(fake.read_state(f'{self.dir}/hypervisor-{host}'))
