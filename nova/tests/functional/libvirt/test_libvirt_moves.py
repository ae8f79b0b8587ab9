"""Cold migration and resize of a real guest between two libvirt hosts.

Host A is the system libvirtd (qemu:///system); host B a second libvirtd
this test starts in its own directories (``guest.SecondLibvirtd``), both on
this machine. Each host has a LibvirtDriver with its own instances_path;
the guest's files pass through a shared directory ([libvirt]
remote_filesystem_transport = shared), as between hosts that share one
machine or a filesystem. The drivers are driven directly, in the order
the compute manager calls them on the source and the destination.

The tiny guest (tools/build-tiny-guest.py) boots on A, then:

1. resize to a bigger flavor on B: its console on B shows it booted there,
   with the new RAM; reverted: the manager destroys it on B and A brings
   back the original guest (old flavor), which boots again;
2. migration to B again, confirmed: A has nothing of it left;
3. a resize on B itself (same host), confirmed;

and at the end, once it is deleted, no domain, disk or directory of it is
left on either host, nor in the shared directory. TestLiveMigration live
migrates it (block migration, peer to peer) between two libvirtd the test
starts, there and back.

Needs libvirtd (tools/install-libvirt.sh), root (the second libvirtd runs
in a mount namespace) and apt-get access for the guest's packages the first
time; skipped without them, failed under NOVA_TEST_REQUIRE_SERVICES=1.
Takes about 25 s + 20 s (the first run up to 10 s more: a second libvirtd
probes QEMU once).
"""

from __future__ import annotations

import os
import threading
from typing import Any

import fixtures
from oslo_config import cfg

import nova.conf
from nova import exception, test
from nova.compute import power_state
from nova.tests.functional.libvirt import guest
from nova.virt.libvirt import config, driver, images

#: Upper bounds for waits (TCG boots in ~5 s on an idle host).
BOOT = 120
GiB = 1024 ** 3
UUID = '00000000-0000-4000-8000-00000000beef'
OLD = {'name': 'tiny', 'memory_mb': 128, 'vcpus': 1, 'root_gb': 1,
       'ephemeral_gb': 0, 'swap': 0}
NEW = dict(OLD, name='bigger', memory_mb=160, root_gb=2)
BIGGEST = dict(NEW, name='biggest', memory_mb=192, root_gb=3)


class ImageFiles:
    """The image service of the tiny guest's files."""

    def __init__(self, files: dict[str, str]) -> None:
        self.images: dict[str, dict[str, Any]] = {
            'tiny-kernel': {'id': 'tiny-kernel', 'disk_format': 'aki',
                            'path': files['kernel'], 'properties': {}},
            'tiny-ramdisk': {'id': 'tiny-ramdisk', 'disk_format': 'ari',
                             'path': files['ramdisk'], 'properties': {}},
            'tiny': {'id': 'tiny', 'disk_format': 'ami',
                     'path': files['disk'], 'properties': {
                         'kernel_id': 'tiny-kernel',
                         'ramdisk_id': 'tiny-ramdisk',
                         'os_command_line': files['os_command_line']}}}

    def get(self, context: Any, image_id: str) -> dict[str, Any]:
        return dict(self.images[image_id])

    def get_path(self, context: Any, image_id: str) -> str:
        return self.images[image_id]['path']


def instance_of(flavor: dict[str, Any]) -> dict[str, Any]:
    """The instance as the compute manager passes it: sizes of its
    current flavor.
    """
    sizes = {key: flavor[key] for key in ('memory_mb', 'vcpus', 'root_gb',
                                          'ephemeral_gb', 'swap')}
    return dict(sizes, uuid=UUID, display_name='tiny', flavor=dict(flavor),
                image_ref='tiny', kernel_id='tiny-kernel',
                ramdisk_id='tiny-ramdisk')


class MovesTestCase(test.TestCase):

    def libvirt_hosts(self) -> dict[str, str]:
        """libvirt URIs of hosts A and B."""
        return {'A': guest.URI,
                'B': self.useFixture(guest.SecondLibvirtd(self)).uri}

    def setUp(self) -> None:
        super().setUp()
        guest.require_libvirtd(self)
        files = guest.tiny_guest(self)
        self.images = ImageFiles(files)
        self.hosts = self.libvirt_hosts()
        self.tmp = self.useFixture(fixtures.TempDir()).path
        self.shared = os.path.join(self.tmp, 'shared')
        self.drivers = {name: self.new_driver(name, uri)
                        for name, uri in self.hosts.items()}
        self.addCleanup(self.remove_leftovers)

    def new_driver(self, name: str, uri: str) -> driver.LibvirtDriver:
        conf = cfg.ConfigOpts()
        for module in nova.conf.option_modules():
            module.register_opts(conf)
        conf([], project='nova', default_config_files=[])
        conf.set_override('host', f'host-{name}')
        conf.set_override('instances_path',
                          os.path.join(self.tmp, name, 'instances'))
        for key, value in (('virt_type', 'qemu'), ('connection_uri', uri),
                           ('remote_filesystem_transport', 'shared'),
                           ('migration_shared_path', self.shared),
                           ('live_migration_inbound_uri', uri),
                           ('live_migration_inbound_addr', '127.0.0.1')):
            conf.set_override(key, value, group='libvirt')
        drv = driver.LibvirtDriver(conf=conf)
        drv.image_api = self.images
        drv.init_host(f'host-{name}')
        self.addCleanup(drv.cleanup_host, f'host-{name}')
        return drv

    def remove_leftovers(self) -> None:
        # Only after a failure: the test removes what it makes.
        for drv in self.drivers.values():
            drv.destroy(None, {'uuid': UUID}, None)
            drv.confirm_migration(None, {}, {'uuid': UUID}, None)

    # -- what the compute manager does on each host ---------------------------

    @staticmethod
    def migration(source: str, dest: str) -> dict[str, Any]:
        return {'uuid': f'migration-{source}-{dest}',
                'source_compute': f'host-{source}',
                'dest_compute': f'host-{dest}',
                'source_node': f'host-{source}', 'dest_node': f'host-{dest}',
                'dest_host': '127.0.0.1',
                'migration_type': 'migration' if source != dest
                else 'resize'}

    def move(self, source: str, dest: str, old: dict[str, Any],
             new: dict[str, Any]) -> dict[str, Any]:
        """Resize / migrate: power off and send on the source, finish on
        the destination; the migration.
        """
        migration = dict(self.migration(source, dest), old_flavor=old,
                         new_flavor=new)
        disk_info = self.drivers[source].migrate_disk_and_power_off(
            None, instance_of(old), '127.0.0.1', new, [], timeout=60,
            retry_interval=10)
        self.assertEqual(power_state.SHUTDOWN,
                         self.drivers[source].get_info(
                             instance_of(old)).state)
        self.drivers[dest].finish_migration(
            None, migration, instance_of(new), disk_info, [],
            self.images.get(None, 'tiny'), old != new, None)
        return migration

    def revert(self, migration: dict[str, Any], source: str,
               dest: str) -> None:
        self.drivers[dest].destroy(None, instance_of(
            migration['new_flavor']), [])
        self.drivers[source].finish_revert_migration(
            None, instance_of(migration['old_flavor']), [], migration)

    def confirm(self, migration: dict[str, Any], source: str) -> None:
        self.drivers[source].confirm_migration(
            None, migration, instance_of(migration['old_flavor']), [])

    # -- checks ---------------------------------------------------------------

    def console(self, name: str) -> guest.Console:
        return guest.Console(lambda: self.drivers[name].get_console_output(
            None, {'uuid': UUID}))

    def assert_runs_on(self, name: str, flavor: dict[str, Any],
                       console: guest.Console) -> None:
        drv = self.drivers[name]
        other = self.drivers['B' if name == 'A' else 'A']
        self.assertEqual(power_state.RUNNING,
                         drv.get_info({'uuid': UUID}).state)
        console.wait(guest.INIT_LINE, BOOT)
        console.wait('disks: vda ', BOOT)
        dom = drv._host.lookup(UUID)
        domain = config.parse(dom.XMLDesc(0))
        self.assertEqual(flavor['memory_mb'] * 1024,
                         int(domain.findtext('memory') or 0))
        disk = os.path.join(drv.instance_dir(UUID), 'disk')
        self.assertEqual([disk], config.disk_paths(domain))
        self.assertEqual(flavor['root_gb'] * GiB,
                         images.info(disk, force_share=True)['virtual-size'])
        self.assertFalse(any(dom.isActive() for dom in
                             other._host.domains()))

    def assert_nothing_of_it_on(self, name: str) -> None:
        drv = self.drivers[name]
        self.assertEqual([], drv.list_instance_uuids())
        self.assertEqual([], [dom.name() for dom in drv._host.domains()])
        self.assertEqual([], [entry for entry in os.listdir(
            drv.instances_path) if entry != '_base'])

    def boot_on_a(self) -> guest.Console:
        self.drivers['A'].spawn(None, instance_of(OLD),
                                self.images.get(None, 'tiny'), [], None,
                                None)
        console = self.console('A')
        self.assert_runs_on('A', OLD, console)
        return console


class TestColdMigration(MovesTestCase):

    def test_migrate_revert_confirm_and_resize_on_the_same_host(self):
        # A's console log stays with A (appended to after the revert);
        # a guest that arrives on a host starts a new one there.
        console_a = self.boot_on_a()

        # 1. To B, bigger; reverted.
        migration = self.move('A', 'B', OLD, NEW)
        self.assert_runs_on('B', NEW, self.console('B'))
        self.revert(migration, 'A', 'B')
        self.assert_runs_on('A', OLD, console_a)
        self.assert_nothing_of_it_on('B')
        self.assertEqual([], os.listdir(self.shared))

        # 2. To B again; confirmed.
        migration = self.move('A', 'B', OLD, NEW)
        self.assert_runs_on('B', NEW, self.console('B'))
        self.confirm(migration, 'A')
        self.assert_nothing_of_it_on('A')

        # 3. Bigger again, on B itself; confirmed.
        migration = self.move('B', 'B', NEW, BIGGEST)
        self.assert_runs_on('B', BIGGEST, self.console('B'))
        self.confirm(migration, 'B')
        self.assertEqual(power_state.RUNNING,
                         self.drivers['B'].get_info({'uuid': UUID}).state)
        self.assertEqual([UUID], [entry for entry in os.listdir(
            self.drivers['B'].instances_path) if entry != '_base'])

        self.drivers['B'].destroy(None, instance_of(BIGGEST), [])
        for name in self.hosts:
            self.assert_nothing_of_it_on(name)
        self.assertEqual([], os.listdir(self.shared))


class TestLiveMigration(MovesTestCase):
    """Live migration with the disks (block migration), peer to peer
    between two libvirtd this test starts (the system one cannot be
    reached from the other's mount namespace at its usual socket).
    """

    def libvirt_hosts(self) -> dict[str, str]:
        return {name: self.useFixture(guest.SecondLibvirtd(self)).uri
                for name in ('A', 'B')}

    def live_migrate(self, source: str, dest: str,
                     during: Any = None) -> list[str]:
        """Live migrate the guest; ``during(src)`` is called from another
        thread once the migration job runs.  Returns the callbacks
        live_migration made ('post' or 'recover')."""
        src, dst = self.drivers[source], self.drivers[dest]
        instance = instance_of(OLD)
        check = dst.check_can_live_migrate_destination(
            None, instance, {}, {}, block_migration=True)
        try:
            data = src.check_can_live_migrate_source(None, instance, check)
        finally:
            dst.cleanup_live_migration_destination_check(None, check)
        self.assertFalse(data['is_shared_instance_path'])
        data = dst.pre_live_migration(None, instance, None, [], None, data)
        called = []

        def post(ctx, inst, dest_host, block_migration, migrate_data):
            called.append('post')
            src.post_live_migration(ctx, inst, None, migrate_data)
            dst.post_live_migration_at_destination(ctx, inst, [],
                                                   block_migration)

        def recover(ctx, inst, dest_host, migrate_data):
            called.append('recover')
            dst.rollback_live_migration_at_destination(
                ctx, inst, [], None, migrate_data=migrate_data)

        if during is None:
            src.live_migration(None, instance, '127.0.0.1', post, recover,
                               block_migration=True, migrate_data=data)
            return called
        failed: list[BaseException] = []

        def migrate() -> None:
            try:
                src.live_migration(None, instance, '127.0.0.1', post,
                                   recover, block_migration=True,
                                   migrate_data=data)
            except BaseException as exc:
                failed.append(exc)

        thread = threading.Thread(target=migrate)
        thread.start()
        self.addCleanup(thread.join, BOOT)
        dom = src._host.lookup(UUID)
        guest.wait_for(lambda: dom.jobInfo()[0] != src.libvirt.
                       VIR_DOMAIN_JOB_NONE or not thread.is_alive(), 30,
                       'the migration job to start')
        self.assertTrue(thread.is_alive(), 'the migration ended too soon')
        during(src)
        thread.join(BOOT)
        self.assertFalse(thread.is_alive())
        return called + [type(exc).__name__ for exc in failed]

    def slow_migrations(self) -> None:
        """The lowest bandwidth libvirt takes (1 MiB/s), to catch a live
        migration under way: QEMU sends the guest's untouched (zero)
        pages as flags, so only the few MiB the guest wrote take time -
        at 4 MiB/s a loaded machine's test thread missed that window."""
        for drv in self.drivers.values():
            drv.conf.set_override('live_migration_bandwidth', 1,
                                  group='libvirt')

    def test_live_migrate_there_and_back(self):
        self.boot_on_a()
        disk_a = os.path.join(self.drivers['A'].instance_dir(UUID), 'disk')

        self.assertEqual(['post'], self.live_migrate('A', 'B'))
        self.assert_nothing_of_it_on('A')
        self.assertFalse(os.path.exists(disk_a))
        dst = self.drivers['B']
        self.assertEqual(power_state.RUNNING,
                         dst.get_info({'uuid': UUID}).state)
        self.assertTrue(dst._host.lookup(UUID).isPersistent())
        # The same guest, still running (it did not boot again): it
        # answers the power button on B, then boots there.
        console = self.console('B')
        self.assertNotIn(guest.INIT_LINE, console.read())
        dst.reboot(None, {'uuid': UUID}, [], 'SOFT')
        console.wait('power button pressed', BOOT)
        self.assert_runs_on('B', OLD, console)

        # And back, to A.
        self.assertEqual(['post'], self.live_migrate('B', 'A'))
        self.assert_nothing_of_it_on('B')
        self.assertEqual(power_state.RUNNING,
                         self.drivers['A'].get_info({'uuid': UUID}).state)
        self.drivers['A'].destroy(None, instance_of(OLD), [])
        for name in self.hosts:
            self.assert_nothing_of_it_on(name)

    def test_abort_keeps_the_guest_running_on_the_source(self):
        self.boot_on_a()
        self.slow_migrations()
        called = self.live_migrate(
            'A', 'B', during=lambda src: src.live_migration_abort(
                instance_of(OLD)))
        # live_migration failed after recover_method rolled B back.
        self.assertEqual('recover', called[0])
        self.assertEqual(2, len(called), called)
        self.assert_nothing_of_it_on('B')
        self.assertEqual(power_state.RUNNING,
                         self.drivers['A'].get_info({'uuid': UUID}).state)
        self.drivers['A'].destroy(None, instance_of(OLD), [])

    def test_force_complete_pauses_the_guest_until_it_arrives(self):
        # Opt-in: in one CI rehearsal the look-up of the domain for the
        # force-complete blocked inside libvirt (lookupByUUIDString)
        # while migrateToURI3 ran, past the test's time limit, and the
        # hard limit ended the worker with every test it still had.
        # Until that is understood, it runs only when asked for; the
        # force-complete path is tested on the fake driver
        # (nova.tests.functional.compute.test_live_migration).
        if os.environ.get('NOVA_TEST_LIBVIRT_FORCE_COMPLETE') != '1':
            self.skipTest('libvirt may block a look-up during a live '
                          'migration: set NOVA_TEST_LIBVIRT_FORCE_COMPLETE'
                          '=1 to run it')
        self.boot_on_a()
        self.slow_migrations()
        states = []

        def force_complete(src: driver.LibvirtDriver) -> None:
            src.live_migration_force_complete(instance_of(OLD))
            try:
                states.append(src.get_info({'uuid': UUID}).state)
            except (exception.VirtDriverError, exception.InstanceNotFound):
                # The guest gone from the source (InstanceNotFound), or
                # going while libvirt was asked (VirtDriverError).
                if src.instance_exists({'uuid': UUID}):
                    raise
                # Paused, the guest's last pages went before this look.
                states.append('arrived')

        self.assertEqual(['post'], self.live_migrate(
            'A', 'B', during=force_complete))
        self.assertIn(states, ([power_state.PAUSED], ['arrived']))
        self.assert_nothing_of_it_on('A')
        # libvirt resumed it on the destination.
        self.assertEqual(power_state.RUNNING,
                         self.drivers['B'].get_info({'uuid': UUID}).state)
        self.drivers['B'].destroy(None, instance_of(OLD), [])
