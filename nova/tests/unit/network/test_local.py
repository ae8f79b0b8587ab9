"""The local flat network, on SQLite, MariaDB and PostgreSQL."""

from __future__ import annotations

import ipaddress

import fixtures
import sqlalchemy as sa
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
        #: The service behind the interface (the same object here; the
        #: REST client's test case talks to it over HTTP).
        self.service = self.network

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

    def test_common_case_allocation_is_two_inserts_in_one_commit(self):
        # The port, and its binding to the project's default group.
        self.network.allocate_for_instance(self.ctx, 'i1')
        counter = self.count_statements()
        commits = []

        def committed(connection):
            commits.append(connection)

        engine = self.database.engine
        sa.event.listen(engine, 'commit', committed)
        self.addCleanup(sa.event.remove, engine, 'commit', committed)
        self.network.allocate_for_instance(self.ctx, 'i2')
        self.assertEqual(2, counter.count, counter.statements)
        for statement in counter.statements:
            self.assertTrue(statement.lstrip().upper().startswith(
                'INSERT'), statement)
        self.assertEqual(1, len(commits))

    def test_port_of_a_group_deleted_meanwhile_is_not_left(self):
        web = self.service.create_security_group(self.ctx, 'fake-project',
                                                 'web')
        self.network.allocate_for_instance(self.ctx, 'i1',
                                           security_groups=[web['id']])
        self.network.deallocate_for_instance(self.ctx, 'i1')
        # Deleted between the group's lookup and the port's INSERT.
        real = db.security_group_get

        def get_then_delete(context, group_id):
            group = real(context, group_id)
            db.security_group_destroy(context, group_id)
            return group

        self.useFixture(fixtures.MockPatchObject(
            db, 'security_group_get', side_effect=get_then_delete))
        self.assertRaises(exception.SecurityGroupNotFound,
                          self.network.allocate_for_instance, self.ctx,
                          'i2', security_groups=[web['id']])
        self.assertEqual([], db.fixed_ip_get_by_instance(self.ctx, 'i2'))

    def test_requests(self):
        self.assertEqual([], self.network.allocate_for_instance(
            self.ctx, 'i1', 'none'))
        vifs = self.network.allocate_for_instance(
            self.ctx, 'i1', [{'network_id': 'flat', 'fixed_ip': '10.1.0.5'},
                             {'uuid': self.service.network_id}])
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

    def test_setup_networks_on_host_binds_the_instances_ports(self):
        self.network.allocate_for_instance(
            self.ctx, 'i1', [{'network_id': 'flat'}, {'network_id': 'flat'}])
        self.network.allocate_for_instance(self.ctx, 'i2')

        def hosts(uuid):
            return [row['host']
                    for row in db.fixed_ip_get_by_instance(self.ctx, uuid)]
        other = hosts('i2')
        self.network.setup_networks_on_host(self.ctx, 'i1', 'dest')
        self.assertEqual(['dest', 'dest'], hosts('i1'))
        self.network.setup_networks_on_host(self.ctx, 'i1', 'dest')
        self.assertEqual(['dest', 'dest'], hosts('i1'))
        self.network.setup_networks_on_host(self.ctx, 'i1', 'source')
        self.assertEqual(['source', 'source'], hosts('i1'))
        self.assertEqual(other, hosts('i2'))
        # An instance without ports: nothing to bind.
        self.network.setup_networks_on_host(self.ctx, 'i3', 'dest')

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

    def test_user_port_is_bound_then_given_back(self):
        port = self.service.create_port(self.ctx, self.service.network_id,
                                        name='p1', fixed_ip='10.1.0.3')
        self.assertIsNone(port['instance_uuid'])
        self.assertTrue(port['preserve_on_delete'])
        vifs = self.network.allocate_for_instance(
            self.ctx, 'i1', [{'port': port['port_id']}, {}])
        self.assertEqual(['10.1.0.3', '10.1.0.2'], self._addresses(vifs))
        self.assertEqual(CONF.host, self.service.get_port(
            self.ctx, port['port_id'])['host'])
        self.assertRaises(exception.PortInUse,
                          self.network.allocate_for_instance, self.ctx, 'i2',
                          [{'port_id': port['port_id']}])
        self.assertRaises(exception.PortInUse, self.service.delete_port,
                          self.ctx, port['port_id'])
        self.network.deallocate_for_instance(self.ctx, 'i1')
        # nova's port is gone, the user's is free again.
        self.assertEqual([port['port_id']], [
            row['port_id'] for row in self.service.list_ports(self.ctx)])
        self.assertIsNone(self.service.get_port(
            self.ctx, port['port_id'])['instance_uuid'])
        self.service.delete_port(self.ctx, port['port_id'])
        self.assertRaises(exception.PortNotFound, self.service.get_port,
                          self.ctx, port['port_id'])

    def test_user_port_attach_and_detach_unbinds(self):
        port = self.service.create_port(self.ctx, self.service.network_id)
        vif = self.network.allocate_port_for_instance(
            self.ctx, 'i1', port_id=port['port_id'])
        self.assertEqual(port['port_id'], vif['id'])
        self.assertTrue(self.network.deallocate_port_for_instance(
            self.ctx, 'i1', port['port_id']))
        self.assertFalse(self.network.deallocate_port_for_instance(
            self.ctx, 'i1', port['port_id']))
        row = self.service.get_port(self.ctx, port['port_id'])
        self.assertEqual((None, None), (row['instance_uuid'], row['host']))

    def test_failed_allocation_gives_user_ports_back(self):
        port = self.service.create_port(self.ctx, self.service.network_id)
        self.network.allocate_for_instance(self.ctx, 'i1',
                                           [{'fixed_ip': '10.1.0.4'}])
        self.assertRaises(exception.FixedIpAlreadyInUse,
                          self.network.allocate_for_instance, self.ctx, 'i2',
                          [{'port_id': port['port_id']},
                           {'fixed_ip': '10.1.0.4'}])
        self.assertIsNone(self.service.get_port(
            self.ctx, port['port_id'])['instance_uuid'])

    def test_another_projects_port_cannot_be_taken(self):
        port = self.service.create_port(self.ctx, self.service.network_id,
                                        project_id='other')
        user = context.RequestContext('u', 'mine')
        self.assertRaises(exception.PortNotFound,
                          self.network.allocate_for_instance, user, 'i1',
                          [{'port_id': port['port_id']}])

    def test_network_in_use_is_not_deleted(self):
        self.assertRaises(exception.NetworkNotFound,
                          self.service.delete_network, self.ctx, 'nope')
        self.assertRaises(exception.Invalid, self.service.delete_network,
                          self.ctx, self.service.network_id)
        self.service.create_port(self.ctx, self.service.network_id)
        self.assertRaises(exception.NetworkInUse,
                          self.service.delete_network, self.ctx,
                          self.service.network_id)

    def test_validate_networks(self):
        self.assertEqual(3, self.network.validate_networks(
            self.ctx, [{'network_id': 'flat'}], 3))
        self.assertEqual(1, self.network.validate_networks(
            self.ctx, [{'fixed_ip': '10.1.0.3'}], 3))
        self.assertRaises(exception.NetworkNotFound,
                          self.network.validate_networks, self.ctx,
                          [{'network_id': 'nope'}], 1)

    def test_validate_networks_checks_ports(self):
        """A requested port must exist, be the caller's and be free."""
        user = context.RequestContext('u', 'mine')
        self.assertRaises(exception.PortNotFound,
                          self.network.validate_networks, user,
                          [{'port': '5ee1b0a4-0000-4000-8000-000000000000'}],
                          1)
        other = self.service.create_port(self.ctx, self.service.network_id,
                                         project_id='other')
        self.assertRaises(exception.PortNotFound,
                          self.network.validate_networks, user,
                          [{'port_id': other['port_id']}], 1)
        mine = self.service.create_port(self.ctx, self.service.network_id,
                                        project_id='mine')
        self.assertEqual(1, self.network.validate_networks(
            user, [{'port': mine['port_id']}], 1))
        self.network.allocate_for_instance(user, 'i1',
                                           [{'port_id': mine['port_id']}])
        self.assertRaises(exception.PortInUse,
                          self.network.validate_networks, user,
                          [{'port': mine['port_id']}], 1)
        # Nothing was changed by the checks.
        self.assertEqual('i1', self.service.get_port(
            self.ctx, mine['port_id'])['instance_uuid'])

    # -- users' networks and subnets -----------------------------------------

    def _user_network(self, cidr='10.20.0.0/29', **subnet):
        net = self.service.create_network(self.ctx, 'fake-project', 'n1')
        sub = self.service.create_subnet(self.ctx, net['id'], cidr,
                                         name='s1', **subnet)
        return net, sub

    def test_user_network_ports_get_addresses_of_its_subnet(self):
        net, sub = self._user_network()
        self.assertEqual([{'start': '10.20.0.2', 'end': '10.20.0.6'}],
                         sub['allocation_pools'])
        self.assertEqual('10.20.0.1', sub['gateway_ip'])
        vifs = self.network.allocate_for_instance(
            self.ctx, 'i1', [{'network_id': net['id']}, {}])
        self.assertEqual(['10.20.0.2', '10.1.0.2'], self._addresses(vifs))
        self.assertEqual((net['id'], 'n1'), (vifs[0]['network']['id'],
                                             vifs[0]['network']['label']))
        subnet = vifs[0]['network']['subnets'][0]
        self.assertEqual(('10.20.0.0/29', '10.20.0.1'),
                         (subnet['cidr'], subnet['gateway']['address']))
        self.assertEqual(self.service.network_id, vifs[1]['network']['id'])
        self.assertEqual(vifs, self.network.get_instance_nw_info(self.ctx,
                                                                 'i1'))
        self.assertEqual({'i1': vifs}, self.network.get_nw_info_for_instances(
            self.ctx, ['i1']))
        vif = self.network.allocate_port_for_instance(
            self.ctx, 'i1', network_id=net['id'], requested_ip='10.20.0.6')
        self.assertEqual(['10.20.0.6'], self._addresses([vif]))
        self.assertRaises(exception.FixedIpInvalid,
                          self.network.allocate_for_instance, self.ctx, 'i2',
                          [{'network_id': net['id'],
                            'fixed_ip': '10.1.0.3'}])

    def test_subnets_of_a_network_are_allocated_in_turn(self):
        # Each /30 has one address to give (.1 is its gateway).
        net, first = self._user_network('10.30.0.0/30')
        second = self.service.create_subnet(self.ctx, net['id'],
                                            '10.31.0.0/30')
        request = [{'network_id': net['id']}]
        vifs = [self.network.allocate_for_instance(self.ctx, f'i{n}',
                                                   request)[0]
                for n in range(2)]
        self.assertEqual(['10.30.0.2', '10.31.0.2'], self._addresses(vifs))
        self.assertRaises(exception.NoMoreFixedIps,
                          self.network.allocate_for_instance, self.ctx, 'i3',
                          request)
        ports = self.service.port_locations(
            self.ctx, self.service.list_ports(self.ctx))
        self.assertEqual([(net['id'], first['id']), (net['id'], second['id'])],
                         [ports[v['id']] for v in vifs])
        self.network.deallocate_for_instance(self.ctx, 'i0')
        self.assertEqual(['10.30.0.2'], self._addresses(
            self.network.allocate_for_instance(self.ctx, 'i3', request)))

    def test_network_without_subnet_cannot_take_servers(self):
        net = self.service.create_network(self.ctx, 'fake-project', 'n1')
        self.assertRaises(exception.NetworkRequiresSubnet,
                          self.service.allocate_for_instance, self.ctx,
                          'i1', [{'network_id': net['id']}])

    def test_another_projects_network_is_not_found(self):
        private = self.service.create_network(self.ctx, 'other', 'private')
        shared = self.service.create_network(self.ctx, 'other', 'shared',
                                             shared=True)
        for net, cidr in ((private, '10.40.0.0/29'),
                          (shared, '10.41.0.0/29')):
            self.service.create_subnet(self.ctx, net['id'], cidr)
        self.assertRaises(exception.NetworkNotFound,
                          self.service.allocate_for_instance, self.ctx,
                          'i1', [{'network_id': private['id']}])
        self.assertEqual(['10.41.0.2'], self._addresses(
            self.service.allocate_for_instance(
                self.ctx, 'i1', [{'network_id': shared['id']}])))

    def test_network_and_subnet_in_use_are_not_deleted(self):
        net, sub = self._user_network()
        self.network.allocate_for_instance(self.ctx, 'i1',
                                           [{'network_id': net['id']}])
        self.assertRaises(exception.SubnetInUse, self.service.delete_subnet,
                          self.ctx, sub['id'])
        self.assertRaises(exception.NetworkInUse,
                          self.service.delete_network, self.ctx, net['id'])
        self.network.deallocate_for_instance(self.ctx, 'i1')
        self.service.delete_subnet(self.ctx, sub['id'])
        self.assertRaises(exception.SubnetNotFound, self.service.get_subnet,
                          self.ctx, sub['id'])
        self.service.delete_network(self.ctx, net['id'])
        self.assertRaises(exception.NetworkNotFound,
                          self.service.get_network, self.ctx, net['id'])
        self.assertRaises(exception.NetworkNotFound,
                          self.service.delete_network, self.ctx, net['id'])

    def test_deleting_a_network_deletes_its_subnets(self):
        net, sub = self._user_network()
        self.assertEqual([sub['id']], self.service.get_network(
            self.ctx, net['id'])['subnets'])
        self.service.delete_network(self.ctx, net['id'])
        self.assertEqual([self.service.subnet_id], [
            s['id'] for s in self.service.list_subnets(self.ctx)])

    def test_subnet_checks(self):
        net, _sub = self._user_network()
        for cidr, version, gateway in (
                ('10.20.0.0/33', 4, ''), ('fd00::/64', 4, ''),
                ('10.20.0.0/28', 4, ''),  # overlaps s1
                ('10.50.0.0/24', 4, '10.51.0.1'),
                ('10.50.0.0/24', 4, '10.50.0.255')):
            self.assertRaises(exception.Invalid, self.service.create_subnet,
                              self.ctx, net['id'], cidr, version,
                              gateway_ip=gateway)
        middle = self.service.create_subnet(self.ctx, net['id'],
                                            '10.50.0.0/29',
                                            gateway_ip='10.50.0.3')
        self.assertEqual([{'start': '10.50.0.1', 'end': '10.50.0.2'},
                          {'start': '10.50.0.4', 'end': '10.50.0.6'}],
                         middle['allocation_pools'])
        none = self.service.create_subnet(self.ctx, net['id'],
                                          '10.60.0.0/30', gateway_ip=None)
        self.assertIsNone(none['gateway_ip'])
        self.assertEqual([{'start': '10.60.0.1', 'end': '10.60.0.2'}],
                         none['allocation_pools'])
        v6 = self.service.create_subnet(self.ctx, net['id'], 'fd00::/64', 6)
        self.assertEqual('fd00::1', v6['gateway_ip'])
        self.assertRaises(exception.NetworkNotFound,
                          self.service.create_subnet, self.ctx, 'nope',
                          '10.70.0.0/24')
        self.assertRaises(exception.Invalid, self.service.create_subnet,
                          self.ctx, self.service.network_id, '10.70.0.0/24')

    def test_concurrent_allocations_on_a_user_subnet_are_unique(self):
        net, _sub = self._user_network('10.3.0.0/27')  # 29 addresses
        services = [network_api.API(), network_api.API()]

        def allocate(index):
            return services[index % 2].allocate_for_instance(
                context.get_admin_context(), f'inst-{index}',
                [{'network_id': net['id']}])

        results, errors = base.run_concurrently(36, allocate)
        self.assertEqual((29, 7), (len(results), len(errors)))
        for error in errors:
            self.assertIsInstance(error, exception.NoMoreFixedIps)
        addresses = [a for vifs in results for a in self._addresses(vifs)]
        self.assertEqual(len(addresses), len(set(addresses)))
        self.assertNotIn('10.3.0.1', addresses)
        self.assertEqual(set(addresses), db.fixed_ip_get_addresses(
            self.ctx, net['id']))

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

    def test_services_allocating_in_turn_do_not_collide_in_lockstep(self):
        # Compute hosts that build in turn (the scheduler spreads boots)
        # each start at the range's first address.  Walking on after a
        # collision, each allocation failed one INSERT per address the
        # other services took since (7 per boot here: 560 in all).
        self.flags(flat_network_cidr='10.4.0.0/16')
        services = [network_api.API() for _ in range(8)]
        counter = self.count_statements()
        for index in range(80):
            services[index % 8].allocate_for_instance(
                context.get_admin_context(), f'inst-{index}')
        inserts = [s for s in counter.statements
                   if 'INSERT INTO fixed_ips' in ' '.join(s.split())]
        # One each, a collision for most services' first allocation
        # (all start at the first address), rarely one more.
        self.assertLess(len(inserts), 80 + 2 * 8)
        addresses = db.fixed_ip_get_addresses(self.ctx, 'flat')
        self.assertEqual(80, len(addresses))

    # -- security groups -----------------------------------------------------

    def _port_groups(self, vifs):
        found = self.service.port_security_groups(
            self.ctx, [vif['id'] for vif in vifs])
        return [found[vif['id']] for vif in vifs]

    def test_ports_get_the_projects_default_group(self):
        vifs = self.network.allocate_for_instance(
            self.ctx, 'i1', [{}, {}])
        default = db.security_group_get_default(self.ctx, 'fake-project')
        self.assertEqual('default', default['name'])
        self.assertEqual([[default['id']], [default['id']]],
                         self._port_groups(vifs))
        # Made once: the next server's port has the same group.
        more = self.network.allocate_for_instance(self.ctx, 'i2')
        self.assertEqual([[default['id']]], self._port_groups(more))
        rules = db.security_group_rule_get_all(
            self.ctx, {'security_group_id': default['id']})
        self.assertEqual(
            [('egress', 'IPv4', None), ('egress', 'IPv6', None),
             ('ingress', 'IPv4', default['id']),
             ('ingress', 'IPv6', default['id'])],
            sorted((r['direction'], r['ethertype'], r['remote_group_id'])
                   for r in rules))

    def test_ports_get_the_requested_groups(self):
        web = self.service.create_security_group(self.ctx, 'fake-project',
                                                 'web')
        vifs = self.network.allocate_for_instance(
            self.ctx, 'i1', security_groups=['web', 'default'])
        default = db.security_group_get_default(self.ctx, 'fake-project')
        self.assertEqual([sorted([web['id'], default['id']])],
                         [sorted(g) for g in self._port_groups(vifs)])
        # By ID too.
        vifs = self.network.allocate_for_instance(
            self.ctx, 'i2', security_groups=[web['id']])
        self.assertEqual([[web['id']]], self._port_groups(vifs))

    def test_unknown_group_fails_allocation_and_leaves_no_port(self):
        error = self.assertRaises(
            exception.SecurityGroupNotFound,
            self.network.allocate_for_instance, self.ctx, 'i1',
            security_groups=['nope'])
        self.assertEqual("Unable to find security_group with name or id "
                         "'nope'", error.format_message())
        self.assertEqual([], self.network.get_instance_nw_info(self.ctx,
                                                               'i1'))

    def test_another_projects_group_is_not_found_by_name(self):
        other = context.RequestContext('u2', 'other-project')
        self.service.create_security_group(other, 'other-project', 'web')
        self.assertRaises(exception.SecurityGroupNotFound,
                          self.network.validate_security_groups, self.ctx,
                          ['web'])

    def test_a_name_two_groups_have_is_ambiguous(self):
        for _ in range(2):
            self.service.create_security_group(self.ctx, 'fake-project',
                                               'web')
        self.assertRaises(exception.NoUniqueMatch,
                          self.network.validate_security_groups, self.ctx,
                          ['web'])

    def test_add_and_remove_security_group(self):
        web = self.service.create_security_group(self.ctx, 'fake-project',
                                                 'web')
        vifs = self.network.allocate_for_instance(self.ctx, 'i1', [{}, {}])
        default = db.security_group_get_default(self.ctx, 'fake-project')
        group = self.network.add_security_group_to_instance(
            self.ctx, 'i1', 'fake-project', 'web')
        self.assertEqual(web['id'], group['id'])
        self.assertEqual([sorted([default['id'], web['id']])] * 2,
                         [sorted(g) for g in self._port_groups(vifs)])
        self.assertEqual(
            ['default', 'web'],
            sorted(g['name'] for g in
                   self.network.get_instance_security_groups(self.ctx,
                                                             'i1')))
        error = self.assertRaises(
            exception.SecurityGroupExistsForInstance,
            self.network.add_security_group_to_instance, self.ctx, 'i1',
            'fake-project', 'web')
        self.assertIn('already associated', error.format_message())

        self.network.remove_security_group_from_instance(
            self.ctx, 'i1', 'fake-project', 'default')
        self.assertEqual([[web['id']]] * 2, self._port_groups(vifs))
        error = self.assertRaises(
            exception.SecurityGroupNotFound,
            self.network.remove_security_group_from_instance, self.ctx,
            'i1', 'fake-project', 'default')
        self.assertEqual('Security group default not associated with the '
                         'instance i1', error.format_message())

    def test_add_unknown_group_or_to_instance_without_ports(self):
        self.network.allocate_for_instance(self.ctx, 'i1')
        error = self.assertRaises(
            exception.SecurityGroupNotFound,
            self.network.add_security_group_to_instance, self.ctx, 'i1',
            'fake-project', 'nope')
        self.assertEqual('Security group nope is not found for project '
                         'fake-project', error.format_message())
        self.assertRaises(exception.SecurityGroupNotFound,
                          self.network.remove_security_group_from_instance,
                          self.ctx, 'i1', 'fake-project', 'nope')
        self.assertRaises(exception.SecurityGroupNotFound,
                          self.network.add_security_group_to_instance,
                          self.ctx, 'no-ports', 'fake-project', 'default')

    def test_group_a_port_has_is_not_deleted(self):
        web = self.service.create_security_group(self.ctx, 'fake-project',
                                                 'web')
        self.network.allocate_for_instance(self.ctx, 'i1',
                                           security_groups=['web'])
        self.assertRaises(exception.SecurityGroupInUse,
                          self.service.delete_security_group, self.ctx,
                          web['id'])
        self.network.deallocate_for_instance(self.ctx, 'i1')
        self.service.delete_security_group(self.ctx, web['id'])
        self.assertRaises(exception.SecurityGroupNotFound,
                          self.service.get_security_group, self.ctx,
                          web['id'])

    def test_deleted_default_group_is_made_again(self):
        self.service.allocate_for_instance(self.ctx, 'i1')
        self.service.deallocate_for_instance(self.ctx, 'i1')
        old = db.security_group_get_default(self.ctx, 'fake-project')
        # As an admin deleting it from another process: this one still
        # knows the old ID.
        db.security_group_destroy(self.ctx, old['id'])
        vifs = self.service.allocate_for_instance(self.ctx, 'i2')
        new = db.security_group_get_default(self.ctx, 'fake-project')
        self.assertNotEqual(old['id'], new['id'])
        self.assertEqual([[new['id']]], self._port_groups(vifs))

    def test_rules(self):
        web = self.service.create_security_group(self.ctx, 'fake-project',
                                                 'web')
        self.assertEqual(['egress', 'egress'],
                         [r['direction'] for r in
                          web['security_group_rules']])
        values = {'security_group_id': web['id'], 'direction': 'ingress',
                  'ethertype': 'IPv4', 'protocol': 'tcp',
                  'port_range_min': 22, 'port_range_max': 22,
                  'remote_ip_prefix': '0.0.0.0/0'}
        rule = self.service.create_security_group_rule(self.ctx, values)
        self.assertEqual('fake-project', rule['project_id'])
        self.assertRaises(exception.SecurityGroupRuleExists,
                          self.service.create_security_group_rule,
                          self.ctx, values)
        self.service.delete_security_group_rule(self.ctx, rule['id'])
        self.assertRaises(exception.SecurityGroupRuleNotFound,
                          self.service.delete_security_group_rule,
                          self.ctx, rule['id'])
