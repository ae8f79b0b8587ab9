"""The OpenStack Compute API as a WSGI application, at upstream nova's
place: what uWSGI, mod_wsgi or gunicorn load in a real deployment::

    gunicorn --bind 127.0.0.1:8774 nova.wsgi.osapi_compute:application

The configuration files come from ``OS_NOVA_CONFIG_FILES`` (a
``;``-separated list, relative to ``OS_NOVA_CONFIG_DIR`` when that is
set) or oslo.config's usual search (nova.conf in ~/.nova, ~/, /etc/nova,
/etc); the paste file from ``[wsgi] api_paste_config``.  Configuration is
read, logging and RPC set up and the paste pipeline built on first use,
in the worker process that serves requests (importing this module does
none of it).
"""

from __future__ import annotations

from typing import Any

from nova.api.openstack.compute import wsgi_app

_app: Any = None


def application(environ: dict[str, Any], start_response: Any) -> Any:
    """The API, configured from the environment on the first request."""
    global _app
    if _app is None:
        _app = wsgi_app.application
    return _app(environ, start_response)
