"""The server group and aggregate filters and the weighers."""

from __future__ import annotations

import unittest.mock
from typing import Any

from oslo_config import fixture as config_fixture

import nova.conf
from nova import test
from nova.scheduler import filters, host_manager


def host(name: str, free_ram: int = 1024, **kw: Any) -> filters.HostState:
    return filters.HostState(
        host=name, node=name, availability_zone='nova', alive=True,
        disabled=False, vcpus=8, vcpus_used=0, memory_mb=free_ram,
        memory_mb_used=0, local_gb=100, local_gb_used=0,
        cpu_allocation_ratio=1.0, ram_allocation_ratio=1.0,
        disk_allocation_ratio=1.0, **kw)


FLAVOR = {'memory_mb': 64, 'vcpus': 1, 'root_gb': 1, 'ephemeral_gb': 0,
          'swap': 0}


def spec(policy: str | None = None, hosts: tuple[str, ...] = (),
         **rules: int) -> dict[str, Any]:
    result: dict[str, Any] = {'flavor': dict(FLAVOR)}
    if policy:
        result['instance_group'] = {'uuid': 'g', 'policy': policy,
                                    'rules': rules, 'hosts': list(hosts)}
    return result


class TestGroupFilters(test.TestCase):

    def test_anti_affinity_default_limit_is_one(self) -> None:
        check = filters.server_group_anti_affinity_filter
        self.assertFalse(check(host('a'), spec('anti-affinity', ('a',))))
        self.assertTrue(check(host('b'), spec('anti-affinity', ('a',))))

    def test_anti_affinity_max_server_per_host(self) -> None:
        check = filters.server_group_anti_affinity_filter
        two = spec('anti-affinity', ('a',), max_server_per_host=2)
        self.assertTrue(check(host('a'), two))
        two['instance_group']['hosts'].append('a')
        self.assertFalse(check(host('a'), two))

    def test_affinity(self) -> None:
        check = filters.server_group_affinity_filter
        self.assertTrue(check(host('b'), spec('affinity')))
        self.assertFalse(check(host('b'), spec('affinity', ('a',))))
        self.assertTrue(check(host('a'), spec('affinity', ('a',))))

    def test_other_policies_pass(self) -> None:
        for check in (filters.server_group_affinity_filter,
                      filters.server_group_anti_affinity_filter):
            self.assertTrue(check(host('a'), spec('soft-affinity', ('b',))))
            self.assertTrue(check(host('a'), spec()))

    def test_multiple_picks_spread_in_one_request(self) -> None:
        chosen = filters.select_hosts(
            [host('a', 4096), host('b', 1024)], spec('anti-affinity'),
            filters.load_filters(['ServerGroupAntiAffinityFilter']), 1.0, 2)
        self.assertEqual(['a', 'b'], [h.host for h in chosen])


class TestWeighers(test.TestCase):

    def _pick(self, group: dict[str, Any], multiplier: float = 1.0) -> str:
        weighers = [(filters.soft_affinity_weigher, multiplier),
                    (filters.soft_anti_affinity_weigher, multiplier)]
        # 'b' has a little more free RAM; the group decides.
        return filters.select_hosts(
            [host('a', 1000), host('b', 1010)], group, [], 0.5, 1,
            weighers=weighers)[0].host

    def test_soft_affinity_prefers_the_groups_host(self) -> None:
        self.assertEqual('a', self._pick(spec('soft-affinity', ('a',))))

    def test_soft_anti_affinity_avoids_it(self) -> None:
        self.assertEqual('a', self._pick(spec('soft-anti-affinity',
                                              ('b',))))

    def test_zero_multiplier_leaves_ram_to_decide(self) -> None:
        self.assertEqual('b', self._pick(spec('soft-affinity', ('a',)),
                                         multiplier=0.0))


class TestAggregateExtraSpecs(test.TestCase):

    def test_scoped_and_unscoped_keys(self) -> None:
        check = filters.aggregate_instance_extra_specs_filter
        fast = host('a', aggregate_metadata={'ssd': {'true'},
                                             'gpu': {'a100,h100'}})
        slow = host('b')
        for specs in ({'aggregate_instance_extra_specs:ssd': 'true'},
                      {'ssd': 'true'},
                      {'aggregate_instance_extra_specs:gpu': 'h100'}):
            wanted = dict(spec(), flavor=dict(FLAVOR, extra_specs=specs))
            self.assertTrue(check(fast, wanted), specs)
            self.assertFalse(check(slow, wanted), specs)

    def test_other_scopes_ignored(self) -> None:
        wanted = dict(spec(), flavor=dict(
            FLAVOR, extra_specs={'hw:cpu_policy': 'dedicated'}))
        self.assertTrue(filters.aggregate_instance_extra_specs_filter(
            host('b'), wanted))


class TestHostSubsetSize(test.TestCase):
    """``[filter_scheduler] host_subset_size``: a pick among the N best."""

    @staticmethod
    def _hosts() -> list[filters.HostState]:
        # Fresh each time: a pick consumes the flavor on its host.
        return [host('a', 4096), host('b', 3072), host('c', 2048),
                host('d', 1024)]

    def _picks(self, subset_size: int, decisions: int = 200) -> set[str]:
        return {filters.select_hosts(self._hosts(), spec(), [], 1.0, 1,
                                     subset_size=subset_size)[0].host
                for _ in range(decisions)}

    def test_one_always_takes_the_best(self) -> None:
        self.assertEqual({'a'}, self._picks(1))

    def test_picks_only_among_the_best(self) -> None:
        # 200 draws among two hosts: both come up (a miss has odds 2^-199).
        self.assertEqual({'a', 'b'}, self._picks(2))

    def test_larger_than_the_candidates_takes_any(self) -> None:
        self.assertEqual({'a', 'b', 'c', 'd'}, self._picks(10))

    def test_ranked_is_best_first(self) -> None:
        order = filters.ranked(list(reversed(self._hosts())), spec(),
                               [(filters.ram_weigher, 1.0)], 3)
        self.assertEqual(['a', 'b', 'c'], [h.host for h in order])

    def test_scheduler_reads_the_option(self) -> None:
        conf = self.useFixture(config_fixture.Config(nova.conf.CONF))
        conf.config(host_subset_size=3, group='filter_scheduler')
        scheduler = host_manager.Scheduler(unittest.mock.MagicMock())
        with unittest.mock.patch.object(
                filters, 'select_hosts', return_value=[]) as select, \
                unittest.mock.patch.object(scheduler, 'host_states',
                                           return_value=[]), \
                unittest.mock.patch.object(scheduler, 'instance_group',
                                           return_value=None):
            scheduler.select_destinations(None, spec(), 1)
        self.assertEqual(3, select.call_args.kwargs['subset_size'])


class TestInstanceGroup(test.TestCase):
    """Which server group a request is scheduled for."""

    def setUp(self) -> None:
        super().setUp()
        self.db = unittest.mock.Mock()
        self.db.instance_group_get_by_instance.return_value = {
            'uuid': 'g', 'policy': 'anti-affinity', 'rules': {},
            'members': [{'instance_uuid': 'other', 'host': 'a'},
                        {'instance_uuid': 'i1', 'host': 'b'}]}
        self.scheduler = host_manager.Scheduler(self.db)

    def test_a_move_reads_the_membership_of_its_instance(self) -> None:
        group = self.scheduler.instance_group(
            None, {'instance_uuids': ['i1']})
        self.assertEqual({'uuid': 'g', 'policy': 'anti-affinity',
                          'rules': {}, 'hosts': ['a']}, group)
        self.db.instance_group_get_by_instance.assert_called_once_with(
            None, 'i1')

    def test_a_build_without_the_hint_reads_nothing(self) -> None:
        self.assertIsNone(self.scheduler.instance_group(
            None, {'instance_uuids': ['i1'], 'group_from_hint': True}))
        self.db.instance_group_get_by_instance.assert_not_called()
        self.db.instance_group_get.assert_not_called()

    def test_a_build_with_the_hint_reads_the_group(self) -> None:
        self.db.instance_group_get.return_value = (
            self.db.instance_group_get_by_instance.return_value)
        group = self.scheduler.instance_group(
            None, {'instance_uuids': ['i1'], 'group_from_hint': True,
                   'scheduler_hints': {'group': 'g'}})
        assert group is not None
        self.assertEqual(['a'], group['hosts'])
        self.db.instance_group_get.assert_called_once_with(None, 'g')
