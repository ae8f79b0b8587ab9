"""api.server_diagnostics: ``GET /servers/{id}/diagnostics`` (admin).

The compute host asks the server's driver for what it can tell about
the guest: its state, CPUs, memory, NICs and disks.  From 2.48 the
answer is upstream's standard format, the same fields for every driver
(a vendor adds its own in ``view``); before, the driver's own
dictionary, passed through.

Failure: a server another project owns or that does not exist is 404
(before the flow runs); a caller without the policy is 403
(``authorize``); a server with no host, being deleted or live migrated,
or whose guest is not running is 409, and a driver that cannot report
them 501, as upstream (``get_diagnostics``).  Nothing is written, so
nothing is reverted.

Interrupted: API flows are not recorded; the request only reads, and a
client asks again.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from nova.api.openstack.compute import helpers
from nova.api.openstack.compute.flows import base
from nova.flow import Flow, contract

RULE = 'os_compute_api:os-server-diagnostics'

#: The microversion of the standard format.
STANDARD_VERSION = '2.48'

#: The standard format's fields, in upstream's order.
FIELDS = ('state', 'driver', 'hypervisor', 'hypervisor_os', 'uptime',
          'config_drive', 'num_cpus', 'num_nics', 'num_disks',
          'memory_details', 'cpu_details', 'nic_details', 'disk_details')


@dataclasses.dataclass
class ServerDiagnosticsState:
    """Contract 1.0 of api.server_diagnostics (what hooks may read and
    write)."""

    #: The WebOb request being answered.
    req: Any = dataclasses.field(metadata=contract.READ_ONLY)
    #: The request's API microversion (``APIVersionRequest``).
    version: Any = dataclasses.field(metadata=contract.READ_ONLY)
    #: The compute API (``nova.compute.api.API``) the stages call.
    compute_api: Any = dataclasses.field(metadata=contract.READ_ONLY)
    #: The server.
    instance: Any = dataclasses.field(metadata=contract.READ_ONLY)
    #: What the compute host answered (the standard format's fields from
    #: 2.48, the driver's own dictionary before): filled in by
    #: ``get_diagnostics``.
    diagnostics: dict[str, Any] | None = None
    #: The response body: built by ``view``; hooks after it may add
    #: their fields.
    body: dict[str, Any] | None = None


FLOW = Flow('api.server_diagnostics', '1.0', ServerDiagnosticsState,
            doc='Show the diagnostics of a server.',
            request_version=base.REQUEST_VERSION)

FLOW.stages('authorize', 'get_diagnostics', 'view')


def standard(state: ServerDiagnosticsState) -> bool:
    """Whether the request asks for the standard format (2.48+)."""
    return bool(state.version >= STANDARD_VERSION)


@FLOW.stage
def authorize(ctx: Any, state: ServerDiagnosticsState) -> None:
    """Policy os_compute_api:os-server-diagnostics on the server."""
    helpers.authorize(ctx, RULE, state.instance)


@FLOW.stage
def get_diagnostics(ctx: Any, state: ServerDiagnosticsState) -> None:
    """Ask the server's compute host (its driver) for the diagnostics."""
    if standard(state):
        state.diagnostics = dict(state.compute_api.get_diagnostics(
            ctx, state.instance))
    else:
        state.diagnostics = state.compute_api.get_diagnostics(
            ctx, state.instance, standard=False)


@FLOW.stage
def view(ctx: Any, state: ServerDiagnosticsState) -> None:
    """The response: the standard format's fields (the counts derived
    from the details where the driver gave none), or before 2.48 what
    the driver answered."""
    diagnostics = state.diagnostics
    if not standard(state):
        state.body = diagnostics
        return
    assert diagnostics is not None
    counts = {'num_cpus': 'cpu_details', 'num_nics': 'nic_details',
              'num_disks': 'disk_details'}
    body = {field: diagnostics.get(field) for field in FIELDS}
    for count, details in counts.items():
        if count not in diagnostics:
            body[count] = len(diagnostics.get(details) or [])
    state.body = body
