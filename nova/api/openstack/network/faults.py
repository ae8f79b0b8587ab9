"""Neutron's error body: ``{"NeutronError": {"type", "message",
"detail"}}``, the type being Neutron's exception class name, which
openstacksdk shows and neutronclient maps back to an exception."""

from __future__ import annotations

import json
from typing import Any

import webob
import webob.exc

from nova import exception
from nova.api.openstack import middleware

JSON_TYPE = 'application/json'

#: nova exception -> (status, Neutron's type, Neutron's message format or
#: None for nova's own message).
_MAPPED: dict[type[exception.NovaException],
              tuple[int, str, str | None]] = {
    exception.NetworkNotFound: (404, 'NetworkNotFound',
                                'Network {network_id} could not be found.'),
    exception.PortNotFound: (404, 'PortNotFound',
                             'Port {port_id} could not be found.'),
    exception.NetworkInUse: (409, 'NetworkInUse', None),
    exception.SubnetNotFound: (404, 'SubnetNotFound', None),
    exception.SubnetInUse: (409, 'SubnetInUse', None),
    exception.PortInUse: (409, 'PortInUse', None),
    exception.FixedIpAlreadyInUse: (
        409, 'IpAddressInUse',
        'Unable to complete operation for network {network}. The IP '
        'address {address} is in use.'),
    exception.FixedIpInvalid: (400, 'InvalidIpForNetwork', None),
    exception.NoMoreFixedIps: (
        409, 'IpAddressGenerationFailure',
        'No more IP addresses available on network {net}.'),
    exception.PolicyNotAuthorized: (403, 'PolicyNotAuthorized', None),
    exception.SecurityGroupNotFound: (
        404, 'SecurityGroupNotFound',
        'Security group {security_group_id} does not exist'),
    exception.SecurityGroupRuleNotFound: (
        404, 'SecurityGroupRuleNotFound',
        'Security group rule {rule_id} does not exist'),
    exception.SecurityGroupInUse: (409, 'SecurityGroupInUse', None),
    exception.SecurityGroupRuleExists: (409, 'SecurityGroupRuleExists',
                                        None),
    exception.SecurityGroupExists: (
        409, 'SecurityGroupDefaultAlreadyExists',
        'Default security group already exists.'),
}


def response(status: int, kind: str, message: str) -> webob.Response:
    """A Neutron error response."""
    resp = webob.Response(status=status, content_type=JSON_TYPE,
                          charset='UTF-8')
    resp.text = json.dumps({'NeutronError': {
        'type': kind, 'message': message, 'detail': ''}})
    return resp


def from_nova(exc: exception.NovaException) -> webob.Response | None:
    """The Neutron error for a nova exception; None when it is not one
    the API expects (the caller logs it and answers 500)."""
    for cls in type(exc).__mro__:
        if cls in _MAPPED:
            status, kind, template = _MAPPED[cls]
            message = exc.format_message()
            if template is not None:
                try:
                    message = template.format(**exc.kwargs)
                except KeyError:
                    pass
            return response(status, kind, message)
    code = int(getattr(exc, 'code', 500) or 500)
    if code == 400:
        return response(400, 'InvalidInput', exc.format_message())
    if code == 404:
        return response(404, 'HTTPNotFound', exc.format_message())
    if code == 409:
        return response(409, 'Conflict', exc.format_message())
    return None


def bad_request(message: str) -> webob.Response:
    return response(400, 'HTTPBadRequest', message)


def not_found(kind: str, message: str) -> webob.Response:
    return response(404, kind, message)


class FaultWrapper(middleware.FaultWrapper):
    """The pipeline's last net, answering in Neutron's error body (the
    type of an error no Neutron exception stands for is the name of its
    webob class, as Neutron's)."""

    def fault(self, code: int, message: str,
              headers: dict[str, str] | None = None) -> Any:
        error_class = webob.exc.status_map.get(
            code, webob.exc.HTTPInternalServerError)
        resp = response(code, error_class.__name__, message)
        resp.headers.update(headers or {})
        return resp
