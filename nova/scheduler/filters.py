"""Host filters and the free-RAM weigher: choosing where a build goes.

Placement-era nova decides capacity in the placement service; this fork
keeps capacity in ``compute_nodes`` and makes the final decision with the
compute host's atomic claim, so these filters only need to be a good first
guess: a host that loses a race for its last RAM fails the claim and the
build is rescheduled.
"""

from __future__ import annotations

import dataclasses
import heapq
import random
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from nova import exception


@dataclasses.dataclass
class HostState:
    host: str
    node: str
    availability_zone: str
    alive: bool
    disabled: bool
    vcpus: int
    vcpus_used: int
    memory_mb: int
    memory_mb_used: int
    local_gb: int
    local_gb_used: int
    cpu_allocation_ratio: float
    ram_allocation_ratio: float
    disk_allocation_ratio: float
    #: Metadata of the host's aggregates: key -> every value it has.
    aggregate_metadata: dict[str, set[str]] = dataclasses.field(
        default_factory=dict)
    #: The compute node's ``id`` (None for a state not read from one).
    node_id: int | None = None

    @property
    def free_ram_mb(self) -> float:
        return self.memory_mb * self.ram_allocation_ratio - self.memory_mb_used

    @property
    def free_disk_gb(self) -> float:
        return self.local_gb * self.disk_allocation_ratio - self.local_gb_used

    @property
    def free_vcpus(self) -> float:
        return self.vcpus * self.cpu_allocation_ratio - self.vcpus_used

    def consume(self, flavor: dict[str, Any]) -> None:
        """Account for a build placed here by this same request."""
        self.memory_mb_used += int(flavor.get('memory_mb') or 0)
        self.vcpus_used += int(flavor.get('vcpus') or 0)
        self.local_gb_used += _disk_gb(flavor)


def _disk_gb(flavor: dict[str, Any]) -> int:
    swap_gb = (int(flavor.get('swap') or 0) + 1023) // 1024
    return (int(flavor.get('root_gb') or 0)
            + int(flavor.get('ephemeral_gb') or 0) + swap_gb)


HostFilter = Callable[[HostState, dict[str, Any]], bool]
#: A weigher's raw value for a host; normalized over the candidates.
HostWeigher = Callable[[HostState, dict[str, Any]], float]


def compute_filter(host: HostState, spec: dict[str, Any]) -> bool:
    return host.alive and not host.disabled


def availability_zone_filter(host: HostState, spec: dict[str, Any]) -> bool:
    wanted = spec.get('availability_zone')
    return not wanted or host.availability_zone == wanted


def ram_filter(host: HostState, spec: dict[str, Any]) -> bool:
    return host.free_ram_mb >= int(spec['flavor'].get('memory_mb') or 0)


def disk_filter(host: HostState, spec: dict[str, Any]) -> bool:
    return host.free_disk_gb >= _disk_gb(spec['flavor'])


def core_filter(host: HostState, spec: dict[str, Any]) -> bool:
    return host.free_vcpus >= int(spec['flavor'].get('vcpus') or 0)


def retry_filter(host: HostState, spec: dict[str, Any]) -> bool:
    tried = (spec.get('retry') or {}).get('hosts') or []
    return [host.host, host.node] not in [list(h) for h in tried]


_AGGREGATE_SCOPE = 'aggregate_instance_extra_specs'


def aggregate_instance_extra_specs_filter(host: HostState,
                                          spec: dict[str, Any]) -> bool:
    """Flavor extra specs ``aggregate_instance_extra_specs:KEY`` (and
    unscoped ``KEY``) must match the metadata of one of the host's
    aggregates (a comma-separated aggregate value lists several)."""
    for key, wanted in (spec['flavor'].get('extra_specs') or {}).items():
        scope, _, name = key.rpartition(':')
        if scope and scope != _AGGREGATE_SCOPE:
            continue
        values = {v.strip() for value in host.aggregate_metadata.get(
            name, ()) for v in str(value).split(',')}
        if str(wanted).strip() not in values:
            return False
    return True


def _group(spec: dict[str, Any], *policies: str) -> dict[str, Any] | None:
    """The request's server group (``spec['instance_group']``: uuid,
    policy, rules and the ``hosts`` its other members are on), when its
    policy is one of ``policies``."""
    group = spec.get('instance_group')
    if group and group.get('policy') in policies:
        return group
    return None


def server_group_affinity_filter(host: HostState,
                                 spec: dict[str, Any]) -> bool:
    """affinity: the host the group's members are on (any host while the
    group has none)."""
    group = _group(spec, 'affinity')
    if group is None or not group['hosts']:
        return True
    return host.host in group['hosts']


def server_group_anti_affinity_filter(host: HostState,
                                      spec: dict[str, Any]) -> bool:
    """anti-affinity: fewer than ``max_server_per_host`` (default 1) of
    the group's members on the host."""
    group = _group(spec, 'anti-affinity')
    if group is None:
        return True
    limit = int((group.get('rules') or {}).get('max_server_per_host', 1))
    return group['hosts'].count(host.host) < limit


FILTERS: dict[str, HostFilter] = {
    'ComputeFilter': compute_filter,
    'AvailabilityZoneFilter': availability_zone_filter,
    'RamFilter': ram_filter,
    'DiskFilter': disk_filter,
    'CoreFilter': core_filter,
    'RetryFilter': retry_filter,
    'ServerGroupAffinityFilter': server_group_affinity_filter,
    'AggregateInstanceExtraSpecsFilter':
        aggregate_instance_extra_specs_filter,
    'ServerGroupAntiAffinityFilter': server_group_anti_affinity_filter,
}


def ram_weigher(host: HostState, spec: dict[str, Any]) -> float:
    return host.free_ram_mb


def soft_affinity_weigher(host: HostState, spec: dict[str, Any]) -> float:
    """soft-affinity: more of the group's members here, better."""
    group = _group(spec, 'soft-affinity')
    return float(group['hosts'].count(host.host)) if group else 0.0


def soft_anti_affinity_weigher(host: HostState,
                               spec: dict[str, Any]) -> float:
    """soft-anti-affinity: fewer of the group's members here, better."""
    group = _group(spec, 'soft-anti-affinity')
    return -float(group['hosts'].count(host.host)) if group else 0.0


def _normalized(values: list[float]) -> list[float]:
    """Values scaled to 0..1 over the candidates (all 0 when equal), so
    that each weigher's multiplier says how much it counts, as
    upstream's weighers."""
    low, high = min(values), max(values)
    if high == low:
        return [0.0 for _ in values]
    return [(v - low) / (high - low) for v in values]


def weigh(hosts: Sequence[HostState], spec: dict[str, Any],
          weighers: Sequence[tuple[HostWeigher, float]]) -> HostState:
    """The best host: the highest sum of normalized weights times their
    multipliers; ties go to the host name, then the node."""
    return ranked(hosts, spec, weighers, 1)[0]


def ranked(hosts: Sequence[HostState], spec: dict[str, Any],
           weighers: Sequence[tuple[HostWeigher, float]],
           best: int) -> list[HostState]:
    """The ``best`` best hosts, best first (as :func:`weigh` ranks
    them)."""
    totals = [0.0 for _ in hosts]
    for weigher, multiplier in weighers:
        if not multiplier:
            continue
        values = _normalized([weigher(h, spec) for h in hosts])
        totals = [t + v * multiplier for t, v in zip(totals, values,
                                                     strict=True)]
    order = heapq.nlargest(
        best, range(len(hosts)),
        key=lambda i: (totals[i], hosts[i].host, hosts[i].node))
    return [hosts[i] for i in order]


def load_filters(names: Iterable[str]) -> list[tuple[str, HostFilter]]:
    unknown = [n for n in names if n not in FILTERS]
    if unknown:
        raise exception.Invalid(
            reason=f'[filter_scheduler] enabled_filters names unknown '
                   f'filter(s) '
                   f'{", ".join(unknown)}; known: {", ".join(FILTERS)}')
    return [(n, FILTERS[n]) for n in names]


def select_hosts(hosts: Sequence[HostState], spec: dict[str, Any],
                 filters: Sequence[tuple[str, HostFilter]],
                 ram_weight_multiplier: float, count: int,
                 weighers: Sequence[tuple[HostWeigher, float]] = (),
                 subset_size: int = 1) -> list[HostState]:
    """``count`` hosts, best first; a host may be picked more than once.

    Each pick counts for the next ones: it consumes the flavor on the
    host and, in a server group, is a host the group is on.  Each pick
    is one of the ``subset_size`` best-weighed hosts, at random
    (``[filter_scheduler] host_subset_size``): 1 takes the best.

    Raises NoValidHost with upstream's message, which names no filter
    (users must not learn how the cloud places servers); the filter that
    removed the last candidates is its ``detail``, which the instance
    fault keeps in its details (shown to admins only).
    """
    chosen: list[HostState] = []
    candidates = list(hosts)
    for _ in range(count):
        remaining = candidates
        for name, host_filter in filters:
            remaining = [h for h in remaining if host_filter(h, spec)]
            if not remaining:
                raise exception.NoValidHost(
                    reason='There are not enough hosts available.',
                    detail=f'Filter {name} removed the last of '
                           f'{len(candidates)} candidates.')
        best = random.choice(ranked(
            remaining, spec,
            [(ram_weigher, ram_weight_multiplier), *weighers], subset_size))
        best.consume(spec['flavor'])
        if spec.get('instance_group'):
            spec['instance_group']['hosts'].append(best.host)
        chosen.append(best)
    return chosen
