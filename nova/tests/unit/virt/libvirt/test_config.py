"""Domain XML generation (needs no libvirt)."""


from nova import test
from nova.virt.libvirt import config

UUID = '11111111-2222-3333-4444-555555555555'


def guest(**values):
    values.setdefault('uuid', UUID)
    values.setdefault('name', f'instance-{UUID}')
    values.setdefault('memory_mb', 128)
    values.setdefault('vcpus', 2)
    return config.GuestConfig(**values)


class TestDomainXML(test.TestCase):

    def test_identity_sizes_and_type(self):
        domain = config.parse(config.domain_xml(guest(virt_type='kvm')))
        self.assertEqual('kvm', domain.get('type'))
        self.assertEqual(f'instance-{UUID}', domain.findtext('name'))
        self.assertEqual(UUID, domain.findtext('uuid'))
        self.assertEqual('131072', domain.findtext('memory'))
        self.assertEqual('KiB', domain.find('memory').get('unit'))
        self.assertEqual('2', domain.findtext('vcpu'))
        self.assertEqual('pc', domain.find('os/type').get('machine'))
        # The guest sees itself as an OpenStack instance, as upstream's.
        entries = {e.get('name'): e.text for e in
                   domain.findall('sysinfo/system/entry')}
        self.assertEqual('OpenStack Nova', entries['product'])
        self.assertEqual(UUID, entries['serial'])
        # ACPI: what soft reboot and clean shutdown need.
        self.assertIsNotNone(domain.find('features/acpi'))
        self.assertIsNone(domain.find('cpu'))

    def test_cpu_mode(self):
        domain = config.parse(config.domain_xml(
            guest(cpu_mode='host-model')))
        self.assertEqual('host-model', domain.find('cpu').get('mode'))

    def test_direct_kernel_boot(self):
        domain = config.parse(config.domain_xml(guest(
            kernel='/i/kernel', ramdisk='/i/ramdisk',
            cmdline='console=ttyS0')))
        self.assertEqual('/i/kernel', domain.findtext('os/kernel'))
        self.assertEqual('/i/ramdisk', domain.findtext('os/initrd'))
        self.assertEqual('console=ttyS0', domain.findtext('os/cmdline'))
        self.assertEqual('console=ttyS0', config.cmdline(domain))
        self.assertIsNone(domain.find('os/boot'))

    def test_disk_boot(self):
        domain = config.parse(config.domain_xml(guest(
            disks=[config.Disk('/i/disk', 'vda')])))
        self.assertIsNone(domain.find('os/kernel'))
        self.assertEqual('hd', domain.find('os/boot').get('dev'))
        self.assertIsNone(config.cmdline(domain))

    def test_disks(self):
        domain = config.parse(config.domain_xml(guest(disks=[
            config.Disk('/i/disk', 'vda'),
            config.Disk('/dev/sdx', 'vdb', format='raw',
                        source_type='block', serial='vol-1',
                        readonly=True),
        ])))
        root, volume = domain.findall('devices/disk')
        self.assertEqual('file', root.get('type'))
        self.assertEqual('qcow2', root.find('driver').get('type'))
        self.assertEqual('/i/disk', root.find('source').get('file'))
        self.assertEqual({'dev': 'vda', 'bus': 'virtio'},
                         root.find('target').attrib)
        self.assertIsNone(root.find('serial'))
        self.assertEqual('block', volume.get('type'))
        self.assertEqual('/dev/sdx', volume.find('source').get('dev'))
        self.assertEqual('vol-1', volume.findtext('serial'))
        self.assertIsNotNone(volume.find('readonly'))
        self.assertEqual(['vda', 'vdb'], config.disk_targets(domain))
        self.assertEqual(['/i/disk', '/dev/sdx'], config.disk_paths(domain))
        self.assertIs(volume, config.find_disk(domain, 'vdb'))
        self.assertIsNone(config.find_disk(domain, 'vdc'))

    def test_interfaces(self):
        domain = config.parse(config.domain_xml(guest(interfaces=[
            config.Interface('52:54:00:00:00:01', target='tap1', mtu=1400),
            config.Interface('52:54:00:00:00:02', type='bridge',
                             bridge='br100', target='tap2'),
            config.Interface('52:54:00:00:00:03', type='user',
                             target='tap3', model='e1000'),
        ])))
        ethernet, bridge, user = domain.findall('devices/interface')
        self.assertEqual('ethernet', ethernet.get('type'))
        self.assertEqual('tap1', ethernet.find('target').get('dev'))
        self.assertEqual('virtio', ethernet.find('model').get('type'))
        self.assertEqual('1400', ethernet.find('mtu').get('size'))
        self.assertEqual('br100', bridge.find('source').get('bridge'))
        self.assertEqual('tap2', bridge.find('target').get('dev'))
        # User networking has no host device to name.
        self.assertIsNone(user.find('target'))
        self.assertEqual('e1000', user.find('model').get('type'))
        self.assertIs(bridge, config.find_interface(domain,
                                                    '52:54:00:00:00:02'))
        self.assertIs(user, config.find_interface(domain,
                                                  '52:54:00:00:00:03'))
        self.assertIsNone(config.find_interface(domain, '52:54:00:00:00:09'))

    def test_console_log(self):
        domain = config.parse(config.domain_xml(
            guest(console_log='/i/console.log')))
        serial = domain.find('devices/serial')
        self.assertEqual('file', serial.get('type'))
        # Appended to, so the console survives reboots.
        self.assertEqual({'path': '/i/console.log', 'append': 'on'},
                         serial.find('source').attrib)

    def test_console_without_log_is_a_pty(self):
        domain = config.parse(config.domain_xml(guest()))
        self.assertEqual('pty', domain.find('devices/serial').get('type'))

    def test_vnc_graphics(self):
        domain = config.parse(config.domain_xml(
            guest(vnc_listen='192.0.2.5')))
        graphics = domain.find('devices/graphics')
        self.assertEqual({'type': 'vnc', 'autoport': 'yes',
                          'listen': '192.0.2.5'}, graphics.attrib)
        self.assertEqual({'type': 'address', 'address': '192.0.2.5'},
                         graphics.find('listen').attrib)
        # Defined, not started: libvirt has given it no port yet.
        self.assertIsNone(config.vnc_port(domain))
        graphics.set('port', '-1')
        self.assertIsNone(config.vnc_port(domain))
        graphics.set('port', '5903')
        self.assertEqual(5903, config.vnc_port(domain))

    def test_no_vnc_without_a_listen_address(self):
        domain = config.parse(config.domain_xml(guest()))
        self.assertIsNone(domain.find('devices/graphics'))
        self.assertIsNone(config.vnc_port(domain))

    def test_metadata_round_trip(self):
        xml = config.domain_xml(guest(metadata={
            'display_name': 'web-1',
            'flavor': {'name': 'm1.tiny', 'memory_mb': 128, 'vcpus': 2,
                       'root_gb': 1, 'ephemeral_gb': 0, 'swap': 0},
            'owner': {'user_id': 'u1', 'project_id': 'p1'},
            'image_id': 'img', 'kernel_id': 'aki', 'ramdisk_id': 'ari'}))
        self.assertIn(config.NOVA_NS, xml)
        domain = config.parse(xml)
        self.assertEqual({'image_id': 'img', 'kernel_id': 'aki',
                          'ramdisk_id': 'ari'}, config.nova_metadata(domain))
        ns = {'nova': config.NOVA_NS}
        instance = domain.find('metadata/nova:instance', ns)
        self.assertEqual('web-1', instance.findtext('nova:name', None, ns))
        self.assertEqual('m1.tiny', instance.find('nova:flavor', ns).get(
            'name'))
        self.assertEqual('128', instance.findtext('nova:flavor/nova:memory',
                                                  None, ns))
        self.assertEqual('p1', instance.find('nova:owner/nova:project',
                                             ns).get('uuid'))

    def test_no_metadata(self):
        self.assertEqual({}, config.nova_metadata(config.parse(
            '<domain><name>x</name></domain>')))

    def test_device_xml_for_hot_plug(self):
        disk = config.parse(config.disk_xml(config.Disk(
            '/v/volume-1', 'vdc', format='raw', serial='1')))
        self.assertEqual('disk', disk.tag)
        self.assertEqual('vdc', disk.find('target').get('dev'))
        vif = config.parse(config.interface_xml(
            config.Interface('52:54:00:00:00:01', target='tap1')))
        self.assertEqual('interface', vif.tag)
