"""api.server_show_password: ``GET /servers/{id}/os-server-password``.

The password a guest posted to the metadata service, encrypted with its
key pair, kept in the server's system_metadata as upstream; its owner
decrypts it with the private key.  '' when there is none.

Failure: a server another project owns or that does not exist is 404
(before the flow runs); a caller without the policy is 403
(``authorize``).  Nothing is written, so nothing is reverted.

Interrupted: API flows are not recorded; the request only reads, and a
client asks again.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from nova.api.openstack.compute import helpers
from nova.api.openstack.compute.flows import base
from nova.flow import Flow, contract

RULE = 'os_compute_api:os-server-password:%s'


@dataclasses.dataclass
class ServerPasswordState:
    """Contract 1.0 of api.server_show_password and
    api.server_clear_password (what hooks may read and write)."""

    #: The WebOb request being answered.
    req: Any = dataclasses.field(metadata=contract.READ_ONLY)
    #: The request's API microversion (``APIVersionRequest``).
    version: Any = dataclasses.field(metadata=contract.READ_ONLY)
    #: The compute API (``nova.compute.api.API``) the stages call.
    compute_api: Any = dataclasses.field(metadata=contract.READ_ONLY)
    #: The server.
    instance: Any = dataclasses.field(metadata=contract.READ_ONLY)
    #: The stored (encrypted) password, '' when there is none: filled in
    #: by ``get_password``.
    password: str | None = None
    #: The response body (show only): built by ``view``.
    body: dict[str, Any] | None = None


FLOW = Flow('api.server_show_password', '1.0', ServerPasswordState,
            doc="Show a server's encrypted password.",
            request_version=base.REQUEST_VERSION)

FLOW.stages('authorize', 'get_password', 'view')


@FLOW.stage
def authorize(ctx: Any, state: ServerPasswordState) -> None:
    """Policy os_compute_api:os-server-password:show on the server."""
    helpers.authorize(ctx, RULE % 'show', state.instance)


@FLOW.stage
def get_password(ctx: Any, state: ServerPasswordState) -> None:
    """Read the password from the server's system_metadata."""
    state.password = state.compute_api.get_password(state.instance)


@FLOW.stage
def view(ctx: Any, state: ServerPasswordState) -> None:
    """The response: ``{"password": ...}``."""
    state.body = {'password': state.password}
