"""Testing hooks without a cloud: the kit nova ships for vendors.

:class:`FlowTestCloud` is a ``fixtures.Fixture`` that starts nova's real
conductor and compute services in the test process, on what needs no
deployment: the fake virt driver, the local network, volume and image
services, a SQLite database in a temporary directory (migrated) and
oslo.messaging's in-process transport.  The hooks under test are enabled
as a deployment enables them, by entry point name (``hooks=``, the
``[flow] enabled_hooks`` list), or given as objects (``hook_objects=``)
for unit tests of a hook class that is not installed.  Every flow runs as
it does in production, recorded stage by stage in the database, and the
helpers read that record::

    from nova.flow import testing

    class TestMyHook(testtools.TestCase):
        def setUp(self):
            super().setUp()
            self.cloud = self.useFixture(
                testing.FlowTestCloud(hooks=['my_hook']))

        def test_stage_runs_before_spawn(self):
            uuid = self.cloud.boot()['uuid']
            self.cloud.wait_for_state(uuid, 'active')
            self.cloud.assert_stages_ran(uuid, 'compute.build_instance', [
                ..., 'spawn.my_stage', 'spawn.driver_spawn', ...])

        def test_my_revert_runs_when_spawn_fails(self):
            self.cloud.fail_at('compute.build_instance.spawn.driver_spawn')
            uuid = self.cloud.boot()['uuid']
            self.cloud.wait_for_state(uuid, 'error')
            self.assertIn('compute.build_instance.spawn.my_stage',
                          self.cloud.reverted_stages(
                              uuid, 'compute.build_instance'))

With pytest, :func:`pytest_cloud` makes the same fixture::

    cloud = pytest.fixture(testing.pytest_cloud(hooks=['my_hook']))

nova's options are set with ``GROUP__NAME=value`` keywords
(``flow__disabled_stages=[...]``); a hook's own options (group
``hook:NAME``) with :meth:`FlowTestCloud.config` once it is set up.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import fixtures
from oslo_config import fixture as config_fixture

import nova.conf
from nova.flow import hooks as hooks_mod
from nova.flow import spec

CONF = nova.conf.CONF

#: How long the helpers wait for an asynchronous operation.
WAIT_SECONDS = 30.0


#: Migrated SQLite databases this process made, by migrations
#: directory: each test's database is a copy of one.
_sqlite_templates: dict[str, str] = {}
_sqlite_templates_lock = threading.Lock()


def create_migrated_sqlite(path: str) -> None:
    """Create at ``path`` an SQLite database with nova's newest schema.

    The result is that of running the alembic migrations on a new file,
    which is how the first call in a process makes it (about a tenth of
    a second); later calls copy that database (SQLite's backup API,
    about a millisecond) instead of migrating again.  Each copy is a
    file of its own: what one test writes or alters in it, rows or
    tables, never reaches another test's copy nor the original, which
    nothing but this function opens.  The original lives in a temporary
    directory removed when the process exits.
    """
    from nova.db import migration
    with _sqlite_templates_lock:
        template = _sqlite_templates.get(migration.MIGRATIONS_DIR)
        if template is None:
            template = _migrate_new_sqlite()
            _sqlite_templates[migration.MIGRATIONS_DIR] = template
    source = sqlite3.connect(template)
    try:
        target = sqlite3.connect(path)
        try:
            source.backup(target)
        finally:
            target.close()
    finally:
        source.close()


def _migrate_new_sqlite() -> str:
    from nova.db import api as db
    from nova.db import migration
    directory = tempfile.mkdtemp(prefix='nova-schema-')
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    path = os.path.join(directory, 'nova.sqlite')
    # Migrated through an engine made as the tests' own are (oslo.db's,
    # with nova's SQLite settings), then closed before anything copies it.
    manager = db.context_manager.make_new_manager()
    manager.configure(connection='sqlite:///' + path, max_retries=0)
    try:
        migration.db_sync(engine=manager.writer.get_engine())
    finally:
        manager.dispose_pool()
    return path


class InjectedFailure(Exception):
    """What a stage raises after :meth:`FlowTestCloud.fail_at`."""


def wait_for(predicate: Callable[[], Any], timeout: float = WAIT_SECONDS,
             what: str = 'condition') -> Any:
    """Poll ``predicate`` until it returns something true; that value.

    Operations reach the compute service through RPC casts, as in a
    deployment: tests wait for their effect, with a deadline.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f'timed out after {timeout}s waiting for '
                                 f'{what}')
        time.sleep(0.01)


class _Faults:
    """The failures asked for with fail_at, shared with the fault hook."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        #: stage ID -> [exception, times left (None: always), host]
        self.at: dict[str, list[Any]] = {}

    def take(self, stage_id: str, host: str | None) -> BaseException | None:
        with self.lock:
            wanted = self.at.get(stage_id)
            if wanted is None or (wanted[2] and wanted[2] != host):
                return None
            exc, left, _ = wanted
            if left is not None:
                if left <= 0:
                    return None
                wanted[1] = left - 1
            error: BaseException = exc
            return error


def _leaf_ids(entries: Sequence[Any], prefix: str) -> list[str]:
    found: list[str] = []
    for entry in entries:
        if isinstance(entry, spec.SubFlow):
            found += _leaf_ids(entry.entries, f'{prefix}.{entry.name}')
        elif isinstance(entry, spec.Stage):
            found.append(f'{prefix}.{entry.name}')
    return found


def _fault_hook(flows: Sequence[spec.Flow[Any]],
                faults: _Faults) -> hooks_mod.Hook:
    """A hook wrapping every stage of ``flows``: raises where asked to."""
    attrs: dict[str, Any] = {
        'supports': {flow.name: flow.version for flow in flows},
        'priority': 1000,
    }
    for flow in flows:
        tree, problems = flow.resolve()
        if problems:
            continue
        for stage_id in _leaf_ids(tree, flow.name):
            def around(self: Any, ctx: Any, state: Any, proceed: Any,
                       stage_id: str = stage_id) -> Any:
                services = getattr(state, 'compute', None) or getattr(
                    state, 'conductor', None)
                exc = faults.take(stage_id, getattr(services, 'host', None))
                if exc is not None:
                    raise exc
                return proceed()
            name = 'fault_' + stage_id.replace('.', '__')
            attrs[name] = hooks_mod.around(stage_id)(around)
    cls = type('FaultPoints', (hooks_mod.Hook,), attrs)
    hook: hooks_mod.Hook = cls()
    hook.name = 'nova.flow.testing'
    return hook


class FlowTestCloud(fixtures.Fixture):
    """Conductor and compute services in the test process, with hooks.

    :param hooks: entry point names, as in ``[flow] enabled_hooks``.
    :param hook_objects: Hook instances (or classes) enabled after those.
    :param compute_hosts: one compute service per name.
    :param with_api: also build the compute REST API (paste pipeline,
        noauth2) for :meth:`api`, to test hooks on the API flows.
    :param overrides: nova options, ``GROUP__NAME=value`` (no group:
        ``[DEFAULT]``); a hook's: ``**{'hook:NAME__OPTION': value}``, set
        before the services start.

    After setUp: ``ctx`` (an admin context), ``db`` (nova.db.api),
    ``compute_api`` (what the REST API calls), ``image`` (a small public
    image), ``state_path``.
    """

    def __init__(self, hooks: Sequence[str] = (),
                 hook_objects: Sequence[Any] = (),
                 compute_hosts: Sequence[str] = ('compute1',),
                 with_api: bool = False, **overrides: Any) -> None:
        super().__init__()
        self.with_api = with_api
        self.app: Any = None
        self.hook_names = list(hooks)
        self.hook_objects = list(hook_objects)
        self.compute_hosts = tuple(compute_hosts)
        self.overrides = overrides
        self.services: list[Any] = []
        self._faults = _Faults()

    # -- set-up ---------------------------------------------------------

    def _setUp(self) -> None:
        from nova import context as nova_context
        from nova import rpc, service
        from nova.compute import api as compute_api
        from nova.compute import flavors
        from nova.db import api as db
        from nova.flow import engine
        from nova.flow.registry import discover_flows

        self.state_path = self.useFixture(fixtures.TempDir()).path
        self._config = self.useFixture(config_fixture.Config(CONF))
        self._config.config(state_path=self.state_path, host='conductor1',
                            report_interval=60)
        self._config.config(enabled_hooks=self.hook_names, group='flow')
        # The API's in-process tests use noauth2 tokens; the default
        # strategy is keystone (an override may still change it).
        self._config.config(auth_strategy='noauth2', group='api')
        if len(self.compute_hosts) == 1:
            self._config.config(
                state_path=os.path.join(self.state_path, 'hypervisor'),
                group='fake_driver')
        # A hook's options exist once the hooks are loaded (by the first
        # host's services, below): set before those services start.
        hook_overrides = []
        for key, value in self.overrides.items():
            group, _, name = key.rpartition('__')
            if group.startswith('hook:'):
                hook_overrides.append((group, name, value))
                continue
            self._config.config(**{name: value}, group=group or None)

        # The database: a migrated SQLite file of this fixture's own.
        path = os.path.join(self.state_path, 'nova.sqlite')
        create_migrated_sqlite(path)
        url = 'sqlite:///' + path
        self._config.config(connection=url, group='database')
        manager = db.context_manager.make_new_manager()
        manager.configure(connection=url, max_retries=0)
        self.addCleanup(db.context_manager.patch_factory(manager))
        self.addCleanup(manager.dispose_pool)

        # Messaging: oslo.messaging's in-process transport.
        if rpc.initialized():
            rpc.cleanup()
        rpc.register_opts(CONF)
        self._config.config(transport_url=rpc.IN_PROCESS_URL)
        rpc.init(CONF)
        self.addCleanup(rpc.cleanup)

        self.db = db
        self.ctx = nova_context.get_admin_context()
        flavors.ensure_standard_flavors(self.ctx)
        self.image = self._create_image()

        flows, _ = discover_flows()
        fault_hook = _fault_hook(
            [f for f in flows if not f.name.startswith('api.')],
            self._faults)
        started: list[Any] = []
        self.addCleanup(service.stop_all, started)
        with engine.sharing_hooks(CONF, [*self.hook_objects, fault_hook]):
            for index, host in enumerate(self.compute_hosts):
                services = service.build_services(host, with_api=False)
                for group, name, value in hook_overrides:
                    self._config.config(**{name: value}, group=group)
                if index:
                    services = [s for s in services
                                if s.binary != 'nova-conductor']
                for svc in services:
                    svc.start()
                    started.append(svc)
                    svc.wait_for_recovery(WAIT_SECONDS)
                    self.services.append(svc)
            if self.with_api:
                self.app = self._load_api()
        self.compute_api = compute_api.API()

    def _create_image(self) -> dict[str, Any]:
        from nova.image import api as image_api
        from nova.image import local
        api = image_api.API()
        assert isinstance(api, local.LocalImageAPI)  # [glance] unset
        with tempfile.NamedTemporaryFile(dir=self.state_path,
                                         delete=False) as blob:
            blob.write(b'\0' * 4096)
        return api.create_from_file(
            self.ctx, blob.name, name='cirros', disk_format='raw',
            container_format='bare', visibility='public')

    def _load_api(self) -> Any:
        from nova.api.openstack.compute import wsgi_app
        from nova.policies import enforcer
        if 'config_file' not in CONF:
            # The paste file lookup reads [DEFAULT] config_file, which
            # exists once the options were parsed (here: no file).
            CONF([], project='nova', default_config_files=[])
            self.addCleanup(CONF.reset)
        enforcer.reset()
        self.addCleanup(enforcer.reset)
        return wsgi_app.load_app(CONF)

    def api(self, method: str, path: str, body: Any = None,
            token: str = 'demo:demo', version: str = '2.1',
            ) -> tuple[int, Any]:
        """``(status, decoded JSON body)`` of ``method /v2.1<path>`` (with
        ``with_api=True``); ``token`` is noauth2's ``user:project``
        (``admin:admin`` for an admin), ``version`` the microversion."""
        import json

        import webob
        if self.app is None:
            raise RuntimeError('FlowTestCloud(with_api=True) is needed')
        req = webob.Request.blank('/v2.1' + path, method=method)
        req.headers['X-Auth-Token'] = token
        req.headers['OpenStack-API-Version'] = f'compute {version}'
        if body is not None:
            req.body = json.dumps(body).encode()
            req.content_type = 'application/json'
        resp = req.get_response(self.app)
        return resp.status_int, json.loads(resp.body) if resp.body else None

    def config(self, group: str | None = None, **values: Any) -> None:
        """Set options (e.g. a hook's group ``hook:NAME``) for the test."""
        self._config.config(group=group, **values)

    # -- what a test does ------------------------------------------------

    def manager(self, host: str = 'compute1') -> Any:
        """The compute manager of ``host`` (``.flows`` is its engine)."""
        for svc in self.services:
            if svc.binary == 'nova-compute' and svc.host == host:
                return svc.manager
        raise KeyError(host)

    def conductor(self) -> Any:
        """The conductor manager."""
        for svc in self.services:
            if svc.binary == 'nova-conductor':
                return svc.manager
        raise KeyError('nova-conductor')

    def hook(self, name: str) -> Any:
        """The object of the enabled hook ``name`` (one per process)."""
        for loaded in self.manager(self.compute_hosts[0]).flows.hooks:
            if loaded.name == name:
                return loaded.obj
        raise KeyError(name)

    def user_context(self, user: str = 'demo', project: str = 'demo',
                     ) -> Any:
        from nova import context as nova_context
        return nova_context.RequestContext(user_id=user, project_id=project)

    def boot(self, ctx: Any = None, flavor: str = '1', **kwargs: Any,
             ) -> dict[str, Any]:
        """Create a server as ``POST /servers`` would; returns it at once
        (BUILD): wait with :meth:`wait_for_state`."""
        ctx = ctx or self.user_context()
        flavor_row = self.db.flavor_get_by_flavor_id(ctx, flavor)
        instances, _ = self.compute_api.create(
            ctx, flavor_row, self.image['id'],
            name=kwargs.pop('name', 'test'), **kwargs)
        return instances[0]

    def instance(self, uuid: str) -> dict[str, Any] | None:
        from nova import exception
        ctx = self.ctx.elevated()
        ctx.read_deleted = 'yes'
        try:
            return self.db.instance_get_by_uuid(
                ctx, uuid)
        except exception.InstanceNotFound:
            return None

    def wait_for_state(self, uuid: str, vm_state: str,
                       timeout: float = WAIT_SECONDS) -> dict[str, Any]:
        """The instance once in ``vm_state`` with no task."""
        def reached() -> dict[str, Any] | None:
            instance = self.instance(uuid)
            if instance and instance['vm_state'] == vm_state and (
                    instance['task_state'] is None):
                return instance
            return None
        found: dict[str, Any] = wait_for(reached, timeout,
                                         f'{uuid} to be {vm_state}')
        return found

    def fail_at(self, stage_id: str, exc: BaseException | None = None,
                times: int | None = None, host: str | None = None) -> None:
        """Make stage ``stage_id`` raise ``exc`` (default InjectedFailure)
        before its work: always, or ``times`` times; on every host or
        ``host`` only.  Any stage of a compute or conductor flow."""
        with self._faults.lock:
            self._faults.at[stage_id] = [
                exc or InjectedFailure(f'injected failure in {stage_id}'),
                times, host]

    def clear_failures(self) -> None:
        with self._faults.lock:
            self._faults.at.clear()

    # -- moves between hosts ---------------------------------------------

    def compute_service(self, host: str) -> Any:
        """The nova-compute service of ``host`` (``stop()``, ``start()``)."""
        for svc in self.services:
            if svc.binary == 'nova-compute' and svc.host == host:
                return svc
        raise KeyError(host)

    def other_host(self, host: str) -> str:
        """The first compute host that is not ``host``: where a move from
        ``host`` goes when the cloud has two."""
        for name in self.compute_hosts:
            if name != host:
                return name
        raise KeyError(f'no compute host but {host}')

    def guests(self, host: str) -> list[str]:
        """Instance UUIDs whose guest the fake hypervisor of ``host``
        has (its host must be up: see :meth:`has_guest`)."""
        uuids: list[str] = self.manager(host).driver.list_instance_uuids()
        return uuids

    def has_guest(self, host: str, uuid: str) -> bool:
        """Whether ``host``'s fake hypervisor has the guest, also while
        the host is down (an evacuation's source keeps its guests)."""
        driver = self.manager(host).driver
        return driver.instance_record(uuid) is not None

    def migrations(self, uuid: str) -> list[dict[str, Any]]:
        """The instance's migration records, newest first (``server
        migration list`` / ``os-migrations``)."""
        found: list[dict[str, Any]] = (
            self.db.migration_get_all_by_filters(
                self.ctx, {'instance_uuid': uuid}))
        return found

    def host_down(self, host: str) -> None:
        """``host`` dies, as an operator sees it: its hypervisor is down
        (every driver call fails, its guests stay), its nova-compute
        stops and its service is forced down (os-services 2.11), so an
        evacuation away from it is allowed at once."""
        self.manager(host).driver.set_host_down(True)
        self.compute_service(host).stop()
        self._force_down(host, True)

    def host_up(self, host: str) -> None:
        """``host`` comes back: hypervisor, service, then nova-compute,
        whose start recovers its cut runs and cleans up after the
        evacuations away from it (compute.destroy_evacuated_instance)."""
        self.manager(host).driver.set_host_down(False)
        self._force_down(host, False)
        self.compute_service(host).start()
        self.compute_service(host).wait_for_recovery(WAIT_SECONDS)

    def _force_down(self, host: str, down: bool) -> None:
        row = self.db.service_get_by_host_and_binary(self.ctx, host,
                                                     'nova-compute')
        self.db.service_update(self.ctx, row['id'], {'forced_down': down})

    # -- what was recorded -----------------------------------------------

    def runs(self, uuid: str, flow: str | None = None,
             ) -> list[dict[str, Any]]:
        """The instance's recorded runs (of ``flow``), oldest first."""
        runs = self.db.flow_runs_get_by_instance(self.ctx, uuid)
        runs = [r for r in runs if flow is None or r['flow'] == flow]
        return sorted(runs, key=lambda r: (r['started_at'], r['id']))

    def wait_for_run(self, uuid: str, flow: str,
                     timeout: float = WAIT_SECONDS) -> dict[str, Any]:
        """The newest run of ``flow`` on the instance, once it ended."""
        def ended() -> dict[str, Any] | None:
            runs = self.runs(uuid, flow)
            if runs and runs[-1]['status'] != 'running':
                return runs[-1]
            return None
        found: dict[str, Any] = wait_for(
            ended, timeout, f'a run of {flow} on {uuid} to end')
        return found

    def _stage_events(self, run: dict[str, Any]) -> list[dict[str, Any]]:
        events = [e for e in self.db.action_events_get(
            self.ctx, run['action_id']) if e['run_id'] == run['id']]
        return sorted(events, key=lambda e: e['seq'])

    def stages_run(self, uuid: str, flow: str) -> list[str]:
        """Stage IDs of the newest run of ``flow``, in the order they
        started (hooks' stages included)."""
        run = self.wait_for_run(uuid, flow)
        return [e['event'] for e in self._stage_events(run)
                if not e['event'].endswith(':recovery')]

    def assert_stages_ran(self, uuid: str, flow: str,
                          expected: Sequence[str]) -> None:
        """The newest run of ``flow`` ran exactly ``expected``, in order;
        IDs may be given relative to the flow (``'spawn.driver_spawn'``)."""
        want = [s if s.startswith(flow + '.') else f'{flow}.{s}'
                for s in expected]
        got = self.stages_run(uuid, flow)
        if got != want:
            raise AssertionError(
                f'stages of {flow} that ran differ from those expected:\n'
                f'  ran:      {got}\n  expected: {want}')

    def events(self, uuid: str, action: str | None = None,
               ) -> list[tuple[str, str | None]]:
        """(event, result) of the newest action (named ``action``), once
        it finished, in the order they were recorded, as ``server event
        show`` has them (its ``<stage>:revert`` events aside)."""
        def finished() -> dict[str, Any] | None:
            for row in self.db.actions_get(self.ctx, uuid):
                if action is None or row['action'] == action:
                    return row if row['finish_time'] else None
            return None
        found = wait_for(finished, what=f'the {action or "newest"} action '
                                        f'of {uuid} to finish')
        rows = self.db.action_events_get(self.ctx, found['id'])
        rows = sorted(rows, key=lambda e: (e['created_at'], e['id']))
        return [(e['event'], e['result']) for e in rows]

    def reverted_stages(self, uuid: str, flow: str) -> list[str]:
        """Stage IDs the newest run of ``flow`` reverted, in the order
        they were reverted (newest stage first)."""
        run = self.wait_for_run(uuid, flow)
        return [e['event'] for e in reversed(self._stage_events(run))
                if e['revert_result'] == 'reverted']

    def faults(self, uuid: str) -> list[dict[str, Any]]:
        """The instance's faults, newest first (``server show``)."""
        return self.db.instance_fault_get_by_instance_uuids(
            self.ctx, [uuid])[uuid]


def pytest_cloud(**kwargs: Any) -> Callable[[], Iterator[FlowTestCloud]]:
    """A pytest fixture function: ``pytest.fixture(pytest_cloud(...))``
    yields a set-up :class:`FlowTestCloud` and cleans it up after the
    test (nova itself does not depend on pytest)."""
    def fixture() -> Iterator[FlowTestCloud]:
        cloud = FlowTestCloud(**kwargs)
        cloud.setUp()
        try:
            yield cloud
        finally:
            cloud.cleanUp()
    return fixture


__all__ = ['FlowTestCloud', 'InjectedFailure', 'WAIT_SECONDS',
           'pytest_cloud', 'wait_for']
