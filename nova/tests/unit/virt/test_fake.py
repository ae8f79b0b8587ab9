"""FakeDriver: guests, persistence, and injected delays, failures, blocks."""

import json
import os
import signal
import subprocess
import sys
import textwrap
from unittest import mock

from oslo_config import fixture as config_fixture

import nova.conf
from nova import concurrency, exception, test
from nova.compute import power_state, task_states
from nova.tests.fixtures import concurrency as concurrency_fixture
from nova.tests.fixtures import virt as virt_fixture
from nova.virt import driver, fake

CONF = nova.conf.CONF


def instance(uuid='11111111-2222-3333-4444-555555555555', **values):
    values.setdefault('memory_mb', 512)
    values.setdefault('vcpus', 2)
    values.setdefault('root_gb', 10)
    values.setdefault('ephemeral_gb', 1)
    return dict(values, uuid=uuid, image_ref='image-1')


def bdi(volume_id='vol-1', mount='/dev/vdb'):
    return {'block_device_mapping': [{
        'volume_id': volume_id, 'mount_device': mount,
        'connection_info': {'driver_volume_type': 'fake',
                            'serial': volume_id}}]}


class FakeDriverTestCase(test.TestCase):
    state_path: bool | None = True

    def setUp(self):
        super().setUp()
        self.fixture = self.useFixture(virt_fixture.FakeDriverFixture(
            state_path=self.state_path))
        self.driver = self.fixture.driver
        self.inst = instance()

    def construct(self, **fake_opts):
        """A FakeDriver made with these [fake_driver] options."""
        self.useFixture(config_fixture.Config(CONF)).config(
            group='fake_driver', **fake_opts)
        return fake.FakeDriver(conf=CONF)

    def spawn(self, inst=None, **kwargs):
        self.driver.spawn(None, inst or self.inst, {}, [], 'secret', None,
                          **kwargs)


class TestGuests(FakeDriverTestCase):
    # In memory: the behaviour does not depend on state_path.
    state_path = None

    def test_spawn_creates_a_running_guest(self):
        self.spawn(network_info=[{'id': 'vif-1'}], block_device_info=bdi())
        self.assertTrue(self.driver.instance_exists(self.inst))
        self.assertEqual([self.inst['uuid']],
                         self.driver.list_instance_uuids())
        self.assertEqual(power_state.RUNNING,
                         self.driver.get_info(self.inst).state)
        self.assertEqual({'/dev/vdb': 'vol-1'},
                         self.driver.attached_volumes(self.inst))
        self.assertEqual(['vif-1'],
                         self.driver.attached_interfaces(self.inst))

    def test_spawn_without_power_on_leaves_it_off(self):
        self.spawn(power_on=False)
        self.assertEqual(power_state.SHUTDOWN,
                         self.driver.get_info(self.inst).state)

    def test_spawn_of_an_existing_guest_fails(self):
        self.spawn()
        self.assertRaises(exception.InstanceExists, self.spawn)

    def test_admin_password_is_not_kept(self):
        self.spawn()
        self.assertNotIn('secret',
                         json.dumps(self.driver.instance_record(self.inst)))

    def test_get_info_of_unknown_guest_raises_not_found(self):
        self.assertRaises(exception.InstanceNotFound, self.driver.get_info,
                          self.inst)

    def test_destroy_removes_the_guest_and_is_idempotent(self):
        self.spawn()
        self.driver.destroy(None, self.inst, [])
        self.assertFalse(self.driver.instance_exists(self.inst))
        self.driver.destroy(None, self.inst, [])
        self.driver.cleanup(None, self.inst, [])

    def test_power_operations_set_the_power_state(self):
        self.spawn()
        steps = [
            (lambda: self.driver.power_off(self.inst), power_state.SHUTDOWN),
            (lambda: self.driver.power_on(None, self.inst, []),
             power_state.RUNNING),
            (lambda: self.driver.pause(self.inst), power_state.PAUSED),
            (lambda: self.driver.unpause(self.inst), power_state.RUNNING),
            (lambda: self.driver.suspend(None, self.inst),
             power_state.SUSPENDED),
            (lambda: self.driver.resume(None, self.inst, []),
             power_state.RUNNING),
            (lambda: self.driver.power_off(self.inst), power_state.SHUTDOWN),
            (lambda: self.driver.reboot(None, self.inst, [], 'HARD'),
             power_state.RUNNING),
        ]
        for step, expected in steps:
            step()
            self.assertEqual(expected, self.driver.get_info(self.inst).state)

    def test_reboot_type_must_be_soft_or_hard(self):
        self.spawn()
        self.assertRaises(exception.Invalid, self.driver.reboot, None,
                          self.inst, [], 'GENTLE')

    def test_operations_on_unknown_guest_raise_not_found(self):
        for call in (lambda: self.driver.power_off(self.inst),
                     lambda: self.driver.reboot(None, self.inst, [], 'SOFT'),
                     lambda: self.driver.get_console_output(None, self.inst),
                     lambda: self.driver.attach_interface(
                         None, self.inst, {}, {'id': 'v'})):
            self.assertRaises(exception.InstanceNotFound, call)

    def test_rescue_and_unrescue(self):
        self.spawn()
        self.driver.rescue(None, self.inst, [], {}, 'pw')
        self.assertTrue(self.driver.instance_record(self.inst)['rescued'])
        self.driver.unrescue(None, self.inst)
        self.assertFalse(self.driver.instance_record(self.inst)['rescued'])

    def test_resources_count_the_guests(self):
        self.spawn()
        # Sizes from the flavor when the instance does not carry them.
        self.spawn(instance('u2', memory_mb=None, vcpus=None, root_gb=None,
                            ephemeral_gb=None,
                            flavor={'memory_mb': 256, 'vcpus': 1,
                                    'root_gb': 5, 'ephemeral_gb': 0}))
        resources = self.driver.get_available_resource('fake-host')
        self.assertEqual(
            {'vcpus': 1000, 'memory_mb': 800000, 'local_gb': 600000,
             'vcpus_used': 3, 'memory_mb_used': 768, 'local_gb_used': 16,
             'hypervisor_type': 'fake', 'hypervisor_hostname': 'fake-host',
             'running_vms': 2},
            {key: resources[key] for key in (
                'vcpus', 'memory_mb', 'local_gb', 'vcpus_used',
                'memory_mb_used', 'local_gb_used', 'hypervisor_type',
                'hypervisor_hostname', 'running_vms')})
        self.assertEqual(['fake-host'], self.driver.get_available_nodes())

    def test_host_resources_come_from_config(self):
        fixture = self.useFixture(virt_fixture.FakeDriverFixture(
            state_path=None, vcpus=8, memory_mb=4096, local_gb=100))
        resources = fixture.driver.get_available_resource('fake-host')
        self.assertEqual((8, 4096, 100), (resources['vcpus'],
                                          resources['memory_mb'],
                                          resources['local_gb']))

    def test_volumes_attach_and_detach(self):
        self.spawn()
        info = {'driver_volume_type': 'fake', 'serial': 'vol-2'}
        self.driver.attach_volume(None, info, self.inst, '/dev/vdc')
        # Again (a resumed flow repeating its stage) is fine ...
        self.driver.attach_volume(None, info, self.inst, '/dev/vdc')
        self.assertEqual({'/dev/vdc': 'vol-2'},
                         self.driver.attached_volumes(self.inst))
        # ... another volume on the same device is not.
        self.assertRaises(exception.VirtDriverError,
                          self.driver.attach_volume, None,
                          {'serial': 'vol-3'}, self.inst, '/dev/vdc')
        self.driver.detach_volume(None, info, self.inst, '/dev/vdc')
        self.driver.detach_volume(None, info, self.inst, '/dev/vdc')
        self.assertEqual({}, self.driver.attached_volumes(self.inst))

    def test_interfaces_attach_and_detach(self):
        self.spawn()
        self.driver.attach_interface(None, self.inst, {}, {'id': 'a'})
        self.driver.attach_interface(None, self.inst, {}, {'id': 'b'})
        self.driver.attach_interface(None, self.inst, {}, {'id': 'a'})
        self.assertEqual(['a', 'b'],
                         self.driver.attached_interfaces(self.inst))
        self.driver.detach_interface(None, self.inst, {'id': 'a'})
        self.driver.detach_interface(None, self.inst, {'id': 'a'})
        self.assertEqual(['b'], self.driver.attached_interfaces(self.inst))

    def test_console_output_is_deterministic_history(self):
        def history(drv):
            drv.spawn(None, self.inst, {}, [], None, None)
            drv.reboot(None, self.inst, [], 'SOFT')
            drv.power_off(self.inst)
            return drv.get_console_output(None, self.inst)

        other = self.useFixture(virt_fixture.FakeDriverFixture(
            state_path=None)).driver
        output = history(self.driver)
        self.assertEqual(output, history(other))
        uuid = self.inst['uuid']
        self.assertEqual(['boot', 'reboot SOFT', 'power off'],
                         [line.split(f'({uuid}): ')[1]
                          for line in output.splitlines()])

    def test_snapshot_reports_upload_task_states(self):
        self.spawn()
        update = mock.Mock()
        self.driver.image_api = mock.Mock()
        self.driver.snapshot(None, self.inst, 'image-2', update)
        self.assertEqual(
            [mock.call(task_state=task_states.IMAGE_PENDING_UPLOAD),
             mock.call(task_state=task_states.IMAGE_UPLOADING,
                       expected_state=task_states.IMAGE_PENDING_UPLOAD)],
            update.call_args_list)
        # The guest's record stands in for the disk data.
        (ctx, image_id, data), _ = self.driver.image_api.upload.call_args
        self.assertEqual('image-2', image_id)
        self.assertEqual(self.inst['uuid'], json.loads(data)['uuid'])

    def test_resize_to_another_host_moves_the_guest(self):
        dest = self.useFixture(virt_fixture.FakeDriverFixture(
            state_path=None, host='dest')).driver
        self.spawn()
        self.driver.migrate_disk_and_power_off(None, self.inst, 'dest',
                                               {}, [])
        self.assertEqual(power_state.SHUTDOWN,
                         self.driver.get_info(self.inst).state)
        bigger = dict(self.inst, memory_mb=1024)
        dest.finish_migration(None, {}, bigger, '[]', [], {}, True, None)
        self.driver.confirm_migration(None, {}, self.inst, [])
        self.assertFalse(self.driver.instance_exists(self.inst))
        self.assertEqual(1024, dest.instance_record(self.inst)['memory_mb'])

    def test_resize_to_same_host_keeps_the_guest_on_confirm(self):
        self.spawn()
        self.driver.migrate_disk_and_power_off(None, self.inst, 'fake-host',
                                               {}, [])
        self.driver.finish_migration(None, {}, dict(self.inst, vcpus=4),
                                     '[]', [], {}, True, None)
        self.driver.confirm_migration(None, {}, self.inst, [])
        self.assertEqual(4, self.driver.instance_record(self.inst)['vcpus'])
        self.assertEqual(power_state.RUNNING,
                         self.driver.get_info(self.inst).state)

    def test_revert_resize_restores_the_source_guest(self):
        self.spawn()
        self.driver.migrate_disk_and_power_off(None, self.inst, 'dest',
                                               {}, [])
        self.driver.finish_revert_migration(None, self.inst, [], {})
        self.assertEqual(power_state.RUNNING,
                         self.driver.get_info(self.inst).state)
        self.driver.confirm_migration(None, {}, self.inst, [])
        self.assertTrue(self.driver.instance_exists(self.inst))

    def test_live_migration_moves_the_guest(self):
        dest = self.useFixture(virt_fixture.FakeDriverFixture(
            state_path=None, host='dest')).driver
        self.spawn()

        def post(context, inst, host, block_migration, migrate_data):
            dest.post_live_migration_at_destination(context, inst, [])

        recover = mock.Mock()
        self.driver.live_migration(None, self.inst, 'dest', post, recover)
        self.assertFalse(self.driver.instance_exists(self.inst))
        self.assertTrue(dest.instance_exists(self.inst))
        recover.assert_not_called()

    def test_failed_live_migration_calls_recover_and_keeps_the_guest(self):
        self.spawn()
        self.driver.inject_failure('live_migration')
        post, recover = mock.Mock(), mock.Mock()
        self.assertRaises(exception.VirtDriverError,
                          self.driver.live_migration, None, self.inst,
                          'dest', post, recover)
        recover.assert_called_once_with(None, self.inst, 'dest', None)
        post.assert_not_called()
        self.assertTrue(self.driver.instance_exists(self.inst))

    def _blocked_live_migration(self):
        self.spawn()
        self.driver.block('live_migration', fake.BEFORE)
        post, recover = mock.Mock(), mock.Mock()
        outcome = {}

        def migrate():
            try:
                self.driver.live_migration(None, self.inst, 'dest', post,
                                           recover)
            except Exception as error:
                outcome['error'] = error
        handle = concurrency.spawn(migrate)
        self.assertEqual(self.inst['uuid'], self.driver.wait_blocked(
            'live_migration', timeout=30))
        return handle, post, recover, outcome

    def test_abort_fails_the_live_migration_and_keeps_the_guest(self):
        handle, post, recover, outcome = self._blocked_live_migration()
        self.driver.live_migration_abort(self.inst)
        handle.wait(timeout=30)
        self.assertIsInstance(outcome['error'],
                              exception.LiveMigrationAborted)
        recover.assert_called_once_with(None, self.inst, 'dest', None)
        post.assert_not_called()
        self.assertTrue(self.driver.instance_exists(self.inst))
        # The next live migration is not aborted.
        self.driver.live_migration(None, self.inst, 'dest', post, recover)
        self.assertFalse(self.driver.instance_exists(self.inst))

    def test_force_complete_finishes_the_live_migration(self):
        handle, post, recover, outcome = self._blocked_live_migration()
        self.driver.live_migration_force_complete(self.inst)
        handle.wait(timeout=30)
        self.assertEqual({}, outcome)
        post.assert_called_once()
        self.assertFalse(self.driver.instance_exists(self.inst))

    def test_block_without_a_state_path(self):
        drv = self.useFixture(virt_fixture.FakeDriverFixture(
            state_path=None)).driver
        drv.block('spawn', fake.BEFORE)
        handle = concurrency.spawn(drv.spawn, None, self.inst, {}, [],
                                   None, None)
        self.assertEqual(self.inst['uuid'],
                         drv.wait_blocked('spawn', timeout=30))
        self.assertFalse(drv.instance_exists(self.inst))
        drv.unblock('spawn')
        handle.wait(timeout=30)
        self.assertTrue(drv.instance_exists(self.inst))

    def test_abort_of_an_unknown_guest_is_not_found(self):
        self.assertRaises(exception.InstanceNotFound,
                          self.driver.live_migration_abort, self.inst)

    def test_auto_block_migration_moves_the_disks(self):
        data = self.driver.check_can_live_migrate_destination(
            None, self.inst, {}, {}, block_migration=None)
        self.assertTrue(data['block_migration'])
        data = self.driver.check_can_live_migrate_destination(
            None, self.inst, {}, {}, block_migration=False)
        self.assertFalse(data['block_migration'])


class TestInstanceStorage(FakeDriverTestCase):
    """Each host's instance storage holds its guests' disks; hosts can
    share theirs (share_instance_storage)."""

    state_path = None

    def setUp(self):
        super().setUp()
        self.other = fake.FakeDriver(conf=CONF)

    def test_destroy_with_or_without_the_disks(self):
        self.spawn()
        self.assertTrue(self.driver.has_disk(self.inst))
        self.driver.destroy(None, self.inst, [], destroy_disks=False)
        self.assertFalse(self.driver.instance_exists(self.inst))
        self.assertTrue(self.driver.has_disk(self.inst))
        self.driver.destroy(None, self.inst, [])
        self.assertFalse(self.driver.has_disk(self.inst))

    def test_shared_storage_has_the_other_hosts_disks(self):
        self.spawn()
        self.assertFalse(self.other.instance_on_disk(self.inst))
        self.driver.share_instance_storage(self.other)
        self.assertTrue(self.other.instance_on_disk(self.inst))
        # Destroying the guest with its disks on one host removes them
        # for the other too.
        self.driver.destroy(None, self.inst, [])
        self.assertFalse(self.other.has_disk(self.inst))

    def test_check_instance_shared_storage(self):
        data = self.driver.check_instance_shared_storage_local(None,
                                                               self.inst)
        self.assertTrue(self.driver.check_instance_shared_storage_remote(
            None, data))
        self.assertFalse(self.other.check_instance_shared_storage_remote(
            None, data))
        self.driver.share_instance_storage(self.other)
        self.assertTrue(self.other.check_instance_shared_storage_remote(
            None, data))
        self.driver.check_instance_shared_storage_cleanup(None, data)
        self.assertFalse(self.other.check_instance_shared_storage_remote(
            None, data))
        # Idempotent.
        self.driver.check_instance_shared_storage_cleanup(None, data)


class TestPersistence(FakeDriverTestCase):

    def test_a_new_driver_on_the_same_path_finds_the_guests(self):
        self.spawn(network_info=[{'id': 'vif-1'}], block_device_info=bdi())
        self.driver.pause(self.inst)
        other = self.fixture.new_driver()
        self.assertEqual([self.inst['uuid']], other.list_instance_uuids())
        self.assertEqual(power_state.PAUSED, other.get_info(self.inst).state)
        self.assertEqual({'/dev/vdb': 'vol-1'},
                         other.attached_volumes(self.inst))
        self.assertEqual(['vif-1'], other.attached_interfaces(self.inst))
        self.assertEqual(
            self.driver.get_console_output(None, self.inst),
            other.get_console_output(None, self.inst))
        self.assertEqual(512, other.get_available_resource('fake-host')[
            'memory_mb_used'])

    def test_destroy_removes_the_guest_file(self):
        self.spawn()
        self.driver.destroy(None, self.inst, [])
        self.assertEqual([], os.listdir(self.fixture.state_path))
        self.assertEqual([], self.fixture.new_driver().list_instance_uuids())

    def test_one_json_file_per_guest_and_no_temporary_files(self):
        self.spawn()
        self.spawn(instance('u2'))
        self.assertEqual(
            sorted([self.inst['uuid'] + '.json', 'u2.json']),
            sorted(os.listdir(self.fixture.state_path)))
        self.assertEqual({self.inst['uuid'], 'u2'},
                         set(fake.read_state(self.fixture.state_path)))

    def test_without_state_path_nothing_is_written_or_kept(self):
        fixture = self.useFixture(virt_fixture.FakeDriverFixture(
            state_path=None))
        fixture.driver.spawn(None, self.inst, {}, [], None, None)
        self.assertEqual([], fixture.new_driver().list_instance_uuids())

    def test_guest_survives_sigkill_inside_spawn(self):
        # The case crash-recovery tests rely on: nova-compute killed while
        # a spawn is in progress; the guest it created is still there.
        code = textwrap.dedent(f'''
            from nova import concurrency
            concurrency.setup()
            import nova.conf
            from nova.virt import fake
            CONF = nova.conf.CONF
            CONF([], project='nova')
            CONF.set_override('state_path', {self.fixture.state_path!r},
                              'fake_driver')
            CONF.set_override('block_methods', ['spawn'], 'fake_driver')
            drv = fake.FakeDriver()
            drv.spawn(None, {{'uuid': 'u-crash', 'memory_mb': 64}}, {{}},
                      [], None, None)
            raise SystemExit('spawn returned although blocked')
        ''')
        child = subprocess.Popen(
            [sys.executable, '-c', code], stderr=subprocess.PIPE,
            env=concurrency_fixture.python_env(),
            cwd=concurrency_fixture.REPO_ROOT)
        self.addCleanup(child.wait)
        self.addCleanup(child.kill)
        try:
            marker = virt_fixture.wait_for_marker(
                self.fixture.state_path, 'spawn', 'u-crash', timeout=60)
        except TimeoutError:
            child.kill()
            self.fail(child.communicate()[1].decode())
        child.send_signal(signal.SIGKILL)
        child.wait()
        self.assertTrue(os.path.exists(marker))
        restarted = self.fixture.new_driver()
        self.assertEqual(power_state.RUNNING,
                         restarted.get_info({'uuid': 'u-crash'}).state)
        # The marker said "blocked now"; the new process clears it.
        self.assertFalse(os.path.exists(marker))


class TestFaults(FakeDriverTestCase):

    def test_injected_failure_fails_the_next_call_only(self):
        self.driver.inject_failure('spawn', times=1)
        error = self.assertRaises(exception.VirtDriverError, self.spawn)
        self.assertIn('injected failure in spawn', str(error))
        # It failed before taking effect.
        self.assertFalse(self.driver.instance_exists(self.inst))
        self.spawn()
        self.assertTrue(self.driver.instance_exists(self.inst))

    def test_failure_times_counts_calls(self):
        self.spawn()
        self.driver.inject_failure('reboot', times=2)
        for _ in range(2):
            self.assertRaises(exception.VirtDriverError, self.driver.reboot,
                              None, self.inst, [], 'SOFT')
        self.driver.reboot(None, self.inst, [], 'SOFT')

    def test_failure_until_cleared_with_a_chosen_error(self):
        self.spawn()
        self.driver.inject_failure('power_off', times=None,
                                   error=exception.InstanceInvalidState)
        for _ in range(3):
            self.assertRaises(exception.InstanceInvalidState,
                              self.driver.power_off, self.inst)
        self.driver.clear_failures('power_off')
        self.driver.power_off(self.inst)
        boom = RuntimeError('boom')
        self.driver.inject_failure('destroy', error=boom)
        self.assertIs(boom, self.assertRaises(
            RuntimeError, self.driver.destroy, None, self.inst, []))

    def test_fail_methods_option_always_fails(self):
        fixture = self.useFixture(virt_fixture.FakeDriverFixture(
            fail_methods=['spawn', 'destroy']))
        for _ in range(2):
            self.assertRaises(exception.VirtDriverError,
                              fixture.driver.spawn, None, self.inst, {},
                              [], None, None)
        self.assertRaises(exception.VirtDriverError, fixture.driver.destroy,
                          None, self.inst, [])

    def test_unknown_method_is_refused(self):
        self.assertRaises(ValueError, self.driver.inject_failure, 'spwan')
        self.assertRaises(ValueError, self.driver.set_delay, 'spwan', 1)
        error = self.assertRaises(ValueError, self.construct,
                                  delay_seconds={'spwan': '1'})
        self.assertIn('[fake_driver] delay_seconds', str(error))

    def test_delay_option_sleeps_in_the_method(self):
        fixture = self.useFixture(virt_fixture.FakeDriverFixture(
            delay_seconds={'spawn': '0.2'}))
        with mock.patch.object(concurrency, 'sleep') as sleep:
            fixture.driver.spawn(None, self.inst, {}, [], None, None)
            fixture.driver.destroy(None, self.inst, [])
        sleep.assert_called_once_with(0.2)

    def test_set_delay_and_remove_it(self):
        self.driver.set_delay('spawn', 1.5)
        with mock.patch.object(concurrency, 'sleep') as sleep:
            self.spawn()
            self.driver.set_delay('spawn', 0)
            self.spawn(instance('u2'))
        sleep.assert_called_once_with(1.5)

    def test_no_fault_means_no_fault_bookkeeping(self):
        # The fast path the boot benchmark takes.
        self.assertFalse(self.driver._armed)
        with mock.patch.object(self.driver, '_before') as before:
            self.spawn()
        before.assert_not_called()
        self.driver.inject_failure('spawn')
        self.driver.clear_failures()
        self.assertFalse(self.driver._armed)

    def _spawn_in_background(self):
        handle = concurrency.spawn(self.spawn)
        uuid = self.driver.wait_blocked('spawn', timeout=30)
        self.assertEqual(self.inst['uuid'], uuid)
        return handle, fake.marker_path(self.fixture.state_path, 'spawn',
                                        uuid)

    def test_block_after_waits_with_the_guest_created(self):
        self.driver.block('spawn')
        handle, marker = self._spawn_in_background()
        self.assertTrue(os.path.exists(marker))
        self.assertFalse(handle.done())
        # A process started now (a restarted nova-compute) sees the guest.
        self.assertIn(self.inst['uuid'],
                      fake.read_state(self.fixture.state_path))
        self.driver.unblock('spawn')
        handle.wait(timeout=30)
        self.assertFalse(os.path.exists(marker))

    def test_block_before_waits_without_the_guest(self):
        self.driver.block('spawn', when='before')
        handle, marker = self._spawn_in_background()
        self.assertTrue(os.path.exists(marker))
        self.assertFalse(self.driver.instance_exists(self.inst))
        self.driver.unblock('spawn')
        handle.wait(timeout=30)
        self.assertTrue(self.driver.instance_exists(self.inst))

    def test_block_methods_option_blocks(self):
        fixture = self.useFixture(virt_fixture.FakeDriverFixture(
            block_methods=['destroy:before']))
        drv = fixture.driver
        drv.spawn(None, self.inst, {}, [], None, None)
        handle = concurrency.spawn(drv.destroy, None, self.inst, [])
        uuid = drv.wait_blocked('destroy', timeout=30)
        self.assertTrue(os.path.exists(
            fake.marker_path(fixture.state_path, 'destroy', uuid)))
        self.assertTrue(drv.instance_exists(self.inst))
        drv.unblock('destroy')
        handle.wait(timeout=30)
        self.assertFalse(drv.instance_exists(self.inst))

    def test_block_methods_needs_state_path(self):
        error = self.assertRaises(ValueError, self.construct,
                                  state_path=None, block_methods=['spawn'])
        self.assertIn('needs [fake_driver] state_path', str(error))

    def test_block_methods_rejects_a_bad_position(self):
        error = self.assertRaises(ValueError, self.construct,
                                  block_methods=['spawn:during'])
        self.assertIn('spawn:before', str(error))

    def test_wait_blocked_times_out(self):
        self.assertRaises(TimeoutError, self.driver.wait_blocked, 'spawn',
                          0.01)

    def test_host_method_faults(self):
        self.driver.inject_failure('get_available_resource')
        self.assertRaises(exception.VirtDriverError,
                          self.driver.get_available_resource, 'fake-host')


class TestHostDown(FakeDriverTestCase):
    """The 'host down' switch: every driver call fails, the guests stay
    for the host's return."""

    def test_every_driver_call_fails_while_down(self):
        self.spawn()
        self.driver.set_host_down(True)
        self.assertTrue(self.driver.host_down)
        for call in (lambda: self.spawn(instance('other')),
                     lambda: self.driver.destroy(None, self.inst, []),
                     lambda: self.driver.get_info(self.inst),
                     lambda: self.driver.power_off(self.inst),
                     lambda: self.driver.get_available_resource('fake-host'),
                     self.driver.get_available_nodes,
                     self.driver.list_instances,
                     self.driver.list_instance_uuids,
                     lambda: self.driver.instance_exists(self.inst),
                     lambda: self.driver.plug_vifs(self.inst, [])):
            error = self.assertRaises(exception.HypervisorUnavailable, call)
            self.assertIn('fake-host', str(error))
        # What a test inspects still answers.
        self.assertIsNotNone(self.driver.instance_record(self.inst))

    def test_guests_are_kept_for_the_return(self):
        self.spawn()
        self.driver.set_host_down(True)
        self.driver.set_host_down(False)
        self.assertEqual([self.inst['uuid']],
                         self.driver.list_instance_uuids())
        self.driver.destroy(None, self.inst, [])
        self.assertEqual([], self.driver.list_instance_uuids())

    def test_host_down_option(self):
        driver = self.construct(host_down=True)
        self.assertRaises(exception.HypervisorUnavailable, driver.init_host,
                          'fake-host')
        driver.set_host_down(False)
        driver.init_host('fake-host')


class TestLoadedFromConfig(test.TestCase):

    def test_compute_driver_option_gives_a_fake_driver(self):
        self.assertIsInstance(driver.load_compute_driver(CONF),
                              fake.FakeDriver)
