"""Turning the database's view of compute nodes into HostStates."""

from __future__ import annotations

import datetime
from typing import Any

from oslo_utils import timeutils

import nova.conf
from nova import exception
from nova.compute import availability_zones
from nova.scheduler import filters

CONF = nova.conf.CONF


class Scheduler:

    def __init__(self, db: Any) -> None:
        self.db = db
        self.filters = filters.load_filters(
            CONF.filter_scheduler.enabled_filters)

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
        return filters.select_hosts(
            hosts, spec, self.filters, fs.ram_weight_multiplier, count,
            weighers=[
                (filters.soft_affinity_weigher,
                 fs.soft_affinity_weight_multiplier),
                (filters.soft_anti_affinity_weigher,
                 fs.soft_anti_affinity_weight_multiplier)],
            subset_size=fs.host_subset_size)

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
