"""POST /os-server-external-events: another service (network, volume,
bare metal) tells nova that something it did for a server happened; the
API flow ``api.server_external_events``
(:mod:`nova.api.openstack.compute.flows.server_external_events`: who may
send them and what each event's code means).
"""

from __future__ import annotations

from typing import Any

from nova.api.openstack import wsgi
from nova.api.openstack.compute.flows import (
    ApiFlows,
    server_external_events,
)
from nova.api.openstack.compute.schemas import (
    server_external_events as schemas,
)
from nova.api.validation import validators


class ServerExternalEventsController:

    def __init__(self, compute_api: Any, flows: ApiFlows) -> None:
        self.compute_api = compute_api
        self.flows = flows

    def create(self, req: wsgi.Request, body: Any) -> wsgi.ResponseObject:
        validators.validate(schemas.create(req.api_version_request), body)
        state = server_external_events.ServerExternalEventsState(
            req=req, version=req.api_version_request,
            compute_api=self.compute_api, events=body['events'])
        self.flows.run(server_external_events.FLOW.name, req.context, state)
        return wsgi.ResponseObject(state.body, code=state.status)
