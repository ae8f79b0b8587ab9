"""Server names a cloud keeps for itself.

``guide_naming`` adds a stage of its own, ``check_name``, right before
``compute.build_instance.claim_resources``: a server whose name starts
with ``[hook:guide_naming] reserved_prefix`` is refused with a message
the user reads in the server's fault (``hooks.RunRefused``: the build
is not rescheduled).  The hook remembers the builds it let through
until they end: ``forget`` (the stage's revert) drops a build that
failed later, and a listener drops one that succeeded and counts it.
"""

from __future__ import annotations

import threading
from typing import Any

from oslo_config import cfg

from nova.flow import hooks

BUILD = 'compute.build_instance'


class NamingPolicy(hooks.Hook):
    """Refuses builds of servers with a reserved name."""

    supports = {BUILD: '1.0'}
    options = [
        cfg.StrOpt('reserved_prefix', default='reserved-',
                   help='Server names starting with this are refused.'),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        #: UUIDs of the builds check_name let through, still running.
        self.pending: set[str] = set()
        #: How many builds that check_name let through succeeded.
        self.built = 0

    @hooks.before(f'{BUILD}.claim_resources', revert='forget')
    def check_name(self, ctx: Any, state: Any) -> None:
        """Refuse a reserved name; remember the build otherwise."""
        name = state.instance['display_name'] or ''
        prefix = self.conf.reserved_prefix
        if prefix and name.startswith(prefix):
            raise hooks.RunRefused(
                f'Server names starting with "{prefix}" are reserved '
                f'on this cloud; choose another name.')
        with self._lock:
            self.pending.add(state.instance['uuid'])

    def forget(self, ctx: Any, state: Any, failure: Any) -> None:
        """Idempotent, from the instance alone (after a crash too)."""
        with self._lock:
            self.pending.discard(state.instance['uuid'])

    @hooks.listen(BUILD, 'run_success')
    def built_one(self, event: Any) -> None:
        with self._lock:
            self.pending.discard(event.state.instance['uuid'])
            self.built += 1
