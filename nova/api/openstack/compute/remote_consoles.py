"""Remote consoles: a URL that opens a server's console in a browser.

``POST /servers/{server_id}/remote-consoles`` (2.6+) and the older
``os-getVNCConsole`` server action (2.1 - 2.5), as upstream: the API
flow ``api.server_remote_console``.  The URL points at a console proxy
(nova-novncproxy for ``vnc``/``novnc``) and carries a token that
nova-compute stored for the server's console.

Errors, as upstream: an unknown protocol or type is refused by the schema
(400); a console this cloud does not offer (``[vnc] enabled`` off, or a
protocol other than VNC, for which this nova has no proxy) is
ConsoleTypeUnavailable (400); a server another project owns or that does
not exist is 404; a server without a running guest (building, stopped,
no host ...) is InstanceNotReady (409), one being deleted or migrated is
InstanceInvalidState (409).
"""

from __future__ import annotations

from typing import Any

import webob.exc

from nova.api.openstack import wsgi
from nova.api.openstack.compute import helpers
from nova.api.openstack.compute.flows import ApiFlows, server_remote_console
from nova.api.validation import validators

_PROTOCOLS = ['vnc', 'spice', 'rdp', 'serial']
_TYPES = ['novnc', 'xvpvnc', 'rdp-html5', 'spice-html5', 'serial']


def create_schema(req: wsgi.Request) -> dict[str, Any]:
    protocols, types = list(_PROTOCOLS), list(_TYPES)
    if req.is_microversion('2.8'):
        protocols.append('mks')
        types.append('webmks')
    if req.is_microversion('2.99'):
        types.append('spice-direct')
    return {
        'type': 'object',
        'properties': {'remote_console': {
            'type': 'object',
            'properties': {'protocol': {'type': 'string',
                                        'enum': protocols},
                           'type': {'type': 'string', 'enum': types}},
            'required': ['protocol', 'type'],
            'additionalProperties': False}},
        'required': ['remote_console'],
        'additionalProperties': False}


GET_VNC_CONSOLE_SCHEMA: dict[str, Any] = {
    'type': 'object',
    'properties': {'os-getVNCConsole': {
        'type': 'object',
        'properties': {'type': {'type': 'string',
                                'enum': ['novnc', 'xvpvnc']}},
        'required': ['type'],
        'additionalProperties': False}},
    'required': ['os-getVNCConsole'],
    'additionalProperties': False}


class RemoteConsolesController:

    def __init__(self, compute_api: Any, flows: ApiFlows) -> None:
        self.compute_api = compute_api
        self.flows = flows

    def _run(self, req: wsgi.Request, server_id: str, protocol: str,
             console_type: str) -> Any:
        instance = helpers.get_instance(self.compute_api, req.context,
                                        server_id)
        state = server_remote_console.ServerRemoteConsoleState(
            req=req, version=req.api_version_request,
            compute_api=self.compute_api, instance=instance,
            protocol=protocol, console_type=console_type)
        self.flows.run(server_remote_console.FLOW.name, req.context, state)
        return state.body

    def create(self, req: wsgi.Request, server_id: str,
               body: dict[str, Any]) -> dict[str, Any]:
        if not req.is_microversion('2.6'):
            raise webob.exc.HTTPNotFound(
                explanation='The resource could not be found.')
        validators.validate(create_schema(req), body)
        return self._run(req, server_id, body['remote_console']['protocol'],
                         body['remote_console']['type'])

    @wsgi.action('os-getVNCConsole')
    def get_vnc_console(self, req: wsgi.Request, id: str,
                        body: dict[str, Any]) -> dict[str, Any]:
        """The action replaced by remote-consoles in 2.6."""
        if req.is_microversion('2.6'):
            raise webob.exc.HTTPNotFound(
                explanation='There is no such action: os-getVNCConsole')
        validators.validate(GET_VNC_CONSOLE_SCHEMA, body)
        return self._run(req, id, 'vnc', body['os-getVNCConsole']['type'])
