"""What the tests of moves between hosts share: reading back where an
instance's claim is, its migrations and a host's used memory, on any
cloud fixture that has ``self.db`` and ``self.ctx`` (LocalCloud in this
process, or ProcessCloud's services in their own processes).
"""

from __future__ import annotations

from typing import Any

from nova.tests.functional import fixtures as func_fixtures

#: The destination's flow that takes a live-migrated instance, and its
#: stage that takes the guest.
TAKE_FLOW = 'compute.post_live_migration_at_destination'
TAKE_STAGE = f'{TAKE_FLOW}.post_live_migration_at_destination'


def guest_not_taken(stage_id: str) -> bool:
    """Does a failure in ``stage_id`` (past a live migration's point of
    no return) keep its destination from taking the guest - the
    conductor's call, or the destination's flow up to its driver stage?
    The instance then ends ERROR on the destination."""
    from nova_fault_injection_hooks import stage_ids
    if stage_id == 'conductor.live_migrate_instance.' \
            'post_live_migration_at_destination':
        return True
    stages = stage_ids(TAKE_FLOW)
    return (stage_id in stages and
            stages.index(stage_id) <= stages.index(TAKE_STAGE))


class MoveHelpers:

    db: Any
    ctx: Any
    #: The compute hosts of the test's cloud.
    hosts: tuple[str, ...] = ('compute1', 'compute2')

    def other(self, host: str) -> str:
        """The other host of a two-host cloud."""
        return next(h for h in self.hosts if h != host)

    def allocation_host(self, consumer: str) -> str | None:
        """The host whose node holds ``consumer``'s claim (an instance, or
        a migration holding the source's share), or None."""
        allocation = self.db.allocation_get_by_instance(self.ctx, consumer)
        if allocation is None:
            return None
        return self.db.compute_node_get(
            self.ctx, allocation['compute_node_id'])['host']

    def used_memory(self, host: str) -> int:
        return self.db.compute_node_get_all_by_host(
            self.ctx, host)[0]['memory_mb_used']

    def port_hosts(self, uuid: str) -> list[str | None]:
        """The hosts the instance's ports are bound to
        (``binding:host_id``), in allocation order."""
        return [row['host']
                for row in self.db.fixed_ip_get_by_instance(self.ctx, uuid)]

    def migrations(self, uuid: str) -> list[dict[str, Any]]:
        """The instance's migrations, newest first."""
        return self.db.migration_get_all_by_filters(
            self.ctx, {'instance_uuid': uuid})

    def migration(self, uuid: str) -> dict[str, Any] | None:
        """The instance's newest migration, or None."""
        found = self.db.migration_get_all_by_filters(
            self.ctx, {'instance_uuid': uuid}, limit=1)
        return found[0] if found else None

    def wait_for_migration(self, uuid: str, *statuses: str
                           ) -> dict[str, Any]:
        """The instance's newest migration, once it is in one of
        ``statuses``."""
        return func_fixtures.wait_for(
            lambda: (lambda m: m if m and m['status'] in statuses
                     else None)(self.migration(uuid)),
            what=f'the newest migration of {uuid} to reach {statuses}')
