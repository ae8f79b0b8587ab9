"""Interface attach (an RPC call returning the new port) and detach."""

import testscenarios

from nova import exception
from nova.compute import vm_states
from nova.tests.functional.compute import action_helpers as helpers

load_tests = testscenarios.load_tests_apply_scenarios

ATTACH = 'compute.attach_interface'
DETACH = 'compute.detach_interface'


class _InterfaceHelpers(helpers.ActionTestCase):

    def port_ids(self, uuid):
        return [vif['id'] for vif in
                self.api.get_interfaces(self.ctx, self.server(uuid))]


class TestInterfaceAttach(_InterfaceHelpers):

    def test_attach_then_detach(self):
        uuid = self.boot_active()['uuid']
        (boot_port,) = self.port_ids(uuid)
        vif = self.act('attach_interface', uuid, tag='mgmt')
        self.assertEqual('mgmt', vif['tag'])
        address = vif['network']['subnets'][0]['ips'][0]['address']
        self.assertEqual([boot_port, vif['id']], self.port_ids(uuid))
        self.assertEqual(sorted([boot_port, vif['id']]),
                         self.driver.attached_interfaces(uuid))
        self.assert_all_succeeded(uuid, 'attach_interface', ATTACH)

        self.act('detach_interface', uuid, vif['id'])
        self.wait_done(uuid, 'detach_interface')
        self.assertEqual([boot_port], self.port_ids(uuid))
        self.assertEqual([boot_port], self.driver.attached_interfaces(uuid))
        self.assertNotIn('detaching_port_id',
                         self.server(uuid)['system_metadata'])
        self.assert_all_succeeded(uuid, 'detach_interface', DETACH)
        # The address is free for the next port.
        again = self.act('attach_interface', uuid, requested_ip=address)
        self.assertEqual(address,
                         again['network']['subnets'][0]['ips'][0]['address'])

    def test_refusals(self):
        uuid = self.boot_active()['uuid']
        (boot_port,) = self.port_ids(uuid)
        self.assertRaises(exception.NetworkNotFound, self.act,
                          'attach_interface', uuid,
                          network_id='9d3d33a4-0000-4000-8000-000000000000')
        address = self.api.get_interfaces(self.ctx, self.server(uuid))[0][
            'network']['subnets'][0]['ips'][0]['address']
        self.assertRaises(exception.FixedIpAlreadyInUse, self.act,
                          'attach_interface', uuid, requested_ip=address)
        self.assertRaises(exception.PortNotFound, self.act,
                          'detach_interface', uuid,
                          '9d3d33a4-0000-4000-8000-000000000000')
        self.assertEqual([boot_port], self.port_ids(uuid))
        self.act('suspend', uuid)
        self.wait_for(uuid, vm_states.SUSPENDED)
        self.assertRaises(exception.InstanceInvalidState, self.act,
                          'attach_interface', uuid)


class TestInterfaceAttachFails(_InterfaceHelpers):

    scenarios = helpers.failure_scenarios(ATTACH)

    def test_failure_reaches_the_caller_and_leaves_no_port(self):
        uuid = self.boot_active()['uuid']
        before = self.port_ids(uuid)
        self.inject(self.stage_id)
        self.assertRaises(exception.InterfaceAttachFailed, self.act,
                          'attach_interface', uuid)
        self.wait_done(uuid, 'attach_interface')
        self.assertEqual(before, self.port_ids(uuid))
        self.assertEqual(before, self.driver.attached_interfaces(uuid))
        self.assert_failed_in(uuid, 'attach_interface', self.stage_id)


class TestInterfaceDetachFails(_InterfaceHelpers):

    scenarios = helpers.failure_scenarios(DETACH)

    def test_failure_keeps_the_interface(self):
        uuid = self.boot_active()['uuid']
        vif = self.act('attach_interface', uuid)
        ports = self.port_ids(uuid)
        self.inject(self.stage_id)
        self.act('detach_interface', uuid, vif['id'])
        server = self.wait_done(uuid, 'detach_interface')
        self.assertEqual(ports, self.port_ids(uuid))
        self.assertEqual(sorted(ports),
                         self.driver.attached_interfaces(uuid))
        self.assertNotIn('detaching_port_id', server['system_metadata'])
        self.assert_failed_in(uuid, 'detach_interface', self.stage_id)
