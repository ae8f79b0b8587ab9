"""os-aggregates and availability zones from aggregate metadata, on a
cloud of two compute hosts."""

from __future__ import annotations

from typing import Any

from nova.tests.functional.api import base
from nova.tests.functional.api.test_server_groups_api import (
    ServerGroupsTestCase,
)


class AggregatesTestCase(ServerGroupsTestCase):

    def admin(self, method: str, path: str, body: Any = None,
              version: str = '2.79') -> tuple[int, Any]:
        return self.call(method, path, body, token=base.ADMIN,
                         version=version)

    def aggregate(self, name: str, zone: str | None = None,
                  *hosts: str) -> dict[str, Any]:
        body: dict[str, Any] = {'name': name}
        if zone:
            body['availability_zone'] = zone
        status, result = self.admin('POST', '/os-aggregates',
                                    {'aggregate': body})
        self.assertEqual(200, status, result)
        for host in hosts:
            status, result = self.admin(
                'POST', f'/os-aggregates/{result["aggregate"]["id"]}/action',
                {'add_host': {'host': host}})
            self.assertEqual(200, status, result)
        return result['aggregate']

    def boot(self, **server: Any) -> str:
        body = {'server': {'name': 's', 'flavorRef': '1',
                           'imageRef': self.cloud.image['id'],
                           'networks': 'none', **server}}
        status, result = self.call('POST', '/servers', body)
        self.assertEqual(202, status, result)
        return result['server']['id']


class TestAggregatesAPI(AggregatesTestCase):

    def test_lifecycle(self) -> None:
        agg = self.aggregate('agg1', 'az1')
        self.assertEqual(('agg1', 'az1'), (agg['name'],
                                           agg['availability_zone']))
        self.assertNotIn('hosts', agg)
        path = f'/os-aggregates/{agg["id"]}'
        status, body = self.admin('POST', path + '/action',
                                  {'add_host': {'host': 'compute1'}})
        self.assertEqual((200, ['compute1']),
                         (status, body['aggregate']['hosts']))
        status, body = self.admin('POST', path + '/action',
                                  {'add_host': {'host': 'compute1'}})
        self.assertEqual(409, status)
        status, body = self.admin('POST', path + '/action',
                                  {'add_host': {'host': 'nosuch'}})
        self.assertEqual(404, status)
        status, body = self.admin('POST', path + '/action', {
            'set_metadata': {'metadata': {'ssd': 'true', 'x': 'y'}}})
        self.assertEqual({'availability_zone': 'az1', 'ssd': 'true',
                          'x': 'y'}, body['aggregate']['metadata'])
        status, body = self.admin('POST', path + '/action', {
            'set_metadata': {'metadata': {'x': None}}})
        self.assertNotIn('x', body['aggregate']['metadata'])
        status, body = self.admin('PUT', path,
                                  {'aggregate': {'name': 'agg-one'}})
        self.assertEqual((200, 'agg-one'), (status,
                                            body['aggregate']['name']))
        status, body = self.admin('GET', path, version='2.41')
        self.assertEqual(agg['id'], body['aggregate']['id'])
        self.assertIn('uuid', body['aggregate'])
        status, body = self.admin('GET', '/os-aggregates')
        self.assertEqual(['agg-one'],
                         [a['name'] for a in body['aggregates']])
        status, body = self.admin('DELETE', path)
        self.assertEqual(400, status)
        self.assertIn('not empty', body['badRequest']['message'])
        status, _ = self.admin('POST', path + '/action',
                               {'remove_host': {'host': 'compute1'}})
        self.assertEqual(200, status)
        status, _ = self.admin('POST', path + '/action',
                               {'remove_host': {'host': 'compute1'}})
        self.assertEqual(404, status)
        status, _ = self.admin('DELETE', path)
        self.assertEqual(200, status)
        status, _ = self.admin('GET', path)
        self.assertEqual(404, status)

    def test_admin_only(self) -> None:
        status, body = self.call('GET', '/os-aggregates')
        self.assertEqual(403, status)
        status, body = self.call('POST', '/os-aggregates',
                                 {'aggregate': {'name': 'a'}})
        self.assertEqual(403, status)

    def test_duplicate_name_is_409(self) -> None:
        self.aggregate('agg1')
        status, _ = self.admin('POST', '/os-aggregates',
                               {'aggregate': {'name': 'agg1'}})
        self.assertEqual(409, status)

    def test_internal_zone_name_refused(self) -> None:
        status, body = self.admin('POST', '/os-aggregates', {
            'aggregate': {'name': 'a', 'availability_zone': 'internal'}})
        self.assertEqual(400, status)

    def test_host_in_one_zone_only(self) -> None:
        self.aggregate('agg1', 'az1', 'compute1')
        other = self.aggregate('agg2', 'az2')
        status, body = self.admin(
            'POST', f'/os-aggregates/{other["id"]}/action',
            {'add_host': {'host': 'compute1'}})
        self.assertEqual(400, status)
        self.assertIn("already in availability zone(s) ['az1']",
                      body['badRequest']['message'])


class TestAvailabilityZones(AggregatesTestCase):

    def test_zones_listed_from_aggregates(self) -> None:
        self.aggregate('agg1', 'az1', 'compute1')
        status, body = self.call('GET', '/os-availability-zone')
        self.assertEqual({'az1', 'nova'},
                         {z['zoneName'] for z in
                          body['availabilityZoneInfo']})
        status, body = self.admin('GET', '/os-availability-zone/detail')
        zones = {z['zoneName']: z['hosts'] for z in
                 body['availabilityZoneInfo']}
        self.assertEqual(['compute1'], list(zones['az1']))
        self.assertIn('compute2', zones['nova'])
        self.assertIn('nova-conductor', zones['internal']['compute1'])
        status, body = self.admin('GET', '/os-services?binary=nova-compute')
        self.assertEqual({'compute1': 'az1', 'compute2': 'nova'},
                         {s['host']: s['zone'] for s in body['services']})

    def test_server_lands_in_requested_zone(self) -> None:
        self.aggregate('agg2', 'az2', 'compute2')
        for _ in range(2):
            uuid = self.boot(availability_zone='az2')
            self.assertEqual('compute2', self.active_host(uuid))
        status, body = self.call('GET', f'/servers/{uuid}')
        self.assertEqual('az2',
                         body['server']['OS-EXT-AZ:availability_zone'])

    def test_unknown_zone_is_400(self) -> None:
        status, body = self.call('POST', '/servers', {'server': {
            'name': 's', 'flavorRef': '1',
            'imageRef': self.cloud.image['id'], 'networks': 'none',
            'availability_zone': 'nosuch'}})
        self.assertEqual(400, status)
        self.assertEqual('The requested availability zone is not '
                         'available', body['badRequest']['message'])

    def test_unshelve_to_a_zone(self) -> None:
        self.aggregate('agg2', 'az2', 'compute2')
        uuid = self.boot(availability_zone='nova')
        self.assertEqual('compute1', self.active_host(uuid))
        status, _ = self.call('POST', f'/servers/{uuid}/action',
                              {'shelve': None})
        self.assertEqual(202, status)
        self.cloud.wait_for_state(uuid, 'shelved_offloaded')
        status, body = self.call('POST', f'/servers/{uuid}/action',
                                 {'unshelve': {'availability_zone': 'nosuch'}},
                                 version='2.77')
        self.assertEqual(400, status)
        self.assertEqual('The requested availability zone is not '
                         'available', body['badRequest']['message'])
        status, body = self.call('POST', f'/servers/{uuid}/action',
                                 {'unshelve': {'availability_zone': 'az2'}},
                                 version='2.77')
        self.assertEqual(202, status, body)
        self.assertEqual('compute2', self.active_host(uuid))


class TestAggregateExtraSpecs(AggregatesTestCase):

    overrides = {'filter_scheduler__enabled_filters': [
        'ComputeFilter', 'RamFilter', 'AggregateInstanceExtraSpecsFilter']}

    def test_flavor_extra_spec_picks_the_aggregate(self) -> None:
        self.aggregate('fast', None, 'compute2')
        status, body = self.admin('POST', '/os-aggregates/1/action', {
            'set_metadata': {'metadata': {'ssd': 'true'}}})
        self.assertEqual(200, status, body)
        status, body = self.admin('POST', '/flavors/1/os-extra_specs', {
            'extra_specs': {'aggregate_instance_extra_specs:ssd': 'true'}})
        self.assertEqual(200, status, body)
        for _ in range(2):
            self.assertEqual('compute2', self.active_host(self.boot()))
