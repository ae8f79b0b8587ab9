"""The single-host action flows: their contracts, and the pieces that
need no cloud (device names, repeatable state updates, error mapping of
RPC calls)."""

import importlib
import inspect
from unittest import mock

from nova_fault_injection_hooks import FLOWS as FAULT_FLOWS

from nova import exception, test
from nova.compute import manager as compute_manager
from nova.compute.flows import base, reserve_block_device_name, shared
from nova.flow import RESUME, REVERT, FlowEngine
from nova.flow.registry import discover_flows

ACTION_FLOWS = {
    'compute.pause_instance': RESUME,
    'compute.unpause_instance': RESUME,
    'compute.suspend_instance': RESUME,
    'compute.resume_instance': RESUME,
    'compute.rebuild_instance': REVERT,
    'compute.snapshot_instance': REVERT,
    'compute.rescue_instance': REVERT,
    'compute.unrescue_instance': RESUME,
    'compute.shelve_instance': RESUME,
    'compute.shelve_offload_instance': RESUME,
    'compute.unshelve_instance': RESUME,
    'compute.reserve_block_device_name': REVERT,
    'compute.attach_volume': RESUME,
    'compute.detach_volume': RESUME,
    'compute.attach_interface': REVERT,
    'compute.detach_interface': RESUME,
    'compute.trigger_crash_dump': REVERT,
}


class TestFlowContracts(test.TestCase):

    def test_registered_compiled_and_covered_by_fault_injection(self):
        found, problems = discover_flows()
        self.assertEqual([], problems)
        names = {flow.name for flow in found}
        engine = FlowEngine.load(flows=[f for f in found
                                        if f.name in ACTION_FLOWS])
        for name, policy in ACTION_FLOWS.items():
            self.assertIn(name, names)
            self.assertIn(name, FAULT_FLOWS)
            flow = engine.plan(name).flow
            self.assertEqual(policy, flow.on_interrupt, name)
            # attach_interface 1.1: attaching an existing port.
            self.assertEqual(
                '1.1' if name == 'compute.attach_interface' else '1.0',
                flow.version, name)
            self.assertIsNotNone(flow.load_state, name)
            self.assertIs(base.instance_subject, flow.subject, name)

    def test_each_module_states_its_failure_and_interruption_policy(self):
        for name, policy in ACTION_FLOWS.items():
            module = importlib.import_module(
                'nova.compute.flows.' + name.split('.', 1)[1])
            doc = inspect.getdoc(module)
            self.assertTrue(doc.startswith(name + ':'), name)
            self.assertIn('Failure:', doc, name)
            verb = {RESUME: 'resumed', REVERT: 'reverted'}[policy]
            self.assertIn(f'Interrupted: {verb} at restart', doc, name)

    def test_every_stage_has_a_one_line_doc(self):
        found, _ = discover_flows()
        for flow in found:
            if flow.name not in ACTION_FLOWS:
                continue
            tree, problems = flow.resolve()
            self.assertEqual([], problems)
            for entry in tree:
                self.assertTrue(entry.doc, f'{flow.name}.{entry.name}')


class TestDeviceNames(test.TestCase):

    def test_next_free_name_after_the_root_disk(self):
        pick = reserve_block_device_name.next_device_name
        self.assertEqual('/dev/vdb', pick(set()))
        self.assertEqual('/dev/vdc', pick({'/dev/vda', '/dev/vdb'}))
        self.assertEqual('/dev/vdb', pick({'/dev/vdc'}))
        self.assertEqual('/dev/sdb', pick({'/dev/sda'}))
        self.assertEqual('/dev/xvdc', pick({'/dev/xvda', '/dev/xvdb'}))
        many = {f'/dev/vd{c}' for c in 'abcdefghijklmnopqrstuvwxyz'}
        self.assertEqual('/dev/vdaa', pick(many))

    def _state(self, device, bdms):
        compute = mock.Mock()
        compute.db.block_device_mapping_get_all_by_instance.return_value = \
            bdms
        return reserve_block_device_name.ReserveDeviceState(
            compute=compute, instance={'uuid': 'u'}, volume_id='v',
            device=device)

    def test_requested_device_is_checked(self):
        choose = reserve_block_device_name.choose_device_name
        state = self._state('/dev/vdc', [{'device_name': '/dev/vdb'}])
        choose(None, state)
        self.assertEqual('/dev/vdc', state.device_name)
        self.assertRaises(exception.DevicePathInUse, choose, None,
                          self._state('/dev/vdb',
                                      [{'device_name': '/dev/vdb'}]))
        self.assertRaises(exception.InvalidDevicePath, choose, None,
                          self._state('vdb', []))


class TestSetStateOnce(test.TestCase):

    def setUp(self):
        super().setUp()
        self.db = mock.Mock()
        self.state = base.InstanceState(
            compute=mock.Mock(db=self.db),
            instance={'uuid': 'u', 'vm_state': 'active',
                      'task_state': 'pausing'})
        self.update = shared.set_state_once(
            'update_paused', vm_state='paused', task_state=None,
            expected_task_state='pausing')

    def test_writes_with_the_compare_and_swap(self):
        self.update(None, self.state)
        args, kwargs = self.db.instance_update.call_args
        self.assertEqual('pausing', kwargs['expected_task_state'])
        self.assertEqual(('paused', None), (args[2]['vm_state'],
                                            args[2]['task_state']))
        self.assertEqual('paused', self.state.instance['vm_state'])

    def test_a_repeat_after_the_update_was_made_succeeds(self):
        self.db.instance_update.side_effect = \
            exception.UnexpectedTaskStateError(
                instance_uuid='u', expected='pausing', actual=None)
        self.db.instance_get_by_uuid.return_value = {
            'uuid': 'u', 'vm_state': 'paused', 'task_state': None}
        self.update(None, self.state)
        self.assertEqual('paused', self.state.instance['vm_state'])

    def test_a_real_conflict_still_fails(self):
        self.db.instance_update.side_effect = \
            exception.UnexpectedTaskStateError(
                instance_uuid='u', expected='pausing', actual='deleting')
        self.db.instance_get_by_uuid.return_value = {
            'uuid': 'u', 'vm_state': 'active', 'task_state': 'deleting'}
        self.assertRaises(exception.UnexpectedTaskStateError, self.update,
                          None, self.state)


class TestCallErrors(test.TestCase):
    """What a failed RPC call's flow sends back to the API."""

    def setUp(self):
        super().setUp()
        self.manager = compute_manager.ComputeManager.__new__(
            compute_manager.ComputeManager)
        self.manager._locks = mock.MagicMock()
        self.manager.flows = mock.Mock()
        self.state = mock.Mock(instance={'uuid': 'u'})

    def call(self, error, factory=None):
        self.manager.flows.run.side_effect = error
        return self.assertRaises(exception.NovaException,
                                 self.manager._call, 'f', None, self.state,
                                 factory)

    def test_nova_errors_go_back_as_they_are(self):
        error = exception.DevicePathInUse(path='/dev/vdb')
        self.assertIs(error, self.call(error))

    def test_other_errors_become_the_operation_error(self):
        raised = self.call(
            RuntimeError('boom'),
            lambda exc: exception.InterfaceAttachFailed(instance_uuid='u'))
        self.assertIsInstance(raised, exception.InterfaceAttachFailed)
        self.assertIsInstance(self.call(RuntimeError('boom')),
                              exception.NovaException)
