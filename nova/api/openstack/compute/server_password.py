"""The server password: GET and DELETE /servers/{server_id}/os-server-password,
the API flows ``api.server_show_password`` and
``api.server_clear_password``.

What a guest posted, encrypted with its key pair, to the metadata
service (``openstack/latest/password``), which its owner decrypts with
the private key; stored in the instance's system_metadata as upstream.
This tree has no metadata service yet, so only an operator-side write
(or an upstream-compatible one added later) fills it; reading gives ''
until then.  Clearing it is 204.
"""

from __future__ import annotations

from typing import Any

from nova.api.openstack import wsgi
from nova.api.openstack.compute import helpers
from nova.api.openstack.compute.flows import (
    ApiFlows,
    server_clear_password,
    server_show_password,
)


class ServerPasswordController:

    def __init__(self, compute_api: Any, flows: ApiFlows) -> None:
        self.compute_api = compute_api
        self.flows = flows

    def _run(self, req: wsgi.Request, server_id: str,
             flow: str) -> server_show_password.ServerPasswordState:
        instance = helpers.get_instance(self.compute_api, req.context,
                                        server_id)
        state = server_show_password.ServerPasswordState(
            req=req, version=req.api_version_request,
            compute_api=self.compute_api, instance=instance)
        self.flows.run(flow, req.context, state)
        return state

    def index(self, req: wsgi.Request, server_id: str) -> Any:
        return self._run(req, server_id,
                         server_show_password.FLOW.name).body

    @wsgi.response(204)
    def clear(self, req: wsgi.Request, server_id: str) -> None:
        self._run(req, server_id, server_clear_password.FLOW.name)
