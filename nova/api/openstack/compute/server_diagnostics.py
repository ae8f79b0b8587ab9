"""Server diagnostics: GET /servers/{server_id}/diagnostics (admin), the
API flow ``api.server_diagnostics``
(:mod:`nova.api.openstack.compute.flows.server_diagnostics`: what it
answers and when it fails).
"""

from __future__ import annotations

from typing import Any

from nova.api.openstack import wsgi
from nova.api.openstack.compute import helpers
from nova.api.openstack.compute.flows import ApiFlows, server_diagnostics


class ServerDiagnosticsController:

    def __init__(self, compute_api: Any, flows: ApiFlows) -> None:
        self.compute_api = compute_api
        self.flows = flows

    def index(self, req: wsgi.Request, server_id: str) -> Any:
        instance = helpers.get_instance(self.compute_api, req.context,
                                        server_id)
        state = server_diagnostics.ServerDiagnosticsState(
            req=req, version=req.api_version_request,
            compute_api=self.compute_api, instance=instance)
        self.flows.run(server_diagnostics.FLOW.name, req.context, state)
        return state.body
