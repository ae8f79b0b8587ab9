"""What the tests of moves between hosts share: reading back where an
instance's claim is, its migrations and a host's used memory, on any
cloud fixture that has ``self.db`` and ``self.ctx`` (LocalCloud in this
process, or ProcessCloud's services in their own processes).
"""

from __future__ import annotations

from typing import Any

from nova.tests.functional import fixtures as func_fixtures


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
