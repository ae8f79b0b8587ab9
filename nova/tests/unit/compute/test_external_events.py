"""External instance events: the compute manager's dispatch of each event
to its handler, and the compute API's grouping of events by host."""

from unittest import mock

from oslo_utils import units

from nova import context, exception, test
from nova.compute import api as compute_api
from nova.compute import manager as compute_manager
from nova.compute import power_state, task_states, vm_states
from nova.virt import driver as virt_driver

UUID = '6f0e7b4e-1a54-4a39-9d3a-4a8e1c0d5a01'
OTHER = '0c8b2d0e-6c2d-4f5e-8a43-1b9d8e7f6a02'


def _event(name, tag=None, uuid=UUID):
    return {'name': name, 'tag': tag, 'status': 'completed',
            'instance_uuid': uuid}


class TestManagerDispatch(test.TestCase):

    def setUp(self):
        super().setUp()
        self.ctx = context.get_admin_context()
        self.driver = mock.Mock(spec=virt_driver.ComputeDriver)
        self.db = mock.Mock()
        self.network = mock.Mock()
        self.volume = mock.Mock()
        self.manager = compute_manager.ComputeManager(
            'host1', self.driver, self.db, self.network, self.volume,
            image=mock.Mock(), conductor=mock.Mock(), notifier=mock.Mock(),
            recorder=mock.Mock(), engine=mock.Mock())
        self.instance = {'uuid': UUID, 'host': 'host1',
                         'vm_state': vm_states.ACTIVE, 'task_state': None}

    def dispatch(self, *events, instances=None):
        self.manager.external_instance_event(
            self.ctx, instances or [self.instance], list(events))

    def test_network_changed_rereads_the_ports(self):
        self.network.get_instance_nw_info.return_value = [{'id': 'port-1'}]
        self.dispatch(_event('network-changed', 'port-1'))
        self.network.get_instance_nw_info.assert_called_once_with(
            self.ctx, UUID)

    def test_vif_deleted_and_plugged_touch_nothing(self):
        with self.assertLogs(compute_manager.LOG.logger, 'INFO') as logs:
            self.dispatch(_event('network-vif-deleted', 'port-1'),
                          _event('network-vif-plugged', 'port-2'),
                          _event('network-vif-unplugged', 'port-3'))
        self.assertEqual([], self.driver.method_calls)
        self.assertEqual([], self.network.method_calls)
        text = '\n'.join(logs.output)
        self.assertIn('deleted port port-1', text)
        self.assertIn('dispatching network-vif-plugged-port-2', text)

    def test_volume_extended_tells_the_driver(self):
        bdm = {'id': 7, 'volume_id': 'vol-1',
               'connection_info': {'volume_id': 'vol-1'}}
        self.db.block_device_mapping_get_by_volume_id.return_value = bdm
        self.volume.get.return_value = {'id': 'vol-1', 'size': 3}
        self.dispatch(_event('volume-extended', 'vol-1'))
        self.db.block_device_mapping_update.assert_called_once_with(
            self.ctx, 7, {'volume_size': 3})
        self.driver.extend_volume.assert_called_once_with(
            self.ctx, bdm['connection_info'], self.instance, 3 * units.Gi)
        self.db.action_finish.assert_called_once_with(self.ctx, UUID,
                                                      message=None)

    def test_volume_extended_without_driver_support_is_logged(self):
        self.db.block_device_mapping_get_by_volume_id.return_value = {
            'id': 7, 'volume_id': 'vol-1', 'connection_info': {'a': 1}}
        self.volume.get.return_value = {'id': 'vol-1', 'size': 3}
        self.driver.extend_volume.side_effect = NotImplementedError
        with self.assertLogs(compute_manager.LOG.logger, 'WARNING') as logs:
            self.dispatch(_event('volume-extended', 'vol-1'),
                          _event('network-changed'))
        self.assertIn('Extend volume failed, volume_id=vol-1', logs.output[0])
        self.db.action_finish.assert_called_once_with(self.ctx, UUID,
                                                      message='Error')
        # The next event is still handled.
        self.network.get_instance_nw_info.assert_called_once()

    def test_volume_extended_of_a_volume_not_attached(self):
        self.db.block_device_mapping_get_by_volume_id.side_effect = \
            exception.VolumeBDMNotFound(volume_id='vol-1')
        self.dispatch(_event('volume-extended', 'vol-1'))
        self.driver.extend_volume.assert_not_called()
        self.db.action_finish.assert_called_once_with(self.ctx, UUID,
                                                      message='Error')

    def test_power_off(self):
        self.db.instance_get_by_uuid.return_value = self.instance
        self.driver.get_info.return_value = virt_driver.InstanceInfo(
            state=power_state.SHUTDOWN)
        self.dispatch(_event('power-update', 'POWER_OFF'))
        self.db.instance_update.assert_called_once_with(
            self.ctx, UUID, {'power_state': power_state.SHUTDOWN,
                             'vm_state': vm_states.STOPPED},
            expected_task_state=None, expected_vm_state=vm_states.ACTIVE)
        self.db.action_finish.assert_called_once_with(self.ctx, UUID,
                                                      message=None)

    def test_power_on_the_driver_disagrees(self):
        stopped = dict(self.instance, vm_state=vm_states.STOPPED)
        self.db.instance_get_by_uuid.return_value = stopped
        self.driver.get_info.return_value = virt_driver.InstanceInfo(
            state=power_state.SHUTDOWN)
        self.dispatch(_event('power-update', 'POWER_ON'))
        # Only the power state the driver reports is recorded.
        self.db.instance_update.assert_called_once_with(
            self.ctx, UUID, {'power_state': power_state.SHUTDOWN},
            expected_task_state=None, expected_vm_state=vm_states.STOPPED)

    def test_power_update_skipped(self):
        for current, tag in (
                (dict(self.instance, task_state=task_states.REBOOTING),
                 'POWER_OFF'),
                (self.instance, 'POWER_ON'),
                (dict(self.instance, vm_state=vm_states.PAUSED),
                 'POWER_OFF')):
            self.db.reset_mock()
            self.db.instance_get_by_uuid.return_value = current
            self.dispatch(_event('power-update', tag))
            self.db.instance_update.assert_not_called()
            self.db.action_finish.assert_called_once_with(self.ctx, UUID,
                                                          message=None)
        self.driver.get_info.assert_not_called()

    def test_each_event_goes_to_its_instance(self):
        other = dict(self.instance, uuid=OTHER)
        self.network.get_instance_nw_info.return_value = []
        self.dispatch(_event('network-changed', uuid=OTHER),
                      instances=[self.instance, other])
        self.network.get_instance_nw_info.assert_called_once_with(
            self.ctx, OTHER)


class TestAPIGrouping(test.TestCase):

    def setUp(self):
        super().setUp()
        self.ctx = context.get_admin_context()
        self.db = mock.Mock()
        self.db.migration_get_in_progress_by_instance.return_value = []
        self.rpc = mock.Mock()
        self.api = compute_api.API(db=self.db, image_api=mock.Mock(),
                                   compute_rpcapi=self.rpc,
                                   conductor_api=mock.Mock())

    def test_one_cast_per_host(self):
        one = {'uuid': UUID, 'host': 'host1'}
        two = {'uuid': OTHER, 'host': 'host2'}
        events = [_event('network-changed'),
                  _event('network-vif-plugged', uuid=OTHER),
                  _event('network-vif-deleted')]
        self.api.external_instance_event(self.ctx, [one, two], events)
        self.assertEqual(
            [mock.call(self.ctx, [one], [events[0], events[2]],
                       host='host1'),
             mock.call(self.ctx, [two], [events[1]], host='host2')],
            self.rpc.external_instance_event.call_args_list)
        self.db.action_start.assert_not_called()

    def test_a_migrating_instance_gets_events_on_both_hosts(self):
        one = {'uuid': UUID, 'host': 'host1'}
        self.db.migration_get_in_progress_by_instance.return_value = [
            {'source_compute': 'host1', 'dest_compute': 'host2'}]
        events = [_event('network-vif-plugged')]
        self.api.external_instance_event(self.ctx, [one], events)
        self.assertEqual(
            [mock.call(self.ctx, [one], events, host='host1'),
             mock.call(self.ctx, [one], events, host='host2')],
            self.rpc.external_instance_event.call_args_list)

    def test_actions_recorded(self):
        one = {'uuid': UUID, 'host': 'host1'}
        events = [_event('volume-extended', 'vol-1'),
                  _event('power-update', 'POWER_ON'),
                  _event('power-update', 'POWER_OFF'),
                  _event('power-update', 'SLEEP')]
        self.api.external_instance_event(self.ctx, [one], events)
        self.assertEqual(
            [mock.call(self.ctx, UUID, 'extend_volume'),
             mock.call(self.ctx, UUID, 'start'),
             mock.call(self.ctx, UUID, 'stop')],
            self.db.action_start.call_args_list)
        # The power-update with an unknown tag is not sent.
        self.rpc.external_instance_event.assert_called_once_with(
            self.ctx, [one], events[:3], host='host1')
