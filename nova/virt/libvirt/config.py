"""Libvirt domain XML: what a guest looks like, from plain data.

Nothing here talks to libvirt: ``GuestConfig`` (the guest as the driver
decided it) goes in, XML text comes out, so every choice the driver makes
about a guest can be tested without a hypervisor. ``disk_xml`` and
``interface_xml`` produce the device elements hot plug uses too, and
``find_disk`` / ``find_interface`` read them back from a domain's XML.
"""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET
from typing import Any

#: The namespace of nova's domain metadata (upstream nova's).
NOVA_NS = 'http://openstack.org/xmlns/libvirt/nova/1.1'
NOVA_PREFIX = 'nova'

ET.register_namespace(NOVA_PREFIX, NOVA_NS)


@dataclasses.dataclass
class Disk:
    """A disk of a guest."""

    path: str
    target: str                      # 'vda'
    bus: str = 'virtio'
    format: str = 'qcow2'            # qemu driver type: qcow2, raw ...
    device: str = 'disk'             # disk, cdrom
    source_type: str = 'file'        # file, block
    serial: str | None = None        # shown to the guest (volume ID)
    readonly: bool = False
    cache: str | None = None         # None: the hypervisor's default


@dataclasses.dataclass
class Interface:
    """A network interface of a guest."""

    mac: str
    type: str = 'ethernet'           # ethernet, bridge, user
    model: str = 'virtio'
    bridge: str | None = None        # type bridge
    target: str | None = None        # the host's tap device name
    mtu: int | None = None


@dataclasses.dataclass
class GuestConfig:
    """Everything the domain XML says."""

    uuid: str
    name: str
    memory_mb: int
    vcpus: int
    virt_type: str = 'qemu'          # the domain type: kvm, qemu
    arch: str = 'x86_64'
    machine_type: str | None = 'pc'
    cpu_mode: str | None = None      # host-model, host-passthrough, None
    kernel: str | None = None
    ramdisk: str | None = None
    cmdline: str | None = None
    disks: list[Disk] = dataclasses.field(default_factory=list)
    interfaces: list[Interface] = dataclasses.field(default_factory=list)
    console_log: str | None = None
    #: The address the guest's VNC server listens on ([vnc]
    #: server_listen); None: the guest has no VNC console.
    vnc_listen: str | None = None
    #: nova's metadata: display_name, flavor {...}, owner {...},
    #: image_id, kernel_id, ramdisk_id, creation_time.
    metadata: dict[str, Any] = dataclasses.field(default_factory=dict)


def _sub(parent: ET.Element, tag: str, text: Any = None,
         **attrib: Any) -> ET.Element:
    element = ET.SubElement(parent, tag, {k.rstrip('_'): str(v)
                                          for k, v in attrib.items()
                                          if v is not None})
    if text is not None:
        element.text = str(text)
    return element


def _nova(tag: str) -> str:
    return f'{{{NOVA_NS}}}{tag}'


def _metadata(parent: ET.Element, meta: dict[str, Any]) -> None:
    instance = ET.SubElement(ET.SubElement(parent, 'metadata'),
                             _nova('instance'))
    _sub(instance, _nova('package'), version=meta.get('package', 'nova'))
    if meta.get('display_name') is not None:
        _sub(instance, _nova('name'), meta['display_name'])
    if meta.get('creation_time'):
        _sub(instance, _nova('creationTime'), meta['creation_time'])
    flavor = meta.get('flavor') or {}
    if flavor:
        element = _sub(instance, _nova('flavor'), name=flavor.get('name'))
        for key, tag in (('memory_mb', 'memory'), ('root_gb', 'disk'),
                         ('swap', 'swap'), ('ephemeral_gb', 'ephemeral'),
                         ('vcpus', 'vcpus')):
            _sub(element, _nova(tag), int(flavor.get(key) or 0))
    owner = meta.get('owner') or {}
    if owner:
        element = _sub(instance, _nova('owner'))
        _sub(element, _nova('user'), owner.get('user_name') or '',
             uuid=owner.get('user_id'))
        _sub(element, _nova('project'), owner.get('project_name') or '',
             uuid=owner.get('project_id'))
    if meta.get('image_id'):
        _sub(instance, _nova('root'), type='image', uuid=meta['image_id'])
    # Not in upstream's schema: what a snapshot needs to boot like this.
    for key in ('kernel_id', 'ramdisk_id'):
        if meta.get(key):
            _sub(instance, _nova(key.replace('_id', '')), uuid=meta[key])


def disk_element(disk: Disk) -> ET.Element:
    element = ET.Element('disk', {'type': disk.source_type,
                                  'device': disk.device})
    _sub(element, 'driver', name='qemu', type=disk.format, cache=disk.cache)
    _sub(element, 'source', **{'file' if disk.source_type == 'file'
                               else 'dev': disk.path})
    _sub(element, 'target', dev=disk.target, bus=disk.bus)
    if disk.readonly:
        _sub(element, 'readonly')
    if disk.serial:
        _sub(element, 'serial', disk.serial)
    return element


def interface_element(vif: Interface) -> ET.Element:
    element = ET.Element('interface', {'type': vif.type})
    _sub(element, 'mac', address=vif.mac)
    if vif.type == 'bridge':
        _sub(element, 'source', bridge=vif.bridge)
    if vif.target and vif.type in ('bridge', 'ethernet'):
        _sub(element, 'target', dev=vif.target)
    _sub(element, 'model', type=vif.model)
    if vif.mtu:
        _sub(element, 'mtu', size=vif.mtu)
    return element


def domain_element(guest: GuestConfig) -> ET.Element:
    domain = ET.Element('domain', {'type': guest.virt_type})
    _sub(domain, 'name', guest.name)
    _sub(domain, 'uuid', guest.uuid)
    _metadata(domain, guest.metadata)
    _sub(domain, 'memory', guest.memory_mb * 1024, unit='KiB')
    _sub(domain, 'vcpu', guest.vcpus)

    sysinfo = _sub(_sub(domain, 'sysinfo', type='smbios'), 'system')
    for name, value in (('manufacturer', 'OpenStack Foundation'),
                        ('product', 'OpenStack Nova'),
                        ('serial', guest.uuid), ('uuid', guest.uuid),
                        ('family', 'Virtual Machine')):
        _sub(sysinfo, 'entry', value, name=name)

    os_ = _sub(domain, 'os')
    _sub(os_, 'type', 'hvm', arch=guest.arch, machine=guest.machine_type)
    if guest.kernel:
        _sub(os_, 'kernel', guest.kernel)
        if guest.ramdisk:
            _sub(os_, 'initrd', guest.ramdisk)
        if guest.cmdline:
            _sub(os_, 'cmdline', guest.cmdline)
    else:
        _sub(os_, 'boot', dev='hd')
    _sub(os_, 'smbios', mode='sysinfo')

    features = _sub(domain, 'features')
    _sub(features, 'acpi')
    _sub(features, 'apic')
    if guest.cpu_mode:
        _sub(domain, 'cpu', mode=guest.cpu_mode)

    clock = _sub(domain, 'clock', offset='utc')
    _sub(clock, 'timer', name='pit', tickpolicy='delay')
    _sub(clock, 'timer', name='rtc', tickpolicy='catchup')
    _sub(clock, 'timer', name='hpet', present='no')
    _sub(domain, 'on_poweroff', 'destroy')
    _sub(domain, 'on_reboot', 'restart')
    _sub(domain, 'on_crash', 'destroy')

    devices = _sub(domain, 'devices')
    for disk in guest.disks:
        devices.append(disk_element(disk))
    for vif in guest.interfaces:
        devices.append(interface_element(vif))
    if guest.console_log:
        # A file QEMU writes the serial port to; kept over reboots.
        serial = _sub(devices, 'serial', type='file')
        _sub(serial, 'source', path=guest.console_log, append='on')
        _sub(serial, 'target', port=0)
    else:
        _sub(_sub(devices, 'serial', type='pty'), 'target', port=0)
    if guest.vnc_listen:
        # libvirt picks the port (5900 and up) when the guest starts.
        graphics = _sub(devices, 'graphics', type='vnc', autoport='yes',
                        listen=guest.vnc_listen)
        _sub(graphics, 'listen', type='address', address=guest.vnc_listen)
    _sub(devices, 'memballoon', model='virtio')
    return domain


def to_xml(element: ET.Element) -> str:
    # An element found in a parsed domain carries the whitespace after it.
    element.tail = None
    ET.indent(element)
    return ET.tostring(element, encoding='unicode')


def domain_xml(guest: GuestConfig) -> str:
    return to_xml(domain_element(guest))


def disk_xml(disk: Disk) -> str:
    return to_xml(disk_element(disk))


def interface_xml(vif: Interface) -> str:
    return to_xml(interface_element(vif))


# -- reading a domain's XML back ----------------------------------------------

def parse(xml: str) -> ET.Element:
    return ET.fromstring(xml)


def disk_targets(domain: ET.Element) -> list[str]:
    """Target names (vda ...) of the domain's disks."""
    return [dev for target in domain.findall('./devices/disk/target')
            if (dev := target.get('dev')) is not None]


def find_disk(domain: ET.Element, target: str) -> ET.Element | None:
    """The <disk> whose target is ``target`` (vdb), or None."""
    for disk in domain.findall('./devices/disk'):
        element = disk.find('target')
        if element is not None and element.get('dev') == target:
            return disk
    return None


def disk_paths(domain: ET.Element) -> list[str]:
    """The files (or devices) of the domain's disks."""
    paths = []
    for source in domain.findall('./devices/disk/source'):
        path = source.get('file') or source.get('dev')
        if path:
            paths.append(path)
    return paths


def find_interface(domain: ET.Element, mac: str) -> ET.Element | None:
    """The <interface> with MAC address ``mac``, or None."""
    for interface in domain.findall('./devices/interface'):
        element = interface.find('mac')
        if element is not None and \
                (element.get('address') or '').lower() == mac.lower():
            return interface
    return None


def cmdline(domain: ET.Element) -> str | None:
    element = domain.find('./os/cmdline')
    return None if element is None else element.text


def vnc_port(domain: ET.Element) -> int | None:
    """The port of the domain's VNC server: None without a VNC device
    or while it has no port (the guest is not running)."""
    graphics = domain.find("./devices/graphics[@type='vnc']")
    port = None if graphics is None else graphics.get('port')
    if not port or int(port) < 0:
        return None
    return int(port)


def nova_metadata(domain: ET.Element) -> dict[str, str]:
    """image_id, kernel_id and ramdisk_id from nova's metadata."""
    found: dict[str, str] = {}
    instance = domain.find(f'./metadata/{_nova("instance")}')
    if instance is None:
        return found
    for tag, key in (('root', 'image_id'), ('kernel', 'kernel_id'),
                     ('ramdisk', 'ramdisk_id')):
        element = instance.find(_nova(tag))
        uuid = None if element is None else element.get('uuid')
        if uuid:
            found[key] = uuid
    return found
