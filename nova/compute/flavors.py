"""The standard flavors a new cloud starts with."""

from __future__ import annotations

from typing import Any

from nova import exception

#: Upstream devstack's m1 flavors: (name, flavorid, memory_mb, vcpus, disk).
STANDARD_FLAVORS = (
    ('m1.tiny', '1', 512, 1, 1),
    ('m1.small', '2', 2048, 1, 20),
    ('m1.medium', '3', 4096, 2, 40),
    ('m1.large', '4', 8192, 4, 80),
    ('m1.xlarge', '5', 16384, 8, 160),
)


def ensure_standard_flavors(ctx: Any) -> list[tuple[str, str, bool]]:
    """Create the missing standard flavors; (name, id, created) each."""
    from nova.db import api as db
    results = []
    for name, flavorid, memory_mb, vcpus, disk in STANDARD_FLAVORS:
        try:
            db.flavor_create(ctx, {
                'name': name, 'flavorid': flavorid, 'memory_mb': memory_mb,
                'vcpus': vcpus, 'root_gb': disk, 'ephemeral_gb': 0,
                'swap': 0, 'is_public': True})
            results.append((name, flavorid, True))
        except (exception.FlavorExists, exception.FlavorIdExists):
            results.append((name, flavorid, False))
    return results


def get_flavor_for(db: Any, ctx: Any, flavorid: str) -> dict[str, Any]:
    """The flavor with public ID ``flavorid`` as the request's project
    may see it: a private flavor (``is_public`` false) exists only for
    admins and the projects it is shared with (``os-flavor-access``), as
    upstream's flavor lookup with a non-admin context.

    :raises FlavorNotFound: none, or one the project may not use.
    """
    flavor = db.flavor_get_by_flavor_id(ctx, flavorid)
    if not may_use(db, ctx, flavor):
        raise exception.FlavorNotFound(flavor_id=flavorid)
    return dict(flavor)


def may_use(db: Any, ctx: Any, flavor: Any) -> bool:
    """True if the request's project may see and boot ``flavor``."""
    if flavor.get('is_public', True) or getattr(ctx, 'is_admin', False):
        return True
    project = getattr(ctx, 'project_id', None)
    return project is not None and any(
        access['project_id'] == project for access in
        db.flavor_access_get_by_flavor_id(ctx, flavor['flavorid']))
