#!/usr/bin/env python3
"""Build the tiny test guest from Debian packages; optionally register it.

The guest is a Debian cloud kernel and a busybox initramfs, booted directly
(AMI style: a machine image whose ``kernel_id`` / ``ramdisk_id`` properties
name a kernel and a ramdisk image). Under QEMU without KVM it reaches its
init in a few seconds. Its init:

* mounts /proc, /sys and /dev and loads the virtio and ACPI button modules;
* powers off on the ACPI power button, so libvirt's shutdown and reboot
  (and nova's soft reboot and clean power off) work;
* then prints ``nova-tiny-guest init ran`` on the serial console (ttyS0);
* prints its disks and NICs, and again whenever they change, so hot plug
  of a volume or an interface shows on the console.

Output, in ``--output`` (default ``$XDG_CACHE_HOME/nova/tiny-guest``):
``vmlinuz``, ``initramfs.gz``, ``disk.img`` (a 1 MiB raw root disk; the
guest does not mount it) and ``manifest.json``. A second run with the same
packages reuses them.

``--register`` adds three images to nova's local image store with
``nova-manage image create`` (pass ``--config-file`` for its nova.conf):
``<name>-kernel`` (aki), ``<name>-ramdisk`` (ari) and ``<name>`` (ami, with
``kernel_id``, ``ramdisk_id`` and ``os_command_line``) and prints the
machine image's ID last.

Needs apt-get and dpkg-deb (Debian); no root, except that apt-get update is
run as root when the package lists are missing.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import gzip
import io
import json
import lzma
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterable

KERNEL_PACKAGE = 'linux-image-cloud-amd64'
BUSYBOX_PACKAGE = 'busybox-static'
INIT_LINE = 'nova-tiny-guest init ran'
COMMAND_LINE = 'console=ttyS0 panic=-1 quiet'
# Modules loaded at boot, their dependencies first (found from .modinfo).
MODULES = ('button', 'evdev', 'virtio_pci', 'virtio_blk', 'virtio_net')
DISK_SIZE = 1024 * 1024
FORMAT_VERSION = 3

INIT = r'''#!/bin/busybox sh
# nova tiny guest: see nova tools/build-tiny-guest.py
/bin/busybox mkdir -p /proc /sys /dev /sbin /usr/bin /usr/sbin /tmp
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for module in $(cat /lib/modules/load); do
    insmod /lib/modules/$module.ko 2>/dev/null
done

power_button() {
    for event in /sys/class/input/event*; do
        if [ "$(cat $event/device/name 2>/dev/null)" = "Power Button" ]; then
            echo /dev/input/${event##*/}
            return
        fi
    done
}
button=""
for _ in 1 2 3 4 5 6 7 8 9 10; do
    button=$(power_button)
    [ -n "$button" ] && break
    sleep 0.2
done
if [ -n "$button" ]; then
    # Any event of the power button device (a key press) powers off. The
    # device is opened before init says it ran, so no press is missed.
    (exec 3<"$button"
     : > /tmp/power-button-ready
     dd bs=24 count=1 <&3 >/dev/null 2>&1
     echo "nova-tiny-guest: power button pressed, powering off"
     sync
     poweroff -f) &
    while [ ! -e /tmp/power-button-ready ]; do sleep 0.02; done
    echo "nova-tiny-guest: ACPI power button handler on $button"
else
    echo "nova-tiny-guest: no ACPI power button found"
fi
# Last: whoever waits for this line may press the power button.
echo "@INIT_LINE@"

last=""
while true; do
    disks=$(ls /sys/block | grep -v -e '^loop' -e '^ram' | tr '\n' ' ')
    nics=$(ls /sys/class/net | grep -v '^lo$' | tr '\n' ' ')
    now="disks: ${disks}nics: ${nics}"
    if [ "$now" != "$last" ]; then
        echo "nova-tiny-guest: $now"
        last=$now
    fi
    sleep 0.5
done
'''.replace('@INIT_LINE@', INIT_LINE)


def log(message: str) -> None:
    print(f'build-tiny-guest: {message}', file=sys.stderr)


def default_output() -> str:
    cache = os.environ.get('XDG_CACHE_HOME') or os.path.expanduser(
        '~/.cache')
    return os.path.join(cache, 'nova', 'tiny-guest')


# -- Debian packages ----------------------------------------------------------

def _run(args: list[str], **kwargs) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True,
                          **kwargs).stdout


def _update_lists() -> None:
    if os.geteuid() != 0:
        raise SystemExit('build-tiny-guest: the apt package lists are '
                         'missing; run "apt-get update" as root first')
    log('apt-get update')
    _run(['apt-get', 'update', '-qq'])


def resolve_kernel_package() -> str:
    """The versioned kernel package the metapackage points at."""
    for attempt in (1, 2):
        try:
            out = _run(['apt-cache', 'depends', KERNEL_PACKAGE])
        except subprocess.CalledProcessError:
            out = ''
        for line in out.splitlines():
            name = line.strip().removeprefix('Depends:').strip()
            if line.strip().startswith('Depends:') and \
                    name.startswith('linux-image-'):
                return name
        if attempt == 1:
            _update_lists()
    raise SystemExit(f'build-tiny-guest: cannot resolve {KERNEL_PACKAGE}')


def download(package: str, debs: str) -> str:
    """``apt-get download`` ``package`` into ``debs`` (once); its path."""
    os.makedirs(debs, exist_ok=True)
    version = _run(['apt-cache', 'policy', package])
    candidate = next((line.split(':', 1)[1].strip()
                      for line in version.splitlines()
                      if line.strip().startswith('Candidate:')), None)
    if candidate and candidate != '(none)':
        for name in os.listdir(debs):
            if name.startswith(package + '_') and name.endswith('.deb') and \
                    candidate.split(':')[-1] in name.replace('%3a', ':'):
                return os.path.join(debs, name)
    for attempt in (1, 2):
        try:
            _run(['apt-get', 'download', '-q', package], cwd=debs)
            break
        except subprocess.CalledProcessError as error:
            if attempt == 2:
                raise SystemExit(f'build-tiny-guest: apt-get download '
                                 f'{package} failed: {error.stderr}'
                                 ) from error
            _update_lists()
    found = sorted(n for n in os.listdir(debs)
                   if n.startswith(package + '_') and n.endswith('.deb'))
    return os.path.join(debs, found[-1])


def extract(deb: str, target: str) -> None:
    _run(['dpkg-deb', '-x', deb, target])


# -- kernel modules -----------------------------------------------------------

def _module_bytes(path: str) -> bytes:
    with open(path, 'rb') as f:
        data = f.read()
    if path.endswith('.xz'):
        return lzma.decompress(data)
    if path.endswith('.gz'):
        return gzip.decompress(data)
    if path.endswith('.zst'):
        raise SystemExit(f'build-tiny-guest: {path}: zstd modules are not '
                         f'supported')
    return data


def _module_name(filename: str) -> str:
    return filename.split('.ko')[0].replace('-', '_')


def _depends(data: bytes) -> list[str]:
    marker = b'\0depends='
    at = data.find(marker)
    if at < 0:
        return []
    end = data.index(b'\0', at + 1)
    value = data[at + len(marker):end].decode()
    return [name.replace('-', '_') for name in value.split(',') if name]


def collect_modules(root: str, wanted: Iterable[str]
                    ) -> list[tuple[str, bytes]]:
    """``(name, uncompressed .ko)`` for ``wanted`` and what they need,
    dependencies first; modules built into the kernel are skipped.
    """
    index = {}
    for directory, _, files in os.walk(os.path.join(root, 'lib', 'modules')):
        for filename in files:
            if '.ko' in filename:
                index[_module_name(filename)] = os.path.join(directory,
                                                             filename)
    ordered: list[tuple[str, bytes]] = []
    seen: set[str] = set()

    def add(name: str) -> None:
        if name in seen:
            return
        seen.add(name)
        path = index.get(name)
        if path is None:
            return
        data = _module_bytes(path)
        for dependency in _depends(data):
            add(dependency)
        ordered.append((name, data))

    for name in wanted:
        add(name)
    return ordered


# -- initramfs ----------------------------------------------------------------

class Cpio:
    """A newc cpio archive, written without root (device nodes included)."""

    def __init__(self) -> None:
        self.out = io.BytesIO()
        self.ino = 1

    def _entry(self, name: str, mode: int, data: bytes = b'',
               rdev: tuple[int, int] = (0, 0)) -> None:
        encoded = name.encode() + b'\0'
        fields = [self.ino, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0],
                  rdev[1], len(encoded), 0]
        self.ino += 1
        self.out.write(b'070701' + b''.join(b'%08X' % v for v in fields))
        self.out.write(encoded)
        self._pad()
        self.out.write(data)
        self._pad()

    def _pad(self) -> None:
        self.out.write(b'\0' * (-self.out.tell() % 4))

    def directory(self, name: str) -> None:
        self._entry(name, stat.S_IFDIR | 0o755)

    def file(self, name: str, data: bytes, mode: int = 0o644) -> None:
        self._entry(name, stat.S_IFREG | mode, data)

    def char_device(self, name: str, major: int, minor: int) -> None:
        self._entry(name, stat.S_IFCHR | 0o600, rdev=(major, minor))

    def finish(self) -> bytes:
        self._entry('TRAILER!!!', 0)
        return self.out.getvalue()


def build_initramfs(busybox: bytes, modules: list[tuple[str, bytes]]
                    ) -> bytes:
    archive = Cpio()
    for name in ('bin', 'dev', 'etc', 'lib', 'lib/modules', 'proc', 'sys',
                 'tmp'):
        archive.directory(name)
    # The kernel opens /dev/console for init before anything is mounted.
    archive.char_device('dev/console', 5, 1)
    archive.file('bin/busybox', busybox, 0o755)
    archive.file('init', INIT.encode(), 0o755)
    archive.file('lib/modules/load',
                 ''.join(f'{name}\n' for name, _ in modules).encode())
    for name, data in modules:
        archive.file(f'lib/modules/{name}.ko', data)
    # Level 6: most of the gain of 9 for a fraction of the time.
    return gzip.compress(archive.finish(), compresslevel=6, mtime=0)


# -- build --------------------------------------------------------------------

@contextlib.contextmanager
def _locked(output: str):
    """One builder at a time per output directory (parallel test runs)."""
    os.makedirs(output, exist_ok=True)
    with open(os.path.join(output, '.lock'), 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def build(output: str, force: bool = False) -> dict:
    """Build the guest into ``output`` (unless it is there); its manifest."""
    with _locked(output):
        return _build(output, force)


def _build(output: str, force: bool) -> dict:
    manifest_path = os.path.join(output, 'manifest.json')
    kernel_package = resolve_kernel_package()
    if not force and os.path.exists(manifest_path):
        with open(manifest_path) as f:
            manifest = json.load(f)
        if manifest.get('kernel_package') == kernel_package and \
                manifest.get('format') == FORMAT_VERSION and all(
                    os.path.exists(os.path.join(output, manifest[key]))
                    for key in ('kernel', 'ramdisk', 'disk')):
            return manifest
    os.makedirs(output, exist_ok=True)
    debs = os.path.join(output, 'debs')
    log(f'building from {kernel_package} and {BUSYBOX_PACKAGE}')
    kernel_deb = download(kernel_package, debs)
    busybox_deb = download(BUSYBOX_PACKAGE, debs)
    with tempfile.TemporaryDirectory(dir=output) as work:
        extract(kernel_deb, os.path.join(work, 'kernel'))
        extract(busybox_deb, os.path.join(work, 'busybox'))
        boot = os.path.join(work, 'kernel', 'boot')
        vmlinuz = next(n for n in os.listdir(boot)
                       if n.startswith('vmlinuz-'))
        shutil.copyfile(os.path.join(boot, vmlinuz),
                        os.path.join(output, 'vmlinuz.tmp'))
        with open(os.path.join(work, 'busybox', 'bin', 'busybox'),
                  'rb') as f:
            busybox = f.read()
        modules = collect_modules(os.path.join(work, 'kernel'), MODULES)
    with open(os.path.join(output, 'initramfs.gz.tmp'), 'wb') as f:
        f.write(build_initramfs(busybox, modules))
    with open(os.path.join(output, 'disk.img.tmp'), 'wb') as f:
        f.write(b'nova-tiny-guest root disk\n')
        f.truncate(DISK_SIZE)
    for name in ('vmlinuz', 'initramfs.gz', 'disk.img'):
        os.replace(os.path.join(output, name + '.tmp'),
                   os.path.join(output, name))
    manifest = {
        'format': FORMAT_VERSION,
        'kernel_package': kernel_package,
        'kernel_file': vmlinuz,
        'modules': [name for name, _ in modules],
        'kernel': 'vmlinuz',
        'ramdisk': 'initramfs.gz',
        'disk': 'disk.img',
        'os_command_line': COMMAND_LINE,
        'init_line': INIT_LINE,
    }
    with open(manifest_path + '.tmp', 'w') as f:
        json.dump(manifest, f, indent=2, sort_keys=True)
    os.replace(manifest_path + '.tmp', manifest_path)
    log(f'built in {output}: modules {" ".join(manifest["modules"])}')
    return manifest


def register(output: str, manifest: dict, name: str,
             config_files: list[str], nova_manage: str) -> dict[str, str]:
    """Create kernel, ramdisk and machine images; their IDs."""
    base = [nova_manage] + [f'--config-file={c}' for c in config_files]

    def create(image_name: str, path: str, disk_format: str,
               properties: dict[str, str]) -> str:
        args = base + ['image', 'create', '--name', image_name, '--file',
                       os.path.join(output, path), '--disk-format',
                       disk_format]
        for key, value in properties.items():
            args += ['--property', f'{key}={value}']
        out = subprocess.run(args, check=True, capture_output=True,
                             text=True).stdout
        return out.strip().splitlines()[-1]

    kernel_id = create(f'{name}-kernel', manifest['kernel'], 'aki', {})
    ramdisk_id = create(f'{name}-ramdisk', manifest['ramdisk'], 'ari', {})
    image_id = create(name, manifest['disk'], 'ami', {
        'kernel_id': kernel_id, 'ramdisk_id': ramdisk_id,
        'os_command_line': manifest['os_command_line']})
    return {'kernel_id': kernel_id, 'ramdisk_id': ramdisk_id,
            'image_id': image_id}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--output', default=default_output(),
                        help='directory for the guest (default %(default)s)')
    parser.add_argument('--force', action='store_true',
                        help='rebuild even if it is up to date')
    parser.add_argument('--register', action='store_true',
                        help='add the images with nova-manage image create')
    parser.add_argument('--name', default='nova-tiny-guest',
                        help='image name (with --register)')
    parser.add_argument('--config-file', action='append', default=[],
                        help='nova.conf for nova-manage (with --register)')
    parser.add_argument('--nova-manage', default=shutil.which(
        'nova-manage') or os.path.join(os.path.dirname(sys.executable),
                                       'nova-manage'),
        help='the nova-manage command (with --register)')
    args = parser.parse_args(argv)
    manifest = build(args.output, force=args.force)
    print(json.dumps({key: os.path.join(args.output, manifest[key])
                      for key in ('kernel', 'ramdisk', 'disk')}))
    if args.register:
        ids = register(args.output, manifest, args.name, args.config_file,
                       args.nova_manage)
        log(f'registered kernel {ids["kernel_id"]}, ramdisk '
            f'{ids["ramdisk_id"]}, image {args.name}:')
        print(ids['image_id'])
    return 0


if __name__ == '__main__':
    sys.exit(main())
