"""The connection to libvirt.

``Host`` opens the connection on first use and again after it broke (e.g.
libvirtd was restarted), and hands out libvirt objects whose calls do not
stall the process: libvirt-python is a C binding that eventlet cannot make
green, so under eventlet every call on a connection, domain or snapshot
runs in a native thread (``nova.concurrency.run_in_native_thread``), as
upstream nova does with ``tpool.Proxy``. With native threads (or before
eventlet is set up) the objects are libvirt's own, at no cost.
"""

from __future__ import annotations

from typing import Any

from oslo_log import log as logging
from oslo_utils import importutils

from nova import concurrency, exception

LOG = logging.getLogger(__name__)

libvirt: Any = importutils.try_import('libvirt')


class LibvirtMissing(exception.VirtDriverError):
    msg_fmt = ('the libvirt Python binding is not installed (%(reason)s); '
               'run tools/install-libvirt.sh')


def require_libvirt() -> Any:
    """The ``libvirt`` module; raises LibvirtMissing without it."""
    if libvirt is None:
        raise LibvirtMissing(reason='no module named libvirt')
    return libvirt


def _ignore_errors(ctx: Any, error: Any) -> None:
    # libvirt prints every error to stderr unless a handler is set; the
    # driver gets the same error as an exception and logs it if it matters.
    pass


class _Native:
    """A libvirt object whose method calls run in a native thread."""

    __slots__ = ('_target',)

    def __init__(self, target: Any) -> None:
        self._target = target

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._target, name)
        if not callable(attribute):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            return _wrap(concurrency.run_in_native_thread(
                attribute, *args, **kwargs))
        call.__name__ = name
        return call

    def __repr__(self) -> str:
        return f'<native {self._target!r}>'


def _wrap(value: Any) -> Any:
    if not concurrency.is_green() or libvirt is None:
        return value
    if isinstance(value, list):
        return [_wrap(item) for item in value]
    if isinstance(value, (libvirt.virDomain, libvirt.virDomainSnapshot,
                          libvirt.virConnect)):
        return _Native(value)
    return value


def error_code(error: BaseException) -> int | None:
    get = getattr(error, 'get_error_code', None)
    return get() if get else None


def is_not_found(error: BaseException) -> bool:
    return libvirt is not None and error_code(error) in (
        libvirt.VIR_ERR_NO_DOMAIN, libvirt.VIR_ERR_NO_DOMAIN_SNAPSHOT)


class Host:
    """One hypervisor connection, reopened when it breaks."""

    def __init__(self, uri: str) -> None:
        require_libvirt()
        self.uri = uri
        self._conn: Any = None
        self._lock = concurrency.Lock()

    def _open(self) -> Any:
        libvirt.registerErrorHandler(_ignore_errors, None)
        LOG.debug('Connecting to libvirt at %s', self.uri)
        try:
            conn = concurrency.run_in_native_thread(libvirt.open, self.uri)
        except libvirt.libvirtError as error:
            raise exception.VirtDriverError(
                reason=f'cannot connect to libvirt at {self.uri}: {error} '
                       f'(is libvirtd running? tools/install-libvirt.sh '
                       f'starts it)') from error
        return _wrap(conn)

    def get_connection(self) -> Any:
        conn = self._conn
        if conn is not None:
            try:
                alive = conn.isAlive()
            except libvirt.libvirtError:
                alive = False
            if alive:
                return conn
        with self._lock:
            if self._conn is conn:
                if conn is not None:
                    LOG.warning('The connection to libvirt at %s broke; '
                                'reconnecting', self.uri)
                    try:
                        conn.close()
                    except libvirt.libvirtError:
                        pass
                self._conn = self._open()
            return self._conn

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                try:
                    self._conn.close()
                except libvirt.libvirtError:
                    pass
                self._conn = None

    def lookup(self, uuid: str) -> Any:
        """The domain of ``uuid``.

        :raises nova.exception.InstanceNotFound: there is none.
        """
        try:
            return self.get_connection().lookupByUUIDString(uuid)
        except libvirt.libvirtError as error:
            if is_not_found(error):
                raise exception.InstanceNotFound(instance_id=uuid) from None
            raise

    def find(self, uuid: str) -> Any | None:
        """The domain of ``uuid``, or None."""
        try:
            return self.lookup(uuid)
        except exception.InstanceNotFound:
            return None

    def domains(self) -> list[Any]:
        return self.get_connection().listAllDomains(0)
