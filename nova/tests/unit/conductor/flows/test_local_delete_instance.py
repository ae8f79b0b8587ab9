"""conductor.local_delete_instance with the vendor kit.

Read next to nova/conductor/flows/local_delete_instance.py: the delete of
a server with no host (here: shelved and offloaded) - its addresses
released, its shelve snapshot deleted, its record soft-deleted - and,
since a delete cannot be undone, no revert: the failure handlers
(record_fault, set_error) leave it ERROR with the fault, and deleting it
again completes the delete.
"""

from __future__ import annotations

import testscenarios

from nova import exception
from nova.compute import vm_states
from nova.flow import testing
from nova.tests.unit.compute.flows import kit

load_tests = testscenarios.load_tests_apply_scenarios

FLOW = 'conductor.local_delete_instance'
STAGES = ['notify_usage_start', 'deallocate_network', 'delete_shelve_image',
          'detach_volumes', 'release_claims', 'destroy_instance',
          'notify_usage_end']


class _LocalDeleteTestCase(kit.FlowKitTestCase):

    def offloaded_server(self):
        server = self.active_server()
        self.cloud.compute_api.shelve(self.cloud.ctx, server)
        return self.cloud.wait_for_state(server['uuid'],
                                         vm_states.SHELVED_OFFLOADED)

    def delete(self, server):
        self.cloud.compute_api.delete(self.cloud.ctx,
                                      self.cloud.instance(server['uuid']))
        return self.cloud.wait_for_run(server['uuid'], FLOW)

    def addresses(self, uuid):
        return self.cloud.conductor().services.network.get_instance_nw_info(
            self.cloud.ctx, uuid)

    def image_exists(self, image_id):
        try:
            self.cloud.conductor().services.image.get(self.cloud.ctx,
                                                      image_id)
        except exception.ImageNotFound:
            return False
        return True


class TestLocalDelete(_LocalDeleteTestCase):

    def test_stages_and_effects(self):
        server = self.offloaded_server()
        uuid = server['uuid']
        snapshot = server['system_metadata']['shelved_image_id']
        self.assertTrue(self.addresses(uuid))
        self.assertTrue(self.image_exists(snapshot))
        self.assertEqual('success', self.delete(server)['status'])
        self.cloud.assert_stages_ran(uuid, FLOW, STAGES)
        # deallocate_network, delete_shelve_image, destroy_instance.
        self.assertEqual([], self.addresses(uuid))
        self.assertFalse(self.image_exists(snapshot))
        deleted = self.cloud.instance(uuid)
        self.assertTrue(deleted['deleted'])
        self.assertEqual(vm_states.DELETED, deleted['vm_state'])
        self.assertEqual(kit.NO_USAGE, self.node_usage())


class TestLocalDeleteFails(_LocalDeleteTestCase):
    """A failure at any stage up to destroy_instance: nothing reverts,
    the server is ERROR (with no host) with the fault; deleting it again
    completes the delete."""

    scenarios = [(s, {'stage': s}) for s in STAGES[:STAGES.index(
        'notify_usage_end')]]

    def test_failure_handlers_and_delete_again(self):
        server = self.offloaded_server()
        uuid = server['uuid']
        self.cloud.fail_at(f'{FLOW}.{self.stage}', times=1)
        self.assertEqual('error', self.delete(server)['status'])
        self.assertEqual([], self.cloud.reverted_stages(uuid, FLOW))
        failed = self.cloud.wait_for_state(uuid, vm_states.ERROR)
        self.assertFalse(failed['deleted'])
        self.assertIsNone(failed['host'])
        self.assertIn('InjectedFailure',
                      self.cloud.faults(uuid)[0]['message'])
        self.cloud.compute_api.delete(self.cloud.ctx, failed)
        testing.wait_for(lambda: self.cloud.instance(uuid)['deleted'],
                         what=f'{uuid} to be deleted')
        self.assertEqual([], self.addresses(uuid))


class TestLocalDeleteAfterTheRecordIsGone(_LocalDeleteTestCase):

    def test_failing_closing_notification_keeps_the_delete(self):
        server = self.offloaded_server()
        uuid = server['uuid']
        self.cloud.fail_at(f'{FLOW}.notify_usage_end')
        self.delete(server)
        self.assertTrue(self.cloud.instance(uuid)['deleted'])
        self.assertIn((f'{FLOW}.notify_usage_end', 'Error'),
                      self.cloud.events(uuid, 'delete'))
