"""Paste composite routing by path prefix, with exact-path version docs.

``/`` and ``/v2.1`` (with or without the trailing slash) are the version
documents, served without authentication because SDK discovery sends no
token; anything below ``/v2.1/`` goes to the authenticated API.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class URLMap:

    def __init__(self, exact: dict[str, Callable[..., Any]],
                 prefixes: list[tuple[str, Callable[..., Any]]]) -> None:
        self.exact = exact
        # Longest prefix first.
        self.prefixes = sorted(prefixes, key=lambda p: -len(p[0]))

    def __call__(self, environ: dict[str, Any],
                 start_response: Callable[..., Any]) -> Any:
        path = environ.get('PATH_INFO', '') or '/'
        app = self.exact.get(path.rstrip('/') or '/')
        if app is not None:
            return app(environ, start_response)
        for prefix, app in self.prefixes:
            if path == prefix or path.startswith(prefix + '/'):
                environ['SCRIPT_NAME'] = environ.get('SCRIPT_NAME',
                                                     '') + prefix
                environ['PATH_INFO'] = path[len(prefix):]
                return app(environ, start_response)
        body = (b'{"itemNotFound": {"code": 404, "message": '
                b'"The resource could not be found."}}')
        start_response('404 Not Found', [
            ('Content-Type', 'application/json'),
            ('Content-Length', str(len(body)))])
        return [body]


def urlmap_factory(loader: Any, global_conf: dict[str, Any],
                   **local_conf: str) -> URLMap:
    """Paste composite: ``/v2.1 = app`` routes a prefix, ``/v2.1$ = app``
    only that exact path (with or without a trailing slash)."""
    exact: dict[str, Callable[..., Any]] = {}
    prefixes: list[tuple[str, Callable[..., Any]]] = []
    for key, app_name in local_conf.items():
        if not key.startswith('/'):
            continue
        app = loader.get_app(app_name, global_conf=global_conf)
        if key.endswith('$'):
            exact[key[:-1].rstrip('/') or '/'] = app
        else:
            prefixes.append((key.rstrip('/'), app))
    return URLMap(exact, prefixes)
