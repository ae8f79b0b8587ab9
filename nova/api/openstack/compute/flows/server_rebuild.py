"""api.server_rebuild: the ``rebuild`` server action.

``parse`` reads the image and the base fields, one stage per field that a
microversion added, then ``rebuild`` calls the compute API and
``response`` renders the server (202, with adminPass).
"""

from __future__ import annotations

import base64
import binascii
import copy
import dataclasses
from collections.abc import Callable
from typing import Any

import webob.exc

from nova import exception, quota
from nova.api.openstack import common
from nova.api.openstack.compute.flows import base
from nova.api.openstack.compute.flows.server_create import (
    generate_password,
)
from nova.api.validation import parameter_types as types
from nova.flow import Flow, contract
from nova.policies import enforcer


@dataclasses.dataclass
class ServerRebuildState:
    """Contract 1.2 of api.server_rebuild (what hooks may read and write).
    """

    #: The WebOb request being answered.
    req: Any = dataclasses.field(metadata=contract.READ_ONLY)
    #: The request's API microversion (``APIVersionRequest``).
    version: Any = dataclasses.field(metadata=contract.READ_ONLY)
    #: The compute API (``nova.compute.api.API``) the stages call.
    compute_api: Any = dataclasses.field(metadata=contract.READ_ONLY)
    #: The instance being rebuilt; reread by the rebuild stage for the
    #: response.
    instance: Any
    #: The request body as validated against the schema.
    body: dict[str, Any] = dataclasses.field(metadata=contract.READ_ONLY)
    #: Renders an instance with api.server_view (for the response).
    render: Callable[[Any], dict[str, Any]] = dataclasses.field(
        metadata=contract.READ_ONLY)
    #: ``body['rebuild']``.
    rebuild: dict[str, Any] = dataclasses.field(default_factory=dict)
    #: The image to rebuild with (``imageRef``).
    image_href: str = ''
    #: The admin password (generated when not given; never logged).
    admin_password: str | None = dataclasses.field(default=None,
                                                   repr=False)
    #: Keyword arguments of compute_api.rebuild (instance field names).
    kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)
    #: The response body, filled in by the response stage.
    response: dict[str, Any] | None = None


FLOW = Flow('api.server_rebuild', '1.2', ServerRebuildState,
            changes={'1.2': base.MIN_VERSION_CHANGE,
                     '1.1': 'Stage check_quota added (metadata items).'},
            doc='Handle the rebuild server action.',
            request_version=base.REQUEST_VERSION)

FLOW.stages('parse', 'description', 'key_name', 'user_data',
            'trusted_image_certificates', 'hostname', 'check_quota',
            'rebuild', 'response')


def schema(version: Any) -> dict[str, Any]:
    rebuild: dict[str, Any] = {
        'name': types.server_name,
        'imageRef': types.image_ref,
        'adminPass': types.admin_password,
        'metadata': types.metadata,
        'preserve_ephemeral': types.boolean,
        'accessIPv4': types.ipv4,
        'accessIPv6': types.ipv6,
        'OS-DCF:diskConfig': {'type': 'string',
                              'enum': ['AUTO', 'MANUAL']},
    }
    if version < '2.57':
        rebuild['personality'] = {'type': 'array', 'items': {
            'type': 'object', 'properties': {
                'path': {'type': 'string'},
                'contents': {'type': 'string'}},
            'additionalProperties': False}}
    if version >= '2.19':
        rebuild['description'] = types.description
    if version >= '2.54':
        rebuild['key_name'] = {'type': ['string', 'null'], 'minLength': 1,
                               'maxLength': 255}
    if version >= '2.57':
        rebuild['user_data'] = {'type': ['string', 'null'],
                                'maxLength': 65535}
    if version >= '2.63':
        rebuild['trusted_image_certificates'] = {
            'type': ['array', 'null'], 'minItems': 1, 'maxItems': 50,
            'uniqueItems': True, 'items': {'type': 'string',
                                           'minLength': 1}}
    if version >= '2.94':
        rebuild['hostname'] = types.fqdn
    elif version >= '2.90':
        rebuild['hostname'] = types.hostname_v290
    return copy.deepcopy({
        'type': 'object',
        'properties': {'rebuild': {
            'type': 'object', 'properties': rebuild,
            'required': ['imageRef'], 'additionalProperties': False}},
        'required': ['rebuild'],
        'additionalProperties': False,
    })


@FLOW.stage
def parse(ctx: Any, state: ServerRebuildState) -> None:
    """Check policy; read the image, password and base fields."""
    instance = state.instance
    enforcer.authorize(ctx, 'os_compute_api:servers:rebuild',
                       {'project_id': common.get(instance, 'project_id'),
                        'user_id': common.get(instance, 'user_id')})
    rebuild = state.rebuild = state.body['rebuild']
    state.image_href = base.ref_id(rebuild['imageRef'])
    state.admin_password = rebuild.get('adminPass') or generate_password()
    for field, key in (('name', 'display_name'), ('metadata', 'metadata'),
                       ('accessIPv4', 'access_ip_v4'),
                       ('accessIPv6', 'access_ip_v6')):
        if field in rebuild:
            state.kwargs[key] = rebuild[field]
    if 'preserve_ephemeral' in rebuild:
        state.kwargs['preserve_ephemeral'] = base.bool_value(
            rebuild['preserve_ephemeral'])
    if 'OS-DCF:diskConfig' in rebuild:
        state.kwargs['auto_disk_config'] = \
            rebuild['OS-DCF:diskConfig'] == 'AUTO'


@FLOW.stage
def description(ctx: Any, state: ServerRebuildState) -> None:
    """description (2.19+)."""
    if 'description' in state.rebuild:
        state.kwargs['display_description'] = state.rebuild['description']


@FLOW.stage
def key_name(ctx: Any, state: ServerRebuildState) -> None:
    """key_name (2.54+); null removes the key pair."""
    if 'key_name' in state.rebuild:
        state.kwargs['key_name'] = state.rebuild['key_name']


@FLOW.stage
def user_data(ctx: Any, state: ServerRebuildState) -> None:
    """user_data (2.57+); must be base64, null removes it."""
    if 'user_data' not in state.rebuild:
        return
    data = state.rebuild['user_data']
    if data is not None:
        try:
            base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            raise webob.exc.HTTPBadRequest(
                explanation='Userdata content cannot be decoded') from None
    state.kwargs['user_data'] = data


@FLOW.stage
def trusted_image_certificates(ctx: Any, state: ServerRebuildState) -> None:
    """trusted_image_certificates (2.63+)."""
    if 'trusted_image_certificates' in state.rebuild:
        state.kwargs['trusted_certs'] = \
            state.rebuild['trusted_image_certificates']


@FLOW.stage
def hostname(ctx: Any, state: ServerRebuildState) -> None:
    """hostname (2.90+)."""
    if 'hostname' in state.rebuild:
        state.kwargs['hostname'] = state.rebuild['hostname']


@FLOW.stage
def check_quota(ctx: Any, state: ServerRebuildState) -> None:
    """New metadata must fit the metadata_items quota (403)."""
    if 'metadata' in state.kwargs:
        instance = state.instance
        # The compute API's database (this state has none of its own).
        quota.QuotaEngine(getattr(state.compute_api, 'db', None)
                          ).check_metadata(
            ctx, state.kwargs['metadata'],
            common.get(instance, 'project_id'),
            common.get(instance, 'user_id'))


@FLOW.stage
def rebuild(ctx: Any, state: ServerRebuildState) -> None:
    """compute_api.rebuild, then read the server back for the response."""
    try:
        base.call_compute(state.compute_api.rebuild, ctx, state.instance,
                          state.image_href, state.admin_password,
                          **state.kwargs)
    except exception.ImageNotFound:
        raise webob.exc.HTTPBadRequest(
            explanation='Cannot find image for rebuild') from None
    except exception.KeypairNotFound:
        raise webob.exc.HTTPBadRequest(
            explanation='Invalid key_name provided.') from None
    state.instance = state.compute_api.get(
        ctx, common.get(state.instance, 'uuid'))


@FLOW.stage
def response(ctx: Any, state: ServerRebuildState) -> None:
    """The server at the request's microversion, with adminPass."""
    server = state.render(state.instance)
    server['adminPass'] = state.admin_password
    state.response = {'server': server}
