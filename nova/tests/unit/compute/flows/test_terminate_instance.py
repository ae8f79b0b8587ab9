"""compute.terminate_instance with the vendor kit.

Read next to nova/compute/flows/terminate_instance.py: each stage's
effect, and the failure handlers (record_fault, set_error) after which a
second delete completes.
"""

from __future__ import annotations

import testscenarios

from nova.compute import vm_states
from nova.tests.unit.compute.flows import kit

load_tests = testscenarios.load_tests_apply_scenarios

FLOW = 'compute.terminate_instance'
STAGES = ['notify_usage_start', 'shutdown_instance', 'detach_volumes',
          'deallocate_network', 'driver_destroy', 'free_resources',
          'mark_deleted', 'notify_usage_end']


class TestTerminate(kit.FlowKitTestCase):

    def test_stages_and_effects(self):
        server = self.active_server()
        uuid = server['uuid']
        self.cloud.compute_api.delete(self.cloud.ctx, server)
        self.cloud.wait_for_run(uuid, FLOW)
        self.cloud.assert_stages_ran(uuid, FLOW, STAGES)
        gone = self.cloud.instance(uuid)
        self.assertEqual(vm_states.DELETED, gone['vm_state'])
        self.assertEqual((0, 0, 0), self.node_usage())
        self.assertFalse(self.cloud.manager().driver.instance_exists(
            {'uuid': uuid}))
        self.assertEqual([], self.cloud.manager().services.network
                         .get_instance_nw_info(self.cloud.ctx, uuid))


class TestTerminateFails(kit.FlowKitTestCase):
    """A failure before mark_deleted: ERROR with a fault (the stages have
    no revert: a delete resumes, it is never undone); deleting again
    completes."""

    scenarios = [(s, {'stage': s}) for s in STAGES[1:6]]

    def test_error_then_a_second_delete_completes(self):
        server = self.active_server()
        uuid = server['uuid']
        self.cloud.fail_at(f'{FLOW}.{self.stage}')
        self.cloud.compute_api.delete(self.cloud.ctx, server)
        errored = self.cloud.wait_for_state(uuid, vm_states.ERROR)
        self.assertEqual('InjectedFailure',
                         self.cloud.faults(uuid)[0]['message'])
        self.assertEqual([], self.cloud.reverted_stages(uuid, FLOW))
        self.cloud.clear_failures()
        self.cloud.compute_api.delete(self.cloud.ctx, errored)
        self.cloud.wait_for_state(uuid, vm_states.DELETED)
        self.assertEqual((0, 0, 0), self.node_usage())
