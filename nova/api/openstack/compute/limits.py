"""GET /limits: the caller's absolute limits and usage.

This cloud enforces no quotas yet, so every maximum is -1 (unlimited, as
upstream spells it); the usage figures are real.
"""

from __future__ import annotations

from typing import Any

from nova.api.openstack import wsgi
from nova.policies import enforcer

UNLIMITED = -1


class LimitsController:

    def __init__(self, db: Any) -> None:
        self.db = db

    def index(self, req: wsgi.Request) -> dict[str, Any]:
        ctx = req.context
        enforcer.authorize(ctx, 'os_compute_api:limits')
        project_id = req.GET.get('tenant_id') if ctx.is_admin and \
            req.GET.get('tenant_id') else ctx.project_id
        usage = self.db.instance_usage_by_project(ctx, project_id)
        absolute: dict[str, Any] = {
            'maxServerMeta': UNLIMITED,
            'maxTotalInstances': UNLIMITED,
            'maxTotalCores': UNLIMITED,
            'maxTotalRAMSize': UNLIMITED,
            'maxServerGroups': UNLIMITED,
            'maxServerGroupMembers': UNLIMITED,
            'maxTotalKeypairs': UNLIMITED,
            'totalInstancesUsed': usage.get('instances', 0),
            'totalCoresUsed': usage.get('cores', 0),
            'totalRAMUsed': usage.get('ram', 0),
            'totalServerGroupsUsed': 0,
        }
        if not req.is_microversion('2.36'):
            absolute.update({
                'maxSecurityGroups': UNLIMITED,
                'maxSecurityGroupRules': UNLIMITED,
                'maxTotalFloatingIps': UNLIMITED,
                'totalSecurityGroupsUsed': 0,
                'totalFloatingIpsUsed': 0,
            })
        if not req.is_microversion('2.39'):
            absolute['maxImageMeta'] = UNLIMITED
        if not req.is_microversion('2.57'):
            absolute['maxPersonality'] = UNLIMITED
            absolute['maxPersonalitySize'] = UNLIMITED
        return {'limits': {'rate': [], 'absolute': absolute}}
