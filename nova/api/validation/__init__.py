"""JSON-schema validation of request bodies and query strings.

A controller method declares what it accepts::

    @validation.schema(schemas.create)                 # every version
    @validation.schema(schemas.create_v219, '2.19')    # from 2.19 on
    def create(self, req, body): ...

A schema may also be a callable ``(req) -> dict`` for bodies whose shape
is assembled at run time (server create: stage fragments and vendor hook
fragments by microversion).  A body that fails gets 400 ``badRequest``
naming the field; the method is never called with it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from nova.api.validation import validators

SchemaSource = dict[str, Any] | Callable[[Any], dict[str, Any]]
#: (schema, first microversion, last microversion)
_Entry = tuple[SchemaSource, str | None, str | None]


def _pick(entries: list[tuple[SchemaSource, str | None, str | None]],
          req: Any) -> dict[str, Any] | None:
    for source, min_version, max_version in entries:
        if req.is_microversion(min_version, max_version):
            return source(req) if callable(source) else source
    return None


def schema(source: SchemaSource, min_version: str | None = None,
           max_version: str | None = None) -> Callable[..., Any]:
    """Validate ``body`` against ``source`` for the given versions.

    Stack several for different microversion ranges; the first whose range
    holds the request's version applies (decorators apply bottom-up, so the
    list keeps them in reading order).
    """
    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        entries = getattr(fn, '_body_schemas', None)
        target: Callable[..., Any]
        if entries is None:
            body_entries: list[_Entry] = []
            entries = body_entries

            @functools.wraps(fn)
            def wrapper(self: Any, req: Any, *args: Any, **kwargs: Any,
                        ) -> Any:
                chosen = _pick(body_entries, req)
                if chosen is not None:
                    validators.validate(chosen, kwargs.get('body'))
                return fn(self, req, *args, **kwargs)
            wrapper._body_schemas = entries  # type: ignore[attr-defined]
            target = wrapper
        else:
            target = fn
        entries.insert(0, (source, min_version, max_version))
        return target
    return decorate


def query_schema(source: SchemaSource, min_version: str | None = None,
                 max_version: str | None = None) -> Callable[..., Any]:
    """Validate the query string; values are lists (a key may repeat)."""
    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        entries = getattr(fn, '_query_schemas', None)
        target: Callable[..., Any]
        if entries is None:
            query_entries: list[_Entry] = []
            entries = query_entries

            @functools.wraps(fn)
            def wrapper(self: Any, req: Any, *args: Any, **kwargs: Any,
                        ) -> Any:
                chosen = _pick(query_entries, req)
                if chosen is not None:
                    validators.validate(chosen, query_dict(req),
                                        query=True)
                return fn(self, req, *args, **kwargs)
            wrapper._query_schemas = entries  # type: ignore[attr-defined]
            target = wrapper
        else:
            target = fn
        entries.insert(0, (source, min_version, max_version))
        return target
    return decorate


def query_dict(req: Any) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for key, value in req.GET.items():
        found.setdefault(key, []).append(value)
    return found
