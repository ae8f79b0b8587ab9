"""Availability zones, limits, services, hypervisors, instance actions."""

import datetime
from unittest import mock

from oslo_config import fixture as config_fixture
from oslo_utils import timeutils

import nova.conf
from nova import exception
from nova.tests.unit.api import fakes

CONF = nova.conf.CONF


class TestAvailabilityZones(fakes.APITestCase):

    def test_zones_of_live_compute_hosts(self):
        self.db.services[0]['last_seen_up'] = timeutils.utcnow()
        code, data, _ = self.call('GET', '/os-availability-zone')
        self.assertEqual(200, code)
        self.assertEqual([{'zoneName': 'nova',
                           'zoneState': {'available': True},
                           'hosts': None}], data['availabilityZoneInfo'])

    def test_down_host_makes_zone_unavailable(self):
        _code, data, _ = self.call('GET', '/os-availability-zone')
        self.assertFalse(data['availabilityZoneInfo'][0]['zoneState'][
            'available'])

    def test_detail_is_admin_only_and_lists_hosts(self):
        self.assertFault(403, 'forbidden',
                         self.call('GET', '/os-availability-zone/detail'))
        _code, data, _ = self.admin('GET', '/os-availability-zone/detail')
        zones = {z['zoneName']: z for z in data['availabilityZoneInfo']}
        self.assertIn('nova-compute', zones['nova']['hosts']['host1'])
        self.assertIn('nova-conductor', zones['internal']['hosts']['ctl'])


class TestLimits(fakes.APITestCase):

    def test_usage_and_quota_maxima(self):
        self.compute.add_instance()
        self.db.quota_set(None, 'p1', {'cores': 7})
        code, data, _ = self.call('GET', '/limits')
        self.assertEqual(200, code)
        absolute = data['limits']['absolute']
        self.assertEqual(1, absolute['totalInstancesUsed'])
        self.assertEqual(512, absolute['totalRAMUsed'])
        self.assertEqual(10, absolute['maxTotalInstances'])
        self.assertEqual(7, absolute['maxTotalCores'])
        self.assertEqual(51200, absolute['maxTotalRAMSize'])
        self.assertEqual(128, absolute['maxServerMeta'])
        self.assertEqual(100, absolute['maxTotalKeypairs'])
        self.assertEqual(5, absolute['maxPersonality'])

    def test_noop_driver_makes_every_maximum_unlimited(self):
        self.useFixture(config_fixture.Config(CONF)).config(
            driver='nova.quota.NoopQuotaDriver', group='quota')
        _code, data, _ = self.call('GET', '/limits')
        absolute = data['limits']['absolute']
        self.assertEqual(-1, absolute['maxTotalInstances'])
        self.assertEqual(-1, absolute['maxServerMeta'])

    def test_fields_removed_by_microversions(self):
        _code, data, _ = self.call('GET', '/limits', version='2.57')
        absolute = data['limits']['absolute']
        for gone in ('maxPersonality', 'maxImageMeta', 'maxSecurityGroups',
                     'totalFloatingIpsUsed'):
            self.assertNotIn(gone, absolute)


class TestServices(fakes.APITestCase):

    def test_list_is_admin_only(self):
        self.assertFault(403, 'forbidden', self.call('GET', '/os-services'))
        _code, data, _ = self.admin('GET', '/os-services')
        compute = data['services'][0]
        self.assertEqual(1, compute['id'])
        self.assertEqual('nova', compute['zone'])
        self.assertEqual('down', compute['state'])
        self.assertEqual('internal', data['services'][1]['zone'])

    def test_uuid_ids_from_253(self):
        _code, data, _ = self.admin('GET', '/os-services', version='2.53')
        self.assertEqual(self.db.services[0]['uuid'], data['services'][0][
            'id'])

    def test_recent_heartbeat_is_up(self):
        self.db.services[0]['last_seen_up'] = timeutils.utcnow()
        _code, data, _ = self.admin('GET', '/os-services?binary=nova-compute')
        self.assertEqual(['up'], [s['state'] for s in data['services']])
        self.db.services[0]['last_seen_up'] = (
            timeutils.utcnow() - datetime.timedelta(hours=1))
        _code, data, _ = self.admin('GET', '/os-services?binary=nova-compute')
        self.assertEqual(['down'], [s['state'] for s in data['services']])

    def test_disable_by_uuid_from_253(self):
        uuid = self.db.services[0]['uuid']
        code, data, _ = self.admin('PUT', f'/os-services/{uuid}', {
            'status': 'disabled', 'disabled_reason': 'maint'},
            version='2.53')
        self.assertEqual(200, code, data)
        self.assertEqual('disabled', data['service']['status'])
        self.assertTrue(self.db.services[0]['disabled'])

    def test_legacy_disable(self):
        code, data, _ = self.admin('PUT', '/os-services/disable', {
            'host': 'host1', 'binary': 'nova-compute'})
        self.assertEqual(200, code, data)
        self.assertEqual({'host': 'host1', 'binary': 'nova-compute',
                          'status': 'disabled'}, data['service'])

    def test_force_down_from_211(self):
        body = {'host': 'host1', 'binary': 'nova-compute',
                'forced_down': True}
        self.assertFault(404, 'itemNotFound', self.admin(
            'PUT', '/os-services/force-down', body, version='2.10'))
        code, _data, _ = self.admin('PUT', '/os-services/force-down', body,
                                    version='2.11')
        self.assertEqual(200, code)
        self.assertTrue(self.db.services[0]['forced_down'])

    def test_delete(self):
        code, _data, _ = self.admin('DELETE', '/os-services/2')
        self.assertEqual(204, code)
        self.assertEqual(1, len(self.db.services))


class TestHypervisors(fakes.APITestCase):

    def test_admin_only(self):
        self.assertFault(403, 'forbidden', self.call('GET', '/os-hypervisors'))

    def test_list_and_detail(self):
        _code, data, _ = self.admin('GET', '/os-hypervisors')
        self.assertEqual([{'id': 1, 'hypervisor_hostname': 'node1',
                           'state': 'down', 'status': 'enabled'}],
                         data['hypervisors'])
        _code, data, _ = self.admin('GET', '/os-hypervisors/detail',
                                    version='2.28')
        detail = data['hypervisors'][0]
        self.assertEqual(8, detail['vcpus'])
        self.assertEqual({}, detail['cpu_info'])
        self.assertEqual('host1', detail['service']['host'])

    def test_cpu_info_is_a_string_before_228(self):
        _code, data, _ = self.admin('GET', '/os-hypervisors/1')
        self.assertEqual('{}', data['hypervisor']['cpu_info'])

    def test_resources_gone_from_288(self):
        uuid = self.db.nodes[0]['uuid']
        _code, data, _ = self.admin('GET', f'/os-hypervisors/{uuid}',
                                    version='2.88')
        self.assertNotIn('vcpus', data['hypervisor'])
        self.assertIn('uptime', data['hypervisor'])
        self.assertFault(404, 'itemNotFound', self.admin(
            'GET', '/os-hypervisors/statistics', version='2.88'))

    def test_statistics(self):
        _code, data, _ = self.admin('GET', '/os-hypervisors/statistics')
        self.assertEqual(1, data['hypervisor_statistics']['count'])
        self.assertEqual(15872,
                         data['hypervisor_statistics']['free_ram_mb'])

    def test_missing_is_404(self):
        self.assertFault(404, 'itemNotFound',
                         self.admin('GET', '/os-hypervisors/7'))


class TestInstanceActions(fakes.APITestCase):

    def setUp(self):
        super().setUp()
        self.server = self.compute.add_instance()
        self.uuid = self.server['uuid']
        self.db.add_action(self.uuid, 'create', 'req-1', [
            {'event': 'compute.build_instance.claim_resources',
             'start_time': fakes.NOW, 'finish_time': fakes.NOW,
             'result': 'success', 'traceback': None, 'host': 'host1',
             'details': None},
            {'event': 'compute.build_instance.spawn.driver_spawn',
             'start_time': fakes.NOW, 'finish_time': fakes.NOW,
             'result': 'error', 'traceback': 'Traceback: boom',
             'host': 'host1', 'details': 'VirtDriverError: boom'}])
        self.base = f'/servers/{self.uuid}/os-instance-actions'

    def test_list(self):
        code, data, _ = self.call('GET', self.base, version='2.84')
        self.assertEqual(200, code)
        action = data['instanceActions'][0]
        self.assertEqual('create', action['action'])
        self.assertEqual('req-1', action['request_id'])
        self.assertIn('updated_at', action)

    def test_updated_at_from_258(self):
        _code, data, _ = self.call('GET', self.base, version='2.57')
        self.assertNotIn('updated_at', data['instanceActions'][0])

    def test_detail_one_event_per_stage_at_284(self):
        _code, data, _ = self.call('GET', self.base + '/req-1',
                                   version='2.84')
        events = data['instanceAction']['events']
        self.assertEqual(['Success', 'Error'], [e['result'] for e in events])
        self.assertEqual('VirtDriverError: boom', events[1]['details'])
        self.assertIn('hostId', events[1])
        self.assertNotIn('traceback', events[1])
        self.assertNotIn('host', events[1])

    def test_traceback_and_host_admin_only(self):
        _code, data, _ = self.admin('GET', self.base + '/req-1',
                                    version='2.84')
        event = data['instanceAction']['events'][1]
        self.assertEqual('Traceback: boom', event['traceback'])
        self.assertEqual('host1', event['host'])

    def test_events_hidden_from_users_before_251(self):
        _code, data, _ = self.call('GET', self.base + '/req-1',
                                   version='2.50')
        self.assertNotIn('events', data['instanceAction'])

    def test_no_events_is_an_empty_list(self):
        self.db.add_action(self.uuid, 'reboot', 'req-2', [])
        _code, data, _ = self.call('GET', self.base + '/req-2',
                                   version='2.84')
        self.assertEqual([], data['instanceAction']['events'])

    def test_unknown_request_is_404(self):
        self.assertFault(404, 'itemNotFound',
                         self.call('GET', self.base + '/req-9'))

    def test_other_project_is_404(self):
        foreign = self.compute.add_instance(project_id='p2')
        self.assertFault(404, 'itemNotFound', self.call(
            'GET', f"/servers/{foreign['uuid']}/os-instance-actions"))

    def test_deleted_server_from_221(self):
        # The compute API no longer finds it; the database still has it.
        error = exception.InstanceNotFound(instance_id=self.uuid)
        with mock.patch.object(self.compute, 'get', side_effect=error):
            self.assertFault(404, 'itemNotFound',
                             self.call('GET', self.base, version='2.20'))
            code, data, _ = self.call('GET', self.base, version='2.21')
        self.assertEqual(200, code)
        self.assertEqual(1, len(data['instanceActions']))
