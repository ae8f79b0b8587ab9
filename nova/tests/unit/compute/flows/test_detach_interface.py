"""compute.detach_interface with the vendor kit.

Read next to nova/compute/flows/detach_interface.py: the stages of a
detach with their effect on the guest and the server's ports (the port
deleted last) and on the API's note of the port being detached; for a
failure at each stage the revert of driver_detach_interface (the port
plugged in again) and the failure handlers (record_fault, forget_port).
"""

from __future__ import annotations

import testscenarios

from nova.compute.flows import detach_interface
from nova.tests.unit.compute.flows import kit

load_tests = testscenarios.load_tests_apply_scenarios

FLOW = 'compute.detach_interface'
STAGES = ['notify_usage_start', 'get_port', 'driver_detach_interface',
          'notify_usage_end', 'deallocate_port']
REVERTING = ['driver_detach_interface']


class _DetachTestCase(kit.FlowKitTestCase):
    """A server with its boot port and an attached one."""

    def setUp(self):
        super().setUp()
        self.server = self.active_server()
        self.uuid = self.server['uuid']
        self.network = self.cloud.manager().services.network
        (self.boot_port,) = self.ports()
        self.port = self.cloud.compute_api.attach_interface(
            self.cloud.ctx, self.server)['id']
        self.cloud.wait_for_run(self.uuid, 'compute.attach_interface')

    def detach(self):
        self.cloud.compute_api.detach_interface(self.cloud.ctx, self.server,
                                                self.port)
        return self.cloud.wait_for_run(self.uuid, FLOW)

    def ports(self):
        return [vif['id'] for vif in self.network.get_instance_nw_info(
            self.cloud.ctx, self.uuid)]

    def where(self):
        """The server's ports, the guest's interfaces, the API's note."""
        sysmeta = self.cloud.instance(self.uuid)['system_metadata'] or {}
        return (self.ports(),
                sorted(self.cloud.manager().driver.attached_interfaces(
                    self.uuid)),
                sysmeta.get(detach_interface.NOTE))


class TestDetachInterface(_DetachTestCase):

    def test_stages_and_effects(self):
        self.assertEqual('success', self.detach()['status'])
        self.cloud.assert_stages_ran(self.uuid, FLOW, STAGES)
        # driver_detach_interface: unplugged; deallocate_port: deleted,
        # the note forgotten.
        self.assertEqual(([self.boot_port], [self.boot_port], None),
                         self.where())
        self.assertEqual([], self.cloud.faults(self.uuid))


class TestDetachInterfaceFails(_DetachTestCase):
    """A failure at any stage: the port is plugged in again if it was
    unplugged, the server keeps it, the note is dropped, with a
    fault."""

    scenarios = [(s, {'stage': s}) for s in STAGES]

    def test_reverts_and_failure_handlers(self):
        kept = [self.boot_port, self.port]
        self.assertEqual((kept, sorted(kept), None), self.where())
        self.cloud.fail_at(f'{FLOW}.{self.stage}')
        self.assertEqual('error', self.detach()['status'])
        self.assert_reverted(self.uuid, FLOW, STAGES, REVERTING, self.stage)
        self.assertEqual((kept, sorted(kept), None), self.where())
        self.assertEqual('InjectedFailure',
                         self.cloud.faults(self.uuid)[0]['message'])
