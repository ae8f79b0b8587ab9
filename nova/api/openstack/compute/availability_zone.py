"""os-availability-zone: zones of the compute hosts (from their host
aggregates, see :mod:`nova.compute.availability_zones`)."""

from __future__ import annotations

from typing import Any

import nova.conf
from nova.api.openstack import common, wsgi
from nova.api.openstack.compute.services import service_zone
from nova.compute import availability_zones
from nova.policies import enforcer
from nova.servicegroup import service_is_up

CONF = nova.conf.CONF
AZ = 'os_compute_api:os-availability-zone:%s'


class AvailabilityZoneController:

    def __init__(self, db: Any) -> None:
        self.db = db

    def _services(self, req: wsgi.Request) -> list[Any]:
        services = list(self.db.service_get_all(req.context))
        # A compute host's zone is its aggregate's, else its node's.
        aggregate_zones = availability_zones.aggregate_zones(req.context,
                                                             self.db)
        zones = dict(aggregate_zones)
        for node in self.db.compute_node_get_all(req.context):
            zones[common.get(node, 'host')] = availability_zones.host_zone(
                common.get(node, 'host'),
                common.get(node, 'availability_zone'), aggregate_zones)
        result = []
        for service in services:
            service = dict(service) if not isinstance(service, dict) \
                else dict(service)
            if service.get('host') in zones and \
                    service.get('binary') == 'nova-compute':
                service['availability_zone'] = zones[service['host']]
            result.append(service)
        return result

    def index(self, req: wsgi.Request) -> dict[str, Any]:
        """Zones with their state; the internal zone is not listed."""
        enforcer.authorize(req.context, AZ % 'list')
        available: dict[str, bool] = {}
        for service in self._services(req):
            zone = service_zone(service)
            if zone == CONF.internal_service_availability_zone:
                continue
            usable = not service.get('disabled') and service_is_up(service)
            available[zone] = available.get(zone, False) or usable
        return {'availabilityZoneInfo': [
            {'zoneName': zone, 'zoneState': {'available': ok},
             'hosts': None}
            for zone, ok in sorted(available.items())]}

    def detail(self, req: wsgi.Request) -> dict[str, Any]:
        """Zones with their hosts and services (admin)."""
        enforcer.authorize(req.context, AZ % 'detail')
        zones: dict[str, dict[str, Any]] = {}
        for service in self._services(req):
            zone = zones.setdefault(service_zone(service), {
                'available': False, 'hosts': {}})
            up = service_is_up(service)
            enabled = not service.get('disabled')
            zone['available'] = zone['available'] or (up and enabled)
            zone['hosts'].setdefault(service.get('host'), {})[
                service.get('binary')] = {
                    'available': up, 'active': enabled,
                    'updated_at': common.usage_time(
                        service.get('updated_at'))}
        return {'availabilityZoneInfo': [
            {'zoneName': name, 'zoneState': {'available': z['available']},
             'hosts': z['hosts']}
            for name, z in sorted(zones.items())]}
