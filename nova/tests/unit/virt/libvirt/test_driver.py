"""LibvirtDriver on libvirt's test driver (test:///, no daemon)."""

import json
import os
from unittest import mock

from nova import exception, test
from nova.compute import power_state, task_states
from nova.tests.unit.virt.libvirt import base
from nova.virt import driver as virt_driver
from nova.virt.libvirt import config, driver, host, images

GiB = 1024 ** 3


class TestLoading(test.TestCase):

    def test_missing_binding_is_a_clear_error(self):
        # Runs without libvirt installed too.
        with mock.patch.object(host, 'libvirt', None):
            error = self.assertRaises(host.LibvirtMissing,
                                      driver.LibvirtDriver)
        self.assertIn('tools/install-libvirt.sh', str(error))

    def test_load_compute_driver_names_it_libvirt_dot_class(self):
        base.require_libvirt(self)
        loaded = virt_driver.load_compute_driver(
            compute_driver='libvirt.LibvirtDriver')
        self.assertIsInstance(loaded, driver.LibvirtDriver)
        self.assertTrue(loaded.capabilities['supports_attach_interface'])
        self.assertTrue(loaded.capabilities['supports_deferred_power_on'])


class TestSpawn(base.LibvirtTestCase):

    def test_spawn_boots_the_kernel_of_the_image(self):
        inst = self.spawn(network_info=[{
            'id': 'port-1', 'address': '52:54:00:00:00:01',
            'devname': 'tapport-1', 'network': {'bridge': 'br-none'}}])
        dom = self.conn.lookupByUUIDString(inst['uuid'])
        self.assertEqual(f'instance-{inst["uuid"]}', dom.name())
        self.assertTrue(dom.isPersistent())
        self.assertEqual(power_state.RUNNING,
                         self.driver.get_info(inst).state)
        directory = self.driver.instance_dir(inst)
        domain = self.domain_xml(inst)
        self.assertEqual('qemu', domain.get('type'))
        self.assertEqual(256 * 1024, int(domain.findtext('memory')))
        self.assertEqual(os.path.join(directory, 'kernel'),
                         domain.findtext('os/kernel'))
        self.assertEqual(os.path.join(directory, 'ramdisk'),
                         domain.findtext('os/initrd'))
        self.assertEqual('console=ttyS0 quiet', config.cmdline(domain))
        self.assertEqual([os.path.join(directory, 'disk')],
                         config.disk_paths(domain))
        self.assertEqual(os.path.join(directory, 'console.log'),
                         domain.find('devices/serial/source').get('path'))
        self.assertEqual({'image_id': 'machine', 'kernel_id': 'kernel',
                          'ramdisk_id': 'ramdisk'},
                         config.nova_metadata(domain))
        vif = config.find_interface(domain, '52:54:00:00:00:01')
        self.assertEqual('tapport-1', vif.find('target').get('dev'))

    def test_root_disk_is_an_overlay_on_the_cached_image(self):
        inst = self.spawn()
        directory = self.driver.instance_dir(inst)
        disk = images.info(os.path.join(directory, 'disk'))
        self.assertEqual('qcow2', disk['format'])
        self.assertEqual(os.path.join(directory, 'disk.base'),
                         disk['backing-filename'])
        self.assertEqual('raw', disk['backing-filename-format'])
        # root_gb, not the image's 1 MiB.
        self.assertEqual(1 * GiB, disk['virtual-size'])
        cached = self.driver.cache.entry('machine')
        for name, entry in (('disk.base', 'machine'), ('kernel', 'kernel'),
                            ('ramdisk', 'ramdisk')):
            self.assertTrue(os.path.samefile(
                os.path.join(directory, name),
                self.driver.cache.entry(entry)))
        with open(cached, 'rb') as f:
            self.assertEqual(b'root disk', f.read(9))

    def test_root_gb_zero_keeps_the_image_size(self):
        inst = self.spawn(self.instance(root_gb=0))
        disk = images.info(os.path.join(self.driver.instance_dir(inst),
                                        'disk'))
        self.assertEqual(1024 * 1024, disk['virtual-size'])

    def test_qcow2_image_without_kernel_boots_from_disk(self):
        inst = self.spawn(self.instance(image='disk-only', root_gb=0))
        domain = self.domain_xml(inst)
        self.assertIsNone(domain.find('os/kernel'))
        self.assertEqual('hd', domain.find('os/boot').get('dev'))
        disk = images.info(os.path.join(self.driver.instance_dir(inst),
                                        'disk'))
        self.assertEqual('qcow2', disk['backing-filename-format'])
        self.assertEqual(64 * 1024 * 1024, disk['virtual-size'])

    def test_image_is_fetched_once(self):
        self.spawn()
        self.spawn()
        self.assertEqual(['machine', 'kernel', 'ramdisk'],
                         self.images.fetched)

    def test_ephemeral_swap_and_volumes(self):
        volume = os.path.join(self.tmp, 'volume-1')
        with open(volume, 'wb') as f:
            f.truncate(GiB)
        bdi = {'block_device_mapping': [{
            'volume_id': 'vol-1', 'mount_device': '/dev/vdb',
            'boot_index': None,
            'connection_info': {
                'driver_volume_type': 'local', 'serial': 'vol-1',
                'data': {'device_path': volume, 'volume_id': 'vol-1'}}}]}
        inst = self.spawn(self.instance(ephemeral_gb=2, swap=64),
                          block_device_info=bdi)
        domain = self.domain_xml(inst)
        directory = self.driver.instance_dir(inst)
        # The volume keeps the device it asked for; local disks go around.
        self.assertEqual(['vda', 'vdb', 'vdc', 'vdd'],
                         sorted(config.disk_targets(domain)))
        disk = config.find_disk(domain, 'vdb')
        self.assertEqual(os.path.join(directory, 'disk.local'),
                         config.find_disk(domain, 'vdc').find(
                             'source').get('file'))
        self.assertEqual(os.path.join(directory, 'disk.swap'),
                         config.find_disk(domain, 'vdd').find(
                             'source').get('file'))
        self.assertEqual(volume, disk.find('source').get('file'))
        self.assertEqual('raw', disk.find('driver').get('type'))
        self.assertEqual('vol-1', disk.findtext('serial'))
        self.assertEqual(2 * GiB, images.info(os.path.join(
            directory, 'disk.local'))['virtual-size'])
        self.assertEqual(64 * 1024 * 1024, images.info(os.path.join(
            directory, 'disk.swap'))['virtual-size'])

    def test_power_on_false_defines_only(self):
        inst = self.spawn(power_on=False)
        self.assertEqual(power_state.SHUTDOWN,
                         self.driver.get_info(inst).state)

    def test_spawn_over_an_existing_guest_fails_and_keeps_it(self):
        inst = self.spawn()
        self.assertRaises(exception.InstanceExists, self.spawn, inst)
        self.assertEqual(power_state.RUNNING,
                         self.driver.get_info(inst).state)
        self.assertTrue(os.path.exists(os.path.join(
            self.driver.instance_dir(inst), 'disk')))

    def test_failed_spawn_leaves_nothing(self):
        inst = self.instance(root_gb=1)
        self.images.add('big', b'', 'raw', size=2 * GiB)
        inst['image_ref'] = 'big'
        self.assertRaises(exception.FlavorDiskSmallerThanImage,
                          self.spawn, inst)
        self.assertFalse(self.driver.instance_exists(inst))
        self.assertFalse(os.path.exists(self.driver.instance_dir(inst)))

    def test_failed_start_leaves_nothing(self):
        inst = self.instance()
        with mock.patch.object(self.driver, '_guest_config',
                               side_effect=exception.VirtDriverError(
                                   reason='boom')):
            self.assertRaises(exception.VirtDriverError, self.spawn, inst)
        self.assertEqual([], self.driver.list_instance_uuids())
        self.assertFalse(os.path.exists(self.driver.instance_dir(inst)))

    def test_unsupported_image_format(self):
        self.images.add('iso', b'', 'iso')
        inst = self.instance(image='iso')
        error = self.assertRaises(exception.VirtDriverError, self.spawn,
                                  inst)
        self.assertIn('iso', str(error))
        self.assertFalse(self.driver.instance_exists(inst))

    def test_leftover_directory_is_replaced(self):
        inst = self.instance()
        directory = self.driver.instance_dir(inst)
        os.makedirs(directory)
        with open(os.path.join(directory, 'junk'), 'w') as f:
            f.write('from a killed spawn')
        self.spawn(inst)
        self.assertNotIn('junk', os.listdir(directory))


class TestDestroy(base.LibvirtTestCase):

    def test_destroy_removes_domain_and_files(self):
        inst = self.spawn()
        self.driver.suspend(None, inst)     # a managed save image too
        self.driver.destroy(None, inst, None)
        self.assertFalse(self.driver.instance_exists(inst))
        self.assertEqual([], self.driver.list_instance_uuids())
        self.assertFalse(os.path.exists(self.driver.instance_dir(inst)))
        # The cache stays for the next guest.
        self.assertTrue(os.path.exists(self.driver.cache.entry('machine')))

    def test_destroy_is_idempotent(self):
        inst = self.spawn()
        self.driver.destroy(None, inst, None)
        self.driver.destroy(None, inst, None)
        self.driver.destroy(None, self.instance(), None)

    def test_destroy_keeping_disks(self):
        inst = self.spawn()
        self.driver.destroy(None, inst, None, destroy_disks=False)
        self.assertFalse(self.driver.instance_exists(inst))
        self.assertTrue(os.path.exists(os.path.join(
            self.driver.instance_dir(inst), 'disk')))
        self.driver.cleanup(None, inst, None)
        self.assertFalse(os.path.exists(self.driver.instance_dir(inst)))

    def test_destroy_without_domain_removes_files(self):
        # What a build cut between creating the disks and defining the
        # domain leaves: recovery's destroy must still remove it.
        inst = self.instance()
        directory = self.driver.instance_dir(inst)
        os.makedirs(directory)
        self.driver.destroy(None, inst, None)
        self.assertFalse(os.path.exists(directory))


class TestSharedInstanceStorage(base.LibvirtTestCase):
    """Two hosts with one instances_path (shared storage): the guest an
    evacuation re-creates on the second is made from the files the
    first one's guest left, which neither the spawn nor the first
    host's cleanup removes."""

    def setUp(self):
        super().setUp()
        self.inst = self.spawn()
        self.directory = self.driver.instance_dir(self.inst)
        self.disk = os.path.join(self.directory, 'disk')
        with open(os.path.join(self.directory, 'written-by-the-guest'),
                  'w') as f:
            f.write('kept')
        # The second host: its own hypervisor, the same instances_path.
        self.config.config(host='host-b')
        self.other = self.new_driver()

    def spawn_on_other(self, **kwargs):
        self.other.spawn(None, self.inst, self.images.get(None, 'machine'),
                         [], None, None, **kwargs)

    def test_instance_on_disk(self):
        self.assertTrue(self.other.instance_on_disk(self.inst))
        self.assertFalse(self.other.instance_on_disk(self.instance()))
        self.config.config(instances_path=os.path.join(self.tmp, 'own'))
        self.assertFalse(self.new_driver().instance_on_disk(self.inst))

    def test_spawn_uses_the_disks_there(self):
        disk = self.disk_identity()
        self.spawn_on_other()
        self.assertTrue(self.other.instance_exists(self.inst))
        self.assertEqual(disk, self.disk_identity())
        self.assertIn('written-by-the-guest', os.listdir(self.directory))
        self.assertIn(self.disk, config.disk_paths(
            config.parse(self.other._lookup(self.inst).XMLDesc(0))))

    def test_failed_spawn_keeps_the_disks(self):
        with mock.patch.object(config, 'domain_xml', side_effect=exception
                               .VirtDriverError(reason='boom')):
            self.assertRaises(exception.VirtDriverError,
                              self.spawn_on_other)
        self.assertFalse(self.other.instance_exists(self.inst))
        disk = self.disk_identity()
        # Still the first host's guest's files: the next try uses them.
        self.spawn_on_other()
        self.assertEqual(disk, self.disk_identity())

    def test_source_cleanup_keeps_the_disks(self):
        self.spawn_on_other()
        data = self.driver.check_instance_shared_storage_local(None,
                                                               self.inst)
        self.assertTrue(self.other.check_instance_shared_storage_remote(
            None, data))
        self.driver.check_instance_shared_storage_cleanup(None, data)
        self.driver.destroy(None, self.inst, None, destroy_disks=False)
        self.assertFalse(self.driver.instance_exists(self.inst))
        self.assertTrue(os.path.exists(self.disk))
        self.assertTrue(self.other.instance_exists(self.inst))

    def test_evacuating_back_uses_the_disks_too(self):
        self.spawn_on_other()
        self.driver.destroy(None, self.inst, None, destroy_disks=False)
        disk = self.disk_identity()
        self.spawn(self.inst)
        self.assertEqual(disk, self.disk_identity())

    def disk_identity(self):
        """The root disk file's inode and modification time: a file made
        again differs in one of them at least."""
        found = os.stat(self.disk)
        return found.st_ino, found.st_mtime_ns


class TestCheckInstanceSharedStorage(base.LibvirtTestCase):
    """A temporary file in the instance's directory: a host whose
    instances_path is the same storage sees it."""

    def test_a_host_on_the_same_storage_sees_the_file(self):
        inst = self.spawn()
        data = self.driver.check_instance_shared_storage_local(None, inst)
        path = os.path.join(self.driver.instances_path, data['filename'])
        self.assertEqual(self.driver.instance_dir(inst),
                         os.path.dirname(path))
        same = self.new_driver()
        self.config.config(instances_path=os.path.join(self.tmp, 'other'))
        other = self.new_driver()
        self.assertEqual((True, False), (
            same.check_instance_shared_storage_remote(None, data),
            other.check_instance_shared_storage_remote(None, data)))
        self.driver.check_instance_shared_storage_cleanup(None, data)
        self.assertFalse(os.path.exists(path))
        self.assertFalse(same.check_instance_shared_storage_remote(None,
                                                                   data))
        # Idempotent.
        self.driver.check_instance_shared_storage_cleanup(None, data)

    def test_no_instance_directory_nothing_to_compare(self):
        self.assertIsNone(self.driver.check_instance_shared_storage_local(
            None, self.instance()))


class TestInventory(base.LibvirtTestCase):

    def test_guests_are_found_by_a_new_driver(self):
        # As after a nova-compute restart: the hypervisor knows.
        first, second = self.spawn(), self.spawn(power_on=False)
        self.conn.defineXML(
            "<domain type='qemu'><name>not-nova</name><memory>1024</memory>"
            "<os><type>hvm</type></os></domain>")
        self.assertEqual(sorted([first['uuid'], second['uuid']]),
                         sorted(self.driver.list_instance_uuids()))
        self.assertEqual(sorted([f'instance-{first["uuid"]}',
                                 f'instance-{second["uuid"]}']),
                         sorted(self.driver.list_instances()))
        self.assertTrue(self.driver.instance_exists(first))
        self.assertFalse(self.driver.instance_exists(self.instance()))
        self.assertEqual(2, self.driver.get_num_instances())

    def test_get_info_of_unknown_instance(self):
        self.assertRaises(exception.InstanceNotFound, self.driver.get_info,
                          self.instance())

    def test_available_resource(self):
        self.spawn()
        self.spawn(self.instance(vcpus=1, memory_mb=128))
        self.spawn(self.instance(vcpus=4), power_on=False)
        nodes = self.driver.get_available_nodes()
        self.assertEqual(1, len(nodes))
        resources = self.driver.get_available_resource(nodes[0])
        self.assertEqual(8, resources['vcpus'])
        self.assertEqual(16384, resources['memory_mb'])
        # Guests that are off use no CPU or RAM.
        self.assertEqual(3, resources['vcpus_used'])
        self.assertEqual(384, resources['memory_mb_used'])
        self.assertEqual(2, resources['running_vms'])
        fs = os.statvfs(self.driver.instances_path)
        self.assertEqual(fs.f_blocks * fs.f_frsize // GiB,
                         resources['local_gb'])
        self.assertGreaterEqual(resources['local_gb'],
                                resources['local_gb_used'])
        self.assertEqual('TEST', resources['hypervisor_type'])
        self.assertEqual(nodes[0], resources['hypervisor_hostname'])
        cpu = json.loads(resources['cpu_info'])
        self.assertEqual({'sockets': 1, 'cores': 4, 'threads': 2},
                         cpu['topology'])

    def test_init_host_refuses_a_domain_type_libvirt_lacks(self):
        self.config.config(group='libvirt', virt_type='kvm')
        drv = driver.LibvirtDriver()
        # The test driver offers domain type "test" only.
        drv.uri = 'qemu:///system'
        drv._host = self.driver._host
        error = self.assertRaises(exception.VirtDriverError, drv.init_host,
                                  'h')
        self.assertIn('virt_type = qemu', str(error))


class TestLifeCycle(base.LibvirtTestCase):

    def setUp(self):
        super().setUp()
        self.inst = self.spawn()

    def state(self):
        return self.driver.get_info(self.inst).state

    def test_power_off_and_on(self):
        self.driver.power_off(self.inst)
        self.assertEqual(power_state.SHUTDOWN, self.state())
        self.driver.power_off(self.inst)
        self.driver.power_on(None, self.inst, None)
        self.assertEqual(power_state.RUNNING, self.state())
        self.driver.power_on(None, self.inst, None)
        self.assertEqual(power_state.RUNNING, self.state())

    def test_clean_power_off(self):
        self.driver.power_off(self.inst, timeout=10, retry_interval=1)
        self.assertEqual(power_state.SHUTDOWN, self.state())

    def test_power_off_falls_back_to_destroy(self):
        dom = self.conn.lookupByUUIDString(self.inst['uuid'])
        with mock.patch.object(self.driver, '_clean_shutdown',
                               return_value=False) as clean:
            self.driver.power_off(self.inst, timeout=1)
        clean.assert_called_once_with(mock.ANY, 1, 0)
        self.assertFalse(dom.isActive())

    def test_reboots(self):
        for kind in ('SOFT', 'HARD'):
            self.driver.reboot(None, self.inst, None, kind)
            self.assertEqual(power_state.RUNNING, self.state())
        self.assertRaises(exception.Invalid, self.driver.reboot, None,
                          self.inst, None, 'WARM')

    def test_soft_reboot_of_a_guest_that_ignores_acpi_is_hard(self):
        self.config.config(group='libvirt', wait_soft_reboot_seconds=0)
        with mock.patch.object(self.driver, '_clean_shutdown',
                               return_value=False), \
                mock.patch.object(self.driver, '_hard_reboot') as hard:
            self.driver.reboot(None, self.inst, None, 'SOFT')
        hard.assert_called_once()

    def test_reboot_of_a_stopped_guest_starts_it(self):
        self.driver.power_off(self.inst)
        self.driver.reboot(None, self.inst, None, 'SOFT')
        self.assertEqual(power_state.RUNNING, self.state())

    def test_pause_unpause(self):
        self.driver.pause(self.inst)
        self.assertEqual(power_state.PAUSED, self.state())
        self.driver.pause(self.inst)
        self.driver.unpause(self.inst)
        self.assertEqual(power_state.RUNNING, self.state())
        self.driver.unpause(self.inst)

    def test_suspend_resume(self):
        self.driver.suspend(None, self.inst)
        self.assertEqual(power_state.SUSPENDED, self.state())
        dom = self.conn.lookupByUUIDString(self.inst['uuid'])
        self.assertTrue(dom.hasManagedSaveImage(0))
        self.driver.resume(None, self.inst, None)
        self.assertEqual(power_state.RUNNING, self.state())
        self.assertFalse(dom.hasManagedSaveImage(0))

    def test_suspend_of_a_paused_guest_resumes_running(self):
        self.driver.pause(self.inst)
        self.driver.suspend(None, self.inst)
        self.driver.resume(None, self.inst, None)
        self.assertEqual(power_state.RUNNING, self.state())

    def test_power_off_drops_a_suspended_guest_memory(self):
        self.driver.suspend(None, self.inst)
        self.driver.power_off(self.inst)
        self.assertEqual(power_state.SHUTDOWN, self.state())

    def test_hard_reboot_of_a_suspended_guest(self):
        self.driver.suspend(None, self.inst)
        self.driver.reboot(None, self.inst, None, 'HARD')
        self.assertEqual(power_state.RUNNING, self.state())

    def test_resume_state_on_host_boot(self):
        self.driver.power_off(self.inst)
        self.driver.resume_state_on_host_boot(None, self.inst, None)
        self.assertEqual(power_state.RUNNING, self.state())

    def test_operations_on_a_missing_guest(self):
        other = self.instance()
        for call in (lambda: self.driver.power_off(other),
                     lambda: self.driver.power_on(None, other, None),
                     lambda: self.driver.reboot(None, other, None, 'HARD'),
                     lambda: self.driver.pause(other),
                     lambda: self.driver.suspend(None, other),
                     lambda: self.driver.get_console_output(None, other)):
            self.assertRaises(exception.InstanceNotFound, call)

    def test_libvirt_errors_become_driver_errors(self):
        dom = mock.Mock()
        dom.state.return_value = (driver.VIR_DOMAIN_RUNNING, 0)
        dom.suspend.side_effect = host.libvirt.libvirtError('broken')
        with mock.patch.object(self.driver, '_lookup', return_value=dom):
            error = self.assertRaises(exception.VirtDriverError,
                                      self.driver.pause, self.inst)
        self.assertIn('pause', str(error))

    def test_console_output(self):
        path = os.path.join(self.driver.instance_dir(self.inst),
                            'console.log')
        self.assertEqual('', self.driver.get_console_output(None, self.inst))
        with open(path, 'wb') as f:
            f.write(b'x' * driver.MAX_CONSOLE_BYTES + b'booted\xff\n')
        output = self.driver.get_console_output(None, self.inst)
        self.assertEqual(driver.MAX_CONSOLE_BYTES, len(output.encode(
            'utf-8', errors='surrogateescape')) - 2)
        self.assertTrue(output.endswith('booted\ufffd\n'))


    def test_vnc_graphics_follow_the_vnc_options(self):
        graphics = self.domain_xml(self.inst).find('devices/graphics')
        self.assertEqual(('vnc', '127.0.0.1'),
                         (graphics.get('type'), graphics.get('listen')))
        self.config.config(group='vnc', server_listen='0.0.0.0')
        graphics = self.domain_xml(self.spawn()).find('devices/graphics')
        self.assertEqual('0.0.0.0', graphics.get('listen'))
        self.config.config(group='vnc', enabled=False)
        self.assertIsNone(self.domain_xml(self.spawn()).find(
            'devices/graphics'))

    def test_get_vnc_console(self):
        self.config.config(group='vnc',
                           server_proxyclient_address='192.0.2.7')
        xml = self.conn.lookupByUUIDString(self.inst['uuid']).XMLDesc(0)
        dom = mock.Mock()
        # What libvirtd reports for a running guest: the port it chose.
        self.assertIn("port='-1'", xml)
        dom.XMLDesc.return_value = xml.replace("port='-1'", "port='5907'")
        with mock.patch.object(self.driver, '_lookup', return_value=dom):
            console = self.driver.get_vnc_console(None, self.inst)
        self.assertEqual(('192.0.2.7', 5907), (console.host, console.port))

    def test_get_vnc_console_without_a_port_is_unavailable(self):
        # The test driver runs nothing, so its guests have no VNC port.
        error = self.assertRaises(exception.ConsoleTypeUnavailable,
                                  self.driver.get_vnc_console, None,
                                  self.inst)
        self.assertEqual('Unavailable console type vnc.', str(error))
        self.assertRaises(exception.InstanceNotFound,
                          self.driver.get_vnc_console, None, self.instance())

    def test_console_log_is_trimmed_when_the_guest_starts(self):
        path = os.path.join(self.driver.instance_dir(self.inst),
                            'console.log')
        with open(path, 'wb') as f:
            f.write(b'old\n' * driver.MAX_CONSOLE_LOG + b'last line\n')
        self.driver.reboot(None, self.inst, None, 'HARD')
        self.assertEqual(driver.MAX_CONSOLE_BYTES, os.path.getsize(path))
        self.assertTrue(self.driver.get_console_output(
            None, self.inst).endswith('old\nlast line\n'))


class TestSnapshot(base.LibvirtTestCase):

    def snapshot(self, inst):
        calls = []
        self.driver.snapshot(None, inst, 'snap-1',
                             lambda **kw: calls.append(kw))
        return calls

    def test_snapshot_of_a_running_guest(self):
        inst = self.spawn()
        dom = self.conn.lookupByUUIDString(inst['uuid'])
        with mock.patch.object(images, 'convert',
                               wraps=images.convert) as convert:
            calls = self.snapshot(inst)
        # Paused for the copy (the guest's lock is shared), running again.
        convert.assert_called_once_with(
            os.path.join(self.driver.instance_dir(inst), 'disk'), mock.ANY,
            'qcow2', force_share=True)
        self.assertEqual(power_state.RUNNING,
                         self.driver.get_info(inst).state)
        self.assertTrue(dom.isActive())
        self.assertEqual(
            [{'task_state': task_states.IMAGE_PENDING_UPLOAD},
             {'task_state': task_states.IMAGE_UPLOADING,
              'expected_state': task_states.IMAGE_PENDING_UPLOAD}], calls)
        [(image_id, meta, data)] = self.images.updates
        self.assertEqual('snap-1', image_id)
        self.assertEqual('qcow2', meta['disk_format'])
        self.assertEqual('bare', meta['container_format'])
        self.assertEqual({'kernel_id': 'kernel', 'ramdisk_id': 'ramdisk',
                          'os_command_line': 'console=ttyS0 quiet',
                          'base_image_ref': 'machine',
                          'image_type': 'snapshot',
                          'instance_uuid': inst['uuid']},
                         meta['properties'])
        # A standalone qcow2 image with the guest's data.
        copy = os.path.join(self.tmp, 'copy')
        with open(copy, 'wb') as f:
            f.write(data)
        info = images.info(copy)
        self.assertEqual('qcow2', info['format'])
        self.assertNotIn('backing-filename', info)
        self.assertEqual(GiB, info['virtual-size'])
        raw = os.path.join(self.tmp, 'raw')
        images.convert(copy, raw, 'raw')
        with open(raw, 'rb') as f:
            self.assertEqual(b'root disk', f.read(9))
        # Nothing left in the snapshots directory.
        self.assertEqual([], os.listdir(
            self.driver.snapshots_directory))

    def test_snapshot_of_a_stopped_or_paused_guest(self):
        inst = self.spawn()
        self.driver.power_off(inst)
        self.snapshot(inst)
        self.assertEqual(power_state.SHUTDOWN,
                         self.driver.get_info(inst).state)
        self.driver.power_on(None, inst, None)
        self.driver.pause(inst)
        self.snapshot(inst)
        self.assertEqual(power_state.PAUSED,
                         self.driver.get_info(inst).state)
        self.assertEqual(2, len(self.images.updates))

    def test_failed_upload_resumes_and_cleans_up(self):
        inst = self.spawn()
        with mock.patch.object(self.images, 'update',
                               side_effect=exception.ImageNotFound(
                                   image_id='snap-1')):
            self.assertRaises(exception.ImageNotFound, self.snapshot, inst)
        self.assertEqual(power_state.RUNNING,
                         self.driver.get_info(inst).state)
        self.assertEqual([], os.listdir(
            self.driver.snapshots_directory))


class TestImageCache(base.LibvirtTestCase):

    def test_unused_images_are_removed(self):
        kept, dropped = self.spawn(), self.spawn(
            self.instance(image='disk-only'))
        self.driver.destroy(None, dropped, None)
        # Not old enough yet.
        self.driver.manage_image_cache(None, [])
        self.assertTrue(os.path.exists(self.driver.cache.entry('disk-only')))
        self.config.config(group='image_cache',
                           remove_unused_original_minimum_age_seconds=0)
        with mock.patch.object(images.time, 'time',
                               return_value=images.time.time() + 1):
            self.driver.manage_image_cache(None, [])
        # The local image service's files are linked, not copied: only an
        # image no guest and no image service file links is unused.
        os.unlink(self.images.images['disk-only']['path'])
        os.unlink(self.images.images['machine']['path'])
        with mock.patch.object(images.time, 'time',
                               return_value=images.time.time() + 1):
            self.driver.manage_image_cache(None, [])
        self.assertFalse(os.path.exists(
            self.driver.cache.entry('disk-only')))
        self.assertTrue(os.path.exists(self.driver.cache.entry('machine')))
        self.driver.reboot(None, kept, None, 'HARD')

    def test_never_remove(self):
        self.config.config(group='image_cache',
                           remove_unused_original_minimum_age_seconds=-1)
        self.spawn()
        with mock.patch.object(images.ImageCache, 'remove_unused') as rm:
            self.driver.manage_image_cache(None, [])
        rm.assert_not_called()


class FakeDomain:
    """Enough of a virDomain for hot plug, which the test driver lacks.

    A live detach takes ``unplug_polls`` looks at the live XML to finish,
    as a real guest takes a moment to release a device.
    """

    def __init__(self, xml, active=True, unplug_polls=2):
        self.config = config.parse(xml)
        self.live = config.parse(xml)
        self.active = active
        self.unplug_polls = unplug_polls
        self.pending = []
        self.calls = []

    def isActive(self):  # noqa: N802 (libvirt's name)
        return self.active

    def XMLDesc(self, flags=0):  # noqa: N802
        libvirt = host.libvirt
        if flags & libvirt.VIR_DOMAIN_XML_INACTIVE or not self.active:
            return config.to_xml(self.config)
        if self.pending:
            self.unplug_polls -= 1
            if self.unplug_polls <= 0:
                for xml in self.pending:
                    self._remove(self.live, xml)
                self.pending = []
        return config.to_xml(self.live)

    @staticmethod
    def _key(element):
        return (element.tag, element.find('target').get('dev')
                if element.tag == 'disk' else element.find('mac').get(
                    'address'))

    @classmethod
    def _remove(cls, domain, xml):
        element = config.parse(xml)
        devices = domain.find('devices')
        for child in list(devices):
            if child.tag == element.tag and \
                    cls._key(child) == cls._key(element):
                devices.remove(child)
                return
        raise AssertionError(f'no such device: {xml}')

    def attachDeviceFlags(self, xml, flags):  # noqa: N802
        libvirt = host.libvirt
        self.calls.append(('attach', flags))
        if flags & libvirt.VIR_DOMAIN_AFFECT_CONFIG:
            self.config.find('devices').append(config.parse(xml))
        if flags & libvirt.VIR_DOMAIN_AFFECT_LIVE:
            self.live.find('devices').append(config.parse(xml))

    def detachDeviceFlags(self, xml, flags):  # noqa: N802
        libvirt = host.libvirt
        self.calls.append(('detach', flags))
        if flags & libvirt.VIR_DOMAIN_AFFECT_CONFIG:
            self._remove(self.config, xml)
        if flags & libvirt.VIR_DOMAIN_AFFECT_LIVE:
            self.pending.append(xml)


class TestHotPlug(base.LibvirtTestCase):

    def setUp(self):
        super().setUp()
        self.inst = self.spawn()
        dom = self.conn.lookupByUUIDString(self.inst['uuid'])
        self.dom = FakeDomain(dom.XMLDesc(0))
        self.useFixture(base.fixtures.MockPatchObject(
            self.driver._host, 'lookup', return_value=self.dom))
        self.useFixture(base.fixtures.MockPatchObject(
            self.driver._host, 'find', return_value=self.dom))
        self.useFixture(base.fixtures.MockPatch(
            'nova.virt.libvirt.driver.POLL_INTERVAL', 0))
        self.volume = os.path.join(self.tmp, 'volume-1')
        with open(self.volume, 'wb') as f:
            f.truncate(GiB)
        self.connection_info = {
            'driver_volume_type': 'local', 'serial': 'vol-1',
            'data': {'device_path': self.volume, 'volume_id': 'vol-1',
                     'access_mode': 'rw'}}
        self.libvirt = host.libvirt

    def disk(self, domain, target='vdb'):
        return config.find_disk(domain, target)

    def test_attach_and_detach_a_volume_live(self):
        self.driver.attach_volume(None, self.connection_info, self.inst,
                                  '/dev/vdb')
        both = (self.libvirt.VIR_DOMAIN_AFFECT_CONFIG |
                self.libvirt.VIR_DOMAIN_AFFECT_LIVE)
        self.assertEqual([('attach', both)], self.dom.calls)
        for domain in (self.dom.config, self.dom.live):
            disk = self.disk(domain)
            self.assertEqual(self.volume, disk.find('source').get('file'))
            self.assertEqual('vol-1', disk.findtext('serial'))
        # Attaching it again is a no-op.
        self.driver.attach_volume(None, self.connection_info, self.inst,
                                  '/dev/vdb')
        self.assertEqual(1, len(self.dom.calls))

        self.driver.detach_volume(None, self.connection_info, self.inst,
                                  '/dev/vdb')
        self.assertIsNone(self.disk(self.dom.config))
        self.assertIsNone(self.disk(self.dom.live))
        # Detaching what is not there is a no-op.
        calls = len(self.dom.calls)
        self.driver.detach_volume(None, self.connection_info, self.inst,
                                  '/dev/vdb')
        self.assertEqual(calls, len(self.dom.calls))

    def test_attach_to_a_stopped_guest_changes_its_definition(self):
        self.dom.active = False
        self.driver.attach_volume(None, self.connection_info, self.inst,
                                  None)
        self.assertEqual([('attach',
                           self.libvirt.VIR_DOMAIN_AFFECT_CONFIG)],
                         self.dom.calls)
        # No mountpoint: the next free name.
        self.assertIsNotNone(self.disk(self.dom.config, 'vdb'))
        self.driver.detach_volume(None, self.connection_info, self.inst,
                                  '/dev/vdb')
        self.assertIsNone(self.disk(self.dom.config))

    def test_attach_over_another_disk_fails(self):
        self.assertRaises(exception.VirtDriverError,
                          self.driver.attach_volume, None,
                          self.connection_info, self.inst, '/dev/vda')

    def test_unsupported_volume_type(self):
        error = self.assertRaises(
            exception.VirtDriverError, self.driver.attach_volume, None,
            {'driver_volume_type': 'iscsi', 'data': {}}, self.inst,
            '/dev/vdb')
        self.assertIn('iscsi', str(error))

    def test_encrypted_volumes_are_refused(self):
        self.assertRaises(exception.VirtDriverError,
                          self.driver.attach_volume, None,
                          self.connection_info, self.inst, '/dev/vdb',
                          encryption={'provider': 'luks'})

    def test_detach_times_out_when_the_guest_keeps_the_device(self):
        self.config.config(group='libvirt', device_detach_timeout=1)
        self.driver.attach_volume(None, self.connection_info, self.inst,
                                  '/dev/vdb')
        self.dom.unplug_polls = 10 ** 9
        with mock.patch.object(driver.time, 'monotonic',
                               side_effect=range(0, 10 ** 6, 2)):
            error = self.assertRaises(
                exception.VirtDriverError, self.driver.detach_volume, None,
                self.connection_info, self.inst, '/dev/vdb')
        self.assertIn('device_detach_timeout', str(error))

    def test_attach_and_detach_an_interface(self):
        self.config.config(group='libvirt', vif_type='user')
        vif = {'id': 'port-2', 'address': '52:54:00:00:00:02',
               'network': {}}
        self.driver.attach_interface(None, self.inst, None, vif)
        self.driver.attach_interface(None, self.inst, None, vif)
        self.assertEqual(1, len(self.dom.calls))
        element = config.find_interface(self.dom.live, vif['address'])
        self.assertEqual('user', element.get('type'))
        self.driver.detach_interface(None, self.inst, vif)
        self.assertIsNone(config.find_interface(self.dom.live,
                                                vif['address']))
        self.assertIsNone(config.find_interface(self.dom.config,
                                                vif['address']))
        self.driver.detach_interface(None, self.inst, vif)

    def test_detach_from_a_missing_guest_is_a_no_op(self):
        with mock.patch.object(self.driver._host, 'find', return_value=None):
            self.driver.detach_volume(None, self.connection_info,
                                      self.inst, '/dev/vdb')
            self.driver.detach_interface(None, self.inst,
                                         {'id': 'x', 'address': 'x'})


class TestInterfaceTypes(base.LibvirtTestCase):

    vif = {'id': 'port-1', 'address': '52:54:00:00:00:01',
           'devname': 'tapport-1',
           'network': {'bridge': 'br100', 'meta': {'mtu': 1450}}}

    def interface(self, vif_type, bridge_exists=False):
        self.config.config(group='libvirt', vif_type=vif_type)
        with mock.patch.object(driver.os.path, 'isdir',
                               return_value=bridge_exists):
            return self.driver._interface(self.vif, {
                'properties': {'hw_vif_model': 'e1000'}})

    def test_auto_uses_an_existing_bridge(self):
        vif = self.interface('auto', bridge_exists=True)
        self.assertEqual(('bridge', 'br100', 'tapport-1', 'e1000', 1450),
                         (vif.type, vif.bridge, vif.target, vif.model,
                          vif.mtu))

    def test_auto_without_the_bridge_uses_a_tap_or_user_networking(self):
        with mock.patch.object(driver.os.path, 'exists', return_value=True):
            self.assertEqual('ethernet', self.interface('auto').type)
        with mock.patch.object(driver.os.path, 'exists',
                               return_value=False):
            self.assertEqual('user', self.interface('auto').type)

    def test_bridge_needs_a_bridge_name(self):
        self.config.config(group='libvirt', vif_type='bridge')
        self.assertRaises(exception.VirtDriverError, self.driver._interface,
                          {'id': 'p', 'address': 'm', 'network': {}}, None)


class TestNativeThreads(test.TestCase):
    """Under eventlet, libvirt calls go to native threads."""

    def test_calls_are_proxied_when_green(self):
        base.require_libvirt(self)
        conn = host.libvirt.open('test:///default')
        self.addCleanup(conn.close)
        with mock.patch.object(host.concurrency, 'is_green',
                               return_value=True), \
                mock.patch.object(host.concurrency, 'run_in_native_thread',
                                  side_effect=lambda f, *a, **k: f(*a, **k)
                                  ) as native:
            proxy = host._wrap(conn)
            domains = proxy.listAllDomains(0)
            self.assertIsInstance(domains[0], host._Native)
            domains[0].name()
        self.assertEqual(2, native.call_count)

    def test_plain_objects_when_not_green(self):
        base.require_libvirt(self)
        conn = host.libvirt.open('test:///default')
        self.addCleanup(conn.close)
        with mock.patch.object(host.concurrency, 'is_green',
                               return_value=False):
            self.assertIs(conn, host._wrap(conn))

    def test_reconnects_after_the_connection_broke(self):
        base.require_libvirt(self)
        connection = host.Host('test:///default')
        first = connection.get_connection()
        first.close()
        second = connection.get_connection()
        self.assertIsNot(first, second)
        self.assertTrue(second.isAlive())
        connection.close()

    def test_unreachable_libvirt_is_a_clear_error(self):
        base.require_libvirt(self)
        connection = host.Host('qemu+unix:///system?socket=/nonexistent')
        error = self.assertRaises(exception.VirtDriverError,
                                  connection.get_connection)
        self.assertIn('libvirtd running', str(error))


class TestTriggerCrashDump(base.LibvirtTestCase):
    """An NMI through virDomain.injectNMI, and libvirt's refusals as
    upstream's errors."""

    def setUp(self):
        super().setUp()
        self.inst = self.spawn()
        self.dom = mock.Mock()
        self.useFixture(base.fixtures.MockPatchObject(
            self.driver._host, 'lookup', return_value=self.dom))

    def refuse(self, code):
        libvirt = host.libvirt
        error = libvirt.libvirtError('refused')
        error.get_error_code = mock.Mock(return_value=code)
        self.dom.injectNMI.side_effect = error

    def test_injects_an_nmi(self):
        self.driver.trigger_crash_dump(self.inst)
        self.dom.injectNMI.assert_called_once_with(0)

    def test_hypervisor_without_nmi_is_not_supported(self):
        self.refuse(host.libvirt.VIR_ERR_NO_SUPPORT)
        self.assertRaises(exception.TriggerCrashDumpNotSupported,
                          self.driver.trigger_crash_dump, self.inst)

    def test_guest_not_running(self):
        self.refuse(host.libvirt.VIR_ERR_OPERATION_INVALID)
        self.assertRaises(exception.InstanceNotRunning,
                          self.driver.trigger_crash_dump, self.inst)

    def test_other_errors_name_the_operation(self):
        self.refuse(host.libvirt.VIR_ERR_INTERNAL_ERROR)
        error = self.assertRaises(exception.VirtDriverError,
                                  self.driver.trigger_crash_dump, self.inst)
        self.assertIn('trigger_crash_dump', str(error))


class TestDiagnostics(base.LibvirtTestCase):
    """Diagnostics from libvirt's statistics of the test hypervisor's
    running guest."""

    def setUp(self):
        super().setUp()
        self.inst = self.spawn()

    def test_standard_format(self):
        data = self.driver.get_instance_diagnostics(self.inst)
        self.assertEqual(('running', 'libvirt', self.driver.virt_type,
                          'linux'),
                         (data['state'], data['driver'],
                          data['hypervisor'], data['hypervisor_os']))
        dom = self.conn.lookupByUUIDString(self.inst['uuid'])
        self.assertEqual(dom.info()[3], len(data['cpu_details']))
        self.assertEqual(dom.info()[1] // 1024,
                         data['memory_details']['maximum'])
        self.assertEqual(
            len(self.driver._xml(dom).find('devices').findall('disk')),
            len(data['disk_details']))
        self.assertEqual(['errors_count', 'read_bytes', 'read_requests',
                          'write_bytes', 'write_requests'],
                         sorted(data['disk_details'][0]))

    def test_driver_keys(self):
        data = self.driver.get_diagnostics(self.inst)
        self.assertIn('cpu0_time', data)
        self.assertIn('vda_read', data)
        self.assertIn('memory', data)

    def test_stopped_guest_has_no_counters(self):
        self.driver.power_off(self.inst)
        data = self.driver.get_instance_diagnostics(self.inst)
        self.assertEqual('shutdown', data['state'])
        self.assertEqual([], data['cpu_details'])
