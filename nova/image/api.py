"""The image service interface nova calls (glance v2 semantics).

Images are dicts with glance v2's fields: ``id``, ``name``, ``status``
(``queued`` -> ``saving`` -> ``active``; ``killed``, ``deleted``),
``disk_format``, ``container_format``, ``size``, ``min_disk``,
``min_ram``, ``checksum`` (MD5), ``os_hash_algo`` / ``os_hash_value``,
``owner``, ``visibility``, ``protected``, ``created_at``, ``updated_at``,
and the custom properties in ``properties`` (as nova's image_meta has
them, e.g. ``image['properties']['kernel_id']``).
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Iterator
from typing import Any, BinaryIO

from oslo_utils import importutils

import nova.conf

CONF = nova.conf.CONF

QUEUED = 'queued'
SAVING = 'saving'
ACTIVE = 'active'
KILLED = 'killed'
DELETED = 'deleted'

#: Image data as callers may pass it: a path, an open binary file, bytes,
#: or an iterable of byte chunks.
ImageData = str | bytes | BinaryIO | Iterable[bytes]

#: The size of the chunks image data is read and sent in.
CHUNK = 1024 * 1024


def chunks(data: ImageData) -> Iterator[bytes]:
    """Image data as byte chunks, whatever form the caller gave."""
    if isinstance(data, str):
        with open(data, 'rb') as source:
            yield from iter(lambda: source.read(CHUNK), b'')
    elif isinstance(data, (bytes, bytearray, memoryview)):
        yield bytes(data)
    elif hasattr(data, 'read'):
        yield from iter(lambda: data.read(CHUNK), b'')
    else:
        assert isinstance(data, Iterable)
        yield from data


class ImageAPI(abc.ABC):
    """What nova needs from an image service."""

    @abc.abstractmethod
    def get(self, context: Any, image_id: str) -> dict[str, Any]:
        """:raises ImageNotFound: missing, or not visible to the context."""

    @abc.abstractmethod
    def get_all(self, context: Any, filters: dict[str, Any] | None = None,
                limit: int | None = None, marker: str | None = None,
                sort_key: str = 'created_at', sort_dir: str = 'desc',
                ) -> list[dict[str, Any]]:
        """Visible images; ``filters`` as glance's (``name``, ``status``,
        ``id: 'in:a,b'`` ...)."""

    @abc.abstractmethod
    def create(self, context: Any, image_meta: dict[str, Any],
               data: ImageData | None = None) -> dict[str, Any]:
        """A new image: ``active`` with ``data``, else ``queued``."""

    @abc.abstractmethod
    def create_snapshot(self, context: Any, name: str,
                        properties: dict[str, Any] | None = None,
                        **image_meta: Any) -> dict[str, Any]:
        """The record a snapshot will fill, in ``saving``; private to the
        context's project unless ``visibility`` says otherwise."""

    @abc.abstractmethod
    def upload(self, context: Any, image_id: str,
               data: ImageData) -> dict[str, Any]:
        """Store the data of a ``queued`` / ``saving`` image; it becomes
        ``active`` (``killed`` if storing fails)."""

    @abc.abstractmethod
    def update(self, context: Any, image_id: str,
               image_meta: dict[str, Any], data: ImageData | None = None,
               purge_props: bool = False) -> dict[str, Any]:
        """Change fields; ``properties`` are merged (replaced with
        ``purge_props``); with ``data``, upload it too."""

    @abc.abstractmethod
    def delete(self, context: Any, image_id: str) -> None:
        """:raises ImageNotFound: :raises ImageProtected:"""

    @abc.abstractmethod
    def download(self, context: Any, image_id: str,
                 dest_path: str | None = None,
                 ) -> Iterator[bytes] | None:
        """Copy the data to ``dest_path``, or return it as chunks."""


def API(conf: Any = CONF) -> ImageAPI:  # noqa: N802 (a factory)
    """The configured image service (``[image] backend``)."""
    return importutils.import_object(conf.image.backend)
