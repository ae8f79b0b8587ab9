"""The compute host's view of its resources, and claims against them.

A claim is one conditional UPDATE of the node's usage in the database
(``nova.db.api.allocation_claim``), so two builds racing for the last RAM
on a node can never both win, whichever processes they run in; the
loser's build fails its ``claim_resources`` stage and is rescheduled.
"""

from __future__ import annotations

from typing import Any

from oslo_log import log as logging

import nova.conf
from nova import exception

LOG = logging.getLogger(__name__)
CONF = nova.conf.CONF


def _disk_gb(instance: dict[str, Any]) -> int:
    swap_gb = (int(instance.get('swap') or 0) + 1023) // 1024
    return (int(instance.get('root_gb') or 0)
            + int(instance.get('ephemeral_gb') or 0) + swap_gb)


class ResourceTracker:

    def __init__(self, host: str, driver: Any, db: Any) -> None:
        self.host = host
        self.driver = driver
        self.db = db
        #: nodename -> compute node id
        self.nodes: dict[str, int] = {}

    def update_available_resource(self, ctx: Any) -> None:
        """Report every node the driver has; usage comes from claims."""
        for nodename in self.driver.get_available_nodes():
            resources = self.driver.get_available_resource(nodename)
            node = self.db.compute_node_report(
                ctx, self.host, nodename, {
                    'vcpus': resources['vcpus'],
                    'memory_mb': resources['memory_mb'],
                    'local_gb': resources['local_gb'],
                    'hypervisor_type': resources.get('hypervisor_type'),
                    'cpu_allocation_ratio': CONF.cpu_allocation_ratio,
                    'ram_allocation_ratio': CONF.ram_allocation_ratio,
                    'disk_allocation_ratio': CONF.disk_allocation_ratio,
                    'availability_zone': (
                        CONF.compute.availability_zone
                        or CONF.default_availability_zone),
                })
            self.nodes[nodename] = node['id']

    def instance_claim(self, ctx: Any, instance: dict[str, Any],
                       nodename: str) -> None:
        node_id = self.nodes.get(nodename)
        if node_id is None:
            raise exception.ComputeResourcesUnavailable(
                reason=f'node {nodename} is not managed by {self.host}')
        self.db.allocation_claim(
            ctx, node_id, instance['uuid'],
            vcpus=int(instance.get('vcpus') or 0),
            memory_mb=int(instance.get('memory_mb') or 0),
            disk_gb=_disk_gb(instance))

    def move_claim(self, ctx: Any, instance: dict[str, Any],
                   migration: dict[str, Any], nodename: str,
                   flavor: dict[str, Any]) -> None:
        """Claim ``flavor`` on ``nodename`` for a move of ``instance``;
        what it holds on its source passes to ``migration`` (one
        transaction: see db.allocation_move_claim)."""
        node_id = self.nodes.get(nodename)
        if node_id is None:
            raise exception.ComputeResourcesUnavailable(
                reason=f'node {nodename} is not managed by {self.host}')
        self.db.allocation_move_claim(
            ctx, instance['uuid'], migration['uuid'], node_id,
            vcpus=int(flavor.get('vcpus') or 0),
            memory_mb=int(flavor.get('memory_mb') or 0),
            disk_gb=_disk_gb(flavor))

    def drop_move_claim(self, ctx: Any, instance: dict[str, Any],
                        migration: dict[str, Any]) -> None:
        """Undo :meth:`move_claim` (idempotent)."""
        self.db.allocation_move_revert(ctx, instance['uuid'],
                                       migration['uuid'])

    def release(self, ctx: Any, instance_uuid: str) -> None:
        self.db.allocation_release(ctx, instance_uuid)
