"""compute.reserve_block_device_name, compute.attach_volume and
compute.detach_volume with the vendor kit.

Read next to their flow modules: the stages of an attach (the device
name reserved first, then the attach) and of a detach, with their effect
on the volume service and the guest; and for a failure at each attach
stage the revert and the failure handlers (record_fault,
release_volume).
"""

from __future__ import annotations

import testscenarios

from nova.tests.unit.compute.flows import kit

load_tests = testscenarios.load_tests_apply_scenarios

RESERVE = 'compute.reserve_block_device_name'
ATTACH = 'compute.attach_volume'
DETACH = 'compute.detach_volume'
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


class TestAttachDetach(_VolumeTestCase):

    def test_stages_and_effects(self):
        self.cloud.compute_api.attach_volume(self.cloud.ctx, self.server,
                                             self.volume['id'])
        self.cloud.wait_for_run(self.uuid, ATTACH)
        self.cloud.assert_stages_ran(self.uuid, RESERVE,
                                     ['choose_device_name', 'create_bdm'])
        self.cloud.assert_stages_ran(self.uuid, ATTACH, ATTACH_STAGES)
        self.assertEqual(('in-use', self.uuid), self.volume_status())

        self.cloud.compute_api.detach_volume(self.cloud.ctx, self.server,
                                             self.volume['id'])
        self.cloud.wait_for_run(self.uuid, DETACH)
        self.cloud.assert_stages_ran(self.uuid, DETACH, [
            'notify_usage_start', 'driver_detach_volume',
            'terminate_connection', 'volume_detach', 'notify_usage_end',
            'destroy_bdm'])
        self.assertEqual(('available', None), self.volume_status())


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
