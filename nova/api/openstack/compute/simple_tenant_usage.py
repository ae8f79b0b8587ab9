"""os-simple-tenant-usage: what each project's servers used in a period.

For each server that existed between ``start`` and ``end`` (default:
now), its hours in the period (from launch, or the period's start, to
termination, or the period's end) times its vCPUs, RAM and disk; summed
per project.  ``detailed=1`` (index) adds ``server_usages``; from 2.40
``limit``/``marker`` page over the servers and a next link is given.
"""

from __future__ import annotations

import datetime
from typing import Any

import webob.exc
from oslo_utils import timeutils

from nova.api.openstack import common, wsgi
from nova.policies import enforcer

TU = 'os_compute_api:os-simple-tenant-usage:%s'


def _period(req: wsgi.Request) -> tuple[datetime.datetime,
                                        datetime.datetime]:
    now = timeutils.utcnow()
    start = common.parse_time(req.GET['start'], 'start') \
        if req.GET.get('start') else now
    end = common.parse_time(req.GET['end'], 'end') \
        if req.GET.get('end') else now
    if start > end:
        raise webob.exc.HTTPBadRequest(
            explanation='Invalid start time. The start time cannot occur '
                        'after the end time.')
    return start, end


def _hours(instance: dict[str, Any], start: datetime.datetime,
           end: datetime.datetime) -> float:
    launched = instance.get('launched_at') or instance.get('created_at')
    terminated = instance.get('terminated_at')
    begin = max(launched, start) if launched else start
    stop = min(terminated, end) if terminated else end
    return max((stop - begin).total_seconds(), 0) / 3600.0


def _server_usage(instance: dict[str, Any], start: datetime.datetime,
                  end: datetime.datetime) -> dict[str, Any]:
    hours = _hours(instance, start, end)
    flavor = instance.get('flavor') or {}
    local_gb = int(instance.get('root_gb') or 0) + int(
        instance.get('ephemeral_gb') or 0)
    launched = instance.get('launched_at') or instance.get('created_at')
    terminated = instance.get('terminated_at')
    uptime_end = terminated or timeutils.utcnow()
    return {
        'instance_id': instance['uuid'],
        'name': instance.get('display_name'),
        'hours': hours,
        'memory_mb': int(instance.get('memory_mb') or 0),
        'local_gb': local_gb,
        'vcpus': int(instance.get('vcpus') or 0),
        'tenant_id': instance.get('project_id'),
        'flavor': flavor.get('name'),
        'started_at': common.usage_time(launched),
        'ended_at': common.usage_time(terminated),
        'state': 'terminated' if instance.get('deleted') else
        instance.get('vm_state'),
        'uptime': int((uptime_end - launched).total_seconds())
        if launched else 0,
    }


class SimpleTenantUsageController:

    def __init__(self, db: Any) -> None:
        self.db = db

    def _usages(self, req: wsgi.Request, project_id: str | None,
                detailed: bool) -> tuple[list[dict[str, Any]], list[Any]]:
        start, end = _period(req)
        ctx = req.context
        instances = self.db.instance_get_active_by_window(
            ctx, start, end, project_id)
        links: list[Any] = []
        if req.is_microversion('2.40'):
            limit, _marker = common.pagination_params(req)
            instances = common.limited(instances, req, key='uuid')
            links = common.next_link(
                req, 'os-simple-tenant-usage' + (
                    f'/{project_id}' if project_id else ''),
                [{'uuid': i['uuid']} for i in instances], limit,
                key='uuid')
        usages: dict[str, dict[str, Any]] = {}
        for instance in instances:
            server = _server_usage(instance, start, end)
            usage = usages.setdefault(server['tenant_id'], {
                'tenant_id': server['tenant_id'],
                'total_hours': 0.0, 'total_local_gb_usage': 0.0,
                'total_memory_mb_usage': 0.0, 'total_vcpus_usage': 0.0,
                'start': start.isoformat(), 'stop': end.isoformat(),
                'server_usages': []})
            hours = server['hours']
            usage['total_hours'] += hours
            usage['total_local_gb_usage'] += server['local_gb'] * hours
            usage['total_memory_mb_usage'] += server['memory_mb'] * hours
            usage['total_vcpus_usage'] += server['vcpus'] * hours
            usage['server_usages'].append(server)
        result = list(usages.values())
        if not detailed:
            for usage in result:
                del usage['server_usages']
        return result, links

    def index(self, req: wsgi.Request) -> dict[str, Any]:
        """Every project's usage (admin)."""
        enforcer.authorize(req.context, TU % 'list')
        detailed = common.bool_from_string(req.GET.get('detailed', '0'))
        usages, links = self._usages(req, None, detailed)
        result: dict[str, Any] = {'tenant_usages': usages}
        if links:
            result['tenant_usages_links'] = links
        return result

    def show(self, req: wsgi.Request, id: str) -> dict[str, Any]:
        """One project's usage, with its servers."""
        enforcer.authorize(req.context, TU % 'show', {'project_id': id})
        usages, links = self._usages(req, id, True)
        result: dict[str, Any] = {'tenant_usage': usages[0] if usages
                                  else {}}
        if links:
            result['tenant_usage_links'] = links
        return result
