"""What the API flows share: the request-side services and state helpers.

Every API flow state carries ``req`` (the WSGI request: hooks may read its
headers), ``version`` (the request's microversion) and ``compute_api``
(``nova.compute.api.API``); the flow's ctx is the RequestContext.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any

import webob.exc

from nova import exception
from nova.api.openstack import common


def flavor_public_id(flavor: Any) -> str:
    """The flavor ID users see (``flavorid``), not the database key."""
    value = common.get(flavor, 'flavorid')
    if value is None:
        value = common.get(flavor, 'id')
    return str(value)


def ref_id(ref: str) -> str:
    """``flavorRef``/``imageRef`` may be a URL; the ID is its last part."""
    return str(ref).rstrip('/').rsplit('/', 1)[-1]


def lookup_flavor(db: Any, ctx: Any, flavor_ref: Any, *,
                  bad_request: bool = True) -> Any:
    """The flavor a request names; 400 (create/resize) if there is none."""
    flavor_id = ref_id(flavor_ref)
    try:
        return db.flavor_get_by_flavor_id(ctx, flavor_id)
    except exception.FlavorNotFound:
        if bad_request:
            raise webob.exc.HTTPBadRequest(
                explanation='Invalid flavorRef provided.') from None
        raise


def bool_value(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return common.bool_from_string(value)


def call_compute(method: Any, ctx: Any, *args: Any, **kwargs: Any) -> Any:
    """Call a compute API method with optional keyword arguments it may
    not take yet (a newer microversion's feature on a compute API that
    lacks it): those are refused with 409 ActionNotSupported, naming them,
    instead of failing with a TypeError (500)."""
    function = getattr(method, '__func__', method)
    try:
        known = _keywords(function)
    except TypeError:  # not hashable
        known = _keywords.__wrapped__(function)
    if known is not None:
        missing = sorted(k for k in kwargs if k not in known)
        if missing:
            name = getattr(method, '__name__', 'operation')
            raise exception.ActionNotSupported(
                action=f"{name} with {', '.join(missing)}")
    return method(ctx, *args, **kwargs)


@functools.lru_cache(maxsize=1024)
def _keywords(function: Any) -> frozenset[str] | None:
    """The parameter names of ``function``; None when it takes any
    keyword (or has no signature).  Cached: a signature costs more than
    the call it guards."""
    try:
        params = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return None
    return frozenset(p.name for p in params)
