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
