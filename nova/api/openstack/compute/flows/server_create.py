"""api.server_create: ``POST /servers``, one stage per optional feature.

Each feature upstream nova loaded as a v2.1 extension (networks, multiple
create, key pairs, user data, availability zone, block device mapping,
config drive, scheduler hints, security groups, metadata, description,
tags, hostname) is a stage here: it reads its part of the validated body
and adds the matching arguments of ``compute_api.create`` to
``state.create_kwargs``.  Its request schema sits next to it
(:func:`schema`), so the body accepted at a microversion is exactly what
the stages read.  Vendor hooks add stages at these points and contribute
schema fragments for the fields they read (see
:mod:`nova.api.openstack.compute.flows`).

No stage changes anything before ``create``, so there is nothing to revert
when a stage rejects the request; ``create`` itself is the compute API's
operation (and its own flow).

The optional feature stages may be switched off with ``[flow]
disabled_stages`` (e.g. ``api.server_create.scheduler_hints``).  That
disables a behaviour, never a part of the standard API: the stage's fields
stay in the request schema (a request valid on one cloud is valid on
every cloud, unlike upstream's unloaded extensions), the feature is not
applied, and each request that sent one of its fields is logged at INFO
("Ignoring tags of the request: stage api.server_create.tags is disabled
by [flow] disabled_stages").  What a disabled stage means for its fields:

``multiple_create``
    ``min_count``, ``max_count`` and ``return_reservation_id`` are
    ignored: one server per request, answered with the server.
``key_name``, ``user_data``, ``config_drive``, ``metadata``,
``description``, ``tags``, ``hostname``
    the server is built without the key pair, user data, forced config
    drive, metadata, description, tags or requested hostname (its
    hostname then comes from its name, as when none is sent).
``availability_zone``
    ``availability_zone``, ``host`` and ``hypervisor_hostname`` are
    ignored: the scheduler picks the zone and host (the default zone of
    ``[DEFAULT] default_schedule_zone`` still applies in compute).
``scheduler_hints``
    the hints (``os:scheduler_hints``) are not passed to the scheduler
    (so neither is the ``group`` hint: no group policy applies).
``server_group``
    the ``group`` hint is not resolved: the server joins no server group
    and the group's policy is not applied.
``security_groups``
    the server gets the project's default security group.
"""

from __future__ import annotations

import base64
import binascii
import copy
import dataclasses
import secrets
import string
from collections.abc import Sequence
from typing import Any

import webob.exc
from oslo_log import log as logging

from nova import exception, quota
from nova.api.openstack import common
from nova.api.openstack.compute.flows import base
from nova.api.validation import parameter_types as types
from nova.compute import availability_zones
from nova.flow import Flow, contract
from nova.policies import enforcer

LOG = logging.getLogger(__name__)


@dataclasses.dataclass
class ServerCreateState:
    """Contract 1.3 of api.server_create (what hooks may read and write).
    """

    #: The WebOb request being answered.
    req: Any = dataclasses.field(metadata=contract.READ_ONLY)
    #: The request's API microversion (``APIVersionRequest``).
    version: Any = dataclasses.field(metadata=contract.READ_ONLY)
    #: The compute API (``nova.compute.api.API``) the stages call.
    compute_api: Any = dataclasses.field(metadata=contract.READ_ONLY)
    #: The database API.
    db: Any = dataclasses.field(metadata=contract.READ_ONLY)
    #: The request body as validated against the schema.
    body: dict[str, Any] = dataclasses.field(metadata=contract.READ_ONLY)
    #: ``body['server']``: the validated request, read by the stages.
    server: dict[str, Any] = dataclasses.field(default_factory=dict)
    #: The server name.
    name: str | None = None
    #: The flavor ID or link of the request.
    flavor_ref: str | None = None
    #: The flavor looked up from flavor_ref.
    flavor: Any = None
    #: The image ID or link ('' for a volume-backed server).
    image_href: str | None = ''
    #: The admin password (generated when not given; never logged).
    admin_password: str | None = dataclasses.field(default=None,
                                                   repr=False)
    #: Keyword arguments of ``compute_api.create``; stages add theirs.
    create_kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)
    #: Answer with the reservation ID instead of the server (multiple create).
    return_reservation_id: bool = False
    #: Filled by ``create``.
    instances: list[Any] = dataclasses.field(default_factory=list)
    #: The reservation ID of the created servers, filled in by create.
    reservation_id: str | None = None
    #: Filled by ``response``: the body and headers of the 202.
    response: dict[str, Any] | None = None
    #: Headers of the 202 response (Location), filled in by response.
    headers: dict[str, str] = dataclasses.field(default_factory=dict)


FLOW = Flow('api.server_create', '1.3', ServerCreateState,
            changes={'1.3': 'Stage validate_networks added: the requested '
                            'networks and ports are checked with the '
                            'network service before anything is created.',
                     '1.2': base.MIN_VERSION_CHANGE,
                     '1.1': 'Stages server_group (the group scheduler '
                             'hint) and check_quota added.'},
            doc='Handle POST /servers: validate, build the create '
                'arguments feature by feature, create, respond.',
            request_version=base.REQUEST_VERSION)

FLOW.stages(
    'parse',
    'flavor',
    'networks',
    'multiple_create',
    'validate_networks',
    'key_name',
    'user_data',
    'availability_zone',
    'block_device_mapping',
    'config_drive',
    'scheduler_hints',
    'server_group',
    'security_groups',
    'metadata',
    'description',
    'tags',
    'hostname',
    'check_quota',
    'create',
    'response',
)


# -- schema -------------------------------------------------------------------

def schema(version: Any) -> dict[str, Any]:
    """The request body schema of POST /servers at ``version``.

    ``server`` properties are the base fields plus those of every feature
    stage, disabled or not (see the module docstring); the caller merges
    vendor hook fragments into ``server`` before use.
    """
    server: dict[str, Any] = {
        'name': types.server_name,
        'imageRef': {'anyOf': [types.image_ref,
                               {'type': 'string', 'maxLength': 0}]},
        'flavorRef': types.flavor_ref,
        'adminPass': types.admin_password,
        'accessIPv4': types.ipv4,
        'accessIPv6': types.ipv6,
        'OS-DCF:diskConfig': {'type': 'string',
                              'enum': ['AUTO', 'MANUAL']},
    }
    if version.matches(max_version='2.56'):
        server['personality'] = {
            'type': 'array',
            'items': {'type': 'object', 'properties': {
                'path': {'type': 'string'},
                'contents': {'type': 'string', 'format': 'base64'}},
                'additionalProperties': False}}
    top: dict[str, Any] = {}
    for feature in FEATURE_SCHEMAS.values():
        props, top_props = feature(version)
        server.update(props)
        top.update(top_props)
    result = {
        'type': 'object',
        'properties': {
            'server': {
                'type': 'object',
                'properties': server,
                'required': ['name', 'flavorRef'] + (
                    ['networks'] if version.matches('2.37') else []),
                'additionalProperties': False,
            },
            **top,
        },
        'required': ['server'],
        'additionalProperties': False,
    }
    return copy.deepcopy(result)


def _networks_schema(version: Any) -> tuple[dict, dict]:
    network: dict[str, Any] = {
        'type': 'object',
        'properties': {
            'fixed_ip': {'type': 'string',
                         'anyOf': [{'format': 'ipv4'}, {'format': 'ipv6'}]},
            'port': {'oneOf': [{'type': 'string', 'format': 'uuid'},
                               {'type': 'null'}]},
            'uuid': ({'type': 'string', 'format': 'uuid'}
                     if version.matches('2.37') else {'type': 'string'}),
        },
        'additionalProperties': False,
    }
    if version.matches('2.32', '2.36') or version.matches('2.42'):
        network['properties']['tag'] = types.device_tag
    listed = {'type': 'array', 'items': network}
    if version.matches('2.37'):
        return {'networks': {'oneOf': [
            listed, {'type': 'string', 'enum': ['none', 'auto']}]}}, {}
    return {'networks': listed}, {}


def _multiple_create_schema(version: Any) -> tuple[dict, dict]:
    return {
        'min_count': types.positive_integer,
        'max_count': types.positive_integer,
        'return_reservation_id': types.boolean,
    }, {}


def _key_name_schema(version: Any) -> tuple[dict, dict]:
    return {'key_name': {'type': ['string', 'null'], 'minLength': 1,
                         'maxLength': 255}}, {}


def _user_data_schema(version: Any) -> tuple[dict, dict]:
    return {'user_data': {'type': ['string', 'null'],
                          'maxLength': 65535}}, {}


def _availability_zone_schema(version: Any) -> tuple[dict, dict]:
    props: dict[str, Any] = {
        'availability_zone': {'type': 'string', 'minLength': 1,
                              'maxLength': 255}}
    if version.matches('2.74'):
        props['host'] = types.hostname
        props['hypervisor_hostname'] = types.hostname
    return props, {}


_BDM_V2: dict[str, Any] = {
    'type': 'object',
    'properties': {
        'source_type': {'type': 'string',
                        'enum': ['volume', 'image', 'snapshot', 'blank']},
        'uuid': {'type': 'string', 'minLength': 1, 'maxLength': 255,
                 'pattern': '^[a-zA-Z0-9._-]*$'},
        'image_id': types.image_id,
        'destination_type': {'type': 'string',
                             'enum': ['local', 'volume']},
        'guest_format': {'type': 'string', 'maxLength': 255},
        'device_type': {'type': 'string', 'maxLength': 255},
        'disk_bus': {'type': 'string', 'maxLength': 255},
        'boot_index': {'type': ['integer', 'string', 'null'],
                       'pattern': '^-?[0-9]+$'},
        'device_name': {'type': ['string', 'null'], 'maxLength': 255},
        'volume_size': {'type': ['integer', 'string', 'null'],
                        'pattern': '^[0-9]+$', 'minimum': 1},
        'delete_on_termination': types.boolean,
        'no_device': {},
        'connection_info': {'type': 'string', 'maxLength': 16777215},
    },
    'additionalProperties': False,
}

_BDM_V1: dict[str, Any] = {
    'type': 'object',
    'properties': {
        'virtual_name': {'type': 'string', 'maxLength': 255},
        'volume_id': types.uuid,
        'snapshot_id': types.uuid,
        'volume_size': {'type': ['integer', 'string', 'null'],
                        'pattern': '^[0-9]+$', 'minimum': 1},
        'device_name': {'type': 'string', 'minLength': 1,
                        'maxLength': 255},
        'delete_on_termination': types.boolean,
        'no_device': {},
        'connection_info': {'type': 'string', 'maxLength': 16777215},
    },
    'additionalProperties': False,
}


def _block_device_mapping_schema(version: Any) -> tuple[dict, dict]:
    v2 = copy.deepcopy(_BDM_V2)
    if version.matches('2.32', '2.32') or version.matches('2.42'):
        v2['properties']['tag'] = types.device_tag
    if version.matches('2.67'):
        v2['properties']['volume_type'] = {
            'type': ['string', 'null'], 'minLength': 0, 'maxLength': 255}
    return {
        'block_device_mapping': {'type': 'array', 'items': _BDM_V1},
        'block_device_mapping_v2': {'type': 'array', 'items': v2},
    }, {}


def _config_drive_schema(version: Any) -> tuple[dict, dict]:
    return {'config_drive': types.boolean}, {}


def _scheduler_hints_schema(version: Any) -> tuple[dict, dict]:
    hints = {
        'type': 'object',
        'properties': {
            'group': types.uuid,
            'different_host': {'oneOf': [
                {'type': 'string', 'format': 'uuid'},
                {'type': 'array', 'items': types.uuid}]},
            'same_host': {'oneOf': [
                {'type': 'string', 'format': 'uuid'},
                {'type': 'array', 'items': types.uuid}]},
            'query': {'type': ['string', 'object']},
            'target_cell': types.name,
            'different_cell': {'type': ['string', 'array'],
                               'items': {'type': 'string'}},
            'build_near_host_ip': types.ip_address,
            'cidr': {'type': 'string', 'pattern': r'^/[0-9a-f.:]+$'},
        },
        # Out-of-tree scheduler filters read their own hints.
        'additionalProperties': True,
    }
    return {}, {'os:scheduler_hints': hints,
                'OS-SCH-HNT:scheduler_hints': hints}


def _security_groups_schema(version: Any) -> tuple[dict, dict]:
    return {'security_groups': {
        'type': 'array',
        'items': {'type': 'object',
                  'properties': {'name': {'type': 'string', 'minLength': 1,
                                          'maxLength': 255}},
                  'additionalProperties': False}}}, {}


def _metadata_schema(version: Any) -> tuple[dict, dict]:
    return {'metadata': types.metadata}, {}


def _description_schema(version: Any) -> tuple[dict, dict]:
    if version.matches('2.19'):
        return {'description': types.description}, {}
    return {}, {}


def _tags_schema(version: Any) -> tuple[dict, dict]:
    if version.matches('2.52'):
        return {'tags': types.tags}, {}
    return {}, {}


def _hostname_schema(version: Any) -> tuple[dict, dict]:
    if version.matches('2.94'):
        return {'hostname': types.fqdn}, {}
    if version.matches('2.90'):
        return {'hostname': types.hostname_v290}, {}
    return {}, {}


def _trusted_certs_schema(version: Any) -> tuple[dict, dict]:
    if version.matches('2.63'):
        return {'trusted_image_certificates': {
            'type': ['array', 'null'], 'minItems': 1, 'maxItems': 50,
            'uniqueItems': True,
            'items': {'type': 'string', 'minLength': 1}}}, {}
    return {}, {}


# Each feature stage's request fields.  A feature stage an operator
# disabled ([flow] disabled_stages) keeps them in the schema: they are
# accepted and ignored, with an INFO log (disabled_fields).
FEATURE_SCHEMAS = {
    'networks': _networks_schema,
    'multiple_create': _multiple_create_schema,
    'key_name': _key_name_schema,
    'user_data': _user_data_schema,
    'availability_zone': _availability_zone_schema,
    'block_device_mapping': _block_device_mapping_schema,
    'config_drive': _config_drive_schema,
    'scheduler_hints': _scheduler_hints_schema,
    'security_groups': _security_groups_schema,
    'metadata': _metadata_schema,
    'description': _description_schema,
    'tags': _tags_schema,
    'hostname': _hostname_schema,
    # Read by the create stage itself.
    'create': _trusted_certs_schema,
}


def ignored_fields(disabled: Sequence[str], version: Any,
                   body: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """For each disabled stage, the request fields it would have read at
    ``version`` that ``body`` sends (and that are therefore ignored)."""
    server = body.get('server') or {}
    found = []
    for stage_name in disabled:
        if stage_name == 'server_group':
            hints = body.get('os:scheduler_hints') or body.get(
                'OS-SCH-HNT:scheduler_hints') or {}
            sent = ['os:scheduler_hints.group'] if isinstance(
                hints, dict) and hints.get('group') else []
        else:
            feature = FEATURE_SCHEMAS.get(stage_name)
            if feature is None:
                continue
            props, top_props = feature(version)
            sent = [f for f in props if f in server] + \
                [f for f in top_props if f in body]
        if sent:
            found.append((stage_name, sent))
    return found


# -- stages -------------------------------------------------------------------

def _bad_request(message: str) -> webob.exc.HTTPBadRequest:
    return webob.exc.HTTPBadRequest(explanation=message)


_PASSWORD_ALPHABET = string.ascii_letters + string.digits
# Bytes from here up are skipped, so that every symbol is equally likely.
_PASSWORD_LIMIT = 256 - 256 % len(_PASSWORD_ALPHABET)


def generate_password(length: int = 12) -> str:
    """A random admin password (upstream returns one when none is sent).

    Drawn from one read of the system's random source, not one per
    character as ``secrets.choice`` would (a system call each, the
    costliest part of a server create's request handling here).
    """
    size = len(_PASSWORD_ALPHABET)
    chars: list[str] = []
    while len(chars) < length:
        for byte in secrets.token_bytes(2 * length):
            if byte < _PASSWORD_LIMIT:
                chars.append(_PASSWORD_ALPHABET[byte % size])
                if len(chars) == length:
                    break
    return ''.join(chars)


@FLOW.stage
def parse(ctx: Any, state: ServerCreateState) -> None:
    """Read name, flavorRef, imageRef, adminPass and the access IPs."""
    server = state.server = state.body['server']
    enforcer.authorize(ctx, 'os_compute_api:servers:create',
                       {'project_id': ctx.project_id,
                        'user_id': ctx.user_id})
    state.name = server['name']
    state.flavor_ref = base.ref_id(server['flavorRef'])
    state.image_href = base.ref_id(server.get('imageRef') or '') \
        if server.get('imageRef') else ''
    state.admin_password = server.get('adminPass') or generate_password()
    state.create_kwargs['admin_password'] = state.admin_password
    for field, arg in (('accessIPv4', 'access_ip_v4'),
                       ('accessIPv6', 'access_ip_v6')):
        if server.get(field):
            state.create_kwargs[arg] = server[field]


@FLOW.stage
def flavor(ctx: Any, state: ServerCreateState) -> None:
    """Look up flavorRef (400 if unknown)."""
    state.flavor = base.lookup_flavor(state.db, ctx, state.flavor_ref)


@FLOW.stage
def networks(ctx: Any, state: ServerCreateState) -> None:
    """Requested networks: a list of uuid/port/fixed_ip, 'auto' or 'none'.
    """
    requested = state.server.get('networks')
    if requested is None:
        return
    if isinstance(requested, str):
        state.create_kwargs['requested_networks'] = requested
        return
    result = []
    seen_ports = set()
    for network in requested:
        port = network.get('port')
        uuid = network.get('uuid')
        if not port and not uuid:
            raise _bad_request('Bad networks format: network uuid is not '
                               'in proper format ()')
        if port:
            if port in seen_ports:
                raise _bad_request(f'Port {port} is requested more than '
                                   f'once')
            seen_ports.add(port)
        if port and network.get('fixed_ip'):
            raise _bad_request('Specified Fixed IP and port together is '
                               'not allowed')
        result.append({k: v for k, v in network.items()
                       if v is not None})
    state.create_kwargs['requested_networks'] = result


@FLOW.stage(optional=True)
def multiple_create(ctx: Any, state: ServerCreateState) -> None:
    """min_count/max_count and return_reservation_id."""
    server = state.server
    min_count = int(server.get('min_count', 1))
    max_count = int(server.get('max_count', min_count))
    if min_count > max_count:
        raise _bad_request('min_count must be <= max_count')
    state.create_kwargs['min_count'] = min_count
    state.create_kwargs['max_count'] = max_count
    state.return_reservation_id = base.bool_value(
        server.get('return_reservation_id', False))


@FLOW.stage
def validate_networks(ctx: Any, state: ServerCreateState) -> None:
    """The requested networks and ports, checked by the network service
    (``validate_networks``) before any server exists, as upstream's
    compute API does: 400 for a network or port the caller does not
    have (NetworkNotFound, PortNotFound) or an address outside the
    network, 409 for a port another server has (PortInUse).  A port or a
    fixed IP with ``max_count`` above 1 is refused (400), as upstream;
    when the network service allows fewer servers than ``max_count``,
    ``max_count`` is reduced to that, and below ``min_count`` the
    request is refused (400)."""
    requested = state.create_kwargs.get('requested_networks')
    if not isinstance(requested, list):
        # 'auto', 'none' or nothing: no network or port is named.
        return
    kwargs = state.create_kwargs
    min_count = kwargs.get('min_count', 1)
    max_count = kwargs.get('max_count', min_count)
    if max_count > 1:
        if any(r.get('port') for r in requested):
            raise _bad_request(
                'Failed to launch instances: Unable to launch multiple '
                'instances with a single configured port ID. Please '
                'launch your instance one by one with different ports.')
        if any(r.get('fixed_ip') for r in requested):
            raise _bad_request(
                'Failed to launch instances: max_count cannot be greater '
                'than 1 if an fixed_ip is specified.')
    network_api = state.compute_api.network_api
    try:
        allowed = network_api.validate_networks(ctx, requested, max_count)
    except (exception.NetworkNotFound, exception.PortNotFound,
            exception.NetworkRequiresSubnet,
            exception.FixedIpInvalid) as exc:
        raise _bad_request(exc.format_message()) from None
    except exception.PortInUse as exc:
        raise webob.exc.HTTPConflict(
            explanation=exc.format_message()) from None
    if allowed < min_count:
        raise _bad_request(
            f'Failed to launch instances: the requested networks allow '
            f'{allowed} server(s), fewer than min_count {min_count}')
    if allowed < max_count:
        LOG.info('max_count reduced from %(max)d to %(allowed)d by the '
                 'requested networks', {'max': max_count,
                                        'allowed': allowed})
        kwargs['max_count'] = allowed


@FLOW.stage(optional=True)
def key_name(ctx: Any, state: ServerCreateState) -> None:
    """The key pair to inject."""
    if state.server.get('key_name'):
        state.create_kwargs['key_name'] = state.server['key_name']


@FLOW.stage(optional=True)
def user_data(ctx: Any, state: ServerCreateState) -> None:
    """User data: must be base64 (400 otherwise)."""
    data = state.server.get('user_data')
    if data is None:
        return
    try:
        base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise _bad_request('Userdata content cannot be decoded') from None
    state.create_kwargs['user_data'] = data


@FLOW.stage(optional=True)
def availability_zone(ctx: Any, state: ServerCreateState) -> None:
    """availability_zone (``zone:host[:node]`` is admin only) and, from
    2.74, host/hypervisor_hostname (admin only)."""
    server = state.server
    zone = server.get('availability_zone')
    if zone:
        if ':' in zone:
            enforcer.authorize(ctx, 'os_compute_api:servers:create:'
                                    'forced_host')
        name = zone.split(':', 1)[0]
        if name and name not in availability_zones.compute_zones(
                ctx, state.db):
            raise _bad_request('The requested availability zone is not '
                               'available')
        state.create_kwargs['availability_zone'] = zone
    host = server.get('host')
    node = server.get('hypervisor_hostname')
    if host or node:
        if zone and ':' in zone:
            raise _bad_request('The requested availability zone is not '
                               'compatible with host or '
                               'hypervisor_hostname')
        enforcer.authorize(ctx, 'os_compute_api:servers:create:'
                                'requested_destination')
        if host:
            state.create_kwargs['requested_host'] = host
        if node:
            state.create_kwargs['requested_hypervisor_hostname'] = node


@FLOW.stage
def block_device_mapping(ctx: Any, state: ServerCreateState) -> None:
    """block_device_mapping_v2 (or the legacy list); imageRef may come
    with an image BDM, as openstackclient sends it."""
    server = state.server
    legacy = server.get('block_device_mapping')
    mappings = server.get('block_device_mapping_v2')
    if legacy and mappings:
        raise _bad_request('Using different block_device_mapping syntaxes '
                           'is not allowed in the same request.')
    if legacy:
        mappings = [_from_legacy(bdm, first=index == 0 and
                                 not state.image_href)
                    for index, bdm in enumerate(legacy)]
    if not mappings:
        if not state.image_href:
            raise _bad_request('Missing imageRef attribute')
        return
    result = []
    boot_indexes = []
    for bdm in mappings:
        bdm = dict(bdm)
        if 'delete_on_termination' in bdm:
            bdm['delete_on_termination'] = base.bool_value(
                bdm['delete_on_termination'])
        index = bdm.get('boot_index')
        if index is not None and index != '':
            index = int(index)
            bdm['boot_index'] = index
            if index >= 0:
                boot_indexes.append(index)
        source = bdm.get('source_type')
        if bdm.get('destination_type') == 'volume' and source not in (
                'volume', 'image'):
            # The build creates volumes from images only (upstream also
            # from snapshots and blank): such a request is refused
            # rather than booted without the volume it asks for.
            raise _bad_request(
                f'Block device mapping with source_type {source} and '
                f'destination_type volume is not supported: create the '
                f'volume first and boot from it (source_type volume)')
        if bdm.get('destination_type') == 'volume' and source == 'image':
            if not bdm.get('volume_size'):
                raise _bad_request("Images with destination_type 'volume' "
                                   "need to have a non-zero size "
                                   "specified")
            bdm['volume_size'] = int(bdm['volume_size'])
        # The API's ``uuid`` names the source: an image, a volume or a
        # snapshot ID in the stored mapping.
        source_id = bdm.pop('uuid', None)
        if source in _SOURCE_ID_FIELDS:
            field = _SOURCE_ID_FIELDS[source]
            source_id = source_id or bdm.get(field)
            if not source_id:
                raise _bad_request(f'Block device mapping with '
                                   f'source_type {source} needs a uuid')
            bdm[field] = source_id
        result.append(bdm)
    if sorted(boot_indexes) != list(range(len(boot_indexes))):
        raise _bad_request('Boot sequence for the instance and image/block '
                           'device mapping combination is not valid.')
    if not boot_indexes and not state.image_href:
        raise _bad_request('Missing imageRef attribute')
    boot = next((b for b in result if b.get('boot_index') == 0), None)
    if boot is not None and boot.get('source_type') == 'image' and \
            boot.get('destination_type', 'local') == 'local':
        image = boot.get('image_id')
        if state.image_href and image != state.image_href:
            raise _bad_request('imageRef and the boot block device mapping '
                               'name different images')
        state.image_href = image
    state.create_kwargs['block_device_mapping'] = result


_SOURCE_ID_FIELDS = {'image': 'image_id', 'volume': 'volume_id',
                     'snapshot': 'snapshot_id'}


def _from_legacy(bdm: dict[str, Any], first: bool) -> dict[str, Any]:
    """A legacy (v1) mapping in v2 terms: a volume or snapshot attached
    as a volume; the first one boots when there is no image."""
    result: dict[str, Any] = {
        'destination_type': 'volume',
        'device_name': bdm.get('device_name'),
        'delete_on_termination': base.bool_value(
            bdm.get('delete_on_termination', False)),
        'boot_index': 0 if first else None,
    }
    if bdm.get('snapshot_id'):
        result.update(source_type='snapshot', snapshot_id=bdm['snapshot_id'])
    elif bdm.get('volume_id'):
        result.update(source_type='volume', volume_id=bdm['volume_id'])
    else:
        result.update(source_type='blank', boot_index=None)
    if bdm.get('volume_size'):
        result['volume_size'] = int(bdm['volume_size'])
    return result


@FLOW.stage(optional=True)
def config_drive(ctx: Any, state: ServerCreateState) -> None:
    """Whether to attach a config drive."""
    if 'config_drive' in state.server:
        state.create_kwargs['config_drive'] = base.bool_value(
            state.server['config_drive'])


@FLOW.stage(optional=True)
def scheduler_hints(ctx: Any, state: ServerCreateState) -> None:
    """Hints for the scheduler (top level of the body)."""
    hints = state.body.get('os:scheduler_hints') or state.body.get(
        'OS-SCH-HNT:scheduler_hints')
    if hints:
        state.create_kwargs['scheduler_hints'] = dict(hints)


@FLOW.stage(optional=True)
def server_group(ctx: Any, state: ServerCreateState) -> None:
    """The ``group`` scheduler hint: the server group the servers join
    (400 if there is no such group); the scheduler and the compute host
    apply its policy."""
    group_id = (state.create_kwargs.get('scheduler_hints') or {}).get(
        'group')
    if not group_id:
        return
    try:
        group = state.db.instance_group_get(ctx, group_id)
    except exception.InstanceGroupNotFound as exc:
        raise _bad_request(exc.format_message()) from None
    if not ctx.is_admin and group.get('project_id') != ctx.project_id:
        raise _bad_request(exception.InstanceGroupNotFound(
            group_uuid=group_id).format_message())
    state.create_kwargs['instance_group'] = group


@FLOW.stage(optional=True)
def security_groups(ctx: Any, state: ServerCreateState) -> None:
    """Security groups by name or ID (duplicates dropped), resolved by
    the network service in the caller's project: 400 for one it does not
    have, 409 for a name several groups have.  The server lists them by
    name; its ports get them when the compute host allocates them."""
    groups = state.server.get('security_groups')
    if not groups:
        return
    requested = list(dict.fromkeys(g['name'] for g in groups
                                   if g.get('name')))
    try:
        found = state.compute_api.network_api.validate_security_groups(
            ctx, requested)
    except exception.SecurityGroupNotFound as exc:
        raise _bad_request(exc.format_message()) from None
    except exception.NoUniqueMatch as exc:
        raise webob.exc.HTTPConflict(
            explanation=exc.format_message()) from None
    state.create_kwargs['security_groups'] = list(dict.fromkeys(
        str(g.get('name') or g['id']) for g in found))


@FLOW.stage(optional=True)
def metadata(ctx: Any, state: ServerCreateState) -> None:
    """Server metadata (key/value strings)."""
    if state.server.get('metadata') is not None:
        state.create_kwargs['metadata'] = dict(state.server['metadata'])


@FLOW.stage(optional=True)
def description(ctx: Any, state: ServerCreateState) -> None:
    """Description (2.19+)."""
    if 'description' in state.server:
        state.create_kwargs['description'] = state.server['description']


@FLOW.stage(optional=True)
def tags(ctx: Any, state: ServerCreateState) -> None:
    """Tags (2.52+)."""
    if state.server.get('tags'):
        state.create_kwargs['tags'] = list(state.server['tags'])


@FLOW.stage(optional=True)
def hostname(ctx: Any, state: ServerCreateState) -> None:
    """Hostname (2.90+); only for a single server (one name per guest)."""
    if 'hostname' not in state.server:
        return
    if state.create_kwargs.get('max_count', 1) > 1:
        raise _bad_request('Cannot set hostname when max_count > 1')
    state.create_kwargs['hostname'] = state.server['hostname']


@FLOW.stage
def check_quota(ctx: Any, state: ServerCreateState) -> None:
    """Quotas (upstream's compute API checks, here a stage a vendor may
    wrap or replace): the servers must fit the project's and the user's
    instances, cores and ram quotas - ``max_count`` is reduced to what
    fits when that is at least ``min_count``, else 403 - and the
    metadata must fit metadata_items (403); then ``create`` rechecks,
    where a limit applies."""
    quotas = quota.QuotaEngine(state.db)
    kwargs = state.create_kwargs
    min_count = kwargs.get('min_count', 1)
    max_count = kwargs.get('max_count', min_count)
    # One transaction, and the limits read once, for both checks.
    with quotas.reading(ctx):
        allowed = quotas.check_num_instances(ctx, state.flavor, min_count,
                                             max_count)
        if allowed != max_count:
            kwargs['max_count'] = allowed
        quotas.check_metadata(ctx, kwargs.get('metadata'))
        # Checked here: compute_api.create counts again once the servers
        # are written ([quota] recheck_quota), unless no limit applies
        # to what they use: a concurrent request cannot race this one
        # past a limit there is not.
        kwargs['recheck_quota'] = not quotas.unlimited(
            ctx, quota.INSTANCE_RESOURCES)


@FLOW.stage
def create(ctx: Any, state: ServerCreateState) -> None:
    """Call compute_api.create; map lookup failures to 400."""
    certs = state.server.get('trusted_image_certificates')
    if certs:
        state.create_kwargs['trusted_certs'] = certs
    try:
        state.instances, state.reservation_id = base.call_compute(
            state.compute_api.create, ctx, state.flavor, state.image_href,
            name=state.name, **state.create_kwargs)
    except exception.FlavorNotFound:
        raise _bad_request('Invalid flavorRef provided.') from None
    except exception.ImageNotFound:
        raise _bad_request('Can not find requested image') from None
    except exception.KeypairNotFound:
        raise _bad_request('Invalid key_name provided.') from None


@FLOW.stage
def response(ctx: Any, state: ServerCreateState) -> None:
    """The 202 body: the reservation ID, or the first server."""
    if state.return_reservation_id:
        state.response = {'reservation_id': state.reservation_id}
        return
    instance = state.instances[0]
    uuid = common.get(instance, 'uuid')
    links = common.self_links(state.req, 'servers', uuid)
    server: dict[str, Any] = {
        'id': uuid,
        'links': links,
        'OS-DCF:diskConfig': state.server.get('OS-DCF:diskConfig',
                                              'MANUAL'),
        'security_groups': [
            {'name': name} for name in state.create_kwargs.get(
                'security_groups', ['default'])],
        'adminPass': state.admin_password,
    }
    state.response = {'server': server}
    state.headers['Location'] = links[0]['href']
