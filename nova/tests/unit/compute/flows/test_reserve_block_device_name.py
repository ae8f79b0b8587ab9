"""compute.reserve_block_device_name with the vendor kit.

Read next to nova/compute/flows/reserve_block_device_name.py: the first
half of a volume attach, an RPC call from the API - the device name
chosen (the next free one, or the one asked for if free) and the block
device mapping created; its error goes back to the API.  The revert of
create_bdm (the mapping deleted) after a failure at or after it; the
flow has no failure handler: the instance gets no fault.
"""

from __future__ import annotations

import testscenarios

from nova import exception
from nova.flow import hooks
from nova.tests.unit.compute.flows import kit

load_tests = testscenarios.load_tests_apply_scenarios

FLOW = 'compute.reserve_block_device_name'
STAGES = ['choose_device_name', 'create_bdm']


class Refuse(hooks.Hook):
    """A vendor's stage after create_bdm that refuses the attach."""

    supports = {FLOW: '1.0'}

    @hooks.after(f'{FLOW}.create_bdm')
    def refuse(self, ctx, state):
        raise exception.Invalid(reason='refused by the vendor')


class _ReserveTestCase(kit.FlowKitTestCase):

    def setUp(self):
        super().setUp()
        self.server = self.active_server()
        self.uuid = self.server['uuid']
        self.volumes = self.cloud.manager().services.volume

    def new_volume(self):
        return self.volumes.create(self.cloud.ctx, 1, 'data')['id']

    def attach(self, volume_id, **kwargs):
        return self.cloud.compute_api.attach_volume(
            self.cloud.ctx, self.server, volume_id, **kwargs)

    def mapped(self):
        """{volume ID: device name} of the instance's volume mappings."""
        return {b['volume_id']: b['device_name'] for b in
                self.cloud.compute_api.get_volume_attachments(
                    self.cloud.ctx, self.server)}

    def assert_refused(self, volume_id, before):
        """The run failed, the mappings are as ``before``, the volume is
        still available and the instance has no fault."""
        self.assertEqual('error',
                         self.cloud.wait_for_run(self.uuid, FLOW)['status'])
        self.assertEqual(before, self.mapped())
        self.assertEqual('available', self.volumes.get(
            self.cloud.ctx, volume_id)['status'])
        self.assertEqual([], self.cloud.faults(self.uuid))


class TestReserveBlockDeviceName(_ReserveTestCase):

    def test_stages_and_effects(self):
        first, second = self.new_volume(), self.new_volume()
        bdm = self.attach(first)
        self.cloud.assert_stages_ran(self.uuid, FLOW, STAGES)
        # choose_device_name: the first name after the root disk;
        # create_bdm: the mapping the API got back.
        self.assertEqual((first, '/dev/vdb'),
                         (bdm['volume_id'], bdm['device_name']))
        self.cloud.wait_for_run(self.uuid, 'compute.attach_volume')
        self.attach(second)
        self.assertEqual({first: '/dev/vdb', second: '/dev/vdc'},
                         self.mapped())

    def test_requested_device_is_used_when_free(self):
        volume_id = self.new_volume()
        bdm = self.attach(volume_id, device='/dev/vdf')
        self.assertEqual('/dev/vdf', bdm['device_name'])
        self.assertEqual({volume_id: '/dev/vdf'}, self.mapped())

    def test_requested_device_in_use_is_refused(self):
        first, second = self.new_volume(), self.new_volume()
        self.attach(first, device='/dev/vdc')
        self.cloud.wait_for_run(self.uuid, 'compute.attach_volume')
        before = self.mapped()
        self.assertRaises(exception.DevicePathInUse, self.attach, second,
                          device='/dev/vdc')
        self.assert_refused(second, before)
        self.assertEqual([], self.cloud.reverted_stages(self.uuid, FLOW))


class TestReserveBlockDeviceNameFails(_ReserveTestCase):
    """A failure at a stage: the error reaches the API, the started
    stages with a revert are undone, no mapping is left."""

    scenarios = [
        ('choose_device_name', {'stage': 'choose_device_name',
                                'reverted': []}),
        ('create_bdm', {'stage': 'create_bdm', 'reverted': ['create_bdm']}),
    ]

    def test_reverts(self):
        volume_id = self.new_volume()
        self.cloud.fail_at(f'{FLOW}.{self.stage}')
        self.assertRaises(exception.NovaException, self.attach, volume_id)
        self.assert_refused(volume_id, {})
        self.assertEqual([f'{FLOW}.{s}' for s in self.reverted],
                         self.cloud.reverted_stages(self.uuid, FLOW))


class TestReserveBlockDeviceNameRefusedAfterTheMapping(_ReserveTestCase):

    cloud_options = {'hook_objects': [Refuse()]}

    def test_revert_deletes_the_mapping(self):
        volume_id = self.new_volume()
        error = self.assertRaises(exception.Invalid, self.attach, volume_id)
        self.assertIn('refused by the vendor', str(error))
        self.cloud.assert_stages_ran(self.uuid, FLOW,
                                     [*STAGES, 'refuse'])
        # destroy_bdm: the mapping create_bdm made is gone.
        self.assert_refused(volume_id, {})
        self.assertEqual([f'{FLOW}.create_bdm'],
                         self.cloud.reverted_stages(self.uuid, FLOW))
