"""The local flat network, on SQLite, MariaDB and PostgreSQL."""

from __future__ import annotations

import ipaddress

import testscenarios

import nova.conf
from nova import context, exception
from nova.db import api as db
from nova.network import api as network_api
from nova.network import local
from nova.tests.unit.db import base

load_tests = testscenarios.load_tests_apply_scenarios
CONF = nova.conf.CONF


class FlatNetworkTestCase(base.DBTestCase):

    def setUp(self) -> None:
        super().setUp()
        # 10.1.0.0/29: hosts .1-.6, .1 the gateway: 5 addresses to give.
        self.flags(flat_network_cidr='10.1.0.0/29',
                   flat_network_name='flat')
        self.network = network_api.API()

    def flags(self, **values: object) -> None:
        for name, value in values.items():
            CONF.set_override(name, value, group='network')
            self.addCleanup(CONF.clear_override, name, group='network')

    def _addresses(self, vifs):
        return [vif['network']['subnets'][0]['ips'][0]['address']
                for vif in vifs]

    def test_api_loads_the_configured_backend(self):
        self.assertIsInstance(self.network, local.FlatNetworkAPI)

    def test_allocate_returns_network_info(self):
        vifs = self.network.allocate_for_instance(self.ctx, 'i1')
        self.assertEqual(1, len(vifs))
        vif = vifs[0]
        self.assertEqual(vif['id'], vif['port_id'])
        self.assertTrue(vif['address'].startswith('fa:16:3e:'))
        self.assertEqual('flat', vif['network']['label'])
        subnet = vif['network']['subnets'][0]
        self.assertEqual('10.1.0.0/29', subnet['cidr'])
        self.assertEqual('10.1.0.1', subnet['gateway']['address'])
        self.assertEqual(['10.1.0.2'], self._addresses(vifs))
        self.assertEqual(vifs, self.network.get_instance_nw_info(self.ctx,
                                                                 'i1'))

    def test_common_case_allocation_is_one_insert(self):
        self.network.allocate_for_instance(self.ctx, 'i1')
        counter = self.count_statements()
        self.network.allocate_for_instance(self.ctx, 'i2')
        self.assertEqual(1, counter.count, counter.statements)
        self.assertTrue(counter.statements[0].lstrip().upper().startswith(
            'INSERT'))

    def test_requests(self):
        self.assertEqual([], self.network.allocate_for_instance(
            self.ctx, 'i1', 'none'))
        vifs = self.network.allocate_for_instance(
            self.ctx, 'i1', [{'network_id': 'flat', 'fixed_ip': '10.1.0.5'},
                             {'uuid': self.network.network_id}])
        self.assertEqual(['10.1.0.5', '10.1.0.2'], self._addresses(vifs))
        self.assertRaises(exception.FixedIpAlreadyInUse,
                          self.network.allocate_for_instance, self.ctx, 'i2',
                          [{'fixed_ip': '10.1.0.5'}])
        self.assertRaises(exception.NetworkNotFound,
                          self.network.allocate_for_instance, self.ctx, 'i2',
                          [{'network_id': 'elsewhere'}])
        for address in ('10.1.0.1', '10.1.0.7', '10.2.0.2', 'bogus'):
            self.assertRaises(exception.FixedIpInvalid,
                              self.network.allocate_for_instance, self.ctx,
                              'i2', [{'fixed_ip': address}])

    def test_all_or_nothing(self):
        self.network.allocate_for_instance(self.ctx, 'i1',
                                           [{'fixed_ip': '10.1.0.4'}])
        self.assertRaises(exception.FixedIpAlreadyInUse,
                          self.network.allocate_for_instance, self.ctx, 'i2',
                          [{}, {'fixed_ip': '10.1.0.4'}])
        self.assertEqual([], self.network.get_instance_nw_info(self.ctx,
                                                               'i2'))

    def test_exhaustion_then_reuse_after_release(self):
        for index in range(5):
            self.network.allocate_for_instance(self.ctx, f'i{index}')
        self.assertRaises(exception.NoMoreFixedIps,
                          self.network.allocate_for_instance, self.ctx, 'x')
        # Freed by "another process": found again when the range is
        # exhausted and the used addresses are read again.
        db.fixed_ips_disassociate_by_instance(self.ctx, 'i3')
        vifs = self.network.allocate_for_instance(self.ctx, 'x')
        self.assertEqual(['10.1.0.5'], self._addresses(vifs))

    def test_deallocate_is_idempotent(self):
        self.network.allocate_for_instance(self.ctx, 'i1')
        self.network.deallocate_for_instance(self.ctx, 'i1')
        self.network.deallocate_for_instance(self.ctx, 'i1')
        self.assertEqual([], self.network.get_instance_nw_info(self.ctx,
                                                               'i1'))

    def test_single_port_attach_and_detach(self):
        vif = self.network.allocate_port_for_instance(
            self.ctx, 'i1', network_id='flat', requested_ip='10.1.0.6')
        self.assertEqual(['10.1.0.6'], self._addresses([vif]))
        self.assertRaises(exception.PortNotFound,
                          self.network.deallocate_port_for_instance,
                          self.ctx, 'other', vif['id'])
        self.assertTrue(self.network.deallocate_port_for_instance(
            self.ctx, 'i1', vif['id']))
        self.assertFalse(self.network.deallocate_port_for_instance(
            self.ctx, 'i1', vif['id']))

    def test_validate_networks(self):
        self.assertEqual(3, self.network.validate_networks(
            self.ctx, [{'network_id': 'flat'}], 3))
        self.assertEqual(1, self.network.validate_networks(
            self.ctx, [{'fixed_ip': '10.1.0.3'}], 3))
        self.assertRaises(exception.NetworkNotFound,
                          self.network.validate_networks, self.ctx,
                          [{'network_id': 'nope'}], 1)

    def test_concurrent_allocations_from_two_services_are_unique(self):
        self.flags(flat_network_cidr='10.2.0.0/27')  # 29 addresses
        # Two services (as on two hosts), each with its own view of what
        # is taken, racing from several threads each.
        services = [network_api.API(), network_api.API()]

        def allocate(index):
            service = services[index % 2]
            return service.allocate_for_instance(
                context.get_admin_context(), f'inst-{index}')

        results, errors = base.run_concurrently(36, allocate)
        self.assertEqual(29, len(results))
        self.assertEqual(7, len(errors))
        for error in errors:
            self.assertIsInstance(error, exception.NoMoreFixedIps)
        addresses = [a for vifs in results for a in self._addresses(vifs)]
        self.assertEqual(len(addresses), len(set(addresses)))
        network = ipaddress.ip_network('10.2.0.0/27')
        for address in addresses:
            self.assertIn(ipaddress.ip_address(address), network)
        self.assertNotIn('10.2.0.1', addresses)
        self.assertEqual(set(addresses), db.fixed_ip_get_addresses(
            self.ctx, 'flat'))
