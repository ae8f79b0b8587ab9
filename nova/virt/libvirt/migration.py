"""Moving a guest's files between hosts, for resize and cold migration.

A guest's files are those of its instance directory (see
``nova.virt.libvirt.images``). The source sends them in
``migrate_disk_and_power_off`` by ``[libvirt] remote_filesystem_transport``:

``ssh`` / ``rsync`` (upstream's transports)
    straight into ``<instances_path>/<uuid>`` on the destination, which
    must use the same ``instances_path``; a destination that is this host
    gets a local copy there.
``shared``
    into ``<[libvirt] migration_shared_path>/<uuid>``, a directory all
    compute hosts see at the same path; the destination moves them into its
    own instance directory in ``finish_migration``. This is what compute
    hosts sharing one machine (each with its own ``state_path``) use, and
    what a multi-host deployment with a shared filesystem would use.

Files that never change (``disk.base``, ``kernel``, ``ramdisk``: links to
the image cache) are hard linked where they can be; the disks a guest
writes are copied, so the source's copy stays as it was for a revert.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
from collections.abc import Iterable
from typing import Any

from oslo_log import log as logging

from nova import exception
from nova.virt.libvirt import images

LOG = logging.getLogger(__name__)

#: Files of an instance directory that are links to the image cache and
#: never written.
IMMUTABLE = frozenset({'disk.base', 'kernel', 'ramdisk'})
#: The file naming the host whose guest was last defined from the
#: instance directory's files (see nova.virt.libvirt.driver).
HOST_FILE = 'compute_host'
#: Files that are not moved: the console log stays with the host that
#: wrote it; swap is made again on the destination, at the new size; the
#: destination writes its own HOST_FILE.
NOT_MOVED = frozenset({'console.log', 'disk.swap', HOST_FILE})


class MigrationError(exception.NovaException):
    msg_fmt = 'Migration error: %(reason)s'


class MigrationPreCheckError(MigrationError):
    msg_fmt = 'Migration pre-check error: %(reason)s'


class ResizeError(exception.Invalid):
    msg_fmt = 'Resize error: %(reason)s'


def files_to_move(directory: str) -> list[str]:
    """Names of the files of ``directory`` a migration moves."""
    return sorted(name for name in os.listdir(directory)
                  if name not in NOT_MOVED and
                  os.path.isfile(os.path.join(directory, name)))


def copy_files(source: str, names: Iterable[str], dest: str) -> None:
    """Copy files ``names`` of ``source`` into directory ``dest`` (made if
    missing), through a temporary directory, so ``dest`` either has them
    all or does not exist.
    """
    partial = dest + '.part'
    shutil.rmtree(partial, ignore_errors=True)
    os.makedirs(partial)
    try:
        for name in names:
            path = os.path.join(source, name)
            target = os.path.join(partial, name)
            if name in IMMUTABLE:
                images.link_or_copy(path, target)
            else:
                shutil.copy2(path, target)
        shutil.rmtree(dest, ignore_errors=True)
        os.rename(partial, dest)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise


def move_files(source: str, dest: str) -> None:
    """Move everything in ``source`` into ``dest`` (made if missing), and
    remove ``source``. Repeating it after an interruption finishes it.
    """
    os.makedirs(dest, exist_ok=True)
    for name in os.listdir(source):
        shutil.move(os.path.join(source, name), os.path.join(dest, name))
    os.rmdir(source)


def is_local(address: str, host: str | None) -> bool:
    """Whether ``address`` (a destination host's address or name) is this
    host.
    """
    names = {'localhost', '127.0.0.1', '::1', socket.gethostname(),
             socket.getfqdn()}
    if host:
        names.add(host)
    if address in names:
        return True
    with contextlib.suppress(OSError):
        return socket.gethostbyname(address) in {
            socket.gethostbyname(name) for name in names if name}
    return False


def _run(command: list[str]) -> None:
    try:
        result = subprocess.run(command, capture_output=True, text=True,
                                check=False)
    except FileNotFoundError:
        raise MigrationError(reason=f'{command[0]} is not installed') \
            from None
    if result.returncode:
        raise MigrationError(reason=f'{" ".join(command)}: '
                                    f'{result.stderr.strip()}')


def _ssh(address: str, *command: str) -> list[str]:
    return ['ssh', '-o', 'BatchMode=yes', address, '--', *command]


def copy_remote(transport: str, source: str, names: Iterable[str],
                address: str, dest: str) -> None:
    """Copy files ``names`` of ``source`` into directory ``dest`` on host
    ``address`` by ``transport`` (ssh or rsync).
    """
    _run(_ssh(address, 'mkdir', '-p', dest))
    paths = [os.path.join(source, name) for name in names]
    if not paths:
        return
    if transport == 'rsync':
        command = ['rsync', '--sparse', '--compress', '--times', *paths,
                   f'{address}:{dest}/']
    else:
        command = ['scp', '-B', '-p', *paths, f'{address}:{dest}/']
    _run(command)


def remove_remote(address: str, dest: str) -> None:
    _run(_ssh(address, 'rm', '-rf', dest))


def disk_details(directory: str, names: Iterable[str]) -> list[dict[str, Any]]:
    """What ``finish_migration`` needs to know of the disks being moved:
    format, virtual size and backing file of each.
    """
    disks = []
    for name in names:
        if name in IMMUTABLE:
            continue
        found = images.info(os.path.join(directory, name))
        backing = found.get('backing-filename')
        disks.append({
            'name': name, 'format': found.get('format'),
            'virtual_size': found.get('virtual-size'),
            'backing_file': os.path.basename(backing) if backing else None,
            'backing_format': found.get('backing-filename-format')})
    return disks
