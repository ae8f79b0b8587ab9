"""The libvirt virt driver: real guests under QEMU, through libvirtd.

Quick start on a Debian host (as root)::

    tools/install-libvirt.sh          # libvirtd + QEMU, libvirt-python
    tools/build-tiny-guest.py --register --config-file /etc/nova/nova.conf

and in nova.conf::

    [DEFAULT]
    compute_driver = libvirt.LibvirtDriver
    [libvirt]
    virt_type = qemu                  # kvm where /dev/kvm works

then boot the image ``nova-tiny-guest`` (``--register`` prints its ID); its
console (``get_console_output``) says ``nova-tiny-guest init ran``.
"""

from nova.virt.libvirt.driver import LibvirtDriver

__all__ = ['LibvirtDriver']
