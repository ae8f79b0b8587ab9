"""The API as a WSGI application for an external WSGI server.

uwsgi / mod_wsgi / gunicorn::

    uwsgi --http :8774 --module nova.wsgi.osapi_compute:application

(``nova.wsgi.osapi_compute`` is upstream's module name for it; this
module builds it.)

The configuration files come from ``OS_NOVA_CONFIG_FILES`` (a
``;``-separated list) or the usual oslo.config search (nova.conf in
~/.nova, ~/, /etc/nova, /etc); the paste file from ``[api]
api_paste_config``.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import Any

from oslo_log import log as logging
from paste import deploy

import nova.conf

CONF = nova.conf.CONF
LOG = logging.getLogger(__name__)

CONFIG_FILES_ENV = 'OS_NOVA_CONFIG_FILES'
CONFIG_DIR_ENV = 'OS_NOVA_CONFIG_DIR'
PASTE_APP = 'osapi_compute'

_APP: Any = None
_LOCK = threading.Lock()


def find_paste_config(conf: Any = CONF) -> str:
    """The paste file: absolute, next to the config files, /etc/nova,
    the installation's etc/nova (``pip install`` puts it there) or the
    source tree's etc/nova."""
    name = conf.wsgi.api_paste_config
    if os.path.isabs(name):
        candidates = [name]
    else:
        candidates = [os.path.join(os.path.dirname(path), name)
                      for path in conf.config_file or []]
        candidates += [os.path.join('/etc/nova', name),
                       os.path.join(sys.prefix, 'etc', 'nova', name),
                       os.path.join(os.path.dirname(__file__), '..', '..',
                                    '..', '..', 'etc', 'nova', name)]
    for path in candidates:
        if os.path.exists(path):
            return os.path.abspath(path)
    raise RuntimeError(f'Cannot find the API paste file {name!r} (looked '
                       f'in {", ".join(candidates)}); set [api] '
                       f'api_paste_config in [wsgi]')


def load_app(conf: Any = CONF, name: str = PASTE_APP) -> Any:
    """Build the paste pipeline (loads API flows and hooks: a broken hook
    fails here, before the first request)."""
    path = find_paste_config(conf)
    LOG.info('Loading the compute API from %s', path)
    return deploy.loadapp(f'config:{path}', name=name)


def init_application() -> Any:
    """Parse configuration, set up logging and RPC, build the app."""
    from nova import rpc
    directory = os.environ.get(CONFIG_DIR_ENV) or None
    files = [f if os.path.isabs(f) or directory is None
             else os.path.join(directory, f)
             for f in os.environ.get(CONFIG_FILES_ENV, '').split(';') if f]
    logging.register_options(CONF)
    CONF([], project='nova', default_config_files=files or None,
         default_config_dirs=[directory] if directory and not files
         else None)
    logging.setup(CONF, 'nova')
    rpc.init(CONF)
    return load_app(CONF)


def __getattr__(name: str) -> Any:
    # ``application`` is built on first access, so importing this module
    # (tests, tools) parses no configuration.
    global _APP
    if name != 'application':
        raise AttributeError(name)
    with _LOCK:
        if _APP is None:
            _APP = init_application()
    return _APP
