"""[libvirt]: the libvirt virt driver (nova.virt.libvirt.LibvirtDriver)."""

from oslo_config import cfg

GROUP = 'libvirt'


def _group() -> cfg.OptGroup:
    # A new OptGroup per registration (see nova.conf.fake_driver).
    return cfg.OptGroup(
        GROUP,
        title='Libvirt driver options',
        help='Options of the libvirt virt driver ([DEFAULT] compute_driver '
             '= libvirt.LibvirtDriver), which runs guests with QEMU (with '
             'or without KVM) through libvirtd. tools/install-libvirt.sh '
             'installs and starts libvirtd and the Python binding.')


libvirt_opts = [
    cfg.StrOpt(
        'virt_type',
        default='kvm',
        choices=[('kvm', 'QEMU with hardware acceleration (/dev/kvm)'),
                 ('qemu', 'QEMU alone (TCG: emulation, no /dev/kvm '
                          'needed, several times slower)')],
        help='The libvirt domain type guests are created with. Use "qemu" '
             'where KVM is missing or does not work (e.g. nested '
             'virtualisation without it).'),
    cfg.StrOpt(
        'connection_uri',
        default='',
        help='The libvirt URI to connect to. Empty: the default for '
             'virt_type, "qemu:///system". "test:///default" (libvirt\'s '
             'test driver, no daemon) is useful for tests only: it runs '
             'nothing.'),
    cfg.StrOpt(
        'hw_machine_type',
        default='pc',
        help='QEMU machine type of new guests (image property '
             'hw_machine_type overrides it). "pc" hot-plugs disks and NICs '
             'without extra controllers; "q35" needs PCIe root ports for '
             'that.'),
    cfg.StrOpt(
        'cpu_mode',
        choices=[('host-model', 'a CPU model like the host\'s (KVM)'),
                 ('host-passthrough', 'the host CPU as it is (KVM)'),
                 ('none', 'the hypervisor\'s default CPU')],
        help='Guest CPU model. Unset: "host-model" with virt_type kvm, '
             '"none" with qemu.'),
    cfg.StrOpt(
        'vif_type',
        default='auto',
        choices=[('auto', 'the VIF\'s network bridge if it exists on '
                          'this host, else "ethernet"'),
                 ('bridge', 'a tap device in the VIF\'s network bridge, '
                            'which must exist'),
                 ('ethernet', 'a tap device named after the VIF '
                              '(devname), connected to nothing; the '
                              'network service plugs it'),
                 ('user', 'QEMU user-mode networking (no host set-up, '
                          'outbound only)')],
        help='How a guest\'s network interfaces are connected on the '
             'host.'),
    cfg.IntOpt(
        'wait_soft_reboot_seconds',
        default=120,
        min=0,
        help='Seconds a soft reboot waits for the guest to shut down after '
             'the ACPI power button before it falls back to a hard reboot. '
             'The guest needs an ACPI handler for a soft reboot.'),
    cfg.IntOpt(
        'device_detach_timeout',
        default=20,
        min=1,
        help='Seconds to wait for a guest to release a disk or interface '
             'being detached from it while it runs (a hot unplug needs the '
             'guest\'s cooperation) before the detach fails.'),
    cfg.StrOpt(
        'remote_filesystem_transport',
        default='ssh',
        choices=[('ssh', 'scp to the destination over ssh (upstream\'s '
                         'default)'),
                 ('rsync', 'rsync to the destination over ssh'),
                 ('shared', 'a copy into [libvirt] migration_shared_path, '
                            'a directory every compute host sees at that '
                            'path, from where the destination moves the '
                            'files into its own instances_path')],
        help='How a resize or cold migration moves a guest\'s files (root, '
             'ephemeral disks, kernel, ramdisk) to the destination host. '
             'With "ssh" and "rsync", as upstream, the files go straight '
             'into the destination\'s instance directory, which must be at '
             'the same [DEFAULT] instances_path on every host, and root on '
             'each host must be able to log in to the others without a '
             'password; a destination that is this host is copied to '
             'locally. "shared" needs neither: it is for compute hosts that '
             'share one machine (each with its own instances_path) or that '
             'mount one shared filesystem, as a multi-host deployment with '
             'shared storage would.'),
    cfg.StrOpt(
        'migration_shared_path',
        help='With remote_filesystem_transport = shared: the directory, '
             'the same on all compute hosts (one machine, or a shared '
             'filesystem mounted at this path everywhere), through which a '
             'resize or cold migration passes a guest\'s files to the '
             'destination (one sub-directory per instance, removed by the '
             'destination once it took the files). On the filesystem of '
             'instances_path, the destination takes them without copying '
             'again. Created if missing.'),
    cfg.StrOpt(
        'live_migration_inbound_uri',
        help='The libvirt URI by which the libvirtd of a live migration\'s '
             'source reaches this host\'s libvirtd (peer to peer) when '
             'this host is the destination; this host reports it to the '
             'source. Unset: qemu+tcp://<live_migration_inbound_addr, or '
             'the destination\'s address>/system (libvirtd listening on '
             'TCP). Compute hosts sharing one machine give their own '
             'libvirtd\'s socket, qemu+unix:///system?socket=<path>, '
             'which libvirt accepts as another host.'),
    cfg.StrOpt(
        'live_migration_inbound_addr',
        help='The address the memory (and, in a block migration, the '
             'disks) of a guest live migrating to this host is sent to. '
             'Unset: libvirt\'s choice, the destination\'s host name. '
             '(Upstream\'s option.)'),
    cfg.IntOpt(
        'live_migration_bandwidth',
        default=0,
        min=0,
        help='Most memory (and disk) a live migration sends per second, '
             'in MiB; 0: as fast as the network allows. (Upstream\'s '
             'option.)'),
    cfg.BoolOpt(
        'live_migration_permit_post_copy',
        default=False,
        help='Let a live migration switch to post-copy when it is forced '
             'to complete (`openstack server migration force complete`): '
             'the guest runs on the destination at once and pulls the '
             'memory not copied yet, at the risk of losing the guest if '
             'the network fails meanwhile. Off: forcing completion pauses '
             'the guest on the source until its last pages are copied. '
             'Needs QEMU and libvirt with post-copy support. (Upstream\'s '
             'option.)'),
    cfg.StrOpt(
        'snapshots_directory',
        help='Where snapshots are written before they are uploaded to the '
             'image service. Unset: "snapshots" in [DEFAULT] '
             'instances_path.'),
]


#: Upstream nova's [DEFAULT] option (it was [libvirt] instances_path here).
instances_path_opt = cfg.StrOpt(
    'instances_path',
    default='$state_path/instances',
    deprecated_group=GROUP,
    help='Where the virt driver keeps instances\' files. The libvirt '
         'driver makes one directory per guest (named by instance UUID) '
         'with its root disk (a qcow2 overlay), ephemeral and swap disks, '
         'kernel and ramdisk, and console log; and "_base", the cache of '
         'the images guests were booted from, which overlays refer to. '
         'Created if missing.')

IMAGE_CACHE_GROUP = 'image_cache'


def _image_cache_group() -> cfg.OptGroup:
    return cfg.OptGroup(
        IMAGE_CACHE_GROUP, title='Image cache options',
        help='The cache of images guests were booted from, on each compute '
             'host (libvirt driver: "_base" in [DEFAULT] instances_path).')


image_cache_opts = [
    cfg.IntOpt(
        'remove_unused_original_minimum_age_seconds',
        default=86400,
        min=-1,
        deprecated_name='remove_unused_base_images_age',
        deprecated_group=GROUP,
        help='Seconds an image in the cache no guest uses is kept before '
             'the periodic image cache manager removes it. -1: never '
             'remove. (Upstream nova\'s option; it was [libvirt] '
             'remove_unused_base_images_age here.)'),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    group = _group()
    conf.register_group(group)
    conf.register_opts(libvirt_opts, group=group)
    conf.register_opt(instances_path_opt)
    cache_group = _image_cache_group()
    conf.register_group(cache_group)
    conf.register_opts(image_cache_opts, group=cache_group)


def list_opts() -> dict:
    return {_group(): libvirt_opts, 'DEFAULT': [instances_path_opt],
            _image_cache_group(): image_cache_opts}
