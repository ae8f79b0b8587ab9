"""os-hypervisors (admin, basic): list, detail, show, statistics."""

from __future__ import annotations

import json
from typing import Any

import webob.exc

from nova import exception
from nova.api.openstack import common, wsgi
from nova.api.openstack.compute import helpers
from nova.policies import enforcer
from nova.servicegroup import service_is_up

HV = 'os_compute_api:os-hypervisors:%s'


class HypervisorsController:

    def __init__(self, compute_api: Any, db: Any) -> None:
        self.compute_api = compute_api
        self.db = db

    def _services(self, req: wsgi.Request) -> dict[str, Any]:
        return {common.get(s, 'host'): s for s in self.db.service_get_all(
            req.context, binary='nova-compute')}

    def _servers(self, req: wsgi.Request, node: Any) -> list[dict]:
        instances = self.compute_api.get_all(
            req.context, {'host': common.get(node, 'host'),
                          'node': common.get(node, 'hypervisor_hostname'),
                          'deleted': False})
        return [{'uuid': common.get(i, 'uuid'),
                 'name': common.get(i, 'name') or
                 f"instance-{common.get(i, 'uuid')}"} for i in instances]

    def _view(self, req: wsgi.Request, node: Any, service: Any,
              detail: bool, with_servers: bool) -> dict[str, Any]:
        uuids = req.is_microversion('2.53')
        view: dict[str, Any] = {
            'id': common.get(node, 'uuid') if uuids else common.get(node,
                                                                   'id'),
            'hypervisor_hostname': common.get(node, 'hypervisor_hostname'),
            'state': 'up' if service is not None and service_is_up(service)
            else 'down',
            'status': 'disabled' if service is not None and common.get(
                service, 'disabled') else 'enabled',
        }
        if detail:
            view.update({
                'hypervisor_type': common.get(node, 'hypervisor_type'),
                'hypervisor_version': common.get(node,
                                                 'hypervisor_version'),
                'host_ip': common.get(node, 'host_ip'),
                'service': {
                    'host': common.get(node, 'host'),
                    'id': (common.get(service, 'uuid') if uuids else
                           common.get(service, 'id')) if service else None,
                    'disabled_reason': common.get(service,
                                                  'disabled_reason')
                    if service else None,
                },
            })
            if req.is_microversion(max_version='2.87'):
                view.update(self._resources(req, node))
            else:
                view['uptime'] = common.get(node, 'uptime')
        if with_servers:
            servers = self._servers(req, node)
            if servers or req.is_microversion('2.75'):
                view['servers'] = servers
        return view

    @staticmethod
    def _resources(req: wsgi.Request, node: Any) -> dict[str, Any]:
        """The resource fields 2.88 removed."""
        def n(key: str) -> int:
            return int(common.get(node, key) or 0)
        cpu_info: Any = common.get(node, 'cpu_info') or '{}'
        if req.is_microversion('2.28'):
            if isinstance(cpu_info, str):
                try:
                    cpu_info = json.loads(cpu_info)
                except ValueError:
                    cpu_info = {}
        elif not isinstance(cpu_info, str):
            cpu_info = json.dumps(cpu_info)
        return {
            'vcpus': n('vcpus'), 'memory_mb': n('memory_mb'),
            'local_gb': n('local_gb'), 'vcpus_used': n('vcpus_used'),
            'memory_mb_used': n('memory_mb_used'),
            'local_gb_used': n('local_gb_used'),
            'free_ram_mb': n('memory_mb') - n('memory_mb_used'),
            'free_disk_gb': n('local_gb') - n('local_gb_used'),
            'current_workload': n('current_workload'),
            'running_vms': n('running_vms'),
            'disk_available_least': common.get(node,
                                               'disk_available_least'),
            'cpu_info': cpu_info,
        }

    def _nodes(self, req: wsgi.Request) -> list[Any]:
        nodes = sorted(self.db.compute_node_get_all(req.context),
                       key=lambda n: common.get(n, 'id'))
        pattern = req.GET.get('hypervisor_hostname_pattern')
        if pattern and req.is_microversion('2.53'):
            nodes = [n for n in nodes if pattern in (
                common.get(n, 'hypervisor_hostname') or '')]
            if not nodes:
                raise exception.HypervisorNotFound(hypervisor_id=pattern)
        if req.is_microversion('2.33'):
            key = 'uuid' if req.is_microversion('2.53') else 'id'
            nodes = common.limited(nodes, req, key=key)
        return nodes

    def _list(self, req: wsgi.Request, detail: bool) -> dict[str, Any]:
        enforcer.authorize(req.context,
                           HV % ('list-detail' if detail else 'list'))
        with_servers = req.is_microversion('2.53') and \
            common.bool_from_string(req.GET.get('with_servers', 'false'))
        services = self._services(req)
        nodes = self._nodes(req)
        return {'hypervisors': [
            self._view(req, n, services.get(common.get(n, 'host')), detail,
                       with_servers) for n in nodes]}

    def index(self, req: wsgi.Request) -> dict[str, Any]:
        return self._list(req, False)

    def detail(self, req: wsgi.Request) -> dict[str, Any]:
        return self._list(req, True)

    def show(self, req: wsgi.Request, id: str) -> dict[str, Any]:
        ctx = req.context
        enforcer.authorize(ctx, HV % 'show')
        try:
            if req.is_microversion('2.53'):
                if not helpers.is_uuid_like(id):
                    raise webob.exc.HTTPBadRequest(
                        explanation=f'Invalid uuid {id}')
                node = self.db.compute_node_get_by_uuid(ctx, id)
            else:
                node = self.db.compute_node_get(
                    ctx, common.int_param(id, 'hypervisor id'))
        except (ValueError, exception.NotFound):
            raise exception.HypervisorNotFound(hypervisor_id=id) from None
        services = self._services(req)
        with_servers = req.is_microversion('2.53') and \
            common.bool_from_string(req.GET.get('with_servers', 'false'))
        return {'hypervisor': self._view(
            req, node, services.get(common.get(node, 'host')), True,
            with_servers)}

    def statistics(self, req: wsgi.Request) -> dict[str, Any]:
        """Sums over all hypervisors (removed in 2.88)."""
        if req.is_microversion('2.88'):
            raise webob.exc.HTTPNotFound(
                explanation='Hypervisor statistics were removed in 2.88')
        enforcer.authorize(req.context, HV % 'statistics')
        nodes = self.db.compute_node_get_all(req.context)
        totals: dict[str, Any] = {'count': len(nodes)}
        for key in ('vcpus', 'memory_mb', 'local_gb', 'vcpus_used',
                    'memory_mb_used', 'local_gb_used', 'current_workload',
                    'running_vms', 'disk_available_least'):
            totals[key] = sum(int(common.get(n, key) or 0) for n in nodes)
        totals['free_ram_mb'] = totals['memory_mb'] - \
            totals['memory_mb_used']
        totals['free_disk_gb'] = totals['local_gb'] - \
            totals['local_gb_used']
        return {'hypervisor_statistics': totals}
