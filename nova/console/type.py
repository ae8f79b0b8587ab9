"""What a virt driver says about a guest's console server."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Console:
    """Where a console proxy connects to reach a guest's console."""

    host: str
    port: int
    #: A path the proxy sends to the server first (upstream's vmware and
    #: hyper-v consoles); None for a plain VNC server.
    internal_access_path: str | None = None


@dataclasses.dataclass(frozen=True)
class ConsoleVNC(Console):
    """A guest's VNC server (RFB protocol)."""
