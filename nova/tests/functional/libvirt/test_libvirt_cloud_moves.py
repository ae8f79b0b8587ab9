"""Resize and cold migration of a real guest through the whole stack.

A cloud of separate processes (``multiprocess.ProcessCloud``: the
conductor and two nova-compute over RabbitMQ, on MariaDB; this process
plays the API) whose nova-compute run LibvirtDriver (QEMU, TCG) against
two libvirt "hosts" on this machine:

``compute-a``
    the system libvirtd (qemu:///system);
``compute-b``
    a second libvirtd this test starts (``guest.SecondLibvirtd``: its own
    domains, sockets and state, in a mount namespace of its own).

The system libvirtd is one of the two because cold migration needs no
libvirtd to reach the other (unlike live migration, whose peer to peer
connection cannot reach the system daemon's socket from the second one's
namespace: test_libvirt_moves starts two for it), and one daemon fewer is
a few seconds less. Each host has its own state_path (so instances path
and image cache), and the guest's files go from one to the other through
one ``[libvirt] migration_shared_path`` (``remote_filesystem_transport =
shared``).

The tiny guest (tools/build-tiny-guest.py) boots on A (B joins the cloud
after that); it is resized to a bigger flavor - VERIFY_RESIZE on B, where
its console shows it booted again, with the new RAM and root disk - and
confirmed (nothing of it left on A); cold migrated back to A (VERIFY_RESIZE
there, booted there) and reverted: ACTIVE on B again, its domain only
there, running, booted once more. Once it is deleted no domain, disk or
file of it is left on either host or in the shared directory.

Needs libvirtd (tools/install-libvirt.sh), root, RabbitMQ and MariaDB, and
apt-get access for the guest's packages the first time; skipped without
them, failed under NOVA_TEST_REQUIRE_SERVICES=1. Takes about 50 s.
"""

from __future__ import annotations

import os
from typing import Any

from nova import test
from nova.compute import power_state, vm_states
from nova.tests.functional import multiprocess
from nova.tests.functional.libvirt import guest
from nova.virt.libvirt import host as libvirt_host
from nova.virt.libvirt import images

#: Upper bound of a move or a boot (TCG boots in ~5 s on an idle host;
#: CI runs other tests at the same time).
ACTION = 120
HOSTS = ('compute-a', 'compute-b')
GiB = 1024 ** 3
#: Small: under TCG the kernel's start-up time grows with RAM.
OLD = {'name': 'tiny-guest', 'flavorid': 'tiny-guest', 'memory_mb': 128,
       'vcpus': 1, 'root_gb': 1, 'ephemeral_gb': 0, 'swap': 0,
       'is_public': True}
NEW = dict(OLD, name='tiny-guest-bigger', flavorid='tiny-guest-bigger',
           memory_mb=160, root_gb=2)


class TestLibvirtCloudMoves(test.TestCase):

    def setUp(self) -> None:
        super().setUp()
        guest.require_libvirtd(self)
        files = guest.tiny_guest(self)
        # Before the cloud: its clean-up (the second libvirtd's domains
        # removed, the daemon stopped) runs after the services stopped.
        second = self.useFixture(guest.SecondLibvirtd(self))
        self.uris = {'compute-a': guest.URI, 'compute-b': second.uri}
        self.cloud = self.useFixture(multiprocess.ProcessCloud(
            self, 'mysql', conductor_in_process=False))
        self.ctx = self.cloud.ctx
        self.api = self.cloud.compute_api
        self.shared = os.path.join(self.cloud.dir, 'shared')
        os.makedirs(self.shared)
        self.cloud.start('nova-conductor', 'conductor1')
        self.start_compute('compute-a')
        self.image = self.register_tiny_guest(files)
        for flavor in (OLD, NEW):
            self.cloud.db.flavor_create(self.ctx, flavor)
        self.conns = {}
        for name, uri in self.uris.items():
            self.conns[name] = libvirt_host.libvirt.open(uri)
            self.addCleanup(self.conns[name].close)

    def start_compute(self, name: str) -> None:
        self.cloud.start('nova-compute', name, options={
            'DEFAULT': {'compute_driver': 'libvirt.LibvirtDriver',
                        'instances_path': self.instances_path(name)},
            'libvirt': {'virt_type': 'qemu',
                        'connection_uri': self.uris[name],
                        'remote_filesystem_transport': 'shared',
                        'migration_shared_path': self.shared}})

    def instances_path(self, name: str) -> str:
        return os.path.join(self.cloud.dir, name, 'instances')

    def register_tiny_guest(self, files: dict[str, str]) -> dict[str, Any]:
        """The tiny guest in the local image service, AMI style (as
        test_libvirt_e2e registers it)."""
        from nova.image import api as image_api
        from nova.image import local
        api = image_api.API()
        assert isinstance(api, local.LocalImageAPI)  # the test cloud's
        kernel = api.create_from_file(
            self.ctx, files['kernel'], name='tiny-kernel',
            disk_format='aki', visibility='public')
        ramdisk = api.create_from_file(
            self.ctx, files['ramdisk'], name='tiny-ramdisk',
            disk_format='ari', visibility='public')
        return api.create_from_file(
            self.ctx, files['disk'], name='tiny', disk_format='ami',
            visibility='public', properties={
                'kernel_id': kernel['id'], 'ramdisk_id': ramdisk['id'],
                'os_command_line': files['os_command_line']})

    # -- helpers --------------------------------------------------------------

    def wait_for_state(self, uuid: str, vm_state: str) -> dict[str, Any]:
        return self.cloud.wait_for_state(uuid, vm_state, ACTION)

    def console(self, uuid: str) -> guest.Console:
        """The guest's console, through the API (an RPC call to the host
        the instance is on)."""
        return guest.Console(lambda: self.api.get_console_output(
            self.ctx, self.cloud.instance(uuid)))

    def domain(self, name: str, uuid: str) -> Any:
        try:
            return self.conns[name].lookupByUUIDString(uuid)
        except libvirt_host.libvirt.libvirtError:
            return None

    def leftovers(self, name: str, uuid: str) -> list[str]:
        """Files of the guest in ``name``'s instances path (made when
        its nova-compute starts)."""
        path = self.instances_path(name)
        return sorted(entry for entry in (
            os.listdir(path) if os.path.isdir(path) else ())
            if entry.startswith(uuid))

    def assert_only_on(self, name: str, uuid: str,
                       flavor: dict[str, Any]) -> None:
        """The guest runs on ``name`` with ``flavor``'s RAM, its domain
        and files are there only."""
        other = HOSTS[1 - HOSTS.index(name)]
        dom = self.domain(name, uuid)
        self.assertIsNotNone(dom)
        self.assertTrue(dom.isActive())
        self.assertTrue(dom.isPersistent())
        self.assertEqual(flavor['memory_mb'] * 1024, dom.maxMemory())
        self.assertIsNone(self.domain(other, uuid))
        self.assertEqual([uuid], self.leftovers(name, uuid))
        self.assertEqual([], self.leftovers(other, uuid))
        self.assertEqual([], os.listdir(self.shared))

    def assert_resized(self, instance: dict[str, Any], name: str,
                       flavor: dict[str, Any]) -> None:
        """VERIFY_RESIZE on ``name`` with ``flavor``; the guest booted
        there."""
        self.assertEqual((name, flavor['flavorid'], power_state.RUNNING),
                         (instance['host'], instance['flavor']['flavorid'],
                          instance['power_state']))
        self.console(instance['uuid']).wait(guest.INIT_LINE, ACTION)
        dom = self.domain(name, instance['uuid'])
        self.assertIsNotNone(dom)
        self.assertTrue(dom.isActive())
        self.assertEqual(flavor['memory_mb'] * 1024, dom.maxMemory())
        disk = os.path.join(self.instances_path(name), instance['uuid'],
                            'disk')
        self.assertEqual(flavor['root_gb'] * GiB, images.info(
            disk, force_share=True)['virtual-size'])

    # -- the test -------------------------------------------------------------

    def test_resize_confirm_then_migrate_revert(self):
        user = self.cloud.user_context()
        flavor = self.cloud.db.flavor_get_by_flavor_id(self.ctx, 'tiny-guest')
        instances, _ = self.api.create(user, flavor, self.image['id'],
                                       name='tiny')
        uuid = instances[0]['uuid']
        self.addCleanup(self.remove_leftovers, uuid)
        instance = self.wait_for_state(uuid, vm_states.ACTIVE)
        self.assertEqual('compute-a', instance['host'])
        self.console(uuid).wait(guest.INIT_LINE, ACTION)
        self.assert_only_on('compute-a', uuid, OLD)
        # B joins once the guest is on A, so that the boot lands on A.
        self.start_compute('compute-b')

        # Resize: to B (a resize goes to another host unless
        # allow_resize_to_same_host), bigger, and booted there.
        self.api.resize(user, instance, NEW['flavorid'])
        resized = self.wait_for_state(uuid, vm_states.RESIZED)
        self.assert_resized(resized, 'compute-b', NEW)
        self.api.confirm_resize(user, resized)
        confirmed = self.wait_for_state(uuid, vm_states.ACTIVE)
        self.assertEqual(('compute-b', NEW['flavorid']), (
            confirmed['host'], confirmed['flavor']['flavorid']))
        # Nothing of it is left on A: no domain, no directory.
        self.assert_only_on('compute-b', uuid, NEW)

        # Cold migration back to A, reverted: the guest B kept (off)
        # boots again there, with the same flavor.
        console = self.console(uuid)
        console.skip_to_end()
        self.api.migrate(self.ctx, confirmed)
        migrated = self.wait_for_state(uuid, vm_states.RESIZED)
        self.assert_resized(migrated, 'compute-a', NEW)
        self.assertFalse(self.domain('compute-b', uuid).isActive())
        self.api.revert_resize(user, migrated)
        reverted = self.wait_for_state(uuid, vm_states.ACTIVE)
        self.assertEqual(('compute-b', NEW['flavorid'],
                          power_state.RUNNING), (
            reverted['host'], reverted['flavor']['flavorid'],
            reverted['power_state']))
        console.wait(guest.INIT_LINE, ACTION)
        self.assert_only_on('compute-b', uuid, NEW)

        self.api.delete(user, reverted)
        self.cloud.wait_for_deleted(uuid, ACTION)
        for name in HOSTS:
            self.assertIsNone(self.domain(name, uuid))
            self.assertEqual([], self.leftovers(name, uuid))
        self.assertEqual([], os.listdir(self.shared))

    def remove_leftovers(self, uuid: str) -> None:
        # Only after a failure: the test deletes what it makes. (The
        # second libvirtd removes its domains itself when it stops.)
        dom = self.domain('compute-a', uuid)
        if dom is not None:
            if dom.isActive():
                dom.destroy()
            dom.undefine()
