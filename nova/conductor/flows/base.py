"""What every conductor flow's state carries.

``ConductorServices`` is part of each conductor flow's contract, as
``ComputeServices`` is of the compute flows': stages and vendor hooks
reach the network, volume and image services, the database and the
notifier through it, never through globals.  The conductor has no
hypervisor and no resource tracker: its flows work on records and on
the services around the hosts.
"""

from __future__ import annotations

import dataclasses
from typing import Any


@dataclasses.dataclass
class ConductorServices:
    """The services a conductor flow calls."""

    host: str
    network: Any
    volume: Any
    image: Any
    db: Any
    notifier: Any

    def __repr__(self) -> str:
        return f'<ConductorServices host={self.host}>'

