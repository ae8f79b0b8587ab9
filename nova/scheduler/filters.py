"""Host filters and the free-RAM weigher: choosing where a build goes.

Placement-era nova decides capacity in the placement service; this fork
keeps capacity in ``compute_nodes`` and makes the final decision with the
compute host's atomic claim, so these filters only need to be a good first
guess: a host that loses a race for its last RAM fails the claim and the
build is rescheduled.
"""

from __future__ import annotations

import dataclasses
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


FILTERS: dict[str, HostFilter] = {
    'ComputeFilter': compute_filter,
    'AvailabilityZoneFilter': availability_zone_filter,
    'RamFilter': ram_filter,
    'DiskFilter': disk_filter,
    'CoreFilter': core_filter,
    'RetryFilter': retry_filter,
}


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
                 ) -> list[HostState]:
    """``count`` hosts, best first; a host may be picked more than once.

    Raises NoValidHost naming the filter that removed the last candidates,
    which is what an operator needs to see in the instance fault.
    """
    chosen: list[HostState] = []
    candidates = list(hosts)
    for _ in range(count):
        remaining = candidates
        for name, host_filter in filters:
            remaining = [h for h in remaining if host_filter(h, spec)]
            if not remaining:
                raise exception.NoValidHost(
                    reason=f'There are not enough hosts available '
                           f'(filter {name} removed the last of '
                           f'{len(candidates)} candidates).')
        best = max(remaining,
                   key=lambda h: (h.free_ram_mb * ram_weight_multiplier,
                                  h.host, h.node))
        best.consume(spec['flavor'])
        chosen.append(best)
    return chosen
