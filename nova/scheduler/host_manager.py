"""Turning the database's view of compute nodes into HostStates.

Picks not yet claimed
---------------------

A host chosen for a build claims on it when the build reaches it (its
``claim_resources``: one compare-and-swap on the node's usage), a few
hundred milliseconds later under load.  Until then the node's row says
nothing of the pick, and every decision in between, of this conductor
or another, would rank the host as if it had not been chosen: with
``[filter_scheduler] host_subset_size`` = 1 every such decision takes
the same best host, and with more each of the best-weighed hosts takes a
burst while the rest wait idle; a host that builds slowly stays unclaimed
longer and so is picked more, which makes it slower still.

Upstream nova avoids this twice: its scheduler claims in placement before
the build is cast, and its host manager keeps each pick in the host's
in-memory state (``consume_from_request``) for the decisions after it.
This scheduler does the second: each pick made here is remembered, by
its consumer (the instance) and node, and counted in that node's usage
by every later decision of this process until the node's allocation for
it is in the database (read in the decision's own transaction, one
indexed statement; the row then counts it) or ``[DEFAULT]
service_down_time`` has passed (a build that failed or was deleted
before its claim, or a host that is down and filtered out anyway).
A multi-create's claims are the conductor's own, right after the
decision, so its picks are counted only until then.  Each nova-conductor
knows only its own picks, as each upstream scheduler knows only its own.
"""

from __future__ import annotations

import dataclasses
import datetime
import time
from typing import Any

from oslo_utils import timeutils

import nova.conf
from nova import concurrency, exception
from nova.compute import availability_zones
from nova.scheduler import filters

CONF = nova.conf.CONF


@dataclasses.dataclass
class _Pick:
    """A node chosen for a consumer, not yet claimed on it."""
    node_id: int
    #: time.monotonic() of the decision.
    at: float
    flavor: dict[str, Any]


class Scheduler:

    def __init__(self, db: Any) -> None:
        self.db = db
        self.filters = filters.load_filters(
            CONF.filter_scheduler.enabled_filters)
        #: consumer UUID -> its unclaimed pick.
        self._picks: dict[str, _Pick] = {}
        self._picks_lock = concurrency.Lock()

    def host_states(self, ctx: Any) -> list[filters.HostState]:
        horizon = timeutils.utcnow() - datetime.timedelta(
            seconds=CONF.service_down_time)
        states = []
        metadata: dict[str, dict[str, set[str]]] = {}
        for aggregate in self.db.aggregate_get_all(ctx):
            for host in aggregate['hosts']:
                for key, value in aggregate['metadata'].items():
                    metadata.setdefault(host, {}).setdefault(
                        key, set()).add(value)
        zones = {host: min(values[availability_zones.AZ_KEY])
                 for host, values in metadata.items()
                 if values.get(availability_zones.AZ_KEY)}
        for node in self.db.compute_nodes_for_scheduling(ctx):
            last_seen = node['last_seen_up']
            states.append(filters.HostState(
                host=node['host'], node=node['hypervisor_hostname'],
                availability_zone=availability_zones.host_zone(
                    node['host'], node['availability_zone'], zones),
                aggregate_metadata=metadata.get(node['host'], {}),
                node_id=node['id'],
                alive=bool(last_seen and last_seen >= horizon
                           and not node['forced_down']),
                disabled=bool(node['disabled']),
                vcpus=node['vcpus'], vcpus_used=node['vcpus_used'],
                memory_mb=node['memory_mb'],
                memory_mb_used=node['memory_mb_used'],
                local_gb=node['local_gb'],
                local_gb_used=node['local_gb_used'],
                cpu_allocation_ratio=node['cpu_allocation_ratio'],
                ram_allocation_ratio=node['ram_allocation_ratio'],
                disk_allocation_ratio=node['disk_allocation_ratio']))
        return states

    def select_destinations(self, ctx: Any, spec: dict[str, Any],
                            count: int) -> list[filters.HostState]:
        """``count`` hosts for ``spec``, best first.

        ``spec['ignore_hosts']`` (host names) are never chosen (a move's
        source); ``spec['requested_destination']`` (a host name) is the
        only candidate, still filtered (an admin's move to a named host,
        an unshelve to one).
        """
        # One transaction for the decision's reads (aggregates, nodes,
        # server group) instead of one each.
        with self.db.reader(ctx):
            hosts = self.host_states(ctx)
            spec['instance_group'] = self.instance_group(ctx, spec)
            claimed = self._claimed_picks(ctx)
        ignore = set(spec.get('ignore_hosts') or ())
        if ignore:
            hosts = [h for h in hosts if h.host not in ignore]
        wanted = spec.get('requested_destination')
        if wanted:
            hosts = [h for h in hosts if h.host == wanted]
            if not hosts:
                raise exception.NoValidHost(
                    reason=f'Compute host {wanted} is not known.' if
                    wanted not in ignore else
                    f'Compute host {wanted} is the one the instance is '
                    f'on.')
        fs = CONF.filter_scheduler
        # From here to the picks remembered, nothing waits: decisions
        # made at the same time (this process's other requests) each see
        # the picks of every decision before it.
        with self._picks_lock:
            self._count_picks(hosts, claimed)
            chosen = filters.select_hosts(
                hosts, spec, self.filters, fs.ram_weight_multiplier, count,
                weighers=[
                    (filters.soft_affinity_weigher,
                     fs.soft_affinity_weight_multiplier),
                    (filters.soft_anti_affinity_weigher,
                     fs.soft_anti_affinity_weight_multiplier)],
                subset_size=fs.host_subset_size)
            self._remember(spec, chosen)
        return chosen

    def _claimed_picks(self, ctx: Any) -> list[_Pick]:
        """This process's picks whose nodes hold their claims now (read
        in the decision's transaction, after the nodes: each such claim
        is in the node's usage read before it, or a little later)."""
        picks = list(self._picks.items())
        if not picks:
            return []
        held = self.db.allocation_nodes_by_consumer(
            ctx, [consumer for consumer, _ in picks])
        return [pick for consumer, pick in picks
                if held.get(consumer) == pick.node_id]

    def _count_picks(self, hosts: list[filters.HostState],
                     claimed: list[_Pick]) -> None:
        """Forget the ``claimed`` picks and those older than ``[DEFAULT]
        service_down_time``; add the others to their nodes' usage in
        ``hosts`` (see the module docstring)."""
        gone = {id(pick) for pick in claimed}
        horizon = time.monotonic() - CONF.service_down_time
        by_node = {h.node_id: h for h in hosts}
        for consumer, pick in list(self._picks.items()):
            if id(pick) in gone or pick.at < horizon:
                del self._picks[consumer]
                continue
            host = by_node.get(pick.node_id)
            if host is not None:
                host.consume(pick.flavor)

    def _remember(self, spec: dict[str, Any],
                  chosen: list[filters.HostState]) -> None:
        """Keep each consumer's pick until its node claims for it (a
        consumer chosen again, a reschedule, keeps only its new pick)."""
        now = time.monotonic()
        flavor = spec['flavor']
        # A multi-create placed with fewer hosts than instances (down
        # to min_count) picked for its first ``len(chosen)``.
        for consumer, host in zip(spec.get('instance_uuids') or (),
                                  chosen, strict=False):
            if host.node_id is None:
                continue
            self._picks.pop(consumer, None)
            self._picks[consumer] = _Pick(host.node_id, now, flavor)

    def instance_group(self, ctx: Any,
                       spec: dict[str, Any]) -> dict[str, Any] | None:
        """The server group the request is scheduled for, as the group
        filters and weighers read it, or None.

        The group is the ``group`` scheduler hint's, else the one the
        instances being scheduled (``spec['instance_uuids']``: a build,
        a reschedule, a move) are members of; ``hosts`` lists the host
        of each of its other members (once per member).  A spec with
        ``group_from_hint`` (a build's: the compute API puts the group
        of the servers it creates in their hint, as upstream's request
        spec carries it) has no group without the hint, and nothing is
        read for it.
        """
        moving = set(spec.get('instance_uuids') or ())
        hint = (spec.get('scheduler_hints') or {}).get('group')
        if isinstance(hint, list):
            hint = hint[0] if hint else None
        group = None
        if hint:
            group = self.db.instance_group_get(ctx, hint)
        elif not spec.get('group_from_hint'):
            for uuid in moving:
                group = self.db.instance_group_get_by_instance(ctx, uuid)
                if group is not None:
                    break
        if group is None:
            return None
        return {'uuid': group['uuid'], 'policy': group['policy'],
                'rules': dict(group.get('rules') or {}),
                'hosts': [m['host'] for m in group['members']
                          if m['host'] and m['instance_uuid'] not in moving]}
