"""The volume service interface nova calls, with cinder's states.

A volume goes ``available`` -> (``reserved``) -> (``attaching``) ->
``in-use`` -> (``detaching``) -> ``available``.  Volumes are dicts with at
least ``id``, ``size`` (GiB), ``status``, ``attach_status``
(``detached`` / ``attached``), ``instance_uuid`` and ``mountpoint``.

Every transition is a compare-and-swap on the status, so two requests
racing for one volume cannot both win.  The calls revert stages use
(``detach``, ``unreserve``, ``roll_detaching``) are idempotent.
"""

from __future__ import annotations

import abc
from typing import Any

from oslo_log import log as logging
from oslo_utils import importutils, timeutils

import nova.conf
from nova import concurrency, exception

CONF = nova.conf.CONF
LOG = logging.getLogger(__name__)

AVAILABLE = 'available'
RESERVED = 'reserved'
ATTACHING = 'attaching'
IN_USE = 'in-use'
DETACHING = 'detaching'
CREATING = 'creating'
ERROR = 'error'

ATTACHED = 'attached'
DETACHED = 'detached'


class VolumeAPI(abc.ABC):
    """What nova needs from a block storage service."""

    @abc.abstractmethod
    def create(self, context: Any, size: int, name: str | None = None,
               image_id: str | None = None) -> dict[str, Any]:
        """A new volume of ``size`` GiB; with ``image_id``, holding that
        image's data (Cinder's ``imageRef``).

        It may come back ``creating``: a caller that needs it waits for
        ``available`` (``error`` if the service failed to make it).

        :raises ImageNotFound: :raises InvalidVolume: the image does not
            fit, or is not usable.
        """

    @abc.abstractmethod
    def get(self, context: Any, volume_id: str) -> dict[str, Any]:
        """:raises VolumeNotFound:"""

    @abc.abstractmethod
    def get_all(self, context: Any,
                filters: dict[str, Any] | None = None,
                ) -> list[dict[str, Any]]:
        """Volumes the context's project owns (all of them for admins)."""

    @abc.abstractmethod
    def delete(self, context: Any, volume_id: str) -> None:
        """Delete an ``available`` (or ``error``) volume and its data.

        :raises VolumeNotFound: :raises InvalidVolume: it is attached.
        """

    @abc.abstractmethod
    def extend(self, context: Any, volume_id: str, new_size: int) -> None:
        """Grow an ``available`` volume to ``new_size`` GiB (as Cinder
        does without online extend: never while attached).

        :raises VolumeNotFound: :raises InvalidVolume: it is not
            available, or ``new_size`` is not larger.
        """

    @abc.abstractmethod
    def reserve(self, context: Any, volume_id: str,
                instance_uuid: str | None = None) -> None:
        """``available`` -> ``reserved`` (for an instance, if given)."""

    @abc.abstractmethod
    def unreserve(self, context: Any, volume_id: str,
                  instance_uuid: str | None = None) -> None:
        """``reserved`` / ``attaching`` -> ``available``.  Idempotent.

        With ``instance_uuid``, only a reservation for that instance (or
        for none) is released; one another instance holds is left alone
        (a boot that gave its volume up releases only its own).
        """

    @abc.abstractmethod
    def initialize_connection(self, context: Any, volume_id: str,
                              connector: dict[str, Any] | None = None,
                              ) -> dict[str, Any]:
        """How the host reaches the volume (``connection_info``);
        ``reserved`` -> ``attaching``."""

    @abc.abstractmethod
    def attach(self, context: Any, volume_id: str, instance_uuid: str,
               mountpoint: str | None = None) -> dict[str, Any]:
        """-> ``in-use`` by the instance; returns the connection info.

        Accepts an ``available`` volume, or one ``reserved`` /
        ``attaching`` for this instance.  Attaching again to the same
        instance is a no-op.

        :raises InvalidVolume: in use by another instance, or busy.
        """

    @abc.abstractmethod
    def begin_detaching(self, context: Any, volume_id: str) -> None:
        """``in-use`` -> ``detaching``."""

    @abc.abstractmethod
    def roll_detaching(self, context: Any, volume_id: str) -> None:
        """``detaching`` -> ``in-use``.  Idempotent."""

    @abc.abstractmethod
    def detach(self, context: Any, volume_id: str,
               instance_uuid: str | None = None) -> None:
        """-> ``available`` (from the instance, if given).  Idempotent:
        an ``available`` volume stays so.

        :raises InvalidVolume: attached to another instance.
        """

    @abc.abstractmethod
    def terminate_connection(self, context: Any, volume_id: str,
                             connector: dict[str, Any] | None = None,
                             ) -> None:
        """The host no longer uses the volume."""


def await_created(context: Any, volume_api: VolumeAPI,
                  volume: dict[str, Any]) -> None:
    """Wait until the volume service has made ``volume`` (just returned
    by ``create``) ``available``: ``[DEFAULT]
    block_device_allocate_retries`` checks,
    ``block_device_allocate_retries_interval`` seconds apart.

    :raises VolumeNotCreated: it went to ``error``, or was still not
        available after the last check.
    """
    attempts = CONF.block_device_allocate_retries + 1
    interval = CONF.block_device_allocate_retries_interval
    started = timeutils.utcnow()
    for attempt in range(1, attempts + 1):
        if volume['status'] == AVAILABLE:
            return
        if volume['status'] == ERROR or attempt == attempts:
            break
        concurrency.sleep(interval)
        volume = volume_api.get(context, volume['id'])
    raise exception.VolumeNotCreated(
        volume_id=volume['id'], attempts=attempt,
        seconds=int(timeutils.delta_seconds(started, timeutils.utcnow())),
        volume_status=volume['status'])


def API(conf: Any = CONF) -> VolumeAPI:  # noqa: N802 (a factory)
    """The configured volume service (``[volume] backend``)."""
    return importutils.import_object(conf.volume.backend)


# -- the volumes nova makes from images (boot from volume) ----------------


def creates_volume(bdm: dict[str, Any]) -> bool:
    """A mapping whose volume the boot makes (image -> volume)."""
    return bool(bdm.get('source_type') == 'image'
                and bdm.get('destination_type') == 'volume')


def created_volume_name(instance_uuid: str, bdm: dict[str, Any]) -> str:
    """The name of the volume made for an image -> volume mapping: its
    instance and its mapping, so that a volume whose ID a crash kept off
    the mapping (made, then the process died before recording it) is
    still found and deleted by :func:`delete_created`."""
    return f'{instance_uuid}-blockdevice-{bdm["id"]}'


def create_from_images(context: Any, volume_api: VolumeAPI, db: Any,
                       instance_uuid: str,
                       bdms: list[dict[str, Any]]) -> None:
    """Make the volumes of ``bdms``' image -> volume mappings, each
    recorded on its mapping as soon as the volume service returns it,
    then waited for until available.  A mapping that has its volume
    already (a stage run again) is skipped.

    :raises VolumeNotCreated: :raises ImageNotFound: :raises
        InvalidVolume:
    """
    for bdm in bdms:
        if not creates_volume(bdm) or bdm.get('volume_id'):
            continue
        volume = volume_api.create(
            context, bdm['volume_size'],
            name=created_volume_name(instance_uuid, bdm),
            image_id=bdm['image_id'])
        bdm['volume_id'] = volume['id']
        db.block_device_mapping_update(context, bdm['id'],
                                       {'volume_id': volume['id']})
        await_created(context, volume_api, volume)


def delete_created(context: Any, volume_api: VolumeAPI, db: Any,
                   instance_uuid: str, bdms: list[dict[str, Any]]) -> None:
    """Delete the volumes made for ``bdms``' image -> volume mappings (the
    user never had them) and forget them on their mappings.  A mapping
    without a volume ID is looked up by :func:`created_volume_name`.  A
    volume still being made (its wait gave up) cannot be deleted: it is
    logged and left on its mapping.  Idempotent."""
    for bdm in bdms:
        if not creates_volume(bdm):
            continue
        if bdm.get('volume_id'):
            volume_ids = [bdm['volume_id']]
        else:
            volume_ids = [v['id'] for v in volume_api.get_all(
                context, {'display_name': created_volume_name(instance_uuid,
                                                              bdm)})]
        left = False
        for volume_id in volume_ids:
            try:
                volume_api.delete(context, volume_id)
            except exception.VolumeNotFound:
                pass
            except exception.InvalidVolume as exc:
                LOG.warning('Volume %s made for %s could not be deleted: %s',
                            volume_id, instance_uuid, exc)
                left = True
        if left or not bdm.get('volume_id'):
            continue
        db.block_device_mapping_update(context, bdm['id'],
                                       {'volume_id': None})
        bdm['volume_id'] = None
