"""What the per-flow test modules share: the vendor kit, set up once per
test, and a server to act on."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any
from unittest import mock

import oslo_messaging as messaging

from nova import test
from nova.compute import vm_states
from nova.flow import hooks, testing

#: The flow a shelve casts to remove the guest from its host.
SHELVE_OFFLOAD = 'compute.shelve_offload_instance'


class FlowKitTestCase(test.TestCase):
    """``self.cloud``: nova.flow.testing.FlowTestCloud, no vendor hook."""

    #: FlowTestCloud keyword arguments.
    cloud_options: dict[str, Any] = {}

    def setUp(self) -> None:
        super().setUp()
        self.cloud = self.useFixture(testing.FlowTestCloud(
            **self.cloud_options))

    def active_server(self) -> dict[str, Any]:
        uuid = self.cloud.boot()['uuid']
        return self.cloud.wait_for_state(uuid, vm_states.ACTIVE)

    def power_state(self, uuid: str) -> int:
        instance = self.cloud.instance(uuid)
        assert instance is not None
        return int(instance['power_state'])

    def shelved_server(self, offload: bool = True) -> dict[str, Any]:
        """A server shelved and offloaded (SHELVED_OFFLOADED, no host);
        without ``offload``, SHELVED with its guest kept on its host: the
        offload its shelve casts failed once at its first stage (so the
        instance has that fault)."""
        server = self.active_server()
        uuid = server['uuid']
        if not offload:
            self.cloud.fail_at(f'{SHELVE_OFFLOAD}.notify_usage_start',
                               times=1)
        self.cloud.compute_api.shelve(self.cloud.ctx, server)
        self.cloud.wait_for_run(uuid, SHELVE_OFFLOAD)
        return self.cloud.wait_for_state(
            uuid, vm_states.SHELVED_OFFLOADED if offload
            else vm_states.SHELVED)

    def assert_reverted(self, uuid: str, flow: str, stages: Sequence[str],
                        reverting: Sequence[str], failed_at: str) -> None:
        """After a failure at stage ``failed_at`` of ``flow`` (whose
        stages are ``stages``): the stages of ``reverting`` (those with a
        revert) up to that one were reverted, newest first, and no
        other."""
        position = stages.index(failed_at)
        self.assertEqual([f'{flow}.{s}' for s in reversed(reverting)
                          if stages.index(s) <= position],
                         self.cloud.reverted_stages(uuid, flow))

    def node_usage(self, host: str = 'compute1') -> tuple[int, int, int]:
        (node,) = self.cloud.db.compute_node_get_all_by_host(
            self.cloud.ctx, host)
        return (node['memory_mb_used'], node['vcpus_used'],
                node['local_gb_used'])


class PhasesKitTestCase(FlowKitTestCase):
    """For the flows of a boot in phases (configure, power on,
    unconfigure), driven here as nova-conductor's multi-create drives
    them: a server no host took yet, then the compute host's RPC
    methods called with the build's arguments."""

    def unplaced_server(self) -> tuple[Any, dict[str, Any]]:
        """(the request's context, a server created as ``POST /servers``
        would, waiting for a host: nova-conductor does not place it)."""
        ctx = self.cloud.user_context()
        with mock.patch('nova.conductor.rpcapi.ConductorAPI.'
                        'build_instances'):
            server = self.cloud.boot(ctx)
        return ctx, server

    def build_kwargs(self, server: dict[str, Any]) -> dict[str, Any]:
        """The arguments nova-conductor sends with each phase."""
        return {'image_meta': self.cloud.image,
                'request_spec': {'flavor': server['flavor'],
                                 'image': self.cloud.image,
                                 'num_instances': 1},
                'filter_properties': {}}

    def node(self, host: str) -> str:
        (node,) = self.cloud.db.compute_node_get_all_by_host(
            self.cloud.ctx, host)
        return str(node['hypervisor_hostname'])

    def configure(self, ctx: Any, server: dict[str, Any],
                  host: str = 'compute1') -> None:
        """compute.configure_instance on ``host`` (raises its error)."""
        self._call(self.cloud.manager(host).configure_instance, ctx,
                   server, host)

    def power_on(self, ctx: Any, server: dict[str, Any],
                 host: str = 'compute1') -> None:
        """compute.power_on_instance on ``host`` (raises its error)."""
        self._call(self.cloud.manager(host).power_on_instance, ctx, server,
                   host)

    def _call(self, method: Any, ctx: Any, server: dict[str, Any],
              host: str) -> None:
        """``method`` as its RPC call would: the error the caller gets."""
        try:
            method(ctx, server, self.node(host), **self.build_kwargs(server))
        except messaging.ExpectedException as wrapped:
            raise wrapped.exc_info[1] from None

    def configured_server(self, host: str = 'compute1',
                          ) -> tuple[Any, dict[str, Any]]:
        """(context, a server configured on ``host``: BUILDING,
        spawning, its guest defined, not started)."""
        ctx, server = self.unplaced_server()
        self.configure(ctx, server, host)
        configured = self.cloud.instance(server['uuid'])
        assert configured is not None
        return ctx, configured

    def assert_nothing_held(self, uuid: str, host: str = 'compute1',
                            ports: bool = True) -> None:
        """No guest or claim of ``uuid`` left on ``host``; with
        ``ports``, no port of it anywhere."""
        self.assertFalse(self.cloud.manager(host).driver.instance_exists(
            {'uuid': uuid}))
        self.assertEqual((0, 0, 0), self.node_usage(host))
        if ports:
                self.assertEqual([], self.cloud.manager(host).services.network
                             .get_instance_nw_info(self.cloud.ctx, uuid))


#: The flavors a move goes between: m1.tiny to m1.small, and their share
#: of a node (memory MB, vCPUs, disk GB).
FROM_FLAVOR, TO_FLAVOR = '1', '2'
FROM_USAGE, TO_USAGE = (512, 1, 1), (2048, 1, 20)
NO_USAGE = (0, 0, 0)


@dataclasses.dataclass(frozen=True)
class Move:
    """A server and the two hosts of its move."""

    #: The instance as the move started from it.
    server: dict[str, Any]
    #: The host it leaves.
    source: str
    #: The host it goes to.
    dest: str

    @property
    def uuid(self) -> str:
        return str(self.server['uuid'])


class MoveKitTestCase(FlowKitTestCase):
    """Two compute hosts, for the flows of a move."""

    cloud_options: dict[str, Any] = {'compute_hosts': ('compute1',
                                                       'compute2')}
    #: ``(flow, contract version, stages, read)``: a :func:`watch` hook
    #: enabled in the cloud; what it saw is ``self.seen``.
    watching: tuple[str, str, Sequence[str],
                    Callable[[Any], Any]] | None = None

    def setUp(self) -> None:
        if self.watching is not None:
            self.watch, self.seen = watch(*self.watching)
            self.cloud_options = dict(self.cloud_options,
                                      hook_objects=[self.watch])
        super().setUp()

    def moving_server(self) -> Move:
        """An ACTIVE server about to move: from its host to the other
        one (where the scheduler sends it)."""
        server = self.active_server()
        return Move(server, server['host'],
                    self.cloud.other_host(server['host']))

    def resized_move(self) -> Move:
        """:meth:`resized_server` as a move: the RESIZED instance, from
        its source to the host it now runs on."""
        source, resized = self.resized_server()
        return Move(resized, source, resized['host'])

    def failed_move(self, start: Callable[[dict[str, Any]], Any],
                    stage_id: str) -> tuple[Move, Any]:
        """An instance mid-move whose stage ``stage_id`` failed: a
        :meth:`moving_server` moved by ``start`` (``self.resize``,
        ``self.live_migrate``, ``self.evacuate``) with a failure
        injected there; (the move, what ``start`` returned: the
        conductor's run once it ended)."""
        move = self.moving_server()
        self.cloud.fail_at(stage_id)
        return move, start(move.server)

    def assert_back_on_source(self, move: Move, migration: str = 'error',
                              fault: str | None = 'InjectedFailure',
                              ) -> dict[str, Any]:
        """The move was undone: the instance ACTIVE on its source, its
        guest there only, the source holding its share and the
        destination nothing, the migration ``migration``, and (unless
        None) ``fault`` in the newest fault; the instance."""
        back = self.cloud.wait_for_state(move.uuid, vm_states.ACTIVE)
        self.assertEqual(move.source, back['host'])
        self.assertEqual(([move.uuid], []),
                         (self.cloud.guests(move.source),
                          self.cloud.guests(move.dest)))
        self.assertEqual((FROM_USAGE, NO_USAGE),
                         (self.node_usage(move.source),
                          self.node_usage(move.dest)))
        self.assertEqual(migration,
                         self.newest_migration(move.uuid)['status'])
        if fault is not None:
            self.assertIn(fault, self.cloud.faults(move.uuid)[0]['message'])
        return back

    def assert_failed_to_error(self, move: Move, flow: str,
                               conductor: str) -> dict[str, Any]:
        """A failure nothing reverts: neither ``flow`` nor the
        ``conductor`` flow reverted a stage, the instance is ERROR, the
        migration 'error', with the injected failure as its fault; the
        instance."""
        self.assertEqual([], self.cloud.reverted_stages(move.uuid, flow))
        self.assertEqual([],
                         self.cloud.reverted_stages(move.uuid, conductor))
        failed = self.cloud.wait_for_state(move.uuid, vm_states.ERROR)
        self.assertEqual('error',
                         self.newest_migration(move.uuid)['status'])
        self.assertIn('InjectedFailure',
                      self.cloud.faults(move.uuid)[0]['message'])
        return failed

    def resize(self, server: dict[str, Any],
               flavor: str = TO_FLAVOR) -> dict[str, Any]:
        """Resize ``server``; the conductor's run once it ended."""
        self.cloud.compute_api.resize(self.cloud.ctx, server, flavor)
        return self.cloud.wait_for_run(server['uuid'],
                                       'conductor.resize_instance')

    def resized_server(self) -> tuple[str, dict[str, Any]]:
        """A server resized to TO_FLAVOR, waiting for a confirm or revert:
        (its source host, the instance)."""
        server = self.active_server()
        run = self.resize(server)
        assert run['status'] == 'success', run
        return server['host'], self.cloud.wait_for_state(
            server['uuid'], vm_states.RESIZED)

    def live_migrate(self, server: dict[str, Any]) -> dict[str, Any]:
        """Live-migrate ``server`` (the scheduler picks the other host);
        the conductor's run once it ended."""
        self.cloud.compute_api.live_migrate(self.cloud.ctx, server, None,
                                            'auto')
        return self.cloud.wait_for_run(server['uuid'],
                                       'conductor.live_migrate_instance')

    def guest(self, host: str, uuid: str) -> dict[str, Any] | None:
        """What ``host``'s fake hypervisor holds for the guest."""
        record: dict[str, Any] | None = self.cloud.manager(
            host).driver.instance_record(uuid)
        return record

    def port_hosts(self, uuid: str) -> list[str | None]:
        """The hosts the instance's ports are bound to
        (``binding:host_id``), in allocation order."""
        return [row['host'] for row in
                self.cloud.db.fixed_ip_get_by_instance(self.cloud.ctx, uuid)]

    def newest_migration(self, uuid: str) -> dict[str, Any]:
        return self.cloud.migrations(uuid)[0]

    def wait_for_migration(self, uuid: str, status: str) -> dict[str, Any]:
        """The instance's newest migration once it is in ``status``."""
        def reached() -> dict[str, Any] | None:
            migrations = self.cloud.migrations(uuid)
            if migrations and migrations[0]['status'] == status:
                return migrations[0]
            return None
        found: dict[str, Any] = testing.wait_for(
            reached, what=f'the migration of {uuid} to be {status}')
        return found

    def evacuate(self, server: dict[str, Any], **kwargs: Any,
                 ) -> dict[str, Any]:
        """Take ``server``'s host down and evacuate it (the scheduler
        picks the other host); the conductor's run once it ended."""
        self.cloud.host_down(server['host'])
        instance = self.cloud.instance(server['uuid'])
        assert instance is not None
        self.cloud.compute_api.evacuate(self.cloud.ctx, instance, None,
                                        **kwargs)
        return self.cloud.wait_for_run(server['uuid'],
                                       'conductor.evacuate_instance')

    def held_live_migration(self, method: str = 'live_migration',
                            status: str = 'running',
                            ) -> tuple[dict[str, Any], Any]:
        """A server whose live migration is under way, held in the fake
        driver's ``method`` (on the source for 'live_migration', on the
        destination for 'pre_live_migration') until the driver is
        unblocked: (the server, that driver)."""
        server = self.active_server()
        host = server['host']
        if method == 'pre_live_migration':
            host = self.cloud.other_host(host)
        driver = self.cloud.manager(host).driver
        driver.block(method, 'before')
        self.addCleanup(driver.unblock, method)
        self.cloud.compute_api.live_migrate(self.cloud.ctx, server, None,
                                            'auto')
        driver.wait_blocked(method, testing.WAIT_SECONDS)
        self.wait_for_migration(server['uuid'], status)
        return server, driver


def migration_status(state: Any) -> Any:
    """For :func:`watch`: the status of the state's migration."""
    return state.migration['status']


def host_and_flavor(state: Any) -> tuple[Any, Any, Any]:
    """For :func:`watch`: the instance's host, flavor ID and task."""
    instance = state.instance
    return (instance['host'], instance['flavor']['flavorid'],
            instance['task_state'])


def watch(flow: str, version: str, stages: Sequence[str],
          read: Callable[[Any], Any]) -> tuple[hooks.Hook, dict[str, Any]]:
    """A hook seeing each of ``stages`` (relative IDs) finish: what
    ``read(state)`` gave right after it, by stage, in the returned dict.

    An ``around``, so it adds no stage of its own: the effect of a stage
    that a later one overwrites (a migration status) is still seen.
    """
    seen: dict[str, Any] = {}
    attrs: dict[str, Any] = {'supports': {flow: version}}
    for index, name in enumerate(stages):
        def see(self: Any, ctx: Any, state: Any, proceed: Any,
                name: str = name) -> Any:
            result = proceed()
            seen[name] = read(state)
            return result
        attrs[f'see_{index}'] = hooks.around(f'{flow}.{name}')(see)
    hook: hooks.Hook = type('Watch', (hooks.Hook,), attrs)()
    return hook, seen
