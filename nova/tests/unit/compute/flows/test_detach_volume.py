"""compute.detach_volume with the vendor kit.

Read next to nova/compute/flows/detach_volume.py: the stages of a
detach with their effect on the guest, the volume service and the
block device mapping (deleted last); for a failure at each stage the
reverts (the volume attached to the guest again, ``in-use`` again) and
the failure handlers (record_fault, roll_detaching).
"""

from __future__ import annotations

import testscenarios

from nova.tests.unit.compute.flows import kit

load_tests = testscenarios.load_tests_apply_scenarios

FLOW = 'compute.detach_volume'
STAGES = ['notify_usage_start', 'driver_detach_volume',
          'terminate_connection', 'volume_detach', 'notify_usage_end',
          'destroy_bdm']
REVERTING = ['driver_detach_volume', 'volume_detach']


class _DetachTestCase(kit.FlowKitTestCase):
    """A server with a volume attached at /dev/vdb."""

    def setUp(self):
        super().setUp()
        self.server = self.active_server()
        self.uuid = self.server['uuid']
        self.volumes = self.cloud.manager().services.volume
        self.volume_id = self.volumes.create(self.cloud.ctx, 1, 'data')['id']
        self.cloud.compute_api.attach_volume(self.cloud.ctx, self.server,
                                             self.volume_id)
        run = self.cloud.wait_for_run(self.uuid, 'compute.attach_volume')
        self.assertEqual('success', run['status'])
        self.assertEqual(self.attached(), self.where())

    def detach(self):
        self.cloud.compute_api.detach_volume(self.cloud.ctx, self.server,
                                             self.volume_id)
        return self.cloud.wait_for_run(self.uuid, FLOW)

    def attached(self):
        """What an attached volume looks like from every side."""
        return {'volume': ('in-use', self.uuid),
                'guest': {'/dev/vdb': self.volume_id},
                'mappings': [self.volume_id]}

    def where(self):
        """The volume's status and instance, the guest's volumes and
        the instance's volume mappings."""
        volume = self.volumes.get(self.cloud.ctx, self.volume_id)
        return {'volume': (volume['status'], volume['instance_uuid']),
                'guest': self.cloud.manager().driver.attached_volumes(
                    self.uuid),
                'mappings': [b['volume_id'] for b in
                             self.cloud.compute_api.get_volume_attachments(
                                 self.cloud.ctx, self.server)]}


class TestDetachVolume(_DetachTestCase):

    def test_stages_and_effects(self):
        self.assertEqual('success', self.detach()['status'])
        self.cloud.assert_stages_ran(self.uuid, FLOW, STAGES)
        # driver_detach_volume: off the guest; volume_detach: available;
        # destroy_bdm: no mapping left.
        self.assertEqual({'volume': ('available', None), 'guest': {},
                          'mappings': []}, self.where())
        self.assertEqual([], self.cloud.faults(self.uuid))


class TestDetachVolumeFails(_DetachTestCase):
    """A failure at any stage: what was done is undone newest first, the
    volume stays attached everywhere, with a fault."""

    scenarios = [(s, {'stage': s}) for s in STAGES]

    def test_reverts_and_failure_handlers(self):
        self.cloud.fail_at(f'{FLOW}.{self.stage}')
        self.assertEqual('error', self.detach()['status'])
        self.assert_reverted(self.uuid, FLOW, STAGES, REVERTING, self.stage)
        # roll_detaching: 'in-use' again even where volume_detach did
        # not run.
        self.assertEqual(self.attached(), self.where())
        self.assertEqual('InjectedFailure',
                         self.cloud.faults(self.uuid)[0]['message'])
