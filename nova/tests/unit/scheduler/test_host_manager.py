"""The scheduler on a real database: picks counted until their hosts
claim them (nova.scheduler.host_manager's "Picks not yet claimed")."""

from __future__ import annotations

import collections
import unittest.mock
import uuid
from typing import Any

import testscenarios
from oslo_config import fixture as config_fixture

import nova.conf
from nova.db import api as db
from nova.scheduler import host_manager
from nova.tests.unit.db import base

load_tests = testscenarios.load_tests_apply_scenarios

FLAVOR = {'memory_mb': 512, 'vcpus': 1, 'root_gb': 1, 'ephemeral_gb': 0,
          'swap': 0}
HOSTS = ('h1', 'h2', 'h3', 'h4')


class PicksTestCase(base.DBTestCase):

    def setUp(self) -> None:
        super().setUp()
        self.conf = self.useFixture(config_fixture.Config(nova.conf.CONF))
        self.conf.config(host_subset_size=1, group='filter_scheduler')
        self.nodes = {}
        for name in HOSTS:
            db.service_create(self.admin, {
                'host': name, 'binary': 'nova-compute',
                'topic': 'compute', 'report_count': 0})
            self.nodes[name] = db.compute_node_create(self.admin, {
                'host': name, 'hypervisor_hostname': name, 'vcpus': 8,
                'memory_mb': 8192, 'local_gb': 100,
                'cpu_allocation_ratio': 1.0, 'ram_allocation_ratio': 1.0,
                'disk_allocation_ratio': 1.0})['id']
        self.scheduler = host_manager.Scheduler(db)

    def _pick(self, consumer: str | None = None,
              count: int = 1) -> list[str]:
        consumers = [consumer or str(uuid.uuid4()) for _ in range(count)]
        spec: dict[str, Any] = {
            'flavor': dict(FLAVOR), 'instance_uuids': consumers,
            'scheduler_hints': {}, 'group_from_hint': True}
        return [h.host for h in self.scheduler.select_destinations(
            self.admin, spec, count)]

    def _claim(self, consumer: str, host: str) -> None:
        db.allocation_claim(self.admin, self.nodes[host], consumer,
                            FLAVOR['vcpus'], FLAVOR['memory_mb'], 1)

    def test_unclaimed_picks_spread_decisions_over_the_hosts(self) -> None:
        # Eight decisions, none claimed yet: with host_subset_size 1 and
        # nothing counted, all eight would take the first best host.
        picks = collections.Counter(self._pick()[0] for _ in range(8))
        self.assertEqual(dict.fromkeys(HOSTS, 2), dict(picks))

    def test_a_claimed_pick_is_counted_once(self) -> None:
        consumer = str(uuid.uuid4())
        [host] = self._pick(consumer)
        self._claim(consumer, host)
        # The node's row counts the claim; the pick is forgotten, so the
        # host is not counted twice: the next three decisions take the
        # three other hosts, then the four are equal again.
        others = {self._pick()[0] for _ in range(3)}
        self.assertEqual(set(HOSTS) - {host}, others)
        self.assertNotIn(consumer, self.scheduler._picks)

    def test_claimed_picks_are_read_in_one_statement(self) -> None:
        for _ in range(3):
            self._pick()
        counter = self.count_statements()
        self._pick()
        # Aggregates and nodes, then the three picks' allocations.
        self.assertEqual(3, counter.count)

    def test_no_picks_no_read(self) -> None:
        counter = self.count_statements()
        self._pick()
        # Aggregates and nodes only.
        self.assertEqual(2, counter.count)

    def test_a_consumer_picked_again_keeps_only_its_new_pick(self) -> None:
        consumer = str(uuid.uuid4())
        first = self._pick(consumer)[0]
        second = self._pick(consumer)[0]
        self.assertNotEqual(first, second)
        # Only the second pick is counted: the first host is free again.
        self.assertEqual([first], self._pick())

    def test_a_pick_claimed_on_another_node_is_still_counted(self) -> None:
        # A move's instance holds its source's allocation until its
        # destination claims: that is not the pick's claim.
        consumer = str(uuid.uuid4())
        [host] = self._pick(consumer)
        source = next(name for name in HOSTS if name != host)
        self._claim(consumer, source)
        picks = {self._pick()[0] for _ in range(2)}
        self.assertNotIn(host, picks)
        self.assertIn(consumer, self.scheduler._picks)

    def test_old_picks_are_forgotten(self) -> None:
        self.conf.config(service_down_time=60)
        with unittest.mock.patch('time.monotonic', return_value=1000.0):
            first = self._pick()[0]
        with unittest.mock.patch('time.monotonic', return_value=1061.0):
            # 61 s later the unclaimed pick no longer counts.
            self.assertEqual([first], self._pick())

    def test_a_multi_create_counts_its_picks_within_the_decision(
            self) -> None:
        self.assertEqual(sorted(HOSTS), sorted(self._pick(count=4)))
        # And after it, until claimed.
        self.assertEqual(sorted(HOSTS), sorted(self._pick(count=4)))

    def test_a_pick_made_during_a_decisions_reads_counts_for_it(
            self) -> None:
        # Another request's decision completes while this one waits for
        # the database (under eventlet, at any statement): its pick must
        # count for this decision too, which read the nodes before it.
        first = self._pick()  # so that the next decision reads picks
        real = db.allocation_nodes_by_consumer
        inner: list[list[str]] = []

        def meanwhile(ctx: Any, consumers: Any) -> dict[str, int]:
            if not inner:
                inner.append([])
                inner[0] = self._pick()
            return real(ctx, consumers)

        with unittest.mock.patch.object(
                db, 'allocation_nodes_by_consumer', side_effect=meanwhile):
            outer = self._pick()
        # Three decisions, three hosts (with nothing counted the outer
        # decision would take the inner one's host: the two read the
        # same usage and both counted only the first pick).
        self.assertEqual(3, len({*first, *inner[0], *outer}))
