"""Start-up shared by the nova service commands."""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from collections.abc import Sequence
from typing import Any

from oslo_config import cfg
from oslo_log import log as logging

import nova.conf
from nova import concurrency, rpc

CONF = nova.conf.CONF
LOG = logging.getLogger(__name__)


def parse_args(argv: Sequence[str], binary: str,
               default_transport_url: str | None = None) -> None:
    """Config, logging and RPC for a service; ``default_transport_url``
    applies only when ``[DEFAULT] transport_url`` is not set."""
    logging.register_options(CONF)
    CONF(list(argv[1:]), project='nova', prog=binary)
    logging.setup(CONF, 'nova')
    limit_malloc_arenas(CONF.malloc_arena_max)
    rpc.init(CONF, default_transport_url)


#: glibc's mallopt parameter number for the arena limit.
_M_ARENA_MAX = -8


def limit_malloc_arenas(arenas: int) -> bool:
    """Apply ``[DEFAULT] malloc_arena_max``; True if glibc took it.

    Called before the services start their threads, so that the limit
    holds for every arena they would create.
    """
    if arenas <= 0 or 'MALLOC_ARENA_MAX' in os.environ:
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        LOG.debug('No mallopt in this C library: malloc_arena_max ignored')
        return False
    return bool(mallopt(_M_ARENA_MAX, arenas))


def api_auth_allowed(listen_option: str = 'osapi_compute_listen') -> bool:
    """Whether the API may start with this ``[api] auth_strategy`` and
    listen address; if not, says why on stderr (before any service
    starts, so nothing half-starts). See
    nova.api.auth.check_auth_strategy."""
    from nova.api import auth
    try:
        auth.check_auth_strategy(CONF, listen_option)
    except auth.InsecureAuthStrategy as exc:
        print(f'configuration error: {exc}', file=sys.stderr)
        return False
    return True


def serve(services: Sequence[Any]) -> int:
    """Start services, then block until SIGTERM/SIGINT; stop them."""
    stopping = concurrency.Event()

    def on_signal(signum: int, frame: Any) -> None:
        LOG.info('Caught signal %d, stopping', signum)
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    started = []
    try:
        for service in services:
            service.start()
            started.append(service)
        # Ready line for supervisors and tests that wait for start-up.
        print(f'{", ".join(s.binary for s in started)} ready', flush=True)
        while not stopping.wait(1.0):
            pass
    except cfg.Error as exc:
        print(f'configuration error: {exc}', file=sys.stderr)
        return 2
    finally:
        for service in reversed(started):
            service.stop()
        rpc.cleanup()
    return 0
