"""compute.attach_interface with the vendor kit.

Read next to nova/compute/flows/attach_interface.py: the stages of an
attach with their effect on the server's ports and the guest, and for a
failure at each stage the reverts and the failure handler
(record_fault).  The detach: test_detach_interface.py.
"""

from __future__ import annotations

import testscenarios

from nova import exception
from nova.tests.unit.compute.flows import kit

load_tests = testscenarios.load_tests_apply_scenarios

ATTACH = 'compute.attach_interface'


class _InterfaceTestCase(kit.FlowKitTestCase):

    def setUp(self):
        super().setUp()
        self.server = self.active_server()
        self.uuid = self.server['uuid']

    def port_ids(self):
        network = self.cloud.manager().services.network
        return [vif['id'] for vif in
                network.get_instance_nw_info(self.cloud.ctx, self.uuid)]


class TestAttach(_InterfaceTestCase):

    def test_stages_and_effects(self):
        (boot_port,) = self.port_ids()
        vif = self.cloud.compute_api.attach_interface(self.cloud.ctx,
                                                      self.server)
        self.cloud.wait_for_run(self.uuid, ATTACH)
        self.cloud.assert_stages_ran(self.uuid, ATTACH, [
            'notify_usage_start', 'allocate_port', 'driver_attach_interface',
            'notify_usage_end'])
        self.assertEqual([boot_port, vif['id']], self.port_ids())
        # driver_attach_interface: plugged into the guest.
        self.assertIn(vif['id'], self.cloud.manager().driver
                      .attached_interfaces(self.uuid))


class TestAttachFails(_InterfaceTestCase):

    scenarios = [
        ('allocate_port', {'stage': 'allocate_port',
                           'reverted': ['allocate_port']}),
        ('driver_attach_interface', {
            'stage': 'driver_attach_interface',
            'reverted': ['driver_attach_interface', 'allocate_port']}),
    ]

    def test_reverts_and_failure_handler(self):
        before = self.port_ids()
        self.cloud.fail_at(f'{ATTACH}.{self.stage}')
        self.assertRaises(exception.InterfaceAttachFailed,
                          self.cloud.compute_api.attach_interface,
                          self.cloud.ctx, self.server)
        self.assertEqual('error', self.cloud.wait_for_run(
            self.uuid, ATTACH)['status'])
        self.assertEqual([f'{ATTACH}.{s}' for s in self.reverted],
                         self.cloud.reverted_stages(self.uuid, ATTACH))
        self.assertEqual(before, self.port_ids())
        self.assertEqual('InjectedFailure',
                         self.cloud.faults(self.uuid)[0]['message'])
