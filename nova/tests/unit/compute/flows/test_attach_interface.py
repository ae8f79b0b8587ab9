"""compute.attach_interface and compute.detach_interface with the kit.

Read next to their flow modules: the stages of an attach and a detach
with their effect on the server's ports, and for a failure at each
attach stage the reverts and the failure handler (record_fault).
"""

from __future__ import annotations

import testscenarios

from nova import exception
from nova.tests.unit.compute.flows import kit

load_tests = testscenarios.load_tests_apply_scenarios

ATTACH = 'compute.attach_interface'
DETACH = 'compute.detach_interface'


class _InterfaceTestCase(kit.FlowKitTestCase):

    def setUp(self):
        super().setUp()
        self.server = self.active_server()
        self.uuid = self.server['uuid']

    def port_ids(self):
        network = self.cloud.manager().services.network
        return [vif['id'] for vif in
                network.get_instance_nw_info(self.cloud.ctx, self.uuid)]


class TestAttachDetach(_InterfaceTestCase):

    def test_stages_and_effects(self):
        (boot_port,) = self.port_ids()
        vif = self.cloud.compute_api.attach_interface(self.cloud.ctx,
                                                      self.server)
        self.cloud.wait_for_run(self.uuid, ATTACH)
        self.cloud.assert_stages_ran(self.uuid, ATTACH, [
            'notify_usage_start', 'allocate_port', 'driver_attach_interface',
            'notify_usage_end'])
        self.assertEqual([boot_port, vif['id']], self.port_ids())

        self.cloud.compute_api.detach_interface(self.cloud.ctx, self.server,
                                                vif['id'])
        self.cloud.wait_for_run(self.uuid, DETACH)
        self.cloud.assert_stages_ran(self.uuid, DETACH, [
            'notify_usage_start', 'get_port', 'driver_detach_interface',
            'notify_usage_end', 'deallocate_port'])
        self.assertEqual([boot_port], self.port_ids())


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
