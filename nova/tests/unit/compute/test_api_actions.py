"""The compute API's side of the single-host actions: which states allow
what (InstanceInvalidState otherwise, before anything is written), the
lock, and what is written and cast."""

from unittest import mock

import testscenarios

from nova import context, exception, test
from nova.compute import api as compute_api
from nova.compute import task_states, vm_states

load_tests = testscenarios.load_tests_apply_scenarios

ALL_VM_STATES = (vm_states.ACTIVE, vm_states.PAUSED, vm_states.SUSPENDED,
                 vm_states.STOPPED, vm_states.RESCUED, vm_states.ERROR,
                 vm_states.SHELVED, vm_states.SHELVED_OFFLOADED,
                 vm_states.BUILDING)

# method, extra args, allowed vm_states, task state set, RPC method
ACTIONS = [
    ('pause', (), (vm_states.ACTIVE,), task_states.PAUSING,
     'pause_instance'),
    ('unpause', (), (vm_states.PAUSED,), task_states.UNPAUSING,
     'unpause_instance'),
    ('suspend', (), (vm_states.ACTIVE,), task_states.SUSPENDING,
     'suspend_instance'),
    ('resume', (), (vm_states.SUSPENDED,), task_states.RESUMING,
     'resume_instance'),
    ('rescue', (), (vm_states.ACTIVE, vm_states.STOPPED, vm_states.ERROR),
     task_states.RESCUING, 'rescue_instance'),
    ('unrescue', (), (vm_states.RESCUED,), task_states.UNRESCUING,
     'unrescue_instance'),
    ('rebuild', ('image-1', 'pw'),
     (vm_states.ACTIVE, vm_states.STOPPED, vm_states.ERROR),
     task_states.REBUILDING, 'rebuild_instance'),
    ('snapshot', ('snap',), (vm_states.ACTIVE, vm_states.STOPPED,
                             vm_states.PAUSED, vm_states.SUSPENDED),
     task_states.IMAGE_SNAPSHOT, 'snapshot_instance'),
    ('shelve', (), (vm_states.ACTIVE, vm_states.STOPPED, vm_states.PAUSED,
                    vm_states.SUSPENDED),
     task_states.SHELVING, 'shelve_instance'),
    ('shelve_offload', (), (vm_states.SHELVED,),
     task_states.SHELVING_OFFLOADING, 'shelve_offload_instance'),
    ('unshelve', (), (vm_states.SHELVED, vm_states.SHELVED_OFFLOADED),
     task_states.UNSHELVING, None),
]


class _APITest(test.TestCase):

    def setUp(self):
        super().setUp()
        self.db = mock.MagicMock()
        self.rpc = mock.Mock()
        self.conductor = mock.Mock()
        self.images = mock.Mock()
        self.images.get.return_value = {'id': 'image-1', 'status': 'active',
                                        'size': 1, 'properties': {}}
        self.images.create_snapshot.return_value = {'id': 'snap-1'}
        self.api = compute_api.API(db=self.db, image_api=self.images,
                                   compute_rpcapi=self.rpc,
                                   conductor_api=self.conductor,
                                   volume_api=mock.Mock(),
                                   network_api=mock.Mock())
        self.ctx = context.RequestContext('u1', 'p1')

    def instance(self, vm_state=vm_states.ACTIVE, task_state=None,
                 **values):
        values.setdefault('host', 'compute1')
        return dict({'uuid': 'uuid-1', 'project_id': 'p1', 'user_id': 'u1',
                     'vm_state': vm_state, 'task_state': task_state,
                     'locked': False, 'image_ref': 'image-1', 'root_gb': 1,
                     'display_name': 'vm', 'node': 'compute1',
                     'system_metadata': {}}, **values)


class TestStateChecks(_APITest):

    scenarios = [(a[0], {'action': a}) for a in ACTIONS]

    def test_only_the_allowed_vm_states_start_the_action(self):
        method, args, allowed, task_state, rpc = self.action
        for vm_state in ALL_VM_STATES:
            self.db.reset_mock()
            self.rpc.reset_mock()
            instance = self.instance(vm_state)
            call = getattr(self.api, method)
            if vm_state not in allowed:
                error = self.assertRaises(exception.InstanceInvalidState,
                                          call, self.ctx, instance, *args)
                self.assertEqual(409, error.code)
                self.assertIn(vm_state, str(error))
                self.assertEqual(
                    [], self.db.instance_update_for_request.mock_calls)
                self.assertEqual([], self.rpc.mock_calls)
                continue
            call(self.ctx, instance, *args)
            values = self.db.instance_update_for_request.call_args[0][2]
            self.assertEqual(task_state, values['task_state'])
            self.assertEqual(
                None, self.db.instance_update_for_request.call_args[1][
                    'expected_task_state'])
            if rpc:
                self.assertTrue(getattr(self.rpc, rpc).called,
                                f'{method} from {vm_state}')

    def test_a_running_task_refuses_the_action(self):
        method, args, allowed, _task, _rpc = self.action
        instance = self.instance(allowed[0], task_states.REBOOTING)
        self.assertRaises(exception.InstanceInvalidState,
                          getattr(self.api, method), self.ctx, instance,
                          *args)
        self.assertEqual([], self.db.instance_update_for_request.mock_calls)


class TestLock(_APITest):

    def test_locked_refuses_the_owner_not_an_admin(self):
        for method, args, allowed, _task, _rpc in ACTIONS:
            if method == 'snapshot':
                continue  # upstream allows it
            instance = self.instance(allowed[0], locked=True)
            error = self.assertRaises(exception.InstanceIsLocked,
                                      getattr(self.api, method), self.ctx,
                                      instance, *args)
            self.assertEqual('Instance uuid-1 is locked', str(error))
            getattr(self.api, method)(self.ctx.elevated(),
                                      self.instance(allowed[0], locked=True),
                                      *args)

    def test_lock_and_unlock_are_recorded_updates(self):
        instance = self.instance()
        self.api.lock(self.ctx, instance, reason='maint')
        values = self.db.instance_update.call_args[0][2]
        self.assertEqual((True, 'owner', {'locked_reason': 'maint'}),
                         (values['locked'], values['locked_by'],
                          values['system_metadata']))
        self.db.action_start.assert_called_with(self.ctx, 'uuid-1', 'lock')
        self.db.action_finish.assert_called_with(self.ctx, 'uuid-1')
        # Locking again as the owner changes nothing.
        self.db.reset_mock()
        self.api.lock(self.ctx, instance)
        self.assertEqual([], self.db.mock_calls)
        # An admin's lock is the admin's.
        admin = context.RequestContext('admin', 'admin', is_admin=True)
        self.api.lock(admin, self.instance())
        self.assertEqual('admin',
                         self.db.instance_update.call_args[0][2]['locked_by'])
        self.api.unlock(self.ctx, instance)
        values = self.db.instance_update.call_args[0][2]
        self.assertEqual((False, None, {}), (values['locked'],
                                            values['locked_by'],
                                            values['system_metadata']))


class TestWhatIsSent(_APITest):

    def test_snapshot_image_has_the_instance_metadata(self):
        self.images.get.return_value = {
            'id': 'image-1', 'status': 'active', 'disk_format': 'qcow2',
            'container_format': 'bare', 'min_ram': 64, 'min_disk': 0,
            'properties': {'os_distro': 'cirros', 'image_type': 'base'}}
        image = self.api.snapshot(self.ctx, self.instance(), 'snap',
                                  {'purpose': 'x'})
        self.assertEqual({'id': 'snap-1'}, image)
        (ctx, name), kwargs = self.images.create_snapshot.call_args
        self.assertEqual('snap', name)
        self.assertEqual({'os_distro': 'cirros', 'instance_uuid': 'uuid-1',
                          'user_id': 'u1', 'image_type': 'snapshot',
                          'base_image_ref': 'image-1',
                          'image_location': 'snapshot',
                          'image_state': 'available', 'owner_id': 'p1',
                          'purpose': 'x'}, kwargs['properties'])
        self.assertEqual(('qcow2', 64, 1), (kwargs['disk_format'],
                                            kwargs['min_ram'],
                                            kwargs['min_disk']))
        self.rpc.snapshot_instance.assert_called_once_with(
            self.ctx, mock.ANY, 'snap-1')

    def test_snapshot_deletes_its_image_when_the_server_is_taken(self):
        self.db.instance_update_for_request.side_effect = \
            exception.UnexpectedTaskStateError(instance_uuid='uuid-1',
                                               expected=None,
                                               actual='pausing')
        self.assertRaises(exception.UnexpectedTaskStateError,
                          self.api.snapshot, self.ctx, self.instance(), 's')
        self.images.delete.assert_called_once_with(self.ctx, 'snap-1')
        self.assertEqual([], self.rpc.mock_calls)

    def test_shelve_notes_its_image_and_unshelve_goes_to_the_conductor(self):
        self.api.shelve(self.ctx, self.instance())
        values = self.db.instance_update_for_request.call_args[0][2]
        self.assertEqual({'shelved_image_id': 'snap-1'},
                         values['system_metadata'])
        self.assertEqual('vm-shelved',
                         self.images.create_snapshot.call_args[0][1])
        offloaded = self.instance(vm_states.SHELVED_OFFLOADED, host=None)
        self.api.unshelve(self.ctx, offloaded, new_az='az2', host='h2')
        self.assertEqual('az2',
                         self.db.instance_update_for_request.call_args[0][2][
                             'availability_zone'])
        self.conductor.unshelve_instance.assert_called_once_with(
            self.ctx, offloaded, {'availability_zone': 'az2',
                                  'num_instances': 1, 'host': 'h2'})
        self.assertRaises(exception.Invalid, self.api.unshelve, self.ctx,
                          self.instance(vm_states.SHELVED), new_az='az2')

    def test_volume_backed_shelve_offloads_at_once(self):
        self.api.shelve(self.ctx, self.instance(image_ref=''))
        self.images.create_snapshot.assert_not_called()
        self.rpc.shelve_offload_instance.assert_called_once()

    def test_rebuild_writes_the_new_image_and_fields(self):
        self.api.rebuild(self.ctx, self.instance(), 'image-1', 'pw',
                         display_name='new', key_name=None,
                         preserve_ephemeral=True)
        values = self.db.instance_update_for_request.call_args[0][2]
        self.assertEqual(('image-1', 'new', None, None, 'rebuilding'),
                         (values['image_ref'], values['display_name'],
                          values['key_name'], values['key_data'],
                          values['task_state']))
        self.rpc.rebuild_instance.assert_called_once_with(
            self.ctx, mock.ANY, admin_password='pw',
            preserve_ephemeral=True)

    def test_rebuild_image_too_big_for_the_flavor(self):
        self.images.get.return_value = {'id': 'big', 'status': 'active',
                                        'size': 2 * 1024 ** 3}
        self.assertRaises(exception.FlavorDiskSmallerThanImage,
                          self.api.rebuild, self.ctx, self.instance(),
                          'big', None)

    def test_console_output_needs_a_guest(self):
        for instance in (self.instance(host=None),
                         self.instance(vm_states.BUILDING)):
            self.assertRaises(exception.InstanceNotReady,
                              self.api.get_console_output, self.ctx,
                              instance)
        self.rpc.get_console_output.return_value = 'out'
        self.assertEqual('out', self.api.get_console_output(
            self.ctx, self.instance(), tail_length=5))
        self.rpc.get_console_output.assert_called_once_with(
            self.ctx, mock.ANY, tail_length=5)


class TestDelete(_APITest):
    """A delete goes to the instance's host, or to the conductor when it
    has none; the API itself never destroys the record."""

    scenarios = [
        ('shelved_offloaded', {'vm_state': vm_states.SHELVED_OFFLOADED,
                               'task_state': None}),
        ('scheduling', {'vm_state': vm_states.BUILDING,
                        'task_state': task_states.SCHEDULING}),
        ('no_valid_host', {'vm_state': vm_states.ERROR,
                           'task_state': None}),
    ]

    def test_an_instance_without_host_is_deleted_by_the_conductor(self):
        instance = self.instance(self.vm_state, self.task_state, host=None)
        self.api.delete(self.ctx, instance)
        self.db.instance_update_for_request.assert_called_once_with(
            self.ctx, 'uuid-1', mock.ANY, 'delete',
            expected_task_state=mock.ANY)
        self.conductor.local_delete_instance.assert_called_once_with(
            self.ctx, mock.ANY)
        sent = self.conductor.local_delete_instance.call_args[0][1]
        self.assertEqual(('uuid-1', task_states.DELETING),
                         (sent['uuid'], sent['task_state']))
        self.db.instance_destroy.assert_not_called()
        self.assertEqual([], self.rpc.mock_calls)

    def test_an_instance_with_a_host_is_deleted_there(self):
        self.api.delete(self.ctx, self.instance(self.vm_state,
                                                self.task_state))
        self.rpc.terminate_instance.assert_called_once_with(self.ctx,
                                                            mock.ANY)
        self.assertEqual([], self.conductor.mock_calls)
