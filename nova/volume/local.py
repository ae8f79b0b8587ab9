"""Local volumes: a database record plus a sparse file per volume.

The file lives at ``[volume] volumes_path/volume-<id>``; its connection
info (``driver_volume_type: 'local'``, ``data.device_path``) tells a virt
driver to use that file as the disk.  Every state change is one
conditional UPDATE (:func:`nova.db.api.volume_update` with
``expected_status``); only when it matches nothing is the volume read, to
tell an idempotent repeat from a real conflict.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import uuid
from typing import Any

from oslo_log import log as logging

import nova.conf
import nova.image.api
from nova import exception
from nova.db import api as db
from nova.volume import api

LOG = logging.getLogger(__name__)


def _grow(data: Any, size: int) -> None:
    """Make the (sparse) file ``data`` ``size`` GiB long; InvalidVolume
    when the file system cannot hold a file that large."""
    try:
        data.truncate(size * GiB)
    except OverflowError as error:
        raise exception.InvalidVolume(
            reason=f'{size} GiB is larger than this volume store holds'
        ) from error
    except OSError as error:
        if error.errno not in (errno.EFBIG, errno.ENOSPC, errno.EINVAL):
            raise
        raise exception.InvalidVolume(
            reason=f'{size} GiB is larger than this volume store holds '
                   f'({error.strerror})') from error
CONF = nova.conf.CONF

GiB = 1024 ** 3


class LocalVolumeAPI(api.VolumeAPI):
    """The local volume service (``[volume] backend`` default)."""

    def __init__(self, conf: Any = CONF) -> None:
        self.conf = conf

    @property
    def volumes_path(self) -> str:
        return self.conf.volume.volumes_path

    def path(self, volume_id: str) -> str:
        return os.path.join(self.volumes_path, f'volume-{volume_id}')

    # -- records -------------------------------------------------------------

    def create(self, context: Any, size: int, name: str | None = None,
               image_id: str | None = None) -> dict[str, Any]:
        size = int(size)
        if size < 1:
            raise exception.InvalidVolume(
                reason=f'size must be at least 1 GiB, not {size}')
        volume_id = str(uuid.uuid4())
        path = self.path(volume_id)
        os.makedirs(self.volumes_path, exist_ok=True)
        # Sparse: takes no space until written.  The file exists before
        # the record, so an 'available' volume always has its data.
        with open(path, 'xb') as data:
            try:
                if image_id:
                    self._copy_image(context, image_id, size, data)
                _grow(data, size)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(path)
                raise
        try:
            return db.volume_create(context, {
                'id': volume_id, 'display_name': name, 'size': size,
                'status': api.AVAILABLE, 'attach_status': api.DETACHED,
                'path': path,
                'project_id': getattr(context, 'project_id', None),
                'user_id': getattr(context, 'user_id', None)})
        except Exception:
            with contextlib.suppress(OSError):
                os.unlink(path)
            raise

    def _copy_image(self, context: Any, image_id: str, size: int,
                    data: Any) -> None:
        """Write the image's data at the start of the volume file (as
        Cinder's create from ``imageRef``; the bytes as stored, without
        conversion)."""
        image = self.image_api.get(context, image_id)
        image_size = int(image.get('size') or 0)
        if image_size > size * GiB:
            raise exception.InvalidVolume(
                reason=f'Size of specified image '
                       f'{-(-image_size // GiB)}GB is larger than volume '
                       f'size {size}GB.')
        for chunk in self.image_api.download(context, image_id) or ():
            data.write(chunk)

    @functools.cached_property
    def image_api(self) -> Any:
        """The image service the volumes are created from."""
        return nova.image.api.API(self.conf)

    def get(self, context: Any, volume_id: str) -> dict[str, Any]:
        volume = db.volume_get(context, volume_id)
        if not self._visible(context, volume):
            raise exception.VolumeNotFound(volume_id=volume_id)
        return volume

    def get_all(self, context: Any,
                filters: dict[str, Any] | None = None,
                ) -> list[dict[str, Any]]:
        filters = dict(filters or {})
        if not getattr(context, 'is_admin', False):
            filters['project_id'] = getattr(context, 'project_id', None)
        return db.volume_get_all(context, filters)

    def delete(self, context: Any, volume_id: str) -> None:
        db.volume_destroy(context, volume_id,
                          expected_status=(api.AVAILABLE, api.ERROR))
        # The record is gone first: a crash here leaves an orphan file,
        # never a record without data.
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path(volume_id))

    def extend(self, context: Any, volume_id: str, new_size: int) -> None:
        volume = self.get(context, volume_id)
        new_size = int(new_size)
        if new_size <= volume['size']:
            raise exception.InvalidVolume(
                reason=f'new size {new_size} GiB must be larger than the '
                       f'current size {volume["size"]} GiB')
        # The record first, conditional on the status: an attach racing
        # this one cannot see the old size once the file has grown.
        try:
            db.volume_update(context, volume_id, {'size': new_size},
                             expected_status=api.AVAILABLE)
        except exception.UnexpectedVolumeStateError as error:
            raise exception.InvalidVolume(
                reason=f'volume {volume_id} is {error.kwargs["actual"]}; '
                       f'only an available volume can be extended'
            ) from None
        try:
            with open(self.path(volume_id), 'r+b') as data:
                _grow(data, new_size)
        except exception.InvalidVolume:
            db.volume_update(context, volume_id, {'size': volume['size']})
            raise

    @staticmethod
    def _visible(context: Any, volume: dict[str, Any]) -> bool:
        return (context is None or getattr(context, 'is_admin', False)
                or volume['project_id'] == getattr(context, 'project_id',
                                                   None))

    # -- attachment states ---------------------------------------------------

    def reserve(self, context: Any, volume_id: str,
                instance_uuid: str | None = None) -> None:
        try:
            db.volume_update(context, volume_id,
                             {'status': api.RESERVED,
                              'instance_uuid': instance_uuid},
                             expected_status=api.AVAILABLE)
        except exception.UnexpectedVolumeStateError as error:
            volume = db.volume_get(context, volume_id)
            if (volume['status'] == api.RESERVED and instance_uuid
                    and volume['instance_uuid'] == instance_uuid):
                return
            raise exception.InvalidVolume(
                reason=f'volume {volume_id} is {error.kwargs["actual"]}, '
                       f'not available') from None

    def unreserve(self, context: Any, volume_id: str,
                  instance_uuid: str | None = None) -> None:
        expected_instance: Any = (db.UNSET if instance_uuid is None
                                  else (instance_uuid, None))
        try:
            db.volume_update(context, volume_id,
                             {'status': api.AVAILABLE,
                              'instance_uuid': None},
                             expected_status=(api.RESERVED, api.ATTACHING),
                             expected_instance_uuid=expected_instance)
        except exception.UnexpectedVolumeStateError as error:
            if error.kwargs['actual'] == api.AVAILABLE:
                return
            if instance_uuid is not None and error.kwargs['actual'] in (
                    api.RESERVED, api.ATTACHING):
                LOG.info('Volume %s is %s for another instance than %s; '
                         'left so', volume_id, error.kwargs['actual'],
                         instance_uuid)
                return
            raise

    def initialize_connection(self, context: Any, volume_id: str,
                              connector: dict[str, Any] | None = None,
                              ) -> dict[str, Any]:
        try:
            db.volume_update(context, volume_id, {'status': api.ATTACHING},
                             expected_status=(api.RESERVED, api.ATTACHING))
        except exception.UnexpectedVolumeStateError as error:
            # An attached volume may be connected again (e.g. after a
            # host reboot); an available one must be reserved first.
            if error.kwargs['actual'] != api.IN_USE:
                raise exception.InvalidVolume(
                    reason=f'volume {volume_id} is '
                           f'{error.kwargs["actual"]}; reserve it '
                           f'first') from None
        return self.connection_info(volume_id)

    def connection_info(self, volume_id: str) -> dict[str, Any]:
        return {'driver_volume_type': 'local',
                'serial': volume_id,
                'data': {'device_path': self.path(volume_id),
                         'volume_id': volume_id, 'access_mode': 'rw'}}

    def attach(self, context: Any, volume_id: str, instance_uuid: str,
               mountpoint: str | None = None) -> dict[str, Any]:
        try:
            # An available volume has no instance; a reserved one has
            # none or this one.
            db.volume_update(
                context, volume_id,
                {'status': api.IN_USE, 'attach_status': api.ATTACHED,
                 'instance_uuid': instance_uuid, 'mountpoint': mountpoint},
                expected_status=(api.AVAILABLE, api.RESERVED, api.ATTACHING),
                expected_instance_uuid=(None, instance_uuid))
        except exception.UnexpectedVolumeStateError:
            volume = db.volume_get(context, volume_id)
            if not (volume['status'] == api.IN_USE
                    and volume['instance_uuid'] == instance_uuid):
                raise exception.InvalidVolume(
                    reason=self._busy(volume)) from None
            LOG.debug('Volume %s is already attached to %s', volume_id,
                      instance_uuid)
        return self.connection_info(volume_id)

    def begin_detaching(self, context: Any, volume_id: str) -> None:
        try:
            db.volume_update(context, volume_id, {'status': api.DETACHING},
                             expected_status=api.IN_USE)
        except exception.UnexpectedVolumeStateError as error:
            raise exception.InvalidVolume(
                reason=f'volume {volume_id} is {error.kwargs["actual"]}, '
                       f'not in-use') from None

    def roll_detaching(self, context: Any, volume_id: str) -> None:
        try:
            db.volume_update(context, volume_id, {'status': api.IN_USE},
                             expected_status=api.DETACHING)
        except exception.UnexpectedVolumeStateError:
            pass

    def detach(self, context: Any, volume_id: str,
               instance_uuid: str | None = None) -> None:
        expected_instance: Any = (db.UNSET if instance_uuid is None
                                  else (instance_uuid, None))
        try:
            db.volume_update(
                context, volume_id,
                {'status': api.AVAILABLE, 'attach_status': api.DETACHED,
                 'instance_uuid': None, 'mountpoint': None},
                expected_status=(api.IN_USE, api.DETACHING, api.ATTACHING,
                                 api.RESERVED),
                expected_instance_uuid=expected_instance)
        except exception.UnexpectedVolumeStateError:
            volume = db.volume_get(context, volume_id)
            if volume['status'] == api.AVAILABLE:
                return
            raise exception.InvalidVolume(
                reason=self._busy(volume)) from None

    def terminate_connection(self, context: Any, volume_id: str,
                             connector: dict[str, Any] | None = None,
                             ) -> None:
        # A local file needs no disconnecting.
        return None

    @staticmethod
    def _busy(volume: dict[str, Any]) -> str:
        if volume['instance_uuid']:
            return (f'volume {volume["id"]} is {volume["status"]} for '
                    f'instance {volume["instance_uuid"]}')
        return f'volume {volume["id"]} is {volume["status"]}'
