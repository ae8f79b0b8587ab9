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

from oslo_utils import importutils, timeutils

import nova.conf
from nova import concurrency, exception

CONF = nova.conf.CONF

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
