"""os-interface: a server's network interfaces; attach and detach.

``POST`` is an RPC call to the server's host running
compute.attach_interface (the new port is in the response); ``DELETE``
casts compute.detach_interface.  ``tag`` is shown from 2.70.
"""

from __future__ import annotations

import copy
from typing import Any

import webob.exc

from nova import exception
from nova.api.openstack import wsgi
from nova.api.openstack.compute import helpers
from nova.api.validation import parameter_types as types
from nova.api.validation import validators

AI = 'os_compute_api:os-attach-interfaces:%s'


def create_schema(version: Any) -> dict[str, Any]:
    attachment: dict[str, Any] = {
        'net_id': types.uuid,
        'port_id': types.uuid,
        'fixed_ips': {'type': 'array', 'minItems': 1, 'maxItems': 1,
                      'items': {'type': 'object', 'properties': {
                          'ip_address': types.ip_address},
                          'required': ['ip_address'],
                          'additionalProperties': False}},
    }
    if version >= '2.49':
        attachment['tag'] = types.device_tag
    return copy.deepcopy({
        'type': 'object',
        'properties': {'interfaceAttachment': {
            'type': 'object', 'properties': attachment,
            'additionalProperties': False}},
        'additionalProperties': False})


def view(req: wsgi.Request, vif: dict[str, Any]) -> dict[str, Any]:
    """A VIF as upstream shows a port."""
    network = vif.get('network') or {}
    fixed_ips = []
    for subnet in network.get('subnets') or []:
        for ip in subnet.get('ips') or []:
            fixed_ips.append({'subnet_id': subnet.get('id') or
                              network.get('id'),
                              'ip_address': ip['address']})
    info = {'net_id': network.get('id'), 'port_id': vif['id'],
            'mac_addr': vif.get('address'),
            'port_state': 'ACTIVE' if vif.get('active', True) else 'DOWN',
            'fixed_ips': fixed_ips}
    if req.is_microversion('2.70'):
        info['tag'] = vif.get('tag')
    return info


class InterfaceAttachmentController:

    def __init__(self, compute_api: Any) -> None:
        self.compute_api = compute_api

    def _instance(self, req: wsgi.Request, server_id: str,
                  rule: str) -> Any:
        instance = helpers.get_instance(self.compute_api, req.context,
                                        server_id)
        helpers.authorize(req.context, AI % rule, instance)
        return instance

    def index(self, req: wsgi.Request, server_id: str) -> dict[str, Any]:
        """GET /servers/{id}/os-interface."""
        instance = self._instance(req, server_id, 'list')
        return {'interfaceAttachments': [
            view(req, vif) for vif in
            self.compute_api.get_interfaces(req.context, instance)]}

    def show(self, req: wsgi.Request, server_id: str,
             id: str) -> dict[str, Any]:
        """GET /servers/{id}/os-interface/{port_id}."""
        instance = self._instance(req, server_id, 'show')
        for vif in self.compute_api.get_interfaces(req.context, instance):
            if vif['id'] == id:
                return {'interfaceAttachment': view(req, vif)}
        raise exception.PortNotFound(port_id=id)

    def create(self, req: wsgi.Request, server_id: str,
               body: dict[str, Any]) -> dict[str, Any]:
        """POST: attach a new port; 200 with it (upstream)."""
        validators.validate(create_schema(req.api_version_request), body)
        instance = self._instance(req, server_id, 'create')
        entity = body.get('interfaceAttachment') or {}
        if entity.get('net_id') and entity.get('port_id'):
            raise webob.exc.HTTPBadRequest(
                explanation='Must not input both network_id and port_id')
        requested_ip = None
        if entity.get('fixed_ips'):
            requested_ip = entity['fixed_ips'][0]['ip_address']
        try:
            vif = self.compute_api.attach_interface(
                req.context, instance, network_id=entity.get('net_id'),
                port_id=entity.get('port_id'), requested_ip=requested_ip,
                tag=entity.get('tag'))
        except (exception.FixedIpAlreadyInUse, exception.NoMoreFixedIps,
                exception.FixedIpInvalid) as exc:
            raise webob.exc.HTTPBadRequest(
                explanation=exc.format_message()) from None
        return {'interfaceAttachment': view(req, vif)}

    @wsgi.response(202)
    def delete(self, req: wsgi.Request, server_id: str, id: str) -> None:
        """DELETE: detach the port."""
        instance = self._instance(req, server_id, 'delete')
        self.compute_api.detach_interface(req.context, instance, id)
