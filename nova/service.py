"""A nova service: a manager behind an RPC server, with a heartbeat.

Start order matters for crash recovery: the manager's ``init_host`` (which
finishes or reverts the flows a crash cut) runs before the RPC server
starts taking new requests, so a new operation never races the recovery of
an old one on the same instance.
"""

from __future__ import annotations

from typing import Any

import oslo_messaging as messaging
from oslo_log import log as logging

import nova.conf
from nova import concurrency, rpc
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

    def report_state(self) -> None:
        self.db.service_heartbeat(nova_context.get_admin_context(),
                                  self.host, self.binary)

    def stop(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.stop()
        for periodic in self._periodics:
            periodic.stop()
        self._periodics = []
        if self.server is not None:
            self.server.stop()
            self.server.wait()
        LOG.info('%s stopped on %s', self.binary, self.host)


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
    """The API server for [DEFAULT] osapi_compute_listen(_port), its app
    loaded (so a broken
    hook or paste file stops the start here)."""
    from nova.api.openstack.compute import wsgi_app
    from nova.wsgi import server
    app = wsgi_app.load_app(CONF)
    return server.APIServer(
        app, CONF.osapi_compute_listen, CONF.osapi_compute_listen_port,
        CONF.wsgi.port_file,
        keep_alive=CONF.wsgi.keep_alive,
        client_socket_timeout=CONF.wsgi.client_socket_timeout,
        workers=CONF.osapi_compute_workers,
        pool_size=CONF.wsgi.default_pool_size)
