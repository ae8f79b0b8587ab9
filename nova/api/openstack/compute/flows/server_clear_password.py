"""api.server_clear_password: ``DELETE /servers/{id}/os-server-password``.

The password the guest posted (see ``api.server_show_password``) is
removed from the server's system_metadata; upstream answers 204 and
refuses no server state.

Failure: a server another project owns or that does not exist is 404
(before the flow runs); a caller without the policy is 403
(``authorize``).  ``clear_password`` is the one write; there is nothing
before it to revert.

Interrupted: API flows are not recorded; the password is either still
there or gone, and the same request again clears it.
"""

from __future__ import annotations

from typing import Any

from nova.api.openstack.compute import helpers
from nova.api.openstack.compute.flows import base
from nova.api.openstack.compute.flows.server_show_password import (
    RULE,
    ServerPasswordState,
)
from nova.flow import Flow

FLOW = Flow('api.server_clear_password', '1.0', ServerPasswordState,
            doc="Clear a server's encrypted password.",
            request_version=base.REQUEST_VERSION)

FLOW.stages('authorize', 'clear_password')


@FLOW.stage
def authorize(ctx: Any, state: ServerPasswordState) -> None:
    """Policy os_compute_api:os-server-password:clear on the server."""
    helpers.authorize(ctx, RULE % 'clear', state.instance)


@FLOW.stage
def clear_password(ctx: Any, state: ServerPasswordState) -> None:
    """Remove the password from the server's system_metadata."""
    state.compute_api.clear_password(ctx, state.instance)
