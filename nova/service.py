"""A nova service: a manager behind an RPC server, with a heartbeat.

Start order matters for crash recovery: the manager's ``init_host`` (which
finishes or reverts the flows a crash cut) runs before the RPC server
starts taking new requests, so a new operation never races the recovery of
an old one on the same instance: nova-conductor recovers within it;
nova-compute locks the instances it has to recover within it and recovers
them in the background, so requests for other instances are served at
once (``wait_for_recovery`` waits for the end).
"""

from __future__ import annotations

import faulthandler
import functools
import tempfile
from collections.abc import Sequence
from typing import Any

import oslo_messaging as messaging
from oslo_log import log as logging

import nova.conf
from nova import concurrency, rpc, rpc_inprocess
from nova import context as nova_context

LOG = logging.getLogger(__name__)
CONF = nova.conf.CONF


class Service:

    def __init__(self, host: str, binary: str, topic: str | None,
                 manager: Any, db: Any) -> None:
        self.host = host
        self.binary = binary
        self.topic = topic
        self.manager = manager
        self.db = db
        self.server: Any = None
        self._heartbeat: concurrency.Periodic | None = None
        self._periodics: list[concurrency.Periodic] = []

    def start(self) -> None:
        ctx = nova_context.get_admin_context()
        self.db.service_register(ctx, self.host, self.binary, self.topic)
        init_host = getattr(self.manager, 'init_host', None)
        if init_host is not None:
            init_host()
        if self.topic:
            target = messaging.Target(topic=self.topic, server=self.host)
            self.server = rpc.get_server(target, [self.manager])
            self.server.start()
        # Up at once: a restarted service (its recovery done, its queue
        # consumed) must not wait report_interval to be scheduled to.
        self.report_state()
        self._heartbeat = concurrency.start_periodic(
            self.report_state, CONF.report_interval,
            initial_delay=CONF.report_interval)
        tasks = getattr(self.manager, 'periodic_tasks', None)
        for task, interval in (tasks() if tasks is not None else []):
            self._periodics.append(concurrency.start_periodic(
                task, interval, initial_delay=interval))
        LOG.info('%s started on %s', self.binary, self.host)

    def wait_for_recovery(self, timeout: float | None = None) -> None:
        """Until the crash recovery the manager's ``init_host`` started
        in the background (nova-compute's) has ended; its error, if it
        failed."""
        wait = getattr(self.manager, 'wait_for_recovery', None)
        if wait is not None:
            wait(timeout)

    def report_state(self) -> None:
        self.db.service_heartbeat(nova_context.get_admin_context(),
                                  self.host, self.binary)

    def stop(self, wait: bool = True) -> None:
        """Stop taking requests; with ``wait``, also until those under
        way have ended (else :meth:`wait` does)."""
        if self._heartbeat is not None:
            self._heartbeat.stop()
        for periodic in self._periodics:
            periodic.stop()
        self._periodics = []
        if self.server is not None:
            self.server.stop()
        if wait:
            self.wait()

    def wait(self) -> None:
        """Until the requests under way when it stopped have ended."""
        if self.server is not None:
            self.server.wait()
        LOG.info('%s stopped on %s', self.binary, self.host)


def stop_all(services: Sequence[Any]) -> None:
    """Stop ``services`` one at a time, callers first, each once the one
    stopped before it has ended every request it took.

    Callers first, whatever the start order: the API servers (which call
    nova-compute and cast to nova-conductor), then nova-conductor (whose
    flows call the compute hosts: the moves, and a multi-create's
    configure and power-on phases), then the rest (nova-compute, which
    only casts to nova-conductor), each group in the reverse of its start
    order.  So the requests under way of a service are answered while
    what they call is still up.  Stopped the other way round, a
    conductor's call to a compute host that had stopped taking requests
    was never answered, and the stop waited for the call's timeout
    (``[DEFAULT] long_rpc_timeout``).

    Each service is waited for at most ``[DEFAULT]
    graceful_shutdown_timeout`` seconds; past it every thread's stack is
    logged and the next service is stopped all the same.

    On the in-process transport (nova-all's, the tests') the end of a
    server's requests is known at once: every request it took has been
    answered (``rpc_inprocess.wait_answered``); its executor's idle
    threads then wind down in the background (they notice the shutdown
    only at futurist's next idle poll, a second later) and its ``wait()``
    ends on its own.  On another transport, the server's ``wait()``.
    """
    timeout = CONF.graceful_shutdown_timeout or None
    for svc in stop_order(services):
        if not isinstance(svc, Service):
            svc.stop()
            continue
        svc.stop(wait=False)
        handle = concurrency.spawn(svc.wait)
        waiting = concurrency.spawn(
            handle.wait if svc.server is None
            else functools.partial(wait_for_requests, svc.server, handle))
        try:
            waiting.wait(timeout)
        except TimeoutError:
            LOG.error('%s on %s still has requests under way after %ss; '
                      'stopping the next service without waiting for '
                      'them. The threads of this process:\n%s',
                      svc.binary, svc.host, timeout, thread_stacks())


#: The order stop_all stops services in by binary (the rest after them):
#: each calls only services after it.
_CALLERS_FIRST = ('nova-conductor',)


def stop_order(services: Sequence[Any]) -> list[Any]:
    """``services`` in the order :func:`stop_all` stops them: servers
    that are no Service (the API's), then nova-conductor, then the others,
    each in the reverse of the start order."""
    def rank(svc: Any) -> int:
        if not isinstance(svc, Service):
            return 0
        if svc.binary in _CALLERS_FIRST:
            return 1 + _CALLERS_FIRST.index(svc.binary)
        return 1 + len(_CALLERS_FIRST)
    return sorted(reversed(services), key=rank)


def thread_stacks() -> str:
    """The current stack of every native thread of the process (for a
    log), as the standard library's faulthandler writes it."""
    with tempfile.TemporaryFile('w+') as out:
        faulthandler.dump_traceback(out, all_threads=True)
        out.seek(0)
        return out.read()


def wait_for_requests(server: Any, waiting: concurrency.Handle) -> None:
    """Return once the stopped RPC ``server`` has ended every request it
    took: on the in-process transport as soon as each is answered
    (``rpc_inprocess.wait_answered``), else - and if that cannot tell -
    when ``waiting``, the spawned ``server.wait()``, has ended."""
    if not rpc_inprocess.wait_answered(server.listener,
                                       give_up=waiting.done):
        waiting.wait()


# -- assembling services ------------------------------------------------------
# Here rather than in nova/cmd: importing nova.cmd prepares the process's
# concurrency (monkey patching), which a test or an embedding program that
# builds services must not trigger.

def make_compute_manager(host: str) -> Any:
    from nova.compute import manager as compute_manager
    from nova.conductor import rpcapi as conductor_rpcapi
    from nova.db import api as db
    from nova.db import recorder as db_recorder
    from nova.image import api as image_api
    from nova.network import api as network_api
    from nova.virt import driver as virt_driver
    from nova.volume import api as volume_api
    return compute_manager.ComputeManager(
        host=host, driver=virt_driver.load_compute_driver(CONF), db=db,
        network=network_api.API(), volume=volume_api.API(),
        image=image_api.API(), conductor=conductor_rpcapi.ConductorAPI(),
        notifier=rpc.get_notifier('compute', host),
        recorder=db_recorder.DBRecorder(host))


def make_conductor_manager(host: str) -> Any:
    from nova.conductor import manager as conductor_manager
    from nova.db import api as db
    from nova.db import recorder as db_recorder
    from nova.image import api as image_api
    from nova.network import api as network_api
    from nova.volume import api as volume_api
    return conductor_manager.ConductorManager(
        host=host, db=db, recorder=db_recorder.DBRecorder(host),
        network=network_api.API(), volume=volume_api.API(),
        image=image_api.API(), notifier=rpc.get_notifier('conductor', host))


def build_services(host: str, with_api: bool = True) -> list[Any]:
    """The services of one all-in-one host, in start order: conductor and
    compute first, so the API takes requests only when they can be served.
    """
    from nova.compute import rpcapi as compute_rpcapi
    from nova.conductor import rpcapi as conductor_rpcapi
    from nova.db import api as db
    from nova.flow import engine
    # One object per enabled hook for the services of this process, so
    # a hook keeps one state whichever service runs its stages.
    with engine.sharing_hooks(CONF):
        services: list[Any] = [
            Service(host, 'nova-conductor', conductor_rpcapi.TOPIC,
                    make_conductor_manager(host), db),
            Service(host, 'nova-compute', compute_rpcapi.TOPIC,
                    make_compute_manager(host), db),
        ]
        if with_api:
            services.append(make_api_server())
    return services


def make_api_server() -> Any:
    """The API server for [DEFAULT] osapi_compute_listen(_port), serving
    every API in [DEFAULT] enabled_apis, loaded now (so a broken hook or
    paste file stops the start here).  Raises
    nova.api.auth.InsecureAuthStrategy for noauth2 on a non-loopback
    address."""
    from nova.api import auth
    from nova.api.openstack import service_apis
    auth.check_auth_strategy(CONF)
    app = service_apis.load_apis(CONF, CONF.enabled_apis)
    return _http_server(app, CONF.osapi_compute_listen,
                        CONF.osapi_compute_listen_port, 'nova-api')


def make_service_api_server(name: str) -> Any:
    """The server of one in-tree service API (``image``, ``volume``,
    ``network``) alone, on its [DEFAULT] <name>_api_listen(_port)."""
    from nova.api import auth
    from nova.api.openstack import service_apis
    auth.check_auth_strategy(CONF, f'{name}_api_listen')
    app = service_apis.load_api(CONF, name)
    return _http_server(app, CONF[f'{name}_api_listen'],
                        CONF[f'{name}_api_listen_port'],
                        service_apis.APIS[name].binary)


def _http_server(app: Any, host: str, port: int, binary: str) -> Any:
    from nova.wsgi import server
    return server.APIServer(
        app, host, port, CONF.wsgi.port_file,
        keep_alive=CONF.wsgi.keep_alive,
        client_socket_timeout=CONF.wsgi.client_socket_timeout,
        workers=CONF.osapi_compute_workers,
        pool_size=CONF.wsgi.default_pool_size, binary=binary)
