"""GET /limits: the caller's absolute limits (its quotas) and usage."""

from __future__ import annotations

from typing import Any

from nova import quota
from nova.api.openstack import wsgi
from nova.policies import enforcer

# quota resource -> its limit's name in GET /limits.
_MAXIMA = {
    'instances': 'maxTotalInstances',
    'cores': 'maxTotalCores',
    'ram': 'maxTotalRAMSize',
    'metadata_items': 'maxServerMeta',
    'key_pairs': 'maxTotalKeypairs',
    'server_groups': 'maxServerGroups',
    'server_group_members': 'maxServerGroupMembers',
}
# Gone from 2.36 (the network service's quotas).
_NETWORK_MAXIMA = {
    'security_groups': 'maxSecurityGroups',
    'security_group_rules': 'maxSecurityGroupRules',
    'floating_ips': 'maxTotalFloatingIps',
}
_USED = {
    'instances': 'totalInstancesUsed',
    'cores': 'totalCoresUsed',
    'ram': 'totalRAMUsed',
    'server_groups': 'totalServerGroupsUsed',
}
_NETWORK_USED = {
    'security_groups': 'totalSecurityGroupsUsed',
    'floating_ips': 'totalFloatingIpsUsed',
}


class LimitsController:

    def __init__(self, db: Any) -> None:
        self.db = db
        self.quotas = quota.QuotaEngine(db)

    def index(self, req: wsgi.Request) -> dict[str, Any]:
        ctx = req.context
        enforcer.authorize(ctx, 'os_compute_api:limits')
        project_id = req.GET.get('tenant_id') if ctx.is_admin and \
            req.GET.get('tenant_id') else ctx.project_id
        quotas = self.quotas.get_project_quotas(ctx, project_id,
                                                usages=True)
        maxima, used = dict(_MAXIMA), dict(_USED)
        if not req.is_microversion('2.36'):
            maxima.update(_NETWORK_MAXIMA)
            used.update(_NETWORK_USED)
        absolute: dict[str, Any] = {
            name: quotas[resource]['limit']
            for resource, name in maxima.items()}
        absolute.update({name: quotas[resource]['in_use']
                         for resource, name in used.items()})
        if not req.is_microversion('2.39'):
            absolute['maxImageMeta'] = quotas['metadata_items']['limit']
        if not req.is_microversion('2.57'):
            absolute['maxPersonality'] = quotas['injected_files']['limit']
            absolute['maxPersonalitySize'] = quotas[
                'injected_file_content_bytes']['limit']
        return {'limits': {'rate': [], 'absolute': absolute}}
