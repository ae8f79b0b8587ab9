"""os-server-groups and the ``group`` scheduler hint, on a cloud of two
compute hosts (each a real nova-compute service with its own compute
node, so scheduling is per host)."""

from __future__ import annotations

from typing import Any

import nova.conf
from nova.api.openstack.compute import wsgi_app
from nova.policies import enforcer
from nova.tests.functional import fixtures as func_fixtures
from nova.tests.functional.api import base

CONF = nova.conf.CONF


class ServerGroupsTestCase(base.APITestCase):

    hosts: tuple[str, ...] = ('compute1', 'compute2')
    overrides: dict[str, Any] = {}

    def setUp(self) -> None:
        # APITestCase's set-up, with several compute hosts.
        super(base.APITestCase, self).setUp()
        CONF([], project='nova', default_config_files=[])
        self.addCleanup(CONF.reset)
        self.cloud = self.useFixture(func_fixtures.LocalCloud(
            compute_hosts=self.hosts, **self.overrides))
        enforcer.reset()
        self.addCleanup(enforcer.reset)
        self.app = wsgi_app.load_app(CONF)

    def group(self, policy: str = 'anti-affinity', token: str = base.USER,
              **rules: int) -> dict[str, Any]:
        body: dict[str, Any] = {'name': 'g', 'policy': policy}
        if rules:
            body['rules'] = rules
        status, result = self.call('POST', '/os-server-groups',
                                   {'server_group': body}, token=token,
                                   version='2.64')
        self.assertEqual(200, status, result)
        return result['server_group']

    def server(self, group_id: str | None, name: str = 's') -> str:
        body: dict[str, Any] = {'server': {
            'name': name, 'flavorRef': '1',
            'imageRef': self.cloud.image['id'], 'networks': 'none'}}
        if group_id:
            body['os:scheduler_hints'] = {'group': group_id}
        status, result = self.call('POST', '/servers', body)
        self.assertEqual(202, status, result)
        return result['server']['id']

    def active_host(self, uuid: str) -> str:
        return self.cloud.wait_for_state(uuid, 'active')['host']


class TestServerGroupsAPI(ServerGroupsTestCase):

    def test_create_show_list_delete_2_64(self) -> None:
        group = self.group('anti-affinity', max_server_per_host=2)
        self.assertEqual({'policy': 'anti-affinity', 'members': [],
                          'rules': {'max_server_per_host': 2},
                          'project_id': 'demo', 'user_id': 'demo'},
                         {k: group[k] for k in ('policy', 'members',
                                                'rules', 'project_id',
                                                'user_id')})
        status, shown = self.call('GET', f'/os-server-groups/{group["id"]}',
                                  version='2.64')
        self.assertEqual((200, group), (status, shown['server_group']))
        status, listed = self.call('GET', '/os-server-groups')
        self.assertEqual([group['id']],
                         [g['id'] for g in listed['server_groups']])
        status, _ = self.call('DELETE', f'/os-server-groups/{group["id"]}')
        self.assertEqual(204, status)
        status, body = self.call('GET', f'/os-server-groups/{group["id"]}')
        self.assertEqual(404, status)
        self.assertIn('itemNotFound', body)

    def test_policies_list_before_2_64(self) -> None:
        status, result = self.call(
            'POST', '/os-server-groups',
            {'server_group': {'name': 'g', 'policies': ['affinity']}},
            version='2.1')
        self.assertEqual(200, status, result)
        group = result['server_group']
        self.assertEqual(['affinity'], group['policies'])
        self.assertEqual({}, group['metadata'])
        self.assertNotIn('project_id', group)

    def test_soft_policies_from_2_15(self) -> None:
        body = {'server_group': {'name': 'g',
                                 'policies': ['soft-anti-affinity']}}
        status, _ = self.call('POST', '/os-server-groups', body,
                              version='2.14')
        self.assertEqual(400, status)
        status, _ = self.call('POST', '/os-server-groups', body,
                              version='2.15')
        self.assertEqual(200, status)

    def test_rules_only_for_anti_affinity(self) -> None:
        status, body = self.call('POST', '/os-server-groups', {
            'server_group': {'name': 'g', 'policy': 'affinity',
                             'rules': {'max_server_per_host': 2}}},
            version='2.64')
        self.assertEqual(400, status)
        self.assertEqual('Only anti-affinity policy supports '
                         '"max_server_per_host" rule.',
                         body['badRequest']['message'])

    def test_all_projects_is_for_admins(self) -> None:
        mine = self.group()
        theirs = self.group(token='other:other')
        status, listed = self.call('GET', '/os-server-groups?all_projects=1')
        self.assertEqual([mine['id']],
                         [g['id'] for g in listed['server_groups']])
        status, listed = self.call('GET', '/os-server-groups?all_projects=1',
                                   token=base.ADMIN)
        self.assertEqual({mine['id'], theirs['id']},
                         {g['id'] for g in listed['server_groups']})
        status, _ = self.call('GET', f'/os-server-groups/{theirs["id"]}')
        self.assertEqual(403, status)

    def test_unknown_group_hint_is_400(self) -> None:
        status, body = self.call('POST', '/servers', {
            'server': {'name': 's', 'flavorRef': '1',
                       'imageRef': self.cloud.image['id'],
                       'networks': 'none'},
            'os:scheduler_hints': {
                'group': '00000000-0000-4000-8000-000000000000'}})
        self.assertEqual(400, status)
        self.assertIn('could not be found', body['badRequest']['message'])

    def test_members_listed_and_gone_with_their_server(self) -> None:
        group = self.group()
        uuid = self.server(group['id'])
        self.active_host(uuid)
        status, shown = self.call('GET', f'/os-server-groups/{group["id"]}')
        self.assertEqual([uuid], shown['server_group']['members'])
        status, server = self.call('GET', f'/servers/{uuid}',
                                   version='2.71')
        self.assertEqual([group['id']], server['server']['server_groups'])
        status, server = self.call('GET', f'/servers/{uuid}',
                                   version='2.70')
        self.assertNotIn('server_groups', server['server'])
        self.call('DELETE', f'/servers/{uuid}')
        self.cloud.wait_for_deleted(uuid)
        status, shown = self.call('GET', f'/os-server-groups/{group["id"]}')
        self.assertEqual([], shown['server_group']['members'])


class TestGroupPolicies(ServerGroupsTestCase):

    def test_anti_affinity_two_hosts_then_no_valid_host(self) -> None:
        group = self.group('anti-affinity')
        first = self.server(group['id'], 'a')
        second = self.server(group['id'], 'b')
        hosts = {self.active_host(first), self.active_host(second)}
        self.assertEqual({'compute1', 'compute2'}, hosts)
        third = self.server(group['id'], 'c')
        self.cloud.wait_for_state(third, 'error')
        status, shown = self.call('GET', f'/servers/{third}')
        self.assertIn('No valid host was found. There are not enough hosts '
                      'available.', shown['server']['fault']['message'])

    def test_max_server_per_host(self) -> None:
        group = self.group('anti-affinity', max_server_per_host=2)
        # Requested at once: the builds race for the hosts, and the late
        # check on each host moves the ones over the limit.
        servers = [self.server(group['id'], f's{i}') for i in range(4)]
        hosts = [self.active_host(uuid) for uuid in servers]
        self.assertEqual(2, hosts.count('compute1'))
        self.assertEqual(2, hosts.count('compute2'))

    def test_affinity_keeps_one_host(self) -> None:
        group = self.group('affinity')
        hosts = {self.active_host(self.server(group['id'], f's{i}'))
                 for i in range(3)}
        self.assertEqual(1, len(hosts))

    def test_soft_anti_affinity_spreads(self) -> None:
        group = self.group('soft-anti-affinity')
        # Without the group the second would go to the host with the most
        # free RAM: compute2 (a larger flavor on compute1 first).
        hosts = [self.active_host(self.server(group['id'], f's{i}'))
                 for i in range(2)]
        self.assertEqual({'compute1', 'compute2'}, set(hosts))

    def test_soft_affinity_stacks(self) -> None:
        group = self.group('soft-affinity')
        hosts = {self.active_host(self.server(group['id'], f's{i}'))
                 for i in range(3)}
        self.assertEqual(1, len(hosts))


class TestLateGroupCheck(ServerGroupsTestCase):
    """The scheduler without the group filters and stacking (negative RAM
    weight): the compute host's late check is what keeps the group apart,
    by rescheduling."""

    overrides = {
        'filter_scheduler__enabled_filters': [
            'ComputeFilter', 'RamFilter', 'RetryFilter'],
        'filter_scheduler__ram_weight_multiplier': -1.0,
    }

    def test_violation_is_rescheduled_to_another_host(self) -> None:
        group = self.group('anti-affinity')
        first = self.server(group['id'], 'a')
        first_host = self.active_host(first)
        second = self.server(group['id'], 'b')
        self.assertNotEqual(first_host, self.active_host(second))
        events = [
            e for action in self.cloud.db.actions_get(self.cloud.ctx, second)
            for e in self.cloud.db.action_events_get(self.cloud.ctx,
                                                     action['id'])]
        failed = [e['event'] for e in events if e['result'] == 'Error']
        self.assertIn(
            'compute.build_instance.validate_instance_group_policy', failed)


class TestGroupMoves(ServerGroupsTestCase):

    hosts = ('compute1', 'compute2', 'compute3')
    # Stacking: without the group's policy a move would go to the host
    # of the other member, the fullest.
    overrides = {'allow_resize_to_same_host': False,
                 'filter_scheduler__ram_weight_multiplier': -1.0}

    def test_cold_migration_keeps_anti_affinity(self) -> None:
        group = self.group('anti-affinity')
        a, b = self.server(group['id'], 'a'), self.server(group['id'], 'b')
        hosts = {a: self.active_host(a), b: self.active_host(b)}
        free = ({'compute1', 'compute2', 'compute3'} - set(hosts.values()))
        status, body = self.call('POST', f'/servers/{a}/action',
                                 {'migrate': None}, token=base.ADMIN)
        self.assertEqual(202, status, body)
        moved = self.cloud.wait_for_state(a, 'resized')
        self.assertEqual(free, {moved['host']})


    def moved_away(self, uuid: str, host: str) -> dict[str, Any]:
        """The instance once ACTIVE, with no task, on another host."""
        def away() -> dict[str, Any] | None:
            found: Any = self.cloud.instance(uuid)
            if (found['host'] != host and found['vm_state'] == 'active'
                    and found['task_state'] is None):
                return dict(found)
            return None
        moved: dict[str, Any] = func_fixtures.wait_for(
            away, what=f'{uuid} to move away from {host}')
        return moved

    def test_live_migration_keeps_anti_affinity(self) -> None:
        group = self.group('anti-affinity')
        a, b = self.server(group['id'], 'a'), self.server(group['id'], 'b')
        hosts = {a: self.active_host(a), b: self.active_host(b)}
        free = ({'compute1', 'compute2', 'compute3'} - set(hosts.values()))
        status, body = self.call(
            'POST', f'/servers/{a}/action',
            {'os-migrateLive': {'host': None, 'block_migration': 'auto'}},
            token=base.ADMIN, version='2.30')
        self.assertEqual(202, status, body)
        moved = self.moved_away(a, hosts[a])
        self.assertEqual(free, {moved['host']})

    def test_evacuation_keeps_anti_affinity(self) -> None:
        group = self.group('anti-affinity')
        a, b = self.server(group['id'], 'a'), self.server(group['id'], 'b')
        hosts = {a: self.active_host(a), b: self.active_host(b)}
        free = ({'compute1', 'compute2', 'compute3'} - set(hosts.values()))
        # a's host dies; the operator forces its service down.
        source = hosts[a]
        self.cloud.manager(source).driver.set_host_down(True)
        next(s for s in self.cloud.services if s.binary == 'nova-compute'
             and s.host == source).stop()
        row = self.cloud.db.service_get_by_host_and_binary(
            self.cloud.ctx, source, 'nova-compute')
        self.cloud.db.service_update(self.cloud.ctx, row['id'],
                                     {'forced_down': True})
        status, body = self.call('POST', f'/servers/{a}/action',
                                 {'evacuate': {}}, token=base.ADMIN,
                                 version='2.29')
        self.assertEqual(200, status, body)
        moved = self.moved_away(a, source)
        self.assertEqual(free, {moved['host']})
