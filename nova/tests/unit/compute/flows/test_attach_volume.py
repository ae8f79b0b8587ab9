"""compute.attach_volume with the vendor kit.

Read next to nova/compute/flows/attach_volume.py: the stages of an
attach (after compute.reserve_block_device_name gave the volume its
device name and mapping: test_reserve_block_device_name.py) with their
effect on the volume service and the guest; and for a failure at each
stage the revert and the failure handlers (record_fault,
release_volume).  The detach: test_detach_volume.py.
"""

from __future__ import annotations

import testscenarios

from nova.tests.unit.compute.flows import kit

load_tests = testscenarios.load_tests_apply_scenarios

ATTACH = 'compute.attach_volume'
ATTACH_STAGES = ['notify_usage_start', 'initialize_connection', 'update_bdm',
                 'driver_attach_volume', 'volume_attach', 'notify_usage_end']


class _VolumeTestCase(kit.FlowKitTestCase):

    def setUp(self):
        super().setUp()
        self.server = self.active_server()
        self.uuid = self.server['uuid']
        self.volumes = self.cloud.manager().services.volume
        self.volume = self.volumes.create(self.cloud.ctx, 1, 'data')

    def volume_status(self):
        volume = self.volumes.get(self.cloud.ctx, self.volume['id'])
        return volume['status'], volume['instance_uuid']


class TestAttach(_VolumeTestCase):

    def test_stages_and_effects(self):
        self.cloud.compute_api.attach_volume(self.cloud.ctx, self.server,
                                             self.volume['id'])
        self.cloud.wait_for_run(self.uuid, ATTACH)
        self.cloud.assert_stages_ran(self.uuid, ATTACH, ATTACH_STAGES)
        self.assertEqual(('in-use', self.uuid), self.volume_status())
        # driver_attach_volume: the guest has it at its device name.
        self.assertEqual({'/dev/vdb': self.volume['id']},
                         self.cloud.manager().driver.attached_volumes(
                             self.uuid))


class TestAttachFails(_VolumeTestCase):

    scenarios = [
        ('initialize_connection', {'stage': 'initialize_connection',
                                   'reverted': []}),
        ('driver_attach_volume', {'stage': 'driver_attach_volume',
                                  'reverted': ['driver_attach_volume']}),
        ('volume_attach', {'stage': 'volume_attach',
                           'reverted': ['driver_attach_volume']}),
    ]

    def test_reverts_and_failure_handlers(self):
        self.cloud.fail_at(f'{ATTACH}.{self.stage}')
        self.cloud.compute_api.attach_volume(self.cloud.ctx, self.server,
                                             self.volume['id'])
        self.assertEqual('error', self.cloud.wait_for_run(
            self.uuid, ATTACH)['status'])
        self.assertEqual([f'{ATTACH}.{s}' for s in self.reverted],
                         self.cloud.reverted_stages(self.uuid, ATTACH))
        # release_volume: the volume is free again, no mapping is left.
        self.assertEqual(('available', None), self.volume_status())
        self.assertEqual([], self.cloud.compute_api.get_volume_attachments(
            self.cloud.ctx, self.cloud.instance(self.uuid)))
        self.assertEqual('InjectedFailure',
                         self.cloud.faults(self.uuid)[0]['message'])
