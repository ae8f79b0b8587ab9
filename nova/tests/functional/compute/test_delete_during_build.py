"""A delete that lands while the server builds leaves nothing behind.

The API reads the server, then deletes it; the build goes on in other
threads meanwhile (scheduler, conductor, compute host).  Whatever phase
the build is in - waiting for the scheduler, claiming on its host, or
spawning the guest - and whether the API read the server before or
after the host took it, the end is the same: no guest on the fake
hypervisor, no claim on the node, no port or fixed IP, the instance
deleted and its delete action finished with every event closed.

The gates hold real calls (the scheduler's and the resource tracker's)
at a point of the build without replacing them: everything else runs
as it does in nova-all.
"""

from __future__ import annotations

import threading
from typing import Any

import fixtures
import testscenarios

from nova import test
from nova.compute import resource_tracker
from nova.flow import testing
from nova.network import api as network_api
from nova.scheduler import host_manager
from nova.tests.functional import fixtures as func_fixtures

load_tests = testscenarios.load_tests_apply_scenarios


class _Gate(fixtures.Fixture):
    """Holds every call of ``owner.name`` until ``open()``; the real
    method runs after."""

    def __init__(self, owner: Any, name: str) -> None:
        super().__init__()
        self.owner, self.name = owner, name
        self.reached = threading.Event()
        self._open = threading.Event()

    def _setUp(self) -> None:
        real = getattr(self.owner, self.name)
        gate = self

        def held(*args: Any, **kwargs: Any) -> Any:
            gate.reached.set()
            if not gate._open.wait(testing.WAIT_SECONDS):
                raise TimeoutError(f'{gate.name} held too long')
            return real(*args, **kwargs)

        self.useFixture(fixtures.MonkeyPatch(
            f'{self.owner.__module__}.{self.owner.__qualname__}.{self.name}',
            held))
        self.addCleanup(self._open.set)

    def wait_reached(self) -> None:
        if not self.reached.wait(testing.WAIT_SECONDS):
            raise TimeoutError(f'no call of {self.name}')

    def open(self) -> None:
        self._open.set()


class TestDeleteDuringBuild(test.TestCase):

    #: Set by the scenarios.
    phase: str
    stale: bool
    count: int

    #: ``count``: servers in the create request; the first is deleted,
    #: the others must build (a multi-create's claims are made by the
    #: conductor for every server before any host builds one).
    scenarios = [
        ('scheduling', {'phase': 'scheduling', 'stale': False, 'count': 1}),
        ('scheduling-multi-create', {'phase': 'scheduling', 'stale': False,
                                     'count': 2}),
        ('claim', {'phase': 'claim', 'stale': False, 'count': 1}),
        ('claim-stale-read', {'phase': 'claim', 'stale': True, 'count': 1}),
        ('spawn', {'phase': 'spawn', 'stale': False, 'count': 1}),
        ('spawn-stale-read', {'phase': 'spawn', 'stale': True, 'count': 1}),
    ]

    def setUp(self) -> None:
        super().setUp()
        self.cloud = self.useFixture(func_fixtures.LocalCloud())
        self.driver = self.cloud.manager('compute1').driver

    def _hold(self) -> Any:
        """Hold the build in its phase; returns (wait, release)."""
        if self.phase == 'spawn':
            self.driver.block('spawn', when='after')
            self.addCleanup(self.driver.unblock, 'spawn')
            return (lambda: self.driver.wait_blocked(
                'spawn', testing.WAIT_SECONDS),
                lambda: self.driver.unblock('spawn'))
        owner, name = {
            'scheduling': (host_manager.Scheduler, 'select_destinations'),
            'claim': (resource_tracker.ResourceTracker, 'instance_claim'),
        }[self.phase]
        gate = self.useFixture(_Gate(owner, name))
        return gate.wait_reached, gate.open

    def _boot(self) -> list[str]:
        instances, _ = self.cloud.compute_api.create(
            self.cloud.user_context(),
            self.cloud.db.flavor_get_by_flavor_id(self.cloud.ctx, '1'),
            self.cloud.image['id'], name='racing', min_count=self.count,
            max_count=self.count)
        return [i['uuid'] for i in instances]

    def test_nothing_is_left(self) -> None:
        wait, release = self._hold()
        uuid, *others = self._boot()
        # What a GET made before the host took the server shows.
        seen = self.cloud.instance(uuid)
        wait()
        if not self.stale:
            seen = self.cloud.instance(uuid)
        self.cloud.compute_api.delete(self.cloud.user_context(), seen)
        release()

        self.cloud.wait_for_deleted(uuid)
        delete = self.cloud.wait_for_action(uuid, 'delete')
        events = self.cloud.db.action_events_get(self.cloud.ctx,
                                                 delete['id'])
        self.assertTrue(events)
        self.assertEqual([], [e['event'] for e in events
                              if not e['finish_time'] or not e['result']])
        for other in others:
            self.cloud.wait_for_state(other, 'active')
        # The build's runs end too (the host's reverts done).
        testing.wait_for(lambda: all(
            r['status'] != 'running' for r in
            self.cloud.db.flow_runs_get_by_instance(self.cloud.ctx, uuid)),
            testing.WAIT_SECONDS, f'the runs of {uuid} to end')
        self.assertEqual(sorted(others), sorted(
            self.driver.list_instance_uuids()))
        self.assertIsNone(self.cloud.db.allocation_get_by_instance(
            self.cloud.ctx, uuid))
        flavor = self.cloud.db.flavor_get_by_flavor_id(self.cloud.ctx, '1')
        (node,) = self.cloud.db.compute_node_get_all(self.cloud.ctx)
        self.assertEqual(
            (flavor['vcpus'] * len(others), flavor['memory_mb'] * len(others)),
            (node['vcpus_used'], node['memory_mb_used']))
        self.assertEqual([], network_api.API().get_instance_nw_info(
            self.cloud.ctx, uuid))
