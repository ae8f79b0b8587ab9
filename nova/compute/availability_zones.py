"""Availability zones: what hosts' aggregates say, as upstream.

A compute host is in the zone named by the ``availability_zone``
metadata of an aggregate it belongs to; a host in no such aggregate is
in its node's zone (``[compute] availability_zone``), else in ``[DEFAULT]
default_availability_zone``.  Services other than nova-compute are in
``[DEFAULT] internal_service_availability_zone``, which is never listed
to users nor accepted for a server.
"""

from __future__ import annotations

from typing import Any

import nova.conf

CONF = nova.conf.CONF

#: The aggregate metadata key naming the zone.
AZ_KEY = 'availability_zone'


def aggregate_zones(ctx: Any, db: Any) -> dict[str, str]:
    """host -> zone, for the hosts in an aggregate that names one."""
    zones: dict[str, str] = {}
    for aggregate in db.aggregate_get_all(ctx):
        zone = (aggregate.get('metadata') or {}).get(AZ_KEY)
        if zone:
            for host in aggregate['hosts']:
                zones.setdefault(host, zone)
    return zones


def host_zone(host: str, node_zone: str | None,
              zones: dict[str, str]) -> str:
    """A compute host's zone, given :func:`aggregate_zones`."""
    return zones.get(host) or node_zone or CONF.default_availability_zone


def compute_zones(ctx: Any, db: Any) -> set[str]:
    """The zones of the compute hosts: those a server may ask for."""
    zones = aggregate_zones(ctx, db)
    return {host_zone(node['host'], node.get('availability_zone'), zones)
            for node in db.compute_node_get_all(ctx)}
