"""A virt driver on libvirt: real guests under QEMU (with or without KVM).

Select it with ``[DEFAULT] compute_driver = libvirt.LibvirtDriver``; see
``nova.conf.libvirt`` for its options and ``tools/install-libvirt.sh`` for
the host set-up.

The hypervisor is the source of truth about guests:

* a guest is a persistent libvirt domain whose UUID is the instance's and
  whose name is ``instance-<uuid>``, with nova's metadata; its files live in
  ``<instances_path>/<uuid>/`` (see ``nova.virt.libvirt.images`` for the
  disk layout). ``list_instance_uuids`` and ``instance_exists`` ask libvirt,
  so a guest left behind by an interrupted build is found after a restart,
  and ``destroy`` removes the domain and its directory, whatever state
  either is in;
* ``spawn`` either finishes or removes what it made before it raises, so a
  failed spawn leaks nothing even though its flow does not revert it.
* hosts may share their ``instances_path`` (NFS, say): ``instance_on_disk``
  is then true for another host's guest, and an evacuation's ``spawn``
  defines the guest from the files there, making only those missing, as
  upstream (it knows them from the ``compute_host`` file, which names the
  host whose guest was last defined from them; a directory without it, or
  naming this host, is what an interrupted spawn or destroy here left, and
  is made again).

Booting: a machine image is the root disk (a qcow2 overlay on the cached
image); if the instance or image has ``kernel_id`` (and ``ramdisk_id``) the
kernel and ramdisk images are booted directly, AMI style, with the image
property ``os_command_line`` as the command line. The serial console is
written to ``console.log`` in the guest's directory.

Resize and cold migration follow upstream: the source powers the guest
off, renames its directory to ``<uuid>_resize`` (the copy a revert goes
back to) and sends its files to the destination by ``[libvirt]
remote_filesystem_transport`` (``nova.virt.libvirt.migration``): ``ssh``
or ``rsync`` into the same ``instances_path`` on the destination as
upstream, or ``shared``, through ``[libvirt] migration_shared_path``, a
directory all hosts see: the choice for compute hosts sharing one machine
(each with its own ``instances_path`` and libvirtd) and for hosts with a
shared filesystem. The destination defines the guest from the files with
the new flavor, growing its disks (they never shrink); confirm removes the
kept copy and the source's domain; a revert moves the copy back and
starts the guest with its old flavor. A resize to the same host works the
same way.

Live migration is libvirt's, peer to peer to the destination's libvirtd
(``[libvirt] live_migration_inbound_uri``); without an instances_path
shared by both hosts it is a block migration, the destination making the
guest's files first and libvirt copying the disks' data.

Every libvirt call goes through ``nova.virt.libvirt.host.Host``, which runs
it in a native thread under eventlet.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import socket
import stat
import tempfile
import time
import uuid as uuid_lib
from collections.abc import Callable
from typing import Any

from oslo_config import cfg
from oslo_log import log as logging
from oslo_utils import excutils, fileutils, timeutils

from nova import concurrency, exception
from nova.compute import power_state, task_states
from nova.console import type as console_type
from nova.virt import driver
from nova.virt.libvirt import config, host, images
from nova.virt.libvirt import migration as libvirt_migration

LOG = logging.getLogger(__name__)

GiB = 1024 ** 3
MiB = 1024 ** 2
DEFAULT_URI = 'qemu:///system'
DOMAIN_PREFIX = 'instance-'
DEFAULT_CMDLINE = 'root=/dev/vda console=tty0 console=ttyS0'
#: How much of the console log get_console_output returns (upstream's).
MAX_CONSOLE_BYTES = 100 * 1024
#: A console log past this size is cut to its last MAX_CONSOLE_BYTES when
#: the guest (re)starts, so a guest rebooted in a loop cannot fill the disk.
MAX_CONSOLE_LOG = 1024 * 1024
#: How often state changes (shutdown, detach) are polled for.
POLL_INTERVAL = 0.1
#: What the source of a resize or cold migration renames the instance
#: directory to until the move is confirmed or reverted (upstream's).
RESIZE_SUFFIX = '_resize'
#: The file in an instance directory naming the host ([DEFAULT] host)
#: whose guest was last defined from its files: when it names another
#: host, the files are those of a guest that host ran on storage this
#: host shares, which an evacuation re-creates here from them.
HOST_FILE = libvirt_migration.HOST_FILE

# libvirt's virDomainState values, so mapping them needs no libvirt.
VIR_DOMAIN_NOSTATE = 0
VIR_DOMAIN_RUNNING = 1
VIR_DOMAIN_BLOCKED = 2
VIR_DOMAIN_PAUSED = 3
VIR_DOMAIN_SHUTDOWN = 4
VIR_DOMAIN_SHUTOFF = 5
VIR_DOMAIN_CRASHED = 6
VIR_DOMAIN_PMSUSPENDED = 7

POWER_STATES = {
    VIR_DOMAIN_NOSTATE: power_state.NOSTATE,
    VIR_DOMAIN_RUNNING: power_state.RUNNING,
    VIR_DOMAIN_BLOCKED: power_state.RUNNING,
    VIR_DOMAIN_PAUSED: power_state.PAUSED,
    # Shutting down: still running, as far as nova is concerned.
    VIR_DOMAIN_SHUTDOWN: power_state.RUNNING,
    VIR_DOMAIN_SHUTOFF: power_state.SHUTDOWN,
    VIR_DOMAIN_CRASHED: power_state.CRASHED,
    VIR_DOMAIN_PMSUSPENDED: power_state.SUSPENDED,
}

# Disk name prefixes by bus.
_PREFIXES = {'virtio': 'vd', 'scsi': 'sd', 'sata': 'sd', 'usb': 'sd',
             'ide': 'hd'}


# virDomain.interfaceStats' tuple, by upstream's diagnostics key suffixes.
_NIC_COUNTERS = ('rx', 'rx_packets', 'rx_errors', 'rx_drop',
                 'tx', 'tx_packets', 'tx_errors', 'tx_drop')


def domain_name(uuid: str) -> str:
    return f'{DOMAIN_PREFIX}{uuid}'


def _translate_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a libvirt error into VirtDriverError naming the operation."""

    @functools.wraps(fn)
    def wrapper(self: LibvirtDriver, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(self, *args, **kwargs)
        except host.libvirt.libvirtError as error:
            raise exception.VirtDriverError(
                reason=f'{fn.__name__}: {error}') from error

    return wrapper


def _sizes(instance: Any) -> dict[str, int]:
    """vCPUs, RAM, disks and swap of an instance, from it or its flavor."""
    flavor = driver.instance_attr(instance, 'flavor') or {}
    sizes = {}
    for key in ('vcpus', 'memory_mb', 'root_gb', 'ephemeral_gb', 'swap'):
        value = driver.instance_attr(instance, key)
        if value is None:
            value = driver.instance_attr(flavor, key)
        sizes[key] = int(value or 0)
    return sizes


def _target(mountpoint: str | None) -> str | None:
    """'/dev/vdb' -> 'vdb'."""
    return os.path.basename(mountpoint) if mountpoint else None


def _next_target(used: set[str], prefix: str) -> str:
    for index in range(26 * 27):
        if index < 26:
            suffix = chr(ord('a') + index)
        else:
            suffix = (chr(ord('a') + index // 26 - 1) +
                      chr(ord('a') + index % 26))
        if prefix + suffix not in used:
            return prefix + suffix
    raise exception.VirtDriverError(reason='no free disk name left')


class LibvirtDriver(driver.ComputeDriver):

    capabilities = dict(driver.ComputeDriver.capabilities,
                        has_imagecache=True,
                        supports_attach_interface=True,
                        supports_migrate_to_same_host=True,
                        supports_live_migration=True,
                        supports_deferred_power_on=True)

    def __init__(self, virtapi: Any = None,
                 conf: cfg.ConfigOpts | None = None) -> None:
        super().__init__(virtapi, conf)
        host.require_libvirt()
        opts = self.conf.libvirt
        self.virt_type = opts.virt_type
        self.uri = opts.connection_uri or DEFAULT_URI
        self.instances_path = self.conf.instances_path
        self.snapshots_directory = opts.snapshots_directory or \
            os.path.join(self.instances_path, 'snapshots')
        self.cache = images.ImageCache(self.instances_path)
        self._host = host.Host(self.uri)
        #: This nova-compute's host ([DEFAULT] host), for HOST_FILE.
        self.compute_host = self.conf.host
        self._image_api: Any = None
        self._hostname: str | None = None

    # -- helpers --------------------------------------------------------------

    @property
    def image_api(self) -> Any:
        if self._image_api is None:
            from nova.image import api as image_api
            self._image_api = image_api.API(self.conf)
        return self._image_api

    @image_api.setter
    def image_api(self, value: Any) -> None:
        self._image_api = value

    @property
    def libvirt(self) -> Any:
        return host.libvirt

    def instance_dir(self, instance_or_uuid: Any) -> str:
        uuid = (instance_or_uuid if isinstance(instance_or_uuid, str)
                else driver.instance_uuid(instance_or_uuid))
        return os.path.join(self.instances_path, uuid)

    def _lookup(self, instance: Any) -> Any:
        return self._host.lookup(driver.instance_uuid(instance))

    @staticmethod
    def _state(dom: Any) -> int:
        return dom.state(0)[0]

    def _xml(self, dom: Any, inactive: bool = False) -> Any:
        flags = self.libvirt.VIR_DOMAIN_XML_INACTIVE if inactive else 0
        return config.parse(dom.XMLDesc(flags))

    def _is_test_connection(self) -> bool:
        return self.uri.startswith('test:')

    # -- host -----------------------------------------------------------------

    @_translate_errors
    def init_host(self, host_name: str) -> None:
        conn = self._host.get_connection()
        if not self._is_test_connection():
            capabilities = conn.getCapabilities()
            if f"<domain type='{self.virt_type}'" not in capabilities:
                raise exception.VirtDriverError(reason=(
                    f'[libvirt] virt_type is {self.virt_type}, which '
                    f'libvirt at {self.uri} does not offer on this host'
                    + (' (no usable /dev/kvm): set [libvirt] virt_type = '
                       'qemu' if self.virt_type == 'kvm' else '')))
        os.makedirs(self.instances_path, exist_ok=True)
        LOG.info('Libvirt driver on %s: libvirt %s, %s %s, domain type '
                 '%s, instances in %s', self.uri, conn.getLibVersion(),
                 conn.getType(), conn.getVersion(), self.virt_type,
                 self.instances_path)

    def cleanup_host(self, host_name: str) -> None:
        self._host.close()

    @_translate_errors
    def get_available_nodes(self, refresh: bool = False) -> list[str]:
        if self._hostname is None or refresh:
            try:
                self._hostname = self._host.get_connection().getHostname()
            except self.libvirt.libvirtError:
                self._hostname = socket.gethostname()
        return [self._hostname]

    def _nova_domains(self) -> list[Any]:
        return [dom for dom in self._host.domains()
                if dom.name() == domain_name(dom.UUIDString())]

    @_translate_errors
    def get_available_resource(self, nodename: str) -> dict[str, Any]:
        conn = self._host.get_connection()
        # [arch, memory MiB, CPUs, MHz, NUMA nodes, sockets, cores, threads]
        arch, memory_mb, cpus, _, _, sockets, cores, threads = \
            conn.getInfo()[:8]
        vcpus_used = guest_memory_mb = running = 0
        for dom in self._nova_domains():
            try:
                # [state, max memory KiB, memory KiB, vCPUs, CPU time]
                state, _, memory_kib, nr_vcpus, _ = dom.info()
            except self.libvirt.libvirtError as error:
                if host.is_not_found(error):
                    continue          # destroyed meanwhile
                raise
            if state in (VIR_DOMAIN_SHUTOFF, VIR_DOMAIN_CRASHED):
                continue
            running += 1
            vcpus_used += nr_vcpus
            guest_memory_mb += memory_kib // 1024
        if self._is_test_connection():
            memory_mb_used = guest_memory_mb
        else:
            # The host's own use counts: it is RAM guests cannot have.
            memory_mb_used = memory_mb - conn.getFreeMemory() // MiB
        os.makedirs(self.instances_path, exist_ok=True)
        fs = os.statvfs(self.instances_path)
        local_gb = fs.f_blocks * fs.f_frsize // GiB
        free_gb = fs.f_bavail * fs.f_frsize // GiB
        return {
            'vcpus': cpus,
            'memory_mb': memory_mb,
            'local_gb': local_gb,
            'vcpus_used': vcpus_used,
            'memory_mb_used': memory_mb_used,
            'local_gb_used': local_gb - free_gb,
            'hypervisor_type': conn.getType(),
            'hypervisor_version': conn.getVersion(),
            'hypervisor_hostname': nodename,
            'cpu_info': json.dumps({
                'arch': arch, 'model': arch,
                'topology': {'sockets': sockets, 'cores': cores,
                             'threads': threads},
                'features': []}),
            'disk_available_least': free_gb,
            'running_vms': running,
        }

    def manage_image_cache(self, context: Any, all_instances: list) -> None:
        age = (self.conf.image_cache
               .remove_unused_original_minimum_age_seconds)
        if age >= 0:
            self.cache.remove_unused(age)

    # -- inventory ------------------------------------------------------------

    @_translate_errors
    def list_instances(self) -> list[str]:
        return [dom.name() for dom in self._nova_domains()]

    @_translate_errors
    def list_instance_uuids(self) -> list[str]:
        return [dom.UUIDString() for dom in self._nova_domains()]

    @_translate_errors
    def instance_exists(self, instance: Any) -> bool:
        return self._host.find(driver.instance_uuid(instance)) is not None

    def instance_on_disk(self, instance: Any) -> bool:
        """Is the instance's directory here, and writable (the storage
        of the host its guest ran on, shared)?"""
        directory = self.instance_dir(instance)
        LOG.debug('Checking whether %s is on this host\'s storage: %s',
                  driver.instance_uuid(instance), directory)
        return os.access(directory, os.W_OK)

    def _mark_files(self, directory: str) -> None:
        """The guest defined here now is the one of the files in
        ``directory`` (see HOST_FILE)."""
        with open(os.path.join(directory, HOST_FILE), 'w',
                  encoding='utf-8') as f:
            f.write(self.compute_host)

    def _files_of_another_host(self, directory: str) -> bool:
        """Are the files in ``directory`` those of a guest another host
        defined (shared storage)?"""
        try:
            with open(os.path.join(directory, HOST_FILE),
                      encoding='utf-8') as f:
                return f.read().strip() not in ('', self.compute_host)
        except FileNotFoundError:
            return False

    def check_instance_shared_storage_local(self, context: Any,
                                            instance: Any) -> Any:
        """A temporary file in the instance's directory (None if this
        host has none: nothing to compare), named relative to the
        instances_path: another host looks for it in its own, so hosts
        of one machine with instances paths of their own do not count
        as sharing (as check_can_live_migrate_destination's file)."""
        directory = self.instance_dir(instance)
        if not os.path.exists(directory):
            return None
        fd, path = tempfile.mkstemp(dir=directory)
        os.close(fd)
        LOG.debug('Created %s: a host that sees it shares the instance '
                  'storage of %s', path, driver.instance_uuid(instance))
        return {'filename': os.path.relpath(path, self.instances_path)}

    def check_instance_shared_storage_remote(self, context: Any,
                                             data: Any) -> bool:
        return os.path.exists(os.path.join(self.instances_path,
                                           data['filename']))

    def check_instance_shared_storage_cleanup(self, context: Any,
                                              data: Any) -> None:
        fileutils.delete_if_exists(os.path.join(self.instances_path,
                                                data['filename']))

    @_translate_errors
    def get_info(self, instance: Any, use_cache: bool = True
                 ) -> driver.InstanceInfo:
        dom = self._lookup(instance)
        return driver.InstanceInfo(state=self._power_state(dom),
                                   internal_id=dom.name())

    def _power_state(self, dom: Any) -> int:
        state = self._state(dom)
        if state == VIR_DOMAIN_SHUTOFF and dom.hasManagedSaveImage(0):
            return power_state.SUSPENDED
        return POWER_STATES.get(state, power_state.NOSTATE)

    # -- building the guest ---------------------------------------------------

    def _download(self, context: Any, image_id: str, dest: str) -> None:
        get_path = getattr(self.image_api, 'get_path', None)
        if get_path is not None:
            # The local image service: link its (immutable) file.
            images.link_or_copy(get_path(context, image_id), dest)
        else:
            self.image_api.download(context, image_id, dest_path=dest)

    def _fetch(self, context: Any, image_id: str, dest: str) -> str:
        """Cache image ``image_id`` and link it at ``dest``."""
        cached = self.cache.fetch(
            image_id, functools.partial(self._download, context, image_id))
        images.link_or_copy(cached, dest)
        return dest

    def _root_disk(self, context: Any, instance: Any,
                   image_meta: dict[str, Any], directory: str,
                   bus: str, existing: bool = False) -> config.Disk:
        path = os.path.join(directory, 'disk')
        target = _PREFIXES.get(bus, 'vd') + 'a'
        if existing and os.path.exists(path):
            return config.Disk(path=path, target=target, bus=bus)
        image_id = image_meta['id']
        disk_format = image_meta.get('disk_format')
        if disk_format is None:
            disk_format = self.image_api.get(context, image_id).get(
                'disk_format')
        backing_format = images.qemu_format(disk_format)
        base = self._fetch(context, image_id,
                           os.path.join(directory, 'disk.base'))
        if backing_format == 'raw':
            image_size = os.path.getsize(base)
        else:
            image_size = int(images.info(base)['virtual-size'])
        root_gb = _sizes(instance)['root_gb']
        if root_gb and image_size > root_gb * GiB:
            raise exception.FlavorDiskSmallerThanImage(
                flavor_size=root_gb * GiB, image_size=image_size)
        images.create_overlay(path, base, backing_format,
                              root_gb * GiB if root_gb else None)
        return config.Disk(path=path, target=target, bus=bus)

    def _volume_disk(self, connection_info: dict[str, Any],
                     target: str, bus: str = 'virtio') -> config.Disk:
        info = connection_info or {}
        data = info.get('data') or {}
        kind = info.get('driver_volume_type')
        path = data.get('device_path') or data.get('path')
        if kind not in ('local', 'file', 'block') or not path:
            raise exception.VirtDriverError(reason=(
                f'volume connection type {kind!r} (with data '
                f'{sorted(data)}) is not supported by the libvirt driver: '
                f'it attaches local files and block devices'))
        try:
            is_block = stat.S_ISBLK(os.stat(path).st_mode)
        except FileNotFoundError:
            raise exception.VirtDriverError(
                reason=f'volume file {path} does not exist') from None
        return config.Disk(
            path=path, target=target, bus=bus,
            format=data.get('format') or 'raw',
            source_type='block' if is_block else 'file',
            serial=info.get('serial') or data.get('volume_id'),
            readonly=data.get('access_mode') == 'ro')

    def _interface(self, vif: dict[str, Any],
                   image_meta: dict[str, Any] | None) -> config.Interface:
        properties = (image_meta or {}).get('properties') or {}
        network = vif.get('network') or {}
        bridge = network.get('bridge')
        kind = self.conf.libvirt.vif_type
        if kind == 'auto':
            if bridge and os.path.isdir(f'/sys/class/net/{bridge}/bridge'):
                kind = 'bridge'
            elif os.path.exists('/dev/net/tun'):
                kind = 'ethernet'
            else:
                kind = 'user'
        elif kind == 'bridge' and not bridge:
            raise exception.VirtDriverError(
                reason=f'VIF {vif.get("id")} names no bridge')
        mtu = (network.get('meta') or {}).get('mtu')
        return config.Interface(
            mac=vif['address'], type=kind,
            model=properties.get('hw_vif_model') or 'virtio',
            bridge=bridge,
            target=vif.get('devname') or ('tap' + vif['id'])[:14],
            mtu=int(mtu) if mtu else None)

    def _guest_config(self, context: Any, instance: Any,
                      image_meta: dict[str, Any],
                      network_info: list[dict[str, Any]] | None,
                      block_device_info: dict[str, Any] | None,
                      directory: str, existing: bool = False
                      ) -> config.GuestConfig:
        """The guest of ``instance`` in ``directory``, whose files are
        made (or, with ``existing``, those there are used, and only those
        missing are made).
        """
        uuid = driver.instance_uuid(instance)
        sizes = _sizes(instance)
        properties = image_meta.get('properties') or {}
        bus = properties.get('hw_disk_bus') or 'virtio'
        prefix = _PREFIXES.get(bus, 'vd')
        image_id = image_meta.get('id') or driver.instance_attr(
            instance, 'image_ref')
        if image_id and 'id' not in image_meta:
            try:
                image_meta = self.image_api.get(context, image_id)
            except exception.ImageNotFound:
                if not existing:
                    raise
                # The guest's files are here; the properties it booted
                # with came in image_meta.
                image_meta = dict(image_meta, id=image_id)
            else:
                properties = image_meta.get('properties') or {}
        kernel_id = driver.instance_attr(instance, 'kernel_id') or \
            properties.get('kernel_id')
        ramdisk_id = driver.instance_attr(instance, 'ramdisk_id') or \
            properties.get('ramdisk_id')

        disks = []
        if image_id:
            disks.append(self._root_disk(context, instance, image_meta,
                                         directory, bus, existing))
        used = {disk.target for disk in disks}
        volumes = (block_device_info or {}).get('block_device_mapping') or []
        wanted = {target for bdm in volumes
                  if (target := _target(bdm.get('mount_device')))}
        for name, size, in (('disk.local', sizes['ephemeral_gb'] * GiB),
                            ('disk.swap', sizes['swap'] * MiB)):
            if size:
                path = os.path.join(directory, name)
                if not (existing and os.path.exists(path)):
                    images.create_blank(path, size)
                target = _next_target(used | wanted, prefix)
                used.add(target)
                disks.append(config.Disk(path=path, target=target, bus=bus))
        for bdm in sorted(volumes, key=lambda b: (b.get('boot_index') is None
                                                  or b['boot_index'] < 0,
                                                  b.get('boot_index') or 0)):
            wanted_target = _target(bdm.get('mount_device'))
            target = wanted_target if wanted_target and \
                wanted_target not in used else _next_target(used, prefix)
            used.add(target)
            disks.append(self._volume_disk(bdm.get('connection_info'),
                                           target, bus))

        def fetch(image_id: str, name: str) -> str:
            path = os.path.join(directory, name)
            if existing and os.path.exists(path):
                return path
            return self._fetch(context, image_id, path)

        kernel = ramdisk = None
        if kernel_id:
            kernel = fetch(kernel_id, 'kernel')
            if ramdisk_id:
                ramdisk = fetch(ramdisk_id, 'ramdisk')

        cpu_mode = self.conf.libvirt.cpu_mode
        if cpu_mode is None:
            cpu_mode = 'host-model' if self.virt_type == 'kvm' else None
        flavor = driver.instance_attr(instance, 'flavor') or {}
        return config.GuestConfig(
            uuid=uuid, name=domain_name(uuid),
            memory_mb=sizes['memory_mb'] or 512, vcpus=sizes['vcpus'] or 1,
            virt_type=self.virt_type,
            machine_type=properties.get('hw_machine_type') or
            self.conf.libvirt.hw_machine_type,
            cpu_mode=None if cpu_mode == 'none' else cpu_mode,
            kernel=kernel, ramdisk=ramdisk,
            cmdline=(properties.get('os_command_line') or DEFAULT_CMDLINE
                     if kernel else None),
            disks=disks,
            interfaces=[self._interface(vif, image_meta)
                        for vif in network_info or []],
            console_log=os.path.join(directory, 'console.log'),
            vnc_listen=(self.conf.vnc.server_listen if self.conf.vnc.enabled
                        else None),
            metadata={
                'display_name': driver.instance_attr(instance,
                                                     'display_name'),
                'creation_time': timeutils.utcnow().strftime(
                    '%Y-%m-%d %H:%M:%S'),
                'flavor': dict(sizes, name=driver.instance_attr(
                    flavor, 'name')),
                'owner': {'user_id': driver.instance_attr(instance,
                                                          'user_id'),
                          'project_id': driver.instance_attr(instance,
                                                             'project_id')},
                'image_id': image_id, 'kernel_id': kernel_id,
                'ramdisk_id': ramdisk_id})

    # -- life cycle -----------------------------------------------------------

    @_translate_errors
    def spawn(self, context: Any, instance: Any, image_meta: dict[str, Any],
              injected_files: list | None, admin_password: str | None,
              allocations: dict[str, Any] | None,
              network_info: list[dict[str, Any]] | None = None,
              block_device_info: dict[str, Any] | None = None,
              power_on: bool = True) -> None:
        uuid = driver.instance_uuid(instance)
        if self._host.find(uuid) is not None:
            raise exception.InstanceExists(name=uuid)
        directory = self.instance_dir(uuid)
        # The files of a guest another host defined (storage the hosts
        # share: an evacuation) are its disks: used as they are, only
        # the missing ones made, as upstream.
        existing = self._files_of_another_host(directory)
        try:
            if not existing:
                # A directory without a domain is what an interrupted
                # spawn or destroy here left: nothing in it is in use.
                shutil.rmtree(directory, ignore_errors=True)
                os.makedirs(directory)
            guest = self._guest_config(context, instance, image_meta or {},
                                       network_info, block_device_info,
                                       directory, existing=existing)
            xml = config.domain_xml(guest)
            LOG.debug('Defining %s: %s', uuid, xml)
            dom = self._host.get_connection().defineXML(xml)
            if power_on:
                dom.createWithFlags(0)
            self._mark_files(directory)
        except BaseException:
            # Leave nothing behind (the flow reverts completed stages
            # only), but the disks that were there.
            with excutils.save_and_reraise_exception():
                try:
                    self._destroy(uuid, destroy_disks=not existing)
                except Exception:
                    LOG.exception('Cleaning up the failed spawn of %s '
                                  'failed', uuid)
        LOG.info('Spawned %s (%s)%s', uuid,
                 'running' if power_on else 'defined',
                 ' from the disks in ' + directory if existing else '')

    def _destroy(self, uuid: str, destroy_disks: bool = True) -> None:
        dom = self._host.find(uuid)
        if dom is not None:
            self._stop(dom)
            self._undefine(dom)
        if destroy_disks:
            directory = self.instance_dir(uuid)
            if os.path.lexists(directory):
                shutil.rmtree(directory)
                LOG.debug('Removed %s', directory)

    def _stop(self, dom: Any) -> None:
        """Power the domain off now (it may be off already)."""
        libvirt = self.libvirt
        for attempt in range(3):
            try:
                if not dom.isActive():
                    return
                dom.destroy()
                return
            except libvirt.libvirtError as error:
                code = host.error_code(error)
                if code == libvirt.VIR_ERR_OPERATION_INVALID:
                    return        # it stopped meanwhile
                if host.is_not_found(error):
                    return
                # QEMU may take a moment to die (EBUSY): retry, as upstream.
                if attempt == 2 or code != libvirt.VIR_ERR_SYSTEM_ERROR:
                    raise
                concurrency.sleep(1)

    def _undefine(self, dom: Any) -> None:
        """Remove the definition with its managed save and snapshots."""
        libvirt = self.libvirt
        everything = (libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE |
                      libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA)
        # NVRAM: only some hypervisors (not libvirt's test driver) know it.
        for flags in (everything | libvirt.VIR_DOMAIN_UNDEFINE_NVRAM,
                      everything):
            try:
                dom.undefineFlags(flags)
                return
            except libvirt.libvirtError as error:
                if host.is_not_found(error):
                    return
                if host.error_code(error) not in (
                        libvirt.VIR_ERR_NO_SUPPORT,
                        libvirt.VIR_ERR_INVALID_ARG):
                    raise
        if dom.hasManagedSaveImage(0):
            dom.managedSaveRemove(0)
        dom.undefine()

    @_translate_errors
    def destroy(self, context: Any, instance: Any,
                network_info: list[dict[str, Any]] | None,
                block_device_info: dict[str, Any] | None = None,
                destroy_disks: bool = True) -> None:
        self._destroy(driver.instance_uuid(instance), destroy_disks)

    @_translate_errors
    def cleanup(self, context: Any, instance: Any,
                network_info: list[dict[str, Any]] | None,
                block_device_info: dict[str, Any] | None = None,
                destroy_disks: bool = True, migrate_data: Any = None,
                destroy_vifs: bool = True) -> None:
        self._destroy(driver.instance_uuid(instance), destroy_disks)

    def _clean_shutdown(self, dom: Any, timeout: float,
                        retry_interval: float = 0) -> bool:
        """Press the guest's ACPI power button and wait up to ``timeout``
        seconds for it to power off; whether it did.
        """
        libvirt = self.libvirt
        deadline = time.monotonic() + timeout
        next_press = 0.0
        while True:
            now = time.monotonic()
            try:
                if not dom.isActive():
                    return True
                if now >= next_press:
                    dom.shutdown()
                    next_press = (now + retry_interval if retry_interval
                                  else deadline + 1)
            except libvirt.libvirtError as error:
                if host.error_code(error) != \
                        libvirt.VIR_ERR_OPERATION_INVALID:
                    raise
                # Not running any more (or not yet able to take it).
            if now >= deadline:
                return False
            concurrency.sleep(POLL_INTERVAL)

    def _trim_console(self, dom: Any) -> None:
        path = os.path.join(self.instance_dir(dom.UUIDString()),
                            'console.log')
        try:
            if os.path.getsize(path) <= MAX_CONSOLE_LOG:
                return
            with open(path, 'rb') as f:
                f.seek(-MAX_CONSOLE_BYTES, os.SEEK_END)
                tail = f.read()
            with open(path + '.tmp', 'wb') as f:
                f.write(tail)
            os.replace(path + '.tmp', path)
        except FileNotFoundError:
            pass

    def _create(self, dom: Any) -> None:
        """Start the (stopped) domain."""
        self._trim_console(dom)
        dom.createWithFlags(0)

    def _start(self, dom: Any) -> None:
        self._create(dom)
        if self._state(dom) == VIR_DOMAIN_PAUSED:
            # Restored from a save taken while paused.
            dom.resume()

    def _hard_reboot(self, dom: Any) -> None:
        self._stop(dom)
        if dom.hasManagedSaveImage(0):
            dom.managedSaveRemove(0)
        self._create(dom)

    @_translate_errors
    def reboot(self, context: Any, instance: Any,
               network_info: list[dict[str, Any]] | None, reboot_type: str,
               block_device_info: dict[str, Any] | None = None,
               bad_volumes_callback: Callable[..., Any] | None = None
               ) -> None:
        if reboot_type not in ('SOFT', 'HARD'):
            raise exception.Invalid(
                reason=f'reboot type {reboot_type!r} is not SOFT or HARD')
        dom = self._lookup(instance)
        if reboot_type == 'SOFT' and \
                self._state(dom) == VIR_DOMAIN_RUNNING:
            timeout = self.conf.libvirt.wait_soft_reboot_seconds
            if self._clean_shutdown(dom, timeout):
                self._create(dom)
                LOG.info('Soft rebooted %s', driver.instance_uuid(instance))
                return
            LOG.warning('%s did not shut down within %ss of an ACPI power '
                        'button press; rebooting it hard',
                        driver.instance_uuid(instance), timeout)
        self._hard_reboot(dom)
        LOG.info('Hard rebooted %s', driver.instance_uuid(instance))

    @_translate_errors
    def power_off(self, instance: Any, timeout: int = 0,
                  retry_interval: int = 0) -> None:
        dom = self._lookup(instance)
        if timeout and self._state(dom) == VIR_DOMAIN_RUNNING and \
                self._clean_shutdown(dom, timeout, retry_interval):
            return
        self._stop(dom)
        if dom.hasManagedSaveImage(0):
            # Off means off: a suspended guest's memory is dropped.
            dom.managedSaveRemove(0)

    @_translate_errors
    def power_on(self, context: Any, instance: Any,
                 network_info: list[dict[str, Any]] | None,
                 block_device_info: dict[str, Any] | None = None) -> None:
        dom = self._lookup(instance)
        if not dom.isActive():
            self._start(dom)

    @_translate_errors
    def resume_state_on_host_boot(self, context: Any, instance: Any,
                                  network_info: list[dict[str, Any]] | None,
                                  block_device_info: dict[str, Any] | None
                                  = None) -> None:
        dom = self._lookup(instance)
        if not dom.isActive():
            self._start(dom)

    @_translate_errors
    def pause(self, instance: Any) -> None:
        dom = self._lookup(instance)
        if self._state(dom) != VIR_DOMAIN_PAUSED:
            dom.suspend()

    @_translate_errors
    def unpause(self, instance: Any) -> None:
        dom = self._lookup(instance)
        if self._state(dom) == VIR_DOMAIN_PAUSED:
            dom.resume()

    @_translate_errors
    def suspend(self, context: Any, instance: Any) -> None:
        """Save the guest's memory to disk and stop it (managed save)."""
        dom = self._lookup(instance)
        if dom.isActive():
            dom.managedSave(0)

    @_translate_errors
    def resume(self, context: Any, instance: Any,
               network_info: list[dict[str, Any]] | None,
               block_device_info: dict[str, Any] | None = None) -> None:
        dom = self._lookup(instance)
        if not dom.isActive():
            self._start(dom)

    @_translate_errors
    def snapshot(self, context: Any, instance: Any, image_id: str,
                 update_task_state: Callable[..., Any]) -> None:
        """Copy the root disk (flattened, qcow2) into image ``image_id``.

        A running guest is paused for the copy: pausing makes QEMU flush
        its writes, so the copy is a consistent (crash-consistent, as
        upstream's) image of the disk; it runs again before the upload.
        """
        uuid = driver.instance_uuid(instance)
        dom = self._lookup(instance)
        disk = os.path.join(self.instance_dir(uuid), 'disk')
        if not os.path.exists(disk):
            raise exception.VirtDriverError(
                reason=f'{uuid} has no local root disk to snapshot')
        domain = self._xml(dom)
        directory = self.snapshots_directory
        os.makedirs(directory, exist_ok=True)
        out = os.path.join(directory, f'{image_id}.qcow2')
        try:
            paused_here = False
            if self._state(dom) == VIR_DOMAIN_RUNNING:
                dom.suspend()
                paused_here = True
            try:
                images.convert(disk, out, 'qcow2',
                               force_share=bool(dom.isActive()))
            finally:
                if paused_here:
                    dom.resume()
            update_task_state(task_state=task_states.IMAGE_PENDING_UPLOAD)
            update_task_state(task_state=task_states.IMAGE_UPLOADING,
                              expected_state=task_states.IMAGE_PENDING_UPLOAD)
            found = config.nova_metadata(domain)
            properties = {'image_type': 'snapshot', 'instance_uuid': uuid}
            for key in ('kernel_id', 'ramdisk_id'):
                value = driver.instance_attr(instance, key) or found.get(key)
                if value:
                    properties[key] = value
            if found.get('image_id'):
                properties['base_image_ref'] = found['image_id']
            command_line = config.cmdline(domain)
            if 'kernel_id' in properties and command_line:
                properties['os_command_line'] = command_line
            self.image_api.update(
                context, image_id,
                {'disk_format': 'qcow2', 'container_format': 'bare',
                 'properties': properties}, data=out)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(out)
        LOG.info('Snapshot of %s uploaded as image %s', uuid, image_id)

    @_translate_errors
    def get_console_output(self, context: Any, instance: Any) -> str:
        self._lookup(instance)
        path = os.path.join(self.instance_dir(instance), 'console.log')
        try:
            with open(path, 'rb') as f:
                size = os.fstat(f.fileno()).st_size
                f.seek(max(0, size - MAX_CONSOLE_BYTES))
                data = f.read()
        except FileNotFoundError:
            return ''
        return data.decode('utf-8', errors='replace')

    def _stats(self, instance: Any) -> dict[str, Any]:
        """What libvirt measures of a guest: its state and size, per-vCPU
        time, memory balloon, and per-device block and interface
        counters (of a running guest; a stopped one has none)."""
        dom = self._lookup(instance)
        state, max_kib, used_kib, vcpus, _cpu_time = dom.info()
        running = bool(dom.isActive())
        stats: dict[str, Any] = {
            'state': self._power_state(dom), 'max_kib': max_kib,
            'used_kib': used_kib, 'vcpus': vcpus, 'cpus': [],
            'memory': {}, 'disks': [], 'nics': []}
        if not running:
            return stats
        stats['cpus'] = [(number, cpu_time) for number, _state, cpu_time,
                         _cpu in dom.vcpus()[0]]
        stats['memory'] = dom.memoryStats()
        devices = self._xml(dom).find('devices')
        for disk in devices.findall('disk'):
            dev = disk.find('target').get('dev')
            stats['disks'].append((dev, dom.blockStats(dev)))
        for nic in devices.findall('interface'):
            target = nic.find('target')
            if target is None:
                continue
            mac = nic.find('mac').get('address')
            stats['nics'].append((target.get('dev'), mac,
                                  dom.interfaceStats(target.get('dev'))))
        return stats

    @_translate_errors
    def get_diagnostics(self, instance: Any) -> dict[str, Any]:
        """Upstream libvirt's keys: cpuN_time, memory, memory-<stat>,
        <disk>_read/_read_req/_write/_write_req/_errors,
        <tap>_rx/_rx_drop/_rx_errors/_rx_packets and the same for tx."""
        stats = self._stats(instance)
        figures: dict[str, Any] = {
            f'cpu{number}_time': cpu_time
            for number, cpu_time in stats['cpus']}
        figures['memory'] = stats['max_kib']
        for key, value in stats['memory'].items():
            figures[f'memory-{key}'] = value
        for dev, (rd_req, rd_bytes, wr_req, wr_bytes, errs) in \
                stats['disks']:
            figures.update({f'{dev}_read': rd_bytes,
                            f'{dev}_read_req': rd_req,
                            f'{dev}_write': wr_bytes,
                            f'{dev}_write_req': wr_req,
                            f'{dev}_errors': errs})
        for dev, _mac, counters in stats['nics']:
            for name, value in zip(_NIC_COUNTERS, counters, strict=False):
                figures[f'{dev}_{name}'] = value
        return figures

    @_translate_errors
    def get_instance_diagnostics(self, instance: Any) -> dict[str, Any]:
        """The standard format from the same statistics (uptime and
        rates are not measured: None, as upstream's libvirt)."""
        stats = self._stats(instance)
        nics = []
        for _dev, mac, counters in stats['nics']:
            values = dict(zip(_NIC_COUNTERS, counters, strict=False))
            nics.append({
                'mac_address': mac, 'rx_octets': values['rx'],
                'rx_errors': values['rx_errors'],
                'rx_drop': values['rx_drop'],
                'rx_packets': values['rx_packets'], 'rx_rate': None,
                'tx_octets': values['tx'], 'tx_errors': values['tx_errors'],
                'tx_drop': values['tx_drop'],
                'tx_packets': values['tx_packets'], 'tx_rate': None})
        return {
            'state': power_state.STATE_MAP[stats['state']],
            'driver': 'libvirt', 'hypervisor': self.virt_type,
            'hypervisor_os': 'linux', 'uptime': None,
            'config_drive': bool(driver.instance_attr(instance,
                                                      'config_drive')),
            'memory_details': {
                'maximum': stats['max_kib'] // 1024,
                'used': stats['memory'].get('actual', stats['used_kib'])
                // 1024},
            'cpu_details': [{'id': number, 'time': cpu_time,
                             'utilisation': None}
                            for number, cpu_time in stats['cpus']],
            'nic_details': nics,
            'disk_details': [
                {'read_bytes': rd_bytes, 'read_requests': rd_req,
                 'write_bytes': wr_bytes, 'write_requests': wr_req,
                 'errors_count': errs}
                for _dev, (rd_req, rd_bytes, wr_req, wr_bytes, errs)
                in stats['disks']],
        }

    def trigger_crash_dump(self, instance: Any) -> None:
        """An NMI to the guest (upstream's way: a guest configured for
        kdump or with panic-on-NMI dumps its memory)."""
        libvirt = self.libvirt
        dom = self._lookup(instance)
        try:
            dom.injectNMI(0)
        except libvirt.libvirtError as error:
            code = error.get_error_code()
            if code == libvirt.VIR_ERR_NO_SUPPORT:
                raise exception.TriggerCrashDumpNotSupported() from error
            if code == libvirt.VIR_ERR_OPERATION_INVALID:
                raise exception.InstanceNotRunning(
                    instance_id=driver.instance_uuid(instance)) from error
            raise exception.VirtDriverError(
                reason=f'trigger_crash_dump: {error}') from error
        LOG.info('Injected an NMI into %s to trigger a crash dump',
                 driver.instance_uuid(instance))

    @_translate_errors
    def get_vnc_console(self, context: Any, instance: Any) -> Any:
        port = config.vnc_port(self._xml(self._lookup(instance)))
        if port is None:
            raise exception.ConsoleTypeUnavailable(console_type='vnc')
        return console_type.ConsoleVNC(
            host=self.conf.vnc.server_proxyclient_address, port=port)

    # -- devices --------------------------------------------------------------

    def _affect(self, dom: Any) -> int:
        libvirt = self.libvirt
        flags = libvirt.VIR_DOMAIN_AFFECT_CONFIG
        if dom.isActive():
            flags |= libvirt.VIR_DOMAIN_AFFECT_LIVE
        return flags

    def _detach(self, dom: Any, find: Callable[[Any], Any],
                what: str) -> None:
        """Remove the device ``find(domain_xml)`` returns from the
        persistent definition and from the running guest, and wait until
        the guest released it.
        """
        libvirt = self.libvirt
        persistent = find(self._xml(dom, inactive=True))
        if persistent is not None:
            dom.detachDeviceFlags(config.to_xml(persistent),
                                  libvirt.VIR_DOMAIN_AFFECT_CONFIG)
        if not dom.isActive():
            return
        live = find(self._xml(dom))
        if live is None:
            return
        xml = config.to_xml(live)
        timeout = self.conf.libvirt.device_detach_timeout
        deadline = time.monotonic() + timeout
        next_request = 0.0
        while True:
            now = time.monotonic()
            if now >= next_request:
                # Asking again helps a guest that missed the first request
                # (e.g. it was still booting); as upstream, every few
                # seconds.
                try:
                    dom.detachDeviceFlags(xml,
                                          libvirt.VIR_DOMAIN_AFFECT_LIVE)
                except libvirt.libvirtError as error:
                    if host.error_code(error) not in (
                            libvirt.VIR_ERR_OPERATION_FAILED,
                            libvirt.VIR_ERR_DEVICE_MISSING,
                            libvirt.VIR_ERR_OPERATION_INVALID):
                        raise
                next_request = now + 5
            concurrency.sleep(POLL_INTERVAL)
            if find(self._xml(dom)) is None:
                return
            if time.monotonic() >= deadline:
                raise exception.VirtDriverError(reason=(
                    f'the guest did not release {what} within {timeout}s '
                    f'([libvirt] device_detach_timeout)'))

    @_translate_errors
    def attach_volume(self, context: Any, connection_info: dict[str, Any],
                      instance: Any, mountpoint: str,
                      disk_bus: str | None = None,
                      device_type: str | None = None,
                      encryption: dict[str, Any] | None = None) -> None:
        if encryption:
            raise exception.VirtDriverError(
                reason='encrypted volumes are not supported')
        dom = self._lookup(instance)
        domain = self._xml(dom)
        bus = disk_bus or 'virtio'
        target = _target(mountpoint) or _next_target(
            set(config.disk_targets(domain)), _PREFIXES.get(bus, 'vd'))
        disk = self._volume_disk(connection_info, target, bus)
        present = config.find_disk(domain, target)
        if present is not None:
            source = present.find('source')
            if source is not None and disk.path in (source.get('file'),
                                                    source.get('dev')):
                return            # attached already
            raise exception.VirtDriverError(reason=(
                f'{mountpoint} of {driver.instance_uuid(instance)} is in '
                f'use by another disk'))
        dom.attachDeviceFlags(config.disk_xml(disk), self._affect(dom))
        LOG.info('Attached volume %s to %s at %s', disk.serial,
                 driver.instance_uuid(instance), target)

    @_translate_errors
    def detach_volume(self, context: Any, connection_info: dict[str, Any],
                      instance: Any, mountpoint: str,
                      encryption: dict[str, Any] | None = None) -> None:
        dom = self._host.find(driver.instance_uuid(instance))
        if dom is None:
            return
        target = _target(mountpoint) or ''
        self._detach(dom, lambda domain: config.find_disk(domain, target),
                     f'disk {target}')
        LOG.info('Detached %s from %s', target,
                 driver.instance_uuid(instance))

    @_translate_errors
    def attach_interface(self, context: Any, instance: Any,
                         image_meta: dict[str, Any] | None,
                         vif: dict[str, Any]) -> None:
        dom = self._lookup(instance)
        if config.find_interface(self._xml(dom), vif['address']) is not None:
            return
        dom.attachDeviceFlags(
            config.interface_xml(self._interface(vif, image_meta)),
            self._affect(dom))

    @_translate_errors
    def detach_interface(self, context: Any, instance: Any,
                         vif: dict[str, Any]) -> None:
        dom = self._host.find(driver.instance_uuid(instance))
        if dom is None:
            return
        mac = vif['address']
        self._detach(dom, lambda domain: config.find_interface(domain, mac),
                     f'interface {mac}')

    def plug_vifs(self, instance: Any,
                  network_info: list[dict[str, Any]]) -> None:
        # libvirt creates the tap devices (and joins bridges) when the
        # guest starts.
        pass

    def unplug_vifs(self, instance: Any,
                    network_info: list[dict[str, Any]]) -> None:
        pass

    # -- resize and cold migration --------------------------------------------
    # As upstream: the source powers the guest off, renames its directory
    # to <uuid>_resize (kept for a revert) and sends the files to the
    # destination (nova.virt.libvirt.migration); the destination defines
    # the guest again from them with the new flavor. The source's domain
    # stays defined (off) until confirm_migration undefines it and removes
    # the kept copy, or finish_revert_migration moves the copy back and
    # starts the guest with its old flavor. On a resize to the same host
    # the destination's definition replaces the source's (same UUID).

    def _resize_dir(self, uuid: str) -> str:
        return self.instance_dir(uuid) + RESIZE_SUFFIX

    def _staging_dir(self, uuid: str) -> str:
        path = self.conf.libvirt.migration_shared_path
        if not path:
            raise libvirt_migration.MigrationError(reason=(
                '[libvirt] remote_filesystem_transport is "shared" but '
                '[libvirt] migration_shared_path is not set'))
        return os.path.join(path, uuid)

    def _boot_meta(self, domain: Any | None, uuid: str) -> dict[str, Any]:
        """What the guest of ``domain`` (its XML) booted with, as image
        metadata: so it boots the same way from its files, even if its
        image is gone from the image service.
        """
        if domain is None:
            return {}
        found = config.nova_metadata(domain)
        properties: dict[str, Any] = {
            key: found[key] for key in ('kernel_id', 'ramdisk_id')
            if key in found}
        command_line = config.cmdline(domain)
        if command_line:
            properties['os_command_line'] = command_line
        root = os.path.join(self.instance_dir(uuid), 'disk')
        for disk in domain.findall('./devices/disk'):
            source = disk.find('source')
            target = disk.find('target')
            if source is not None and target is not None and \
                    source.get('file') == root and target.get('bus'):
                properties['hw_disk_bus'] = target.get('bus')
        meta: dict[str, Any] = {'properties': properties}
        if found.get('image_id'):
            meta['id'] = found['image_id']
        return meta

    @staticmethod
    def _merge_meta(image_meta: dict[str, Any] | None,
                    saved: dict[str, Any]) -> dict[str, Any]:
        meta = dict(image_meta or {})
        properties = dict(saved.get('properties') or {})
        properties.update(meta.get('properties') or {})
        meta['properties'] = properties
        if 'id' not in meta and saved.get('id'):
            meta['id'] = saved['id']
        return meta

    def _check_resize(self, instance: Any, flavor: dict[str, Any]) -> None:
        """Refuse to shrink disks (before anything is done, as
        upstream).
        """
        old = _sizes(instance)
        new = {key: int(driver.instance_attr(flavor, key) or 0)
               for key in ('root_gb', 'ephemeral_gb')}
        root = os.path.join(self.instance_dir(instance), 'disk')
        if os.path.exists(root):
            size = int(images.info(root, force_share=True)['virtual-size'])
            if new['root_gb'] < old['root_gb'] or \
                    (new['root_gb'] and size > new['root_gb'] * GiB):
                raise libvirt_migration.ResizeError(reason=(
                    f'unable to resize the root disk down, from '
                    f'{max(size, old["root_gb"] * GiB)} bytes to '
                    f'{new["root_gb"]} GiB'))
        if new['ephemeral_gb'] < old['ephemeral_gb']:
            raise libvirt_migration.ResizeError(reason=(
                f'unable to resize the ephemeral disk down, from '
                f'{old["ephemeral_gb"]} GiB to {new["ephemeral_gb"]} GiB'))

    @_translate_errors
    def migrate_disk_and_power_off(self, context: Any, instance: Any,
                                   dest: str, flavor: dict[str, Any],
                                   network_info: list[dict[str, Any]] | None,
                                   block_device_info: dict[str, Any] | None
                                   = None, timeout: int = 0,
                                   retry_interval: int = 0) -> str:
        uuid = driver.instance_uuid(instance)
        directory = self.instance_dir(uuid)
        resize_dir = self._resize_dir(uuid)
        if os.path.exists(resize_dir) and os.path.exists(directory):
            raise libvirt_migration.MigrationError(reason=(
                f'{resize_dir} exists: an earlier resize or migration of '
                f'{uuid} was neither confirmed nor reverted'))
        dom = self._lookup(instance)
        if os.path.exists(directory):
            self._check_resize(instance, flavor)
        boot = self._boot_meta(self._xml(dom, inactive=True), uuid)
        transport = self.conf.libvirt.remote_filesystem_transport
        local = transport == 'shared' or libvirt_migration.is_local(
            dest, self.conf.host)
        path = self._staging_dir(uuid) if transport == 'shared' \
            else directory

        if timeout and self._state(dom) == VIR_DOMAIN_RUNNING and \
                not self._clean_shutdown(dom, timeout, retry_interval):
            LOG.warning('%s did not shut down within %ss; powering it '
                        'off', uuid, timeout)
        self._stop(dom)
        if dom.hasManagedSaveImage(0):
            dom.managedSaveRemove(0)
        if not os.path.exists(resize_dir):
            # (Else this is a repeat and it was renamed already.)
            os.rename(directory, resize_dir)
        try:
            names = libvirt_migration.files_to_move(resize_dir)
            disks = libvirt_migration.disk_details(resize_dir, names)
            if local:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                libvirt_migration.copy_files(resize_dir, names, path)
            else:
                libvirt_migration.copy_remote(transport, resize_dir, names,
                                              dest, path)
        except BaseException:
            with excutils.save_and_reraise_exception():
                self._undo_send(uuid, dest, path, local)
        LOG.info('Powered %s off and sent its files (%s) to %s by %s',
                 uuid, ', '.join(names), dest, transport)
        return json.dumps({'path': path, 'files': names, 'disks': disks,
                           'boot': boot, 'source_host': self.conf.host})

    def _undo_send(self, uuid: str, dest: str, path: str,
                   local: bool) -> None:
        """Put the guest's files back where they were after a failed
        send (its power state is the caller's to restore).
        """
        try:
            if local:
                shutil.rmtree(path, ignore_errors=True)
            else:
                libvirt_migration.remove_remote(dest, path)
        except Exception:
            LOG.exception('Removing the partial copy of %s at %s:%s '
                          'failed', uuid, dest, path)
        directory = self.instance_dir(uuid)
        if not os.path.exists(directory):
            os.rename(self._resize_dir(uuid), directory)

    def _adopt_disks(self, directory: str, disks: list[dict[str, Any]],
                     instance: Any) -> None:
        """Make the moved disks refer to the backing files next to them,
        and grow them to the (new) flavor's sizes.
        """
        for disk in disks:
            path = os.path.join(directory, disk['name'])
            backing = disk.get('backing_file')
            if not backing or not os.path.exists(path):
                continue
            wanted = os.path.join(directory, backing)
            if os.path.exists(wanted) and images.info(path).get(
                    'backing-filename') != wanted:
                images.rebase_unsafe(path, wanted,
                                     disk.get('backing_format') or 'raw')
        sizes = _sizes(instance)
        for name, size in (('disk', sizes['root_gb'] * GiB),
                           ('disk.local', sizes['ephemeral_gb'] * GiB)):
            path = os.path.join(directory, name)
            if size and os.path.exists(path) and \
                    int(images.info(path)['virtual-size']) < size:
                images.resize(path, size)
                LOG.debug('Grew %s to %s bytes', path, size)

    def _define_from_files(self, context: Any, instance: Any,
                           image_meta: dict[str, Any],
                           network_info: list[dict[str, Any]] | None,
                           block_device_info: dict[str, Any] | None,
                           power_on: bool) -> None:
        uuid = driver.instance_uuid(instance)
        guest = self._guest_config(context, instance, image_meta,
                                   network_info, block_device_info,
                                   self.instance_dir(uuid), existing=True)
        xml = config.domain_xml(guest)
        LOG.debug('Defining %s: %s', uuid, xml)
        dom = self._host.get_connection().defineXML(xml)
        self._mark_files(self.instance_dir(uuid))
        if power_on and not dom.isActive():
            self._create(dom)

    @_translate_errors
    def finish_migration(self, context: Any, migration: dict[str, Any],
                         instance: Any, disk_info: str,
                         network_info: list[dict[str, Any]] | None,
                         image_meta: dict[str, Any],
                         resize_instance: bool,
                         allocations: dict[str, Any] | None,
                         block_device_info: dict[str, Any] | None = None,
                         power_on: bool = True) -> None:
        uuid = driver.instance_uuid(instance)
        directory = self.instance_dir(uuid)
        info = json.loads(disk_info or '{}')
        path = info.get('path') or directory
        if path != directory and os.path.isdir(path):
            # Sent through the shared directory: take the files.
            libvirt_migration.move_files(path, directory)
        if not os.path.isdir(directory):
            raise libvirt_migration.MigrationError(reason=(
                f'the files of {uuid} are not here: neither {path} nor '
                f'{directory} exists'))
        self._adopt_disks(directory, info.get('disks') or [], instance)
        self._define_from_files(
            context, instance,
            self._merge_meta(image_meta, info.get('boot') or {}),
            network_info, block_device_info, power_on)
        LOG.info('Finished the migration of %s here (%s)', uuid,
                 'running' if power_on else 'defined')

    def _remove_staged(self, uuid: str) -> None:
        if self.conf.libvirt.remote_filesystem_transport == 'shared' and \
                self.conf.libvirt.migration_shared_path:
            shutil.rmtree(self._staging_dir(uuid), ignore_errors=True)

    @_translate_errors
    def confirm_migration(self, context: Any, migration: dict[str, Any],
                          instance: Any,
                          network_info: list[dict[str, Any]] | None) -> None:
        uuid = driver.instance_uuid(instance)
        resize_dir = self._resize_dir(uuid)
        if os.path.lexists(resize_dir):
            shutil.rmtree(resize_dir)
        self._remove_staged(uuid)
        same_host = (driver.instance_attr(migration, 'source_compute') ==
                     driver.instance_attr(migration, 'dest_compute'))
        dom = None if same_host else self._host.find(uuid)
        if dom is not None:
            if dom.isActive():
                # Not the guest the migration left here (off): keep it.
                LOG.warning('%s runs on this host, the source of its '
                            'confirmed migration: leaving it', uuid)
            else:
                self._undefine(dom)
        LOG.info('Confirmed the migration of %s: removed what was left '
                 'here', uuid)

    @_translate_errors
    def finish_revert_migration(self, context: Any, instance: Any,
                                network_info: list[dict[str, Any]] | None,
                                migration: dict[str, Any],
                                block_device_info: dict[str, Any] | None
                                = None, power_on: bool = True) -> None:
        uuid = driver.instance_uuid(instance)
        directory = self.instance_dir(uuid)
        resize_dir = self._resize_dir(uuid)
        dom = self._host.find(uuid)
        domain = None if dom is None else self._xml(dom, inactive=True)
        if os.path.exists(resize_dir):
            if dom is not None and dom.isActive():
                # A resize to this host: the new guest was not destroyed.
                self._stop(dom)
            if os.path.lexists(directory):
                shutil.rmtree(directory)
            os.rename(resize_dir, directory)
        elif not os.path.isdir(directory):
            raise libvirt_migration.MigrationError(reason=(
                f'neither {resize_dir} nor {directory} exists: there is '
                f'nothing to revert {uuid} to'))
        # (Else this is a repeat: the files are back already.)
        self._remove_staged(uuid)
        self._define_from_files(context, instance,
                                self._boot_meta(domain, uuid),
                                network_info, block_device_info, power_on)
        LOG.info('Reverted the migration of %s (%s)', uuid,
                 'running' if power_on else 'defined')

    # -- live migration -------------------------------------------------------
    # libvirt moves the running guest, peer to peer: the source's libvirtd
    # connects to the destination's (live_migration_inbound_uri). Unless
    # both hosts see one instances_path (shared storage), it is a block
    # migration: pre_live_migration makes the guest's files on the
    # destination (root overlay on the cached image, blank ephemeral and
    # swap, kernel, ramdisk), the source sends a domain XML whose paths are
    # the destination's and libvirt copies the disks' own data (what is
    # above the image) while the guest runs. The source's domain is
    # undefined by libvirt when the guest arrives; post_live_migration
    # removes its files.

    def _migrate_data(self, data: Any) -> dict[str, Any]:
        return dict(data or {})

    @_translate_errors
    def check_can_live_migrate_destination(
            self, context: Any, instance: Any,
            src_compute_info: dict[str, Any],
            dst_compute_info: dict[str, Any],
            block_migration: bool = False,
            disk_over_commit: bool = False) -> dict[str, Any]:
        opts = self.conf.libvirt
        os.makedirs(self.instances_path, exist_ok=True)
        # A file only hosts sharing our instances_path can see.
        marker = f'.live-migration-check-{uuid_lib.uuid4()}'
        with open(os.path.join(self.instances_path, marker), 'w'):
            pass
        return {'block_migration': block_migration,
                'disk_over_commit': disk_over_commit,
                'dest_uri': opts.live_migration_inbound_uri,
                'inbound_addr': opts.live_migration_inbound_addr,
                'dest_instances_path': self.instances_path,
                'shared_storage_check_file': marker,
                'dest_compute': self.conf.host}

    def cleanup_live_migration_destination_check(
            self, context: Any, dest_check_data: dict[str, Any]) -> None:
        marker = (dest_check_data or {}).get('shared_storage_check_file')
        if marker:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(self.instances_path,
                                       os.path.basename(marker)))

    @_translate_errors
    def check_can_live_migrate_source(
            self, context: Any, instance: Any,
            dest_check_data: dict[str, Any],
            block_device_info: dict[str, Any] | None = None
            ) -> dict[str, Any]:
        data = self._migrate_data(dest_check_data)
        uuid = driver.instance_uuid(instance)
        dom = self._lookup(instance)
        if self._state(dom) not in (VIR_DOMAIN_RUNNING, VIR_DOMAIN_PAUSED):
            raise libvirt_migration.MigrationPreCheckError(reason=(
                f'{uuid} is not running: only a running or paused guest '
                f'can be live migrated'))
        marker = str(data.get('shared_storage_check_file') or '')
        shared = bool(marker) and os.path.exists(os.path.join(
            self.instances_path, os.path.basename(marker))) and \
            data.get('dest_instances_path') == self.instances_path
        data['is_shared_instance_path'] = shared
        if data.get('block_migration') is None:
            # The API's 'auto', as upstream: the disks go with the guest
            # unless both hosts see them.
            data['block_migration'] = not shared
        if shared and data.get('block_migration'):
            raise libvirt_migration.MigrationPreCheckError(reason=(
                f'block migration of {uuid} is pointless: this host and '
                f'the destination share {self.instances_path}'))
        if not shared and not data.get('block_migration'):
            raise libvirt_migration.MigrationPreCheckError(reason=(
                f'{uuid} has local disks and this host and the '
                f'destination do not share an instances_path: live '
                f'migrate it with block migration'))
        data['source_instance_dir'] = self.instance_dir(uuid)
        return data

    @_translate_errors
    def pre_live_migration(self, context: Any, instance: Any,
                           block_device_info: dict[str, Any] | None,
                           network_info: list[dict[str, Any]] | None,
                           disk_info: Any,
                           migrate_data: dict[str, Any] | None
                           ) -> dict[str, Any]:
        data = self._migrate_data(migrate_data)
        uuid = driver.instance_uuid(instance)
        directory = self.instance_dir(uuid)
        data['dest_instance_dir'] = directory
        if data.get('is_shared_instance_path'):
            return data
        if self._host.find(uuid) is not None:
            raise libvirt_migration.MigrationPreCheckError(reason=(
                f'{uuid} is defined on this host already'))
        try:
            shutil.rmtree(directory, ignore_errors=True)
            os.makedirs(directory)
            # The files the guest's definition names, made as for a
            # spawn; libvirt fills the disks.
            self._guest_config(context, instance, {}, network_info,
                               block_device_info, directory)
        except BaseException:
            with excutils.save_and_reraise_exception():
                shutil.rmtree(directory, ignore_errors=True)
        LOG.info('Ready to receive %s by live migration in %s', uuid,
                 directory)
        return data

    def _destination_xml(self, dom: Any, source_dir: str,
                         dest_dir: str) -> tuple[str, list[str]]:
        """The guest's migratable XML with the destination's paths, and
        the targets of its disks in its instance directory.
        """
        domain = config.parse(dom.XMLDesc(
            self.libvirt.VIR_DOMAIN_XML_MIGRATABLE))
        prefix = source_dir.rstrip('/') + '/'

        def moved(path: str | None) -> str | None:
            if path and path.startswith(prefix) and source_dir != dest_dir:
                return os.path.join(dest_dir, path[len(prefix):])
            return None

        local = []
        for disk in domain.findall('./devices/disk'):
            source = disk.find('source')
            target = disk.find('target')
            path = None if source is None else source.get('file')
            if path and path.startswith(prefix) and target is not None:
                local.append(target.get('dev') or '')
            if source is not None and (new := moved(path)):
                source.set('file', new)
        for tag in ('kernel', 'initrd'):
            element = domain.find(f'./os/{tag}')
            if element is not None and (new := moved(element.text)):
                element.text = new
        for source in domain.findall('./devices/serial/source') + \
                domain.findall('./devices/console/source'):
            if new := moved(source.get('path')):
                source.set('path', new)
        return config.to_xml(domain), local

    def live_migration(self, context: Any, instance: Any, dest: str,
                       post_method: Callable[..., Any],
                       recover_method: Callable[..., Any],
                       block_migration: bool = False,
                       migrate_data: dict[str, Any] | None = None) -> None:
        try:
            self._live_migration(instance, dest, block_migration,
                                 self._migrate_data(migrate_data))
        except Exception:
            # The guest still runs here (libvirt resumes it); the manager
            # rolls back the destination.
            with excutils.save_and_reraise_exception():
                LOG.exception('Live migration of %s to %s failed',
                              driver.instance_uuid(instance), dest)
                recover_method(context, instance, dest, migrate_data)
        post_method(context, instance, dest, block_migration, migrate_data)

    @_translate_errors
    def _live_migration(self, instance: Any, dest: str,
                        block_migration: bool,
                        data: dict[str, Any]) -> None:
        libvirt = self.libvirt
        uuid = driver.instance_uuid(instance)
        dom = self._lookup(instance)
        source_dir = self.instance_dir(uuid)
        dest_dir = data.get('dest_instance_dir') or os.path.join(
            data.get('dest_instances_path') or self.instances_path, uuid)
        xml, disks = self._destination_xml(dom, source_dir, dest_dir)
        params: dict[str, Any] = {
            libvirt.VIR_MIGRATE_PARAM_DEST_XML: xml,
            libvirt.VIR_MIGRATE_PARAM_PERSIST_XML: xml}
        if data.get('inbound_addr'):
            params[libvirt.VIR_MIGRATE_PARAM_URI] = \
                f'tcp://{data["inbound_addr"]}'
        flags = (libvirt.VIR_MIGRATE_LIVE | libvirt.VIR_MIGRATE_PEER2PEER |
                 libvirt.VIR_MIGRATE_PERSIST_DEST |
                 libvirt.VIR_MIGRATE_UNDEFINE_SOURCE)
        opts = self.conf.libvirt
        if opts.live_migration_bandwidth:
            params[libvirt.VIR_MIGRATE_PARAM_BANDWIDTH] = \
                opts.live_migration_bandwidth
        if opts.live_migration_permit_post_copy:
            # Only permitted: it starts when the migration is forced to
            # complete (live_migration_force_complete).
            flags |= libvirt.VIR_MIGRATE_POSTCOPY
        if block_migration:
            flags |= libvirt.VIR_MIGRATE_NON_SHARED_INC
            params[libvirt.VIR_MIGRATE_PARAM_MIGRATE_DISKS] = disks
        uri = data.get('dest_uri') or f'qemu+tcp://{dest}/system'
        LOG.info('Live migrating %s to %s (%s)', uuid, uri,
                 'with its disks' if block_migration else 'shared storage')
        dom.migrateToURI3(uri, params, flags)

    @_translate_errors
    def live_migration_force_complete(self, instance: Any) -> None:
        # Called from another thread while live_migration waits in
        # migrateToURI3: libvirt takes both calls during the migration job.
        dom = self._lookup(instance)
        uuid = driver.instance_uuid(instance)
        if self.conf.libvirt.live_migration_permit_post_copy:
            LOG.info('Switching the live migration of %s to post-copy', uuid)
            dom.migrateStartPostCopy(0)
        else:
            # A paused guest dirties no more memory, so the copy ends;
            # libvirt resumes it on the destination.
            LOG.info('Pausing %s so that its live migration completes', uuid)
            dom.suspend()

    @_translate_errors
    def live_migration_abort(self, instance: Any) -> None:
        LOG.info('Aborting the live migration of %s',
                 driver.instance_uuid(instance))
        # migrateToURI3 then fails; live_migration calls recover_method
        # with the guest still running here.
        self._lookup(instance).abortJob()

    @_translate_errors
    def post_live_migration(self, context: Any, instance: Any,
                            block_device_info: dict[str, Any] | None,
                            migrate_data: dict[str, Any] | None = None
                            ) -> None:
        data = self._migrate_data(migrate_data)
        # libvirt undefined the domain here; its files are the
        # destination's now, unless both hosts share them.
        self._destroy(driver.instance_uuid(instance),
                      destroy_disks=not data.get('is_shared_instance_path'))

    @_translate_errors
    def post_live_migration_at_destination(
            self, context: Any, instance: Any,
            network_info: list[dict[str, Any]] | None,
            block_migration: bool = False,
            block_device_info: dict[str, Any] | None = None) -> None:
        dom = self._lookup(instance)
        if not dom.isPersistent():
            self._host.get_connection().defineXML(dom.XMLDesc(0))
        directory = self.instance_dir(instance)
        if os.path.isdir(directory):
            self._mark_files(directory)
        LOG.info('%s arrived here by live migration',
                 driver.instance_uuid(instance))

    @_translate_errors
    def rollback_live_migration_at_destination(
            self, context: Any, instance: Any,
            network_info: list[dict[str, Any]] | None,
            block_device_info: dict[str, Any] | None,
            destroy_disks: bool = True,
            migrate_data: dict[str, Any] | None = None) -> None:
        data = self._migrate_data(migrate_data)
        self._destroy(driver.instance_uuid(instance),
                      destroy_disks=destroy_disks and
                      not data.get('is_shared_instance_path'))
