"""compute.snapshot_instance with the vendor kit.

Read next to nova/compute/flows/snapshot_instance.py: the stages and
their effect (the image uploaded and active), and for a failure at each
stage before the upload completes the failure handlers (record_fault,
delete_unfinished_image, clear_task_state).
"""

from __future__ import annotations

import testscenarios

from nova import exception
from nova.compute import vm_states
from nova.tests.unit.compute.flows import kit

load_tests = testscenarios.load_tests_apply_scenarios

FLOW = 'compute.snapshot_instance'
STAGES = ['update_snapshot_pending', 'notify_usage_start', 'driver_snapshot',
          'update_snapshot_done', 'notify_usage_end']


class TestSnapshot(kit.FlowKitTestCase):

    def test_stages_and_effect(self):
        server = self.active_server()
        image = self.cloud.compute_api.snapshot(self.cloud.ctx, server,
                                                'snap')
        run = self.cloud.wait_for_run(server['uuid'], FLOW)
        self.assertEqual('success', run['status'])
        self.cloud.assert_stages_ran(server['uuid'], FLOW, STAGES)
        uploaded = self.cloud.manager().services.image.get(
            self.cloud.ctx, image['id'])
        self.assertEqual('active', uploaded['status'])
        self.assertIsNone(self.cloud.instance(server['uuid'])['task_state'])


class TestSnapshotFails(kit.FlowKitTestCase):

    scenarios = [(s, {'stage': s}) for s in STAGES[:3]]

    def test_unfinished_image_is_deleted(self):
        server = self.active_server()
        uuid = server['uuid']
        self.cloud.fail_at(f'{FLOW}.{self.stage}')
        image = self.cloud.compute_api.snapshot(self.cloud.ctx, server,
                                                'snap')
        self.assertEqual('error', self.cloud.wait_for_run(uuid,
                                                          FLOW)['status'])
        self.assertRaises(exception.ImageNotFound,
                          self.cloud.manager().services.image.get,
                          self.cloud.ctx, image['id'])
        after = self.cloud.instance(uuid)
        self.assertEqual((vm_states.ACTIVE, None),
                         (after['vm_state'], after['task_state']))
        self.assertEqual('InjectedFailure',
                         self.cloud.faults(uuid)[0]['message'])
