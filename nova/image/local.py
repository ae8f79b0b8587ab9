"""The local image store: records in nova's database, data in files.

Data lives at ``[image] images_path/<image id>``, written to a temporary
file first and renamed into place, with its size, MD5 (glance's
``checksum``) and SHA-256 (``os_hash_value``) computed in the same pass.
An ``active`` image always has its complete file: the record turns
``active`` only after the rename.

The dicts returned carry ``path``, the data file, for local virt drivers;
API views must not show it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import uuid
from collections.abc import Iterator
from typing import Any

from oslo_log import log as logging

import nova.conf
from nova import exception
from nova.db import api as db
from nova.image import api

LOG = logging.getLogger(__name__)
CONF = nova.conf.CONF

HASH_ALGO = 'sha256'
VISIBILITIES = ('public', 'private', 'shared', 'community')
# Kernel, ramdisk and machine images: both formats must say the same.
_AMAZON = ('ami', 'aki', 'ari')
# What image_meta / update may set directly (the rest is computed).
_SETTABLE = ('name', 'disk_format', 'container_format', 'min_disk',
             'min_ram', 'visibility', 'protected', 'owner')



class LocalImageAPI(api.ImageAPI):
    """The local image service (``[image] backend`` default)."""

    def __init__(self, conf: Any = CONF) -> None:
        self.conf = conf

    @property
    def images_path(self) -> str:
        return self.conf.image.images_path

    def path(self, image_id: str) -> str:
        return os.path.join(self.images_path, image_id)

    # -- reads ----------------------------------------------------------------

    def get(self, context: Any, image_id: str) -> dict[str, Any]:
        return self._view(db.image_get(context, image_id))

    def get_all(self, context: Any, filters: dict[str, Any] | None = None,
                limit: int | None = None, marker: str | None = None,
                sort_key: str = 'created_at', sort_dir: str = 'desc',
                ) -> list[dict[str, Any]]:
        return [self._view(row) for row in db.image_get_all(
            context, filters, limit=limit, marker=marker, sort_key=sort_key,
            sort_dir=sort_dir)]

    def get_path(self, context: Any, image_id: str) -> str:
        """The data file of an ``active`` image (local drivers)."""
        image = db.image_get(context, image_id)
        self._check_status(image, (api.ACTIVE,))
        return image['path']

    def download(self, context: Any, image_id: str,
                 dest_path: str | None = None,
                 ) -> Iterator[bytes] | None:
        path = self.get_path(context, image_id)
        if dest_path is not None:
            shutil.copyfile(path, dest_path)
            return None
        return api.chunks(path)

    # -- writes ---------------------------------------------------------------

    def create(self, context: Any, image_meta: dict[str, Any],
               data: api.ImageData | None = None) -> dict[str, Any]:
        values = self._values(context, image_meta, creating=True)
        image_id = values['id']
        if data is None:
            values['status'] = api.QUEUED
            return self._view(db.image_create(context, values))
        values.update(self._store(image_id, data), status=api.ACTIVE)
        try:
            return self._view(db.image_create(context, values))
        except Exception:
            with contextlib.suppress(OSError):
                os.unlink(values['path'])
            raise

    def create_from_file(self, context: Any, path: str,
                         **image_meta: Any) -> dict[str, Any]:
        """An ``active`` image holding a copy of the file at ``path``."""
        if not os.path.isfile(path):
            raise exception.Invalid(reason=f'{path} is not a file')
        return self.create(context, image_meta, data=path)

    def create_snapshot(self, context: Any, name: str,
                        properties: dict[str, Any] | None = None,
                        **image_meta: Any) -> dict[str, Any]:
        image_meta = dict(image_meta, name=name,
                          properties=dict(properties or {}))
        image_meta.setdefault('visibility', 'private')
        values = self._values(context, image_meta, creating=True)
        values['status'] = api.SAVING
        return self._view(db.image_create(context, values))

    def upload(self, context: Any, image_id: str,
               data: api.ImageData) -> dict[str, Any]:
        db.image_update(context, image_id, {'status': api.SAVING},
                        expected_status=(api.QUEUED, api.SAVING))
        try:
            stored = self._store(image_id, data)
        except Exception:
            LOG.exception('Storing the data of image %s failed', image_id)
            with contextlib.suppress(exception.NotFound,
                                     exception.InvalidImageState):
                db.image_update(context, image_id, {'status': api.KILLED},
                                expected_status=api.SAVING)
            raise
        try:
            db.image_update(context, image_id,
                            dict(stored, status=api.ACTIVE),
                            expected_status=api.SAVING)
        except (exception.NotFound, exception.InvalidImageState):
            # Deleted (or killed) while we uploaded: drop the data.
            with contextlib.suppress(OSError):
                os.unlink(stored['path'])
            raise
        return self.get(context, image_id)

    def update(self, context: Any, image_id: str,
               image_meta: dict[str, Any], data: api.ImageData | None = None,
               purge_props: bool = False) -> dict[str, Any]:
        values = self._values(context, image_meta, creating=False)
        if 'properties' in image_meta:
            properties = dict(image_meta['properties'] or {})
            if not purge_props:
                current = db.image_get(context, image_id)['properties']
                properties = dict(current or {}, **properties)
            values['properties'] = properties
        if values:
            db.image_update(context, image_id, values)
        if data is not None:
            return self.upload(context, image_id, data)
        return self.get(context, image_id)

    def delete(self, context: Any, image_id: str) -> None:
        image = db.image_get(context, image_id)
        if not (context is None or getattr(context, 'is_admin', False)
                or image['owner'] == getattr(context, 'project_id', None)):
            raise exception.ImageNotAuthorized(image_id=image_id)
        db.image_destroy(context, image_id)
        # Record first, then data: a crash leaves an orphan file, never
        # an image without data.
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path(image_id))

    # -- helpers --------------------------------------------------------------

    def _store(self, image_id: str, data: api.ImageData) -> dict[str, Any]:
        """Write the data file; returns the record's data fields."""
        os.makedirs(self.images_path, exist_ok=True)
        final = self.path(image_id)
        partial = os.path.join(self.images_path, f'.{image_id}.part')
        md5 = hashlib.md5(usedforsecurity=False)
        digest = hashlib.new(HASH_ALGO)
        size = 0
        try:
            with open(partial, 'wb') as target:
                for chunk in api.chunks(data):
                    target.write(chunk)
                    md5.update(chunk)
                    digest.update(chunk)
                    size += len(chunk)
                target.flush()
                os.fsync(target.fileno())
            os.replace(partial, final)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(partial)
            raise
        return {'path': final, 'size': size, 'checksum': md5.hexdigest(),
                'os_hash_algo': HASH_ALGO,
                'os_hash_value': digest.hexdigest()}

    def _values(self, context: Any, image_meta: dict[str, Any],
                creating: bool) -> dict[str, Any]:
        unknown = set(image_meta) - set(_SETTABLE) - {'id', 'properties'}
        if unknown:
            raise exception.Invalid(
                reason=f'Unknown image attribute(s): '
                       f'{", ".join(sorted(unknown))}')
        values = {k: image_meta[k] for k in _SETTABLE if k in image_meta}
        if creating:
            values['id'] = str(image_meta.get('id') or uuid.uuid4())
            values.setdefault('visibility', 'shared')
            values.setdefault('owner', getattr(context, 'project_id', None))
            values['properties'] = dict(image_meta.get('properties') or {})
            disk = values.setdefault('disk_format', 'raw')
            values.setdefault('container_format',
                              disk if disk in _AMAZON else 'bare')
        self._validate(values)
        return values

    def _validate(self, values: dict[str, Any]) -> None:
        disk = values.get('disk_format')
        container = values.get('container_format')
        if disk is not None and disk not in self.conf.image.disk_formats:
            raise exception.Invalid(reason=f'Invalid disk format {disk}')
        if container is not None and \
                container not in self.conf.image.container_formats:
            raise exception.Invalid(
                reason=f'Invalid container format {container}')
        if disk is not None and container is not None and \
                (disk in _AMAZON or container in _AMAZON) and \
                disk != container:
            raise exception.Invalid(
                reason='Invalid mix of disk and container formats: '
                       f'{disk} / {container}')
        if 'visibility' in values and \
                values['visibility'] not in VISIBILITIES:
            raise exception.Invalid(
                reason=f'Invalid visibility {values["visibility"]}')
        for key in ('min_disk', 'min_ram'):
            if key in values:
                try:
                    values[key] = int(values[key])
                except (TypeError, ValueError):
                    values[key] = -1
                if values[key] < 0:
                    raise exception.Invalid(
                        reason=f'{key} must be a non-negative integer')
        if 'protected' in values:
            values['protected'] = bool(values['protected'])

    @staticmethod
    def _check_status(image: dict[str, Any], allowed: tuple[str, ...],
                      ) -> None:
        if image['status'] not in allowed:
            raise exception.InvalidImageState(
                image_id=image['id'], expected='/'.join(allowed),
                actual=image['status'])

    @staticmethod
    def _view(row: dict[str, Any]) -> dict[str, Any]:
        image = dict(row)
        image['properties'] = dict(image.get('properties') or {})
        return image
