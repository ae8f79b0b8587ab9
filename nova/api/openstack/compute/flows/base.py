"""What the API flows share: the request-side services and state helpers.

Every API flow state carries ``req`` (the WSGI request: hooks may read its
headers), ``version`` (the request's microversion) and ``compute_api``
(``nova.compute.api.API``); the flow's ctx is the RequestContext.  Each
API flow declares ``version`` as its request version
(:data:`REQUEST_VERSION`), so that hook contributions may apply from a
microversion on (``min_version=``), checked by the engine.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any

import webob.exc

from nova import exception
from nova.api.openstack import api_version_request as avr
from nova.api.openstack import common
from nova.compute import flavors
from nova.flow.spec import RequestVersion


def parse_microversion(text: str) -> avr.APIVersionRequest:
    """A hook's declared microversion, checked against what the API
    serves; ValueError saying what is wrong otherwise."""
    try:
        version = avr.APIVersionRequest(str(text))
    except exception.InvalidAPIVersionString:
        raise ValueError(f"'{text}' is not a microversion (expected "
                         f"MAJOR.MINOR, e.g. '2.47')") from None
    if not avr.min_api_version() <= version <= \
            avr.APIVersionRequest(avr.MAX_VERSION):
        raise ValueError(f'microversion {version} is outside '
                         f'{avr.MIN_VERSION}-{avr.MAX_VERSION}, the '
                         f'microversions this API serves')
    return version


#: The request version of every API flow: the state's ``version``.
REQUEST_VERSION = RequestVersion('version', parse_microversion)

#: The changelog entry of the API flows' contract versions that brought
#: min_version (the same change in each).
MIN_VERSION_CHANGE = ('Hook contributions may declare min_version: the '
                      'engine runs them from that microversion (field '
                      'version) on.')


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
        # A private flavor the project has no access to is not found.
        return flavors.get_flavor_for(db, ctx, flavor_id)
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
