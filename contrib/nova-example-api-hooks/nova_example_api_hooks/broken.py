"""Broken on purpose, for nova's own tests of its start-up checks.

Never enable it: it adds a response field without declaring from which
microversion (an API-only rule every service and ``nova-manage flow
check`` enforce).
"""

from __future__ import annotations

from typing import Any

from nova.flow import hooks


class ViewWithoutMicroversion(hooks.Hook):
    supports = {'api.server_view': '1.0'}

    @hooks.after('api.server_view.basic')
    def show_extra(self, ctx: Any, state: Any) -> None:
        state.server['example:extra'] = True
