"""A whole cloud inside the test process: conductor and compute services on
the in-process transport, a migrated database, flavors and an image.

The services are the real ones (``nova.cmd.all.build_services``) with the
fake virt driver; only the transport and the database location differ
from a deployment.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

import fixtures
from oslo_config import fixture as config_fixture

import nova.conf
from nova import context as nova_context
from nova import exception, rpc
from nova.flow import testing
from nova.tests.fixtures import database
from nova.tests.fixtures import rpc as rpc_fixture

CONF = nova.conf.CONF

#: How long tests wait for an asynchronous effect; ``wait_for`` is the
#: hook kit's (nova.flow.testing), which vendors' tests use too.
WAIT_SECONDS = testing.WAIT_SECONDS
wait_for = testing.wait_for


class CloudHelpers:
    """What tests do with a cloud, whichever way its services run.

    Needs ``db``, ``ctx``, ``compute_api`` and ``state_path`` set by the
    fixture using it.
    """

    db: Any
    ctx: Any
    compute_api: Any
    image: dict[str, Any]
    state_path: str

    def create_image(self) -> dict[str, Any]:
        from nova.image import api as image_api
        from nova.image import local
        api = image_api.API()
        assert isinstance(api, local.LocalImageAPI)  # the test cloud's
        with tempfile.NamedTemporaryFile(dir=self.state_path,
                                         delete=False) as blob:
            blob.write(b'\0' * 4096)
        return api.create_from_file(
            self.ctx, blob.name, name='cirros', disk_format='raw',
            container_format='bare', visibility='public')

    def user_context(self, user: str = 'demo',
                     project: str = 'demo') -> nova_context.RequestContext:
        return nova_context.RequestContext(user_id=user, project_id=project)

    def boot(self, ctx: Any = None, flavor: str = '1', **kwargs: Any,
             ) -> dict[str, Any]:
        ctx = ctx or self.user_context()
        flavor_row = self.db.flavor_get_by_flavor_id(ctx, flavor)
        instances, _ = self.compute_api.create(
            ctx, flavor_row, self.image['id'],
            name=kwargs.pop('name', 'test'), **kwargs)
        return instances[0]

    def instance(self, uuid: str, read_deleted: str = 'no',
                 ) -> dict[str, Any] | None:
        ctx = nova_context.get_admin_context()
        ctx.read_deleted = read_deleted
        try:
            return self.db.instance_get_by_uuid(ctx, uuid)
        except exception.InstanceNotFound:
            return None

    def wait_for_state(self, uuid: str, vm_state: str,
                       timeout: float = WAIT_SECONDS) -> dict[str, Any]:
        def reached() -> dict[str, Any] | None:
            instance = self.instance(uuid, read_deleted='yes')
            if instance and instance['vm_state'] == vm_state and (
                    instance['task_state'] is None):
                return instance
            return None
        return wait_for(reached, timeout, f'{uuid} to be {vm_state}')

    def wait_for_deleted(self, uuid: str,
                         timeout: float = WAIT_SECONDS) -> None:
        wait_for(lambda: self.instance(uuid) is None, timeout,
                 f'{uuid} to be deleted')

    def wait_for_action(self, uuid: str, action: str,
                        timeout: float = WAIT_SECONDS) -> dict[str, Any]:
        """The newest ``action`` of the instance, once it has finished."""
        def finished() -> dict[str, Any] | None:
            for row in self.db.actions_get(self.ctx, uuid):
                if row['action'] == action and row['finish_time']:
                    return row
            return None
        return wait_for(finished, timeout, f'{action} of {uuid} to finish')

    def wait_for_runs(self, uuid: str, count: int,
                      timeout: float = WAIT_SECONDS,
                      prefix: str = '') -> list[dict[str, Any]]:
        """The instance's flow runs (of the flows whose name starts with
        ``prefix``), once ``count`` of them have ended."""
        def ended() -> list[dict[str, Any]] | None:
            runs = [r for r in self.db.flow_runs_get_by_instance(
                self.ctx, uuid) if r['flow'].startswith(prefix)]
            done = [r for r in runs if r['status'] != 'running']
            return runs if len(done) >= count else None
        return wait_for(ended, timeout, f'{count} runs of {uuid} to end')


class LocalCloud(CloudHelpers, fixtures.Fixture):
    """Conductor + ``compute_hosts`` compute services in this process."""

    def __init__(self, backend: str = 'sqlite',
                 compute_hosts: tuple[str, ...] = ('compute1',),
                 with_api: bool = False, **overrides: Any) -> None:
        super().__init__()
        self.backend = backend
        self.compute_hosts = compute_hosts
        self.with_api = with_api
        self.overrides = overrides
        self.services: list[Any] = []

    def _setUp(self) -> None:
        self.state_path = self.useFixture(fixtures.TempDir()).path
        config = self.useFixture(config_fixture.Config(CONF))
        config.config(state_path=self.state_path, host='conductor1',
                      report_interval=60)
        if len(self.compute_hosts) == 1:
            # The fake hypervisor's guests as files; with several hosts
            # in one process they stay in each driver's memory instead
            # (one directory would mix the hosts' guests up).
            config.config(
                state_path=os.path.join(self.state_path, 'hypervisor'),
                group='fake_driver')
        # noauth2 tokens for the in-process API (the default is keystone).
        config.config(auth_strategy='noauth2', group='api')
        for key, value in self.overrides.items():
            group, _, name = key.rpartition('__')
            config.config(**{name: value}, group=group or None)
        self.db_fixture = self.useFixture(database.Database(self.backend))
        self.useFixture(rpc_fixture.RPCFixture(url=rpc.IN_PROCESS_URL))

        from nova import service
        from nova.compute import flavors
        from nova.db import api as db
        self.db = db
        self.ctx = nova_context.get_admin_context()
        flavors.ensure_standard_flavors(self.ctx)
        self.image = self.create_image()

        started: list[Any] = []
        self.addCleanup(service.stop_all, started)
        for index, host in enumerate(self.compute_hosts):
            services = service.build_services(
                host, with_api=self.with_api and index == 0)
            if index:
                # Only one conductor: the others' would share its topic.
                services = [s for s in services
                            if s.binary != 'nova-conductor']
            for svc in services:
                svc.start()
                started.append(svc)
                # nova-compute recovers in the background (the API
                # server recovers nothing).
                if hasattr(svc, 'wait_for_recovery'):
                    svc.wait_for_recovery()
                self.services.append(svc)

        from nova.compute import api as compute_api
        self.compute_api = compute_api.API()

    def manager(self, host: str) -> Any:
        for service in self.services:
            if service.binary == 'nova-compute' and service.host == host:
                return service.manager
        raise KeyError(host)
