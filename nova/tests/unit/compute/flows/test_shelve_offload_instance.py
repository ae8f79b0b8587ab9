"""compute.shelve_offload_instance with the vendor kit.

Read next to nova/compute/flows/shelve_offload_instance.py: the second
half of every shelve (cast by compute.shelve_instance: see
test_shelve_instance.py) and the admin's ``shelveOffload`` of a SHELVED
server - the guest destroyed, the claim freed, the instance
SHELVED_OFFLOADED with no host, its ports and volumes kept.  No stage
reverts; a failure at each stage: the failure handlers (record_fault,
clear_task_state), and offloading again finishes the job.
"""

from __future__ import annotations

import testscenarios

from nova.compute import power_state, vm_states
from nova.tests.unit.compute.flows import kit

load_tests = testscenarios.load_tests_apply_scenarios

FLOW = kit.SHELVE_OFFLOAD
STAGES = ['notify_usage_start', 'driver_power_off', 'get_network_info',
          'driver_destroy', 'terminate_volume_connections',
          'free_resources', 'update_offloaded', 'notify_usage_end']


class _OffloadTestCase(kit.FlowKitTestCase):

    def assert_offloaded(self, uuid):
        """Once the instance is offloaded (a run may be under way:
        waiting for its state, not for the newest run, waits for it):
        update_offloaded: SHELVED_OFFLOADED, no host, powered off;
        driver_destroy: no guest; free_resources: the node is free."""
        offloaded = self.cloud.wait_for_state(uuid,
                                              vm_states.SHELVED_OFFLOADED)
        self.assertEqual((None, None, power_state.SHUTDOWN),
                         (offloaded['host'], offloaded['node'],
                          offloaded['power_state']))
        self.assertIsNone(self.cloud.manager().driver.instance_record(uuid))
        self.assertEqual(kit.NO_USAGE, self.node_usage())


class TestShelveOffload(_OffloadTestCase):

    def test_stages_and_effects(self):
        server = self.active_server()
        uuid = server['uuid']
        services = self.cloud.manager().services
        volume_id = services.volume.create(self.cloud.ctx, 1, 'data')['id']
        self.cloud.compute_api.attach_volume(self.cloud.ctx, server,
                                             volume_id)
        self.cloud.wait_for_run(uuid, 'compute.attach_volume')
        ports = services.network.get_instance_nw_info(self.cloud.ctx, uuid)

        self.cloud.compute_api.shelve(self.cloud.ctx,
                                      self.cloud.instance(uuid))
        self.assertEqual('success',
                         self.cloud.wait_for_run(uuid, FLOW)['status'])
        self.cloud.assert_stages_ran(uuid, FLOW, STAGES)
        self.assert_offloaded(uuid)
        # terminate_volume_connections: the volumes stay attached to
        # the instance, as its ports stay its own.
        volume = services.volume.get(self.cloud.ctx, volume_id)
        self.assertEqual(('in-use', uuid),
                         (volume['status'], volume['instance_uuid']))
        self.assertEqual(ports, services.network.get_instance_nw_info(
            self.cloud.ctx, uuid))

    def test_shelve_offload_of_a_shelved_server(self):
        shelved = self.shelved_server(offload=False)
        uuid = shelved['uuid']
        self.assertEqual('compute1', shelved['host'])
        self.assertEqual(kit.FROM_USAGE, self.node_usage())
        self.cloud.compute_api.shelve_offload(self.cloud.ctx, shelved)
        self.assert_offloaded(uuid)
        self.assertEqual('success',
                         self.cloud.wait_for_run(uuid, FLOW)['status'])
        self.cloud.assert_stages_ran(uuid, FLOW, STAGES)


class TestShelveOffloadFails(_OffloadTestCase):
    """A failure at any stage up to update_offloaded: nothing is
    reverted, the server stays SHELVED with a fault and no task; a
    ``shelveOffload`` then runs every stage again and offloads it."""

    scenarios = [(s, {'stage': s}) for s in STAGES[:STAGES.index(
        'update_offloaded') + 1]]

    def test_failure_handlers_and_offload_again(self):
        server = self.active_server()
        uuid = server['uuid']
        self.cloud.fail_at(f'{FLOW}.{self.stage}')
        self.cloud.compute_api.shelve(self.cloud.ctx, server)
        self.assertEqual('error',
                         self.cloud.wait_for_run(uuid, FLOW)['status'])
        self.assertEqual([], self.cloud.reverted_stages(uuid, FLOW))
        shelved = self.cloud.wait_for_state(uuid, vm_states.SHELVED)
        self.assertEqual('compute1', shelved['host'])
        self.assertEqual('InjectedFailure',
                         self.cloud.faults(uuid)[0]['message'])

        self.cloud.clear_failures()
        self.cloud.compute_api.shelve_offload(self.cloud.ctx, shelved)
        self.assert_offloaded(uuid)
        self.assertEqual('success',
                         self.cloud.wait_for_run(uuid, FLOW)['status'])


class TestShelveOffloadFailsAfterTheUpdate(_OffloadTestCase):

    def test_server_stays_offloaded(self):
        server = self.active_server()
        uuid = server['uuid']
        self.cloud.fail_at(f'{FLOW}.notify_usage_end')
        self.cloud.compute_api.shelve(self.cloud.ctx, server)
        self.assertEqual('error',
                         self.cloud.wait_for_run(uuid, FLOW)['status'])
        self.assertEqual([], self.cloud.reverted_stages(uuid, FLOW))
        self.assert_offloaded(uuid)
        self.assertEqual('InjectedFailure',
                         self.cloud.faults(uuid)[0]['message'])
