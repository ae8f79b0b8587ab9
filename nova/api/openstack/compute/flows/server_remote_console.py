"""api.server_remote_console: ``POST /servers/{id}/remote-consoles``
(2.6+) and the ``os-getVNCConsole`` server action (2.1 - 2.5).

A URL that opens the server's console in a browser: it points at a
console proxy (nova-novncproxy for ``vnc``) and carries a token that
nova-compute stored for the server's console.  Only VNC is offered
here; a vendor with a proxy for another protocol replaces
``get_console``.

Failure: an unknown protocol or type is 400 (the request schema) and a
server another project owns or that does not exist 404, both before the
flow runs; a caller without the policy is 403 (``authorize``); a console
this cloud does not offer (``[vnc] enabled`` off, or a protocol other
than VNC) is 400 ConsoleTypeUnavailable, a server without a running
guest 409 InstanceNotReady, one being deleted or migrated 409
InstanceInvalidState, and a driver without consoles 501
(``get_console``).  The token nova-compute stores expires by itself, so
nothing is reverted.

Interrupted: API flows are not recorded; a token made for an answer
never sent expires after ``[consoleauth] token_ttl``, and the client
asks again.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import webob.exc

from nova import exception
from nova.api.openstack.compute import helpers
from nova.api.openstack.compute.flows import base
from nova.flow import Flow, contract
from nova.policies import remote_consoles as policies

#: From this microversion the remote-consoles resource answers; below it
#: the os-getVNCConsole action, in its own response form.
REMOTE_CONSOLES_VERSION = '2.6'


@dataclasses.dataclass
class ServerRemoteConsoleState:
    """Contract 1.0 of api.server_remote_console (what hooks may read and
    write)."""

    #: The WebOb request being answered.
    req: Any = dataclasses.field(metadata=contract.READ_ONLY)
    #: The request's API microversion (``APIVersionRequest``).
    version: Any = dataclasses.field(metadata=contract.READ_ONLY)
    #: The compute API (``nova.compute.api.API``) the stages call.
    compute_api: Any = dataclasses.field(metadata=contract.READ_ONLY)
    #: The server.
    instance: Any = dataclasses.field(metadata=contract.READ_ONLY)
    #: The console protocol asked for (``vnc``, ``spice`` ...; always
    #: ``vnc`` for os-getVNCConsole).
    protocol: str = dataclasses.field(metadata=contract.READ_ONLY)
    #: The console type asked for (``novnc``, ``spice-html5`` ...).
    console_type: str = dataclasses.field(metadata=contract.READ_ONLY)
    #: The console's URL: filled in by ``get_console``.
    url: str | None = None
    #: The response body: built by ``view``.
    body: dict[str, Any] | None = None


FLOW = Flow('api.server_remote_console', '1.0', ServerRemoteConsoleState,
            doc="Get a URL of a server's console.",
            request_version=base.REQUEST_VERSION)

FLOW.stages('authorize', 'get_console', 'view')


@FLOW.stage
def authorize(ctx: Any, state: ServerRemoteConsoleState) -> None:
    """Policy os_compute_api:os-remote-consoles on the server."""
    helpers.authorize(ctx, policies.BASE_POLICY_NAME, state.instance)


@FLOW.stage
def get_console(ctx: Any, state: ServerRemoteConsoleState) -> None:
    """Ask the server's compute host for a VNC console URL."""
    if state.protocol != 'vnc':
        # No proxy for SPICE, RDP, serial or MKS consoles here: what
        # upstream answers where they are not enabled.
        raise exception.ConsoleTypeUnavailable(
            console_type=state.console_type)
    try:
        output = state.compute_api.get_vnc_console(ctx, state.instance,
                                                   state.console_type)
    except NotImplementedError:
        raise webob.exc.HTTPNotImplemented(
            explanation='Action is not supported.') from None
    state.url = output['url']


@FLOW.stage
def view(ctx: Any, state: ServerRemoteConsoleState) -> None:
    """The response: ``remote_console`` (2.6+) or, for os-getVNCConsole,
    ``console``."""
    if state.version >= REMOTE_CONSOLES_VERSION:
        state.body = {'remote_console': {'protocol': state.protocol,
                                         'type': state.console_type,
                                         'url': state.url}}
    else:
        state.body = {'console': {'type': state.console_type,
                                  'url': state.url}}
