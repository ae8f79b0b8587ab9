"""Resize and cold migration of LibvirtDriver, between two test:/// hosts.

Each driver has its own libvirt test hypervisor (a private one per
connection) and its own instances_path, as two compute hosts; files pass
through a shared directory ([libvirt] remote_filesystem_transport =
shared) unless a test says otherwise.
"""

import json
import os
import subprocess
from unittest import mock

import fixtures

from nova import exception
from nova.compute import power_state
from nova.tests.unit.virt.libvirt import base
from nova.virt.libvirt import config, driver, images, migration

GiB = 1024 ** 3


class MigrationTestCase(base.LibvirtTestCase):

    def setUp(self):
        super().setUp()
        self.shared = os.path.join(self.tmp, 'shared')
        self.config.config(group='libvirt',
                           remote_filesystem_transport='shared',
                           migration_shared_path=self.shared)
        # Host B: its own hypervisor (a new test:/// connection) and
        # instances_path; the drivers read both when they are made.
        self.config.config(instances_path=os.path.join(self.tmp, 'b'))
        self.dest = self.new_driver()
        self.config.config(instances_path=os.path.join(self.tmp,
                                                       'instances'))
        self.source = self.driver

    def migration(self, source='host-a', dest='host-b'):
        return {'uuid': 'mig-1', 'source_compute': source,
                'dest_compute': dest, 'source_node': source,
                'dest_node': dest, 'dest_host': '192.0.2.2',
                'migration_type': 'resize'}

    @staticmethod
    def resized(instance, **sizes):
        flavor = dict(instance['flavor'], **sizes)
        return dict(instance, flavor=flavor, **sizes)

    def migrate(self, instance, new_flavor, dest='192.0.2.2'):
        return self.source.migrate_disk_and_power_off(
            None, instance, dest, new_flavor, [], timeout=0)

    def finish(self, drv, instance, disk_info, power_on=True,
               image_meta=None):
        drv.finish_migration(None, self.migration(), instance, disk_info,
                             [], image_meta if image_meta is not None
                             else self.machine, True, None,
                             power_on=power_on)

    def xml(self, drv, instance):
        dom = drv._host.lookup(instance['uuid'])
        return config.parse(dom.XMLDesc(0))

    def virtual_size(self, drv, instance, name='disk'):
        return images.info(os.path.join(drv.instance_dir(instance),
                                        name))['virtual-size']


class TestColdMigration(MigrationTestCase):

    def test_migrate_resize_and_confirm(self):
        inst = self.spawn(self.instance(ephemeral_gb=1, swap=16))
        uuid = inst['uuid']
        directory = self.source.instance_dir(inst)
        with open(os.path.join(directory, 'console.log'), 'w') as f:
            f.write('booted on A\n')

        disk_info = self.migrate(inst, {'root_gb': 2, 'ephemeral_gb': 2,
                                        'memory_mb': 512, 'vcpus': 1})

        # The source: off, its files kept aside, the domain still defined.
        self.assertEqual(power_state.SHUTDOWN,
                         self.source.get_info(inst).state)
        self.assertFalse(os.path.exists(directory))
        kept = directory + '_resize'
        self.assertTrue(os.path.exists(os.path.join(kept, 'disk')))
        info = json.loads(disk_info)
        staged = os.path.join(self.shared, uuid)
        self.assertEqual(staged, info['path'])
        self.assertEqual(['disk', 'disk.base', 'disk.local', 'kernel',
                          'ramdisk'], sorted(os.listdir(staged)))
        self.assertEqual('kernel', info['boot']['properties']['kernel_id'])
        # Links to the image cache are shared, disks are copies.
        self.assertTrue(os.path.samefile(os.path.join(staged, 'kernel'),
                                         self.source.cache.entry('kernel')))
        self.assertFalse(os.path.samefile(os.path.join(staged, 'disk'),
                                          os.path.join(kept, 'disk')))

        new = self.resized(inst, root_gb=2, ephemeral_gb=2, swap=32,
                           memory_mb=512, vcpus=1)
        self.finish(self.dest, new, disk_info)

        self.assertFalse(os.path.exists(staged))
        self.assertEqual(power_state.RUNNING, self.dest.get_info(new).state)
        domain = self.xml(self.dest, new)
        self.assertEqual(512 * 1024, int(domain.findtext('memory')))
        self.assertEqual('1', domain.findtext('vcpu'))
        dest_dir = self.dest.instance_dir(new)
        self.assertEqual(os.path.join(dest_dir, 'kernel'),
                         domain.findtext('os/kernel'))
        self.assertEqual('console=ttyS0 quiet', config.cmdline(domain))
        self.assertEqual([os.path.join(dest_dir, name) for name in
                          ('disk', 'disk.local', 'disk.swap')],
                         config.disk_paths(domain))
        root = images.info(os.path.join(dest_dir, 'disk'))
        self.assertEqual(2 * GiB, root['virtual-size'])
        self.assertEqual(os.path.join(dest_dir, 'disk.base'),
                         root['backing-filename'])
        self.assertEqual(2 * GiB,
                         self.virtual_size(self.dest, new, 'disk.local'))
        self.assertEqual(32 * 1024 ** 2,
                         self.virtual_size(self.dest, new, 'disk.swap'))
        self.assertFalse(os.path.exists(os.path.join(dest_dir,
                                                     'console.log')))

        self.source.confirm_migration(None, self.migration(), inst, [])
        self.assertFalse(self.source.instance_exists(inst))
        self.assertFalse(os.path.exists(kept))
        self.assertEqual(['_base'], os.listdir(self.source.instances_path))
        self.assertTrue(self.dest.instance_exists(new))
        # Confirming again is harmless.
        self.source.confirm_migration(None, self.migration(), inst, [])

    def test_finish_without_power_on_and_repeated(self):
        inst = self.spawn()
        disk_info = self.migrate(inst, {'root_gb': 1})
        self.finish(self.dest, inst, disk_info, power_on=False)
        self.assertEqual(power_state.SHUTDOWN,
                         self.dest.get_info(inst).state)
        # A repeat (e.g. after a crash) finds the files in place.
        self.finish(self.dest, inst, disk_info)
        self.assertEqual(power_state.RUNNING, self.dest.get_info(inst).state)
        self.finish(self.dest, inst, disk_info)

    def test_guest_boots_the_same_when_its_image_is_gone(self):
        inst = self.spawn()
        disk_info = self.migrate(inst, {'root_gb': 1})
        del self.images.images['machine']
        self.finish(self.dest, inst, disk_info, image_meta={})
        domain = self.xml(self.dest, inst)
        self.assertEqual('console=ttyS0 quiet', config.cmdline(domain))
        self.assertEqual({'image_id': 'machine', 'kernel_id': 'kernel',
                          'ramdisk_id': 'ramdisk'},
                         config.nova_metadata(domain))

    def test_revert_brings_the_original_guest_back(self):
        inst = self.spawn(self.instance(memory_mb=256))
        directory = self.source.instance_dir(inst)
        disk_info = self.migrate(inst, {'root_gb': 2, 'memory_mb': 512})
        new = self.resized(inst, root_gb=2, memory_mb=512)
        self.finish(self.dest, new, disk_info)
        # The manager destroys the guest at the destination first.
        self.dest.destroy(None, new, [])

        self.source.finish_revert_migration(None, inst, [],
                                            self.migration())

        self.assertEqual(power_state.RUNNING,
                         self.source.get_info(inst).state)
        self.assertEqual(256 * 1024, int(self.xml(
            self.source, inst).findtext('memory')))
        self.assertEqual(1 * GiB, self.virtual_size(self.source, inst))
        self.assertFalse(os.path.exists(directory + '_resize'))
        self.assertEqual(os.path.join(directory, 'disk.base'), images.info(
            os.path.join(directory, 'disk'))['backing-filename'])
        self.assertFalse(self.dest.instance_exists(inst))
        self.assertEqual([], os.listdir(self.dest.instances_path))
        # Again: the files are back already.
        self.source.finish_revert_migration(None, inst, [],
                                            self.migration(),
                                            power_on=False)
        self.assertEqual(power_state.RUNNING,
                         self.source.get_info(inst).state)

    def test_revert_before_the_destination_took_the_files(self):
        inst = self.spawn()
        self.migrate(inst, {'root_gb': 1})
        self.source.finish_revert_migration(None, inst, [],
                                            self.migration(),
                                            power_on=False)
        self.assertEqual(power_state.SHUTDOWN,
                         self.source.get_info(inst).state)
        self.assertEqual([], os.listdir(self.shared))

    def test_revert_with_nothing_to_revert_to(self):
        inst = self.spawn()
        self.source.destroy(None, inst, [])
        self.assertRaises(migration.MigrationError,
                          self.source.finish_revert_migration,
                          None, inst, [], self.migration())


class TestSameHostResize(MigrationTestCase):

    def test_resize_and_confirm(self):
        inst = self.spawn(self.instance(memory_mb=256))
        disk_info = self.migrate(inst, {'root_gb': 2, 'memory_mb': 512},
                                 dest='localhost')
        new = self.resized(inst, root_gb=2, memory_mb=512)
        self.finish(self.source, new, disk_info)
        same = self.migration('host-a', 'host-a')
        self.source.confirm_migration(None, same, inst, [])
        # The guest is the resized one, which confirm keeps.
        self.assertEqual(power_state.RUNNING,
                         self.source.get_info(new).state)
        self.assertEqual(512 * 1024, int(self.xml(
            self.source, new).findtext('memory')))
        self.assertEqual(2 * GiB, self.virtual_size(self.source, new))
        self.assertFalse(os.path.exists(
            self.source.instance_dir(inst) + '_resize'))

    def test_revert_without_destroying_the_new_guest(self):
        inst = self.spawn(self.instance(memory_mb=256))
        disk_info = self.migrate(inst, {'root_gb': 2, 'memory_mb': 512},
                                 dest='localhost')
        new = self.resized(inst, root_gb=2, memory_mb=512)
        self.finish(self.source, new, disk_info)
        self.source.finish_revert_migration(
            None, inst, [], self.migration('host-a', 'host-a'))
        self.assertEqual(power_state.RUNNING,
                         self.source.get_info(inst).state)
        self.assertEqual(256 * 1024, int(self.xml(
            self.source, inst).findtext('memory')))
        self.assertEqual(1 * GiB, self.virtual_size(self.source, inst))

    def test_ssh_transport_copies_locally_to_this_host(self):
        self.config.config(group='libvirt',
                           remote_filesystem_transport='ssh')
        inst = self.spawn()
        with mock.patch.object(migration, 'subprocess') as command:
            disk_info = self.migrate(inst, {'root_gb': 1},
                                     dest='localhost')
        command.run.assert_not_called()
        directory = self.source.instance_dir(inst)
        self.assertEqual(directory, json.loads(disk_info)['path'])
        self.assertTrue(os.path.exists(os.path.join(directory, 'disk')))
        self.finish(self.source, inst, disk_info)
        self.assertEqual(power_state.RUNNING,
                         self.source.get_info(inst).state)


class TestMigrationErrors(MigrationTestCase):

    def assert_untouched(self, inst):
        directory = self.source.instance_dir(inst)
        self.assertTrue(os.path.exists(os.path.join(directory, 'disk')))
        self.assertFalse(os.path.exists(directory + '_resize'))

    def test_disks_are_not_resized_down(self):
        inst = self.spawn(self.instance(root_gb=2, ephemeral_gb=2))
        for flavor in ({'root_gb': 1, 'ephemeral_gb': 2},
                       {'root_gb': 2, 'ephemeral_gb': 1}):
            self.assertRaises(migration.ResizeError, self.migrate, inst,
                              flavor)
        # Refused before anything was done.
        self.assertEqual(power_state.RUNNING,
                         self.source.get_info(inst).state)
        self.assert_untouched(inst)

    def test_shared_transport_needs_the_shared_path(self):
        self.config.config(group='libvirt', migration_shared_path=None)
        inst = self.spawn()
        error = self.assertRaises(migration.MigrationError, self.migrate,
                                  inst, {'root_gb': 1})
        self.assertIn('migration_shared_path', str(error))
        self.assert_untouched(inst)

    def test_a_failed_copy_puts_the_files_back(self):
        inst = self.spawn()
        with mock.patch.object(migration.shutil, 'copy2',
                               side_effect=OSError(28, 'No space')):
            self.assertRaises(OSError, self.migrate, inst, {'root_gb': 1})
        self.assert_untouched(inst)
        self.assertEqual([], os.listdir(self.shared))

    def test_an_unfinished_earlier_migration_is_refused(self):
        inst = self.spawn()
        os.makedirs(self.source.instance_dir(inst) + '_resize')
        self.assertRaises(migration.MigrationError, self.migrate, inst,
                          {'root_gb': 1})
        self.assertEqual(power_state.RUNNING,
                         self.source.get_info(inst).state)

    def test_finish_without_the_files(self):
        inst = self.spawn()
        self.assertRaises(migration.MigrationError, self.finish, self.dest,
                          inst, json.dumps({'path': '/nonexistent'}))


class TestRemoteTransports(MigrationTestCase):

    def run_migration(self, transport, returncode=0):
        self.config.config(group='libvirt',
                           remote_filesystem_transport=transport)
        inst = self.spawn()
        result = subprocess.CompletedProcess([], returncode, '', 'denied')
        # (Only migration's: qemu-img runs for real.)
        with mock.patch.object(migration, 'subprocess') as command:
            command.run.return_value = result
            try:
                disk_info = self.migrate(inst, {'root_gb': 1},
                                         dest='192.0.2.2')
            except migration.MigrationError:
                disk_info = None
        return inst, disk_info, [
            c.args[0] for c in command.run.call_args_list]

    def test_scp_over_ssh(self):
        inst, disk_info, commands = self.run_migration('ssh')
        directory = self.source.instance_dir(inst)
        kept = directory + '_resize'
        self.assertEqual(directory, json.loads(disk_info)['path'])
        self.assertEqual(
            [['ssh', '-o', 'BatchMode=yes', '192.0.2.2', '--', 'mkdir',
              '-p', directory],
             ['scp', '-B', '-p'] + [os.path.join(kept, name) for name in
                                    ('disk', 'disk.base', 'kernel',
                                     'ramdisk')] +
             [f'192.0.2.2:{directory}/']], commands)

    def test_rsync(self):
        inst, disk_info, commands = self.run_migration('rsync')
        self.assertEqual('rsync', commands[1][0])
        self.assertIn('--sparse', commands[1])

    def test_a_failed_copy_is_removed_and_the_files_put_back(self):
        inst, disk_info, commands = self.run_migration('ssh', returncode=1)
        self.assertIsNone(disk_info)
        directory = self.source.instance_dir(inst)
        self.assertEqual(['ssh', '-o', 'BatchMode=yes', '192.0.2.2', '--',
                          'rm', '-rf', directory], commands[-1])
        self.assertTrue(os.path.exists(os.path.join(directory, 'disk')))
        self.assertFalse(os.path.exists(directory + '_resize'))


class TestIsLocal(base.LibvirtTestCase):

    def test_names_of_this_host(self):
        for name in ('localhost', '127.0.0.1', 'compute-7'):
            self.assertTrue(migration.is_local(name, 'compute-7'))
        self.assertFalse(migration.is_local('192.0.2.77', 'compute-7'))

    def test_capability(self):
        self.assertTrue(driver.LibvirtDriver.capabilities[
            'supports_migrate_to_same_host'])


class TestLiveMigration(MigrationTestCase):

    def checks(self, dest, block_migration=True):
        inst = self.spawn()
        check = dest.check_can_live_migrate_destination(
            None, inst, {}, {}, block_migration=block_migration)
        marker = os.path.join(dest.instances_path,
                              check['shared_storage_check_file'])
        self.assertTrue(os.path.exists(marker))
        try:
            return inst, self.source.check_can_live_migrate_source(
                None, inst, check)
        finally:
            dest.cleanup_live_migration_destination_check(None, check)
            self.assertFalse(os.path.exists(marker))

    def test_checks_without_shared_storage(self):
        self.config.config(group='libvirt',
                           live_migration_inbound_uri='qemu+tcp://b/system')
        inst, data = self.checks(self.dest)
        self.assertFalse(data['is_shared_instance_path'])
        self.assertEqual('qemu+tcp://b/system', data['dest_uri'])
        self.assertEqual(self.source.instance_dir(inst),
                         data['source_instance_dir'])
        self.assertRaises(migration.MigrationPreCheckError, self.checks,
                          self.dest, block_migration=False)

    def test_checks_with_shared_storage(self):
        inst, data = self.checks(self.source, block_migration=False)
        self.assertTrue(data['is_shared_instance_path'])
        self.assertRaises(migration.MigrationPreCheckError, self.checks,
                          self.source, block_migration=True)

    def test_a_stopped_guest_is_not_live_migrated(self):
        inst = self.spawn(power_on=False)
        check = self.dest.check_can_live_migrate_destination(
            None, inst, {}, {}, block_migration=True)
        self.addCleanup(self.dest.cleanup_live_migration_destination_check,
                        None, check)
        self.assertRaises(migration.MigrationPreCheckError,
                          self.source.check_can_live_migrate_source,
                          None, inst, check)

    def test_pre_live_migration_makes_the_files(self):
        inst, data = self.checks(self.dest)
        data = self.dest.pre_live_migration(None, inst, None, [], None, data)
        directory = self.dest.instance_dir(inst)
        self.assertEqual(directory, data['dest_instance_dir'])
        self.assertEqual(['disk', 'disk.base', 'kernel', 'ramdisk'],
                         sorted(os.listdir(directory)))
        self.assertEqual(1 * GiB, self.virtual_size(self.dest, inst))
        self.assertFalse(self.dest.instance_exists(inst))
        # The rollback removes them.
        self.dest.rollback_live_migration_at_destination(
            None, inst, [], None, migrate_data=data)
        self.assertFalse(os.path.exists(directory))

    def test_pre_live_migration_refuses_a_guest_defined_here(self):
        inst, data = self.checks(self.dest)
        self.assertRaises(migration.MigrationPreCheckError,
                          self.source.pre_live_migration, None, inst, None,
                          [], None, data)

    def fake_domain(self, inst, **methods):
        real = self.source._host.lookup(inst['uuid'])
        dom = mock.Mock(XMLDesc=real.XMLDesc, **methods)
        self.useFixture(fixtures.MockPatchObject(
            self.source, '_lookup', return_value=dom))
        return dom

    def test_live_migration_sends_the_destination_paths(self):
        inst, data = self.checks(self.dest)
        data = dict(data, dest_instance_dir='/b/inst', dest_uri=None,
                    inbound_addr='192.0.2.2')
        dom = self.fake_domain(inst)
        post, recover = mock.Mock(), mock.Mock()
        self.source.live_migration(None, inst, 'host-b', post, recover,
                                   block_migration=True, migrate_data=data)
        libvirt = self.source.libvirt
        uri, params, flags = dom.migrateToURI3.call_args.args
        self.assertEqual('qemu+tcp://host-b/system', uri)
        self.assertEqual('tcp://192.0.2.2',
                         params[libvirt.VIR_MIGRATE_PARAM_URI])
        self.assertEqual(['vda'],
                         params[libvirt.VIR_MIGRATE_PARAM_MIGRATE_DISKS])
        domain = config.parse(params[libvirt.VIR_MIGRATE_PARAM_DEST_XML])
        self.assertEqual(['/b/inst/disk'], config.disk_paths(domain))
        self.assertEqual('/b/inst/kernel', domain.findtext('os/kernel'))
        self.assertEqual('/b/inst/console.log', domain.find(
            'devices/serial/source').get('path'))
        self.assertEqual({'image_id': 'machine', 'kernel_id': 'kernel',
                          'ramdisk_id': 'ramdisk'},
                         config.nova_metadata(domain))
        for flag in ('LIVE', 'PEER2PEER', 'PERSIST_DEST', 'UNDEFINE_SOURCE',
                     'NON_SHARED_INC'):
            self.assertTrue(flags & getattr(libvirt, f'VIR_MIGRATE_{flag}'))
        post.assert_called_once_with(None, inst, 'host-b', True, data)
        recover.assert_not_called()

        # After it: the source's files go.
        self.source.post_live_migration(None, inst, None, data)
        self.assertFalse(os.path.exists(self.source.instance_dir(inst)))

    def test_a_failed_live_migration_is_recovered(self):
        inst, data = self.checks(self.dest)
        libvirt = self.source.libvirt
        error = libvirt.libvirtError('migration failed')
        self.fake_domain(inst, migrateToURI3=mock.Mock(side_effect=error))
        post, recover = mock.Mock(), mock.Mock()
        self.assertRaises(exception.VirtDriverError,
                          self.source.live_migration, None, inst, 'host-b',
                          post, recover, block_migration=True,
                          migrate_data=data)
        recover.assert_called_once_with(None, inst, 'host-b', data)
        post.assert_not_called()
        # The guest and its files stay here.
        self.assertTrue(os.path.exists(os.path.join(
            self.source.instance_dir(inst), 'disk')))

    def test_shared_storage_keeps_paths_and_files(self):
        inst, data = self.checks(self.source, block_migration=False)
        dom = self.fake_domain(inst)
        self.source.live_migration(None, inst, 'host-b', mock.Mock(),
                                   mock.Mock(), migrate_data=data)
        libvirt = self.source.libvirt
        uri, params, flags = dom.migrateToURI3.call_args.args
        self.assertFalse(flags & libvirt.VIR_MIGRATE_NON_SHARED_INC)
        self.assertNotIn(libvirt.VIR_MIGRATE_PARAM_MIGRATE_DISKS, params)
        domain = config.parse(params[libvirt.VIR_MIGRATE_PARAM_DEST_XML])
        self.assertEqual([os.path.join(self.source.instance_dir(inst),
                                       'disk')], config.disk_paths(domain))
        self.source.post_live_migration(None, inst, None, data)
        self.assertTrue(os.path.exists(self.source.instance_dir(inst)))

    def test_post_at_destination_makes_the_guest_persistent(self):
        inst = self.spawn()
        dom = self.source._host.lookup(inst['uuid'])
        self.source.post_live_migration_at_destination(None, inst, [])
        self.assertTrue(dom.isPersistent())
        self.assertTrue(driver.LibvirtDriver.capabilities[
            'supports_live_migration'])
