"""Disk files: qemu-img, and the cache of images guests boot from.

The cache is ``<instances_path>/_base``: one file per image, named by image
ID, fetched from the image service once and never changed. A guest does
not use cache files directly: its directory holds hard links to them
(``disk.base``, ``kernel``, ``ramdisk``), and its root disk is a qcow2
overlay on ``disk.base``. So

* a guest keeps working when its image is deleted from the image service
  or from the cache;
* a cache file with one link (its own) is used by no guest: the image
  cache manager removes it once it is old enough;
* removing a guest's directory removes everything it used.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from typing import Any

from oslo_log import log as logging

from nova import concurrency, exception

LOG = logging.getLogger(__name__)

BASE_DIR = '_base'
QEMU_IMG = 'qemu-img'

#: Image service disk formats and the QEMU format of their data.
QEMU_FORMATS = {'raw': 'raw', 'ami': 'raw', 'aki': 'raw', 'ari': 'raw',
                'qcow2': 'qcow2', 'vmdk': 'vmdk', 'vdi': 'vdi',
                'vhd': 'vpc', 'vhdx': 'vhdx'}


class QemuImgError(exception.VirtDriverError):
    msg_fmt = 'qemu-img failed: %(reason)s'


def qemu_format(disk_format: str | None) -> str:
    """The QEMU format of an image of ``disk_format``."""
    fmt = QEMU_FORMATS.get(disk_format or 'raw')
    if fmt is None:
        raise exception.VirtDriverError(
            reason=f'images of disk format {disk_format} cannot be a '
                   f'guest\'s root disk')
    return fmt


def qemu_img(*args: str) -> str:
    """Run ``qemu-img args``; its output.

    :raises QemuImgError: naming the command and its error.
    """
    command = [QEMU_IMG, *args]
    try:
        result = subprocess.run(command, capture_output=True, text=True,
                                check=False)
    except FileNotFoundError:
        raise QemuImgError(reason='qemu-img is not installed (Debian: '
                                  'qemu-utils)') from None
    if result.returncode:
        raise QemuImgError(reason=f'{" ".join(command)}: '
                                  f'{result.stderr.strip()}')
    return result.stdout


def info(path: str, force_share: bool = False) -> dict[str, Any]:
    """``qemu-img info`` of ``path`` (format, virtual-size ...)."""
    args = ['info', '--output=json']
    if force_share:
        args.append('-U')
    return json.loads(qemu_img(*args, path))


def create_overlay(path: str, backing: str, backing_format: str,
                   size: int | None = None) -> None:
    """A qcow2 file at ``path`` on ``backing``, of ``size`` bytes (None:
    the backing file's size).
    """
    args = ['create', '-q', '-f', 'qcow2', '-F', backing_format, '-b',
            backing, path]
    if size:
        args.append(str(size))
    qemu_img(*args)


def create_blank(path: str, size: int) -> None:
    """An empty qcow2 disk of ``size`` bytes (ephemeral, swap)."""
    qemu_img('create', '-q', '-f', 'qcow2', path, str(size))


def resize(path: str, size: int) -> None:
    """Grow the disk at ``path`` to ``size`` bytes."""
    qemu_img('resize', '-q', path, str(size))


def rebase_unsafe(path: str, backing: str, backing_format: str) -> None:
    """Make the qcow2 file at ``path`` refer to ``backing`` (a file with
    the same data as its backing file had, e.g. a copy of it elsewhere);
    only its header changes.
    """
    qemu_img('rebase', '-u', '-F', backing_format, '-b', backing, path)


def convert(source: str, dest: str, out_format: str = 'qcow2',
            force_share: bool = False) -> None:
    """Copy ``source`` and its backing chain into one standalone file."""
    args = ['convert', '-O', out_format]
    if force_share:
        # The guest holds the image's lock; it is paused (and its writes
        # flushed), so reading it is safe.
        args.append('-U')
    qemu_img(*args, source, dest)


class ImageCache:
    """Images fetched from the image service, under ``<path>/_base``."""

    def __init__(self, instances_path: str) -> None:
        self.path = os.path.join(instances_path, BASE_DIR)

    def entry(self, image_id: str) -> str:
        return os.path.join(self.path, image_id)

    def fetch(self, image_id: str,
              download: Callable[[str], None]) -> str:
        """The cache file of ``image_id``; ``download(dest_path)`` writes
        the image's data when it is not cached yet.
        """
        path = self.entry(image_id)
        if self._touch(path):
            return path
        # One download per image, however many guests boot from it.
        with concurrency.lock_for(('libvirt-image-cache', path)):
            if os.path.exists(path):
                return path
            os.makedirs(self.path, exist_ok=True)
            partial = os.path.join(self.path,
                                   f'.{image_id}.{os.getpid()}.part')
            try:
                download(partial)
                os.chmod(partial, 0o444)
                os.replace(partial, path)
            except BaseException:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(partial)
                raise
        LOG.debug('Cached image %s at %s', image_id, path)
        return path

    @staticmethod
    def _touch(path: str) -> bool:
        # The age the image cache manager goes by is the time of last use.
        try:
            os.utime(path)
        except FileNotFoundError:
            return False
        return True

    def remove_unused(self, max_age: float) -> list[str]:
        """Remove cache files no guest links to that are older than
        ``max_age`` seconds; their paths.
        """
        removed: list[str] = []
        try:
            names = os.listdir(self.path)
        except FileNotFoundError:
            return removed
        now = time.time()
        for name in names:
            path = os.path.join(self.path, name)
            try:
                st = os.stat(path)
            except FileNotFoundError:
                continue
            stale_partial = name.endswith('.part') and \
                now - st.st_mtime > 3600
            unused = st.st_nlink == 1 and not name.startswith('.') and \
                now - st.st_mtime > max_age
            if stale_partial or unused:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)
                removed.append(path)
                LOG.info('Removed unused cached image %s', path)
        return removed


def link_or_copy(source: str, dest: str) -> None:
    """Hard link ``source`` at ``dest``; copy where links cannot be."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(dest)
    try:
        os.link(source, dest)
    except OSError:
        shutil.copyfile(source, dest)
