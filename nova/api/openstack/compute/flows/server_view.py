"""api.server_view: the JSON of one server, built stage by stage.

Used for ``GET /servers/detail``, ``GET /servers/{id}`` and the responses
of update and rebuild.  Each stage adds the fields of one upstream
extension, from the microversion that introduced them, so the shape a
client gets is exactly that of the version it asked for.  Vendor hooks may
add fields here only from the microversion they declare (enforced at load,
see :mod:`nova.api.openstack.compute.flows`), and only the namespaced
fields they declare in ``view_fields``: a hook function placed in this
flow that adds any other key, or removes one, fails its stage with
:class:`ViewFieldError` (:func:`guard_hook`, the flow's hook guard).

Policy answers (may this caller see the host, the flavor's extra specs...)
are decided once per request by the controller and passed in
``options``, so listing a thousand servers checks policy once.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
from collections.abc import Callable, Mapping
from typing import Any

import nova.conf
from nova.api.openstack import common
from nova.api.openstack.compute.flows import base
from nova.flow import Flow, contract
from nova.flow.errors import FlowError

CONF = nova.conf.CONF

_PROGRESS_STATUSES = ('ACTIVE', 'BUILD', 'REBUILD', 'RESIZE', 'VERIFY_RESIZE',
                      'MIGRATING')
_FAULT_STATUSES = ('ERROR', 'DELETED')


@dataclasses.dataclass(frozen=True)
class ViewOptions:
    """Per-request answers the stages need (decided by policy)."""

    #: OS-EXT-SRV-ATTR:* (host, node, instance name ...): admin.
    extended_attributes: bool = False
    #: host_status (2.16+).
    host_status: bool = False
    #: extra_specs of the embedded flavor (2.47+).
    flavor_extra_specs: bool = True
    #: Fault details of a 500 fault: admin.
    fault_details: bool = False


@dataclasses.dataclass
class ServerViewState:
    """Contract 1.2 of api.server_view (what hooks may read and write)."""

    #: The WebOb request being answered.
    req: Any = dataclasses.field(metadata=contract.READ_ONLY)
    #: The request's API microversion (``APIVersionRequest``).
    version: Any = dataclasses.field(metadata=contract.READ_ONLY)
    #: The instance being shown.
    instance: Any = dataclasses.field(metadata=contract.READ_ONLY)
    #: What the request may see, decided by policy.
    options: ViewOptions = dataclasses.field(
        default=ViewOptions(), metadata=contract.READ_ONLY)
    #: True for a single-server response (show, update, rebuild), False
    #: for an item of GET /servers/detail.
    show: bool = True
    #: False for the short view update and rebuild answered with before
    #: 2.75 (no status extensions, host, AZ, key name, usage, volumes,
    #: security groups).
    full: bool = True
    #: The server dict being built; hooks add their fields here.
    server: dict[str, Any] = dataclasses.field(default_factory=dict)
    #: The instance's block device mappings (database rows, oldest
    #: first), loaded by the controller - for a page of servers in one
    #: query; the volume ones are the server's attached volumes.  None
    #: when not loaded: the instance's own ``volumes_attached`` is shown.
    block_device_mappings: list[dict[str, Any]] | None = \
        dataclasses.field(default=None, metadata=contract.READ_ONLY)


class ViewFieldError(FlowError):
    """A hook changed the server view's keys other than by adding the
    fields it declared in ``view_fields``."""

    def __init__(self, hook: str, stage_id: str, key: str, *,
                 removed: bool = False) -> None:
        self.hook = hook
        self.stage_id = stage_id
        self.key = key
        if removed:
            what = f"removed the server field '{key}'"
        else:
            what = (f"added the server field '{key}', which it does not "
                    f"declare in view_fields['api.server_view']")
        super().__init__(
            f'hook {hook} {what} at stage {stage_id}; a view hook may only '
            f'add the namespaced fields it declares')


def declared_view_fields(hook_obj: Any) -> Mapping[str, Any]:
    """The server fields a hook declares (``view_fields``), by name."""
    declared = getattr(hook_obj, 'view_fields', None) or {}
    if not isinstance(declared, Mapping):
        return {}
    fields = declared.get('api.server_view') or {}
    return fields if isinstance(fields, Mapping) else {}


def guard_hook(fn: Callable[..., Any], hook: Any, stage_id: str,
               wraps: bool) -> Callable[..., Any]:
    """``fn`` held to the hook's declared view fields: when it returns
    having added a key of ``state.server`` it did not declare, or removed
    one, :class:`ViewFieldError` names the hook, the stage and the key.
    For an ``around`` only the hook's own code is checked, not what the
    wrapped stage adds within ``proceed()``."""
    allowed = frozenset(declared_view_fields(hook.obj))
    name = hook.name

    def check(state: Any, before: frozenset[str]) -> None:
        after = state.server
        for key in after:
            if key not in before and key not in allowed:
                raise ViewFieldError(name, stage_id, key)
        for key in before:
            if key not in after:
                raise ViewFieldError(name, stage_id, key, removed=True)

    @functools.wraps(fn)
    def guarded(ctx: Any, state: Any, *args: Any) -> Any:
        before = frozenset(state.server)
        if wraps and args:
            proceed = args[0]

            def guarded_proceed(*a: Any, **kw: Any) -> Any:
                nonlocal before
                check(state, before)
                try:
                    return proceed(*a, **kw)
                finally:
                    before = frozenset(state.server)
            args = (guarded_proceed, *args[1:])
        result = fn(ctx, state, *args)
        check(state, before)
        return result
    return guarded


FLOW = Flow('api.server_view', '1.2', ServerViewState,
            changes={'1.2': 'State block_device_mappings added: the '
                            'volumes_attached stage shows the volumes '
                            'attached to the server.',
                     '1.1': base.MIN_VERSION_CHANGE},
            doc='Build the server representation for the request\'s '
                'microversion.',
            request_version=base.REQUEST_VERSION,
            hook_guard=guard_hook)

FLOW.stages(
    'basic',
    'flavor',
    'image',
    'addresses',
    'availability_zone',
    'extended_status',
    'extended_server_attributes',
    'usage',
    'volumes_attached',
    'security_groups',
    'fault',
    'locked',
    'host_status',
    'description',
    'tags',
    'trusted_image_certificates',
    'server_groups',
    'pinned_availability_zone',
    'scheduler_hints',
)


def _get(state: ServerViewState, key: str, default: Any = None) -> Any:
    return common.get(state.instance, key, default)


def host_id(project_id: str | None, host: str | None) -> str:
    """Upstream's opaque host ID: same host and project, same ID."""
    if not host:
        return ''
    return hashlib.sha224(
        ((project_id or '') + host).encode('utf-8')).hexdigest()


@FLOW.stage
def basic(ctx: Any, state: ServerViewState) -> None:
    """id, name, status, owner, times, links, access IPs, key name ..."""
    uuid = _get(state, 'uuid')
    status = common.status_from_state(_get(state, 'vm_state'),
                                      _get(state, 'task_state'))
    server = state.server
    server.update({
        'id': uuid,
        'name': _get(state, 'display_name') or '',
        'status': status,
        'tenant_id': _get(state, 'project_id'),
        'user_id': _get(state, 'user_id'),
        'metadata': dict(_get(state, 'metadata') or {}),
        'hostId': host_id(_get(state, 'project_id'), _get(state, 'host')),
        'created': common.isotime(_get(state, 'created_at')),
        'updated': common.isotime(_get(state, 'updated_at') or
                                  _get(state, 'created_at')),
        'accessIPv4': _get(state, 'access_ip_v4') or '',
        'accessIPv6': _get(state, 'access_ip_v6') or '',
        'links': common.self_links(state.req, 'servers', uuid),
        'OS-DCF:diskConfig': 'AUTO' if _get(state, 'auto_disk_config')
        else 'MANUAL',
    })
    if state.full:
        server['key_name'] = _get(state, 'key_name')
        server['config_drive'] = 'True' if base.bool_value(
            _get(state, 'config_drive') or False) else ''
    if status in _PROGRESS_STATUSES:
        server['progress'] = int(_get(state, 'progress') or 0)


@FLOW.stage
def flavor(ctx: Any, state: ServerViewState) -> None:
    """``{id, links}`` before 2.47, the embedded flavor from 2.47."""
    flavor = _get(state, 'flavor') or {}
    if state.version < '2.47':
        flavor_id = base.flavor_public_id(flavor) if flavor else ''
        links = common.self_links(state.req, 'flavors', flavor_id)
        state.server['flavor'] = {'id': flavor_id, 'links': [links[1]]}
        return
    embedded = {
        'vcpus': common.get(flavor, 'vcpus'),
        'ram': common.get(flavor, 'memory_mb'),
        'disk': common.get(flavor, 'root_gb'),
        'ephemeral': common.get(flavor, 'ephemeral_gb'),
        'swap': common.get(flavor, 'swap') or 0,
        'original_name': common.get(flavor, 'name'),
    }
    if state.options.flavor_extra_specs:
        embedded['extra_specs'] = dict(common.get(flavor, 'extra_specs')
                                       or {})
    state.server['flavor'] = embedded


@FLOW.stage
def image(ctx: Any, state: ServerViewState) -> None:
    """``{id, links}``, or ``""`` for a server booted from a volume;
    2.98 adds the image properties the server was built with."""
    image_ref = _get(state, 'image_ref')
    if not image_ref:
        state.server['image'] = ''
        return
    links = common.self_links(state.req, 'images', image_ref)
    view: dict[str, Any] = {'id': image_ref, 'links': [links[1]]}
    if state.version >= '2.98':
        view['properties'] = dict(_get(state, 'image_properties') or {})
    state.server['image'] = view


@FLOW.stage
def addresses(ctx: Any, state: ServerViewState) -> None:
    """Addresses by network label, from the instance's network info."""
    if CONF.api.hide_server_address_states and \
            state.server['status'] == 'BUILD':
        state.server['addresses'] = {}
        return
    given = _get(state, 'addresses')
    if isinstance(given, dict):
        state.server['addresses'] = given
        return
    result: dict[str, list[dict[str, Any]]] = {}
    for vif in _get(state, 'network_info') or []:
        network = vif.get('network') or {}
        label = network.get('label') or network.get('name') or 'network'
        entries = result.setdefault(label, [])
        for subnet in network.get('subnets') or []:
            for ip in subnet.get('ips') or []:
                entries.append(_address(ip, vif, 'fixed'))
                for floating in ip.get('floating_ips') or []:
                    entries.append(_address(floating, vif, 'floating'))
    state.server['addresses'] = result


def _address(ip: dict[str, Any], vif: dict[str, Any], kind: str,
             ) -> dict[str, Any]:
    address = ip.get('address')
    version = ip.get('version') or (6 if ':' in str(address) else 4)
    return {'version': version, 'addr': address,
            'OS-EXT-IPS:type': ip.get('type', kind),
            'OS-EXT-IPS-MAC:mac_addr': vif.get('address')}


@FLOW.stage
def availability_zone(ctx: Any, state: ServerViewState) -> None:
    """OS-EXT-AZ:availability_zone."""
    if not state.full:
        return
    state.server['OS-EXT-AZ:availability_zone'] = \
        _get(state, 'availability_zone') or ''


@FLOW.stage
def extended_status(ctx: Any, state: ServerViewState) -> None:
    """OS-EXT-STS:task_state, vm_state, power_state."""
    if not state.full:
        return
    state.server.update({
        'OS-EXT-STS:task_state': _get(state, 'task_state'),
        'OS-EXT-STS:vm_state': _get(state, 'vm_state'),
        'OS-EXT-STS:power_state': _get(state, 'power_state') or 0,
    })


@FLOW.stage
def extended_server_attributes(ctx: Any, state: ServerViewState) -> None:
    """OS-EXT-SRV-ATTR:*: admin only; from 2.90 the hostname is shown to
    the owner too."""
    server = state.server
    if not state.full:
        return
    if state.options.extended_attributes:
        uuid = _get(state, 'uuid')
        server.update({
            'OS-EXT-SRV-ATTR:host': _get(state, 'host'),
            'OS-EXT-SRV-ATTR:hypervisor_hostname': _get(state, 'node'),
            'OS-EXT-SRV-ATTR:instance_name': _get(state, 'name') or (
                f'instance-{uuid}'),
        })
        if state.version >= '2.3':
            server.update({
                'OS-EXT-SRV-ATTR:reservation_id': _get(
                    state, 'reservation_id'),
                'OS-EXT-SRV-ATTR:launch_index': _get(
                    state, 'launch_index') or 0,
                'OS-EXT-SRV-ATTR:hostname': _get(state, 'hostname'),
                'OS-EXT-SRV-ATTR:kernel_id': _get(state, 'kernel_id') or '',
                'OS-EXT-SRV-ATTR:ramdisk_id': _get(state, 'ramdisk_id')
                or '',
                'OS-EXT-SRV-ATTR:root_device_name': _get(
                    state, 'root_device_name'),
                'OS-EXT-SRV-ATTR:user_data': _get(state, 'user_data'),
            })
    elif state.version >= '2.90':
        server['OS-EXT-SRV-ATTR:hostname'] = _get(state, 'hostname')


@FLOW.stage
def usage(ctx: Any, state: ServerViewState) -> None:
    """OS-SRV-USG:launched_at and terminated_at."""
    if not state.full:
        return
    state.server['OS-SRV-USG:launched_at'] = common.usage_time(
        _get(state, 'launched_at'))
    state.server['OS-SRV-USG:terminated_at'] = common.usage_time(
        _get(state, 'terminated_at'))


@FLOW.stage
def volumes_attached(ctx: Any, state: ServerViewState) -> None:
    """os-extended-volumes:volumes_attached: ``[{"id"}]`` of the volumes
    attached to the server, with ``delete_on_termination`` from 2.3."""
    if not state.full:
        return
    if state.block_device_mappings is not None:
        attached = [b for b in state.block_device_mappings
                    if common.get(b, 'destination_type') == 'volume'
                    and common.get(b, 'volume_id')]
    else:
        attached = list(_get(state, 'volumes_attached') or [])
    volumes = []
    for volume in attached:
        item = {'id': common.get(volume, 'volume_id') or common.get(
            volume, 'id')}
        if state.version >= '2.3':
            item['delete_on_termination'] = bool(common.get(
                volume, 'delete_on_termination', False))
        volumes.append(item)
    state.server['os-extended-volumes:volumes_attached'] = volumes


@FLOW.stage
def security_groups(ctx: Any, state: ServerViewState) -> None:
    """security_groups by name (omitted when there are none)."""
    if not state.full:
        return
    groups = _get(state, 'security_groups') or []
    names = []
    for group in groups:
        name = group if isinstance(group, str) else common.get(group,
                                                               'name')
        if name and name not in names:
            names.append(name)
    if names:
        state.server['security_groups'] = [{'name': n} for n in names]


@FLOW.stage
def fault(ctx: Any, state: ServerViewState) -> None:
    """The last fault of an ERROR/DELETED server; its details (a
    traceback) only for admins or when the fault was not a 500."""
    if state.server['status'] not in _FAULT_STATUSES:
        return
    fault = _get(state, 'fault')
    if not fault:
        return
    code = int(common.get(fault, 'code', 500) or 500)
    view = {'code': code,
            'created': common.isotime(common.get(fault, 'created_at')),
            'message': common.get(fault, 'message') or ''}
    details = common.get(fault, 'details')
    if details and (state.options.fault_details or code != 500):
        view['details'] = details
    state.server['fault'] = view


@FLOW.stage
def locked(ctx: Any, state: ServerViewState) -> None:
    """locked (2.9+) and locked_reason (2.73+)."""
    if state.version >= '2.9':
        state.server['locked'] = bool(_get(state, 'locked'))
    if state.version >= '2.73':
        state.server['locked_reason'] = _get(state, 'locked_reason') if \
            _get(state, 'locked') else None


@FLOW.stage
def host_status(ctx: Any, state: ServerViewState) -> None:
    """host_status (2.16+, admin): UP, DOWN, MAINTENANCE or UNKNOWN."""
    if not state.full:
        return
    if state.version >= '2.16' and state.options.host_status:
        if not _get(state, 'host'):
            state.server['host_status'] = ''
        else:
            state.server['host_status'] = _get(state, 'host_status') or \
                'UP'


@FLOW.stage
def description(ctx: Any, state: ServerViewState) -> None:
    """description (2.19+)."""
    if state.version >= '2.19':
        instance = state.instance
        # Stored as display_description, as upstream's column.
        state.server['description'] = common.get(
            instance, 'display_description', common.get(instance,
                                                        'description'))


@FLOW.stage
def tags(ctx: Any, state: ServerViewState) -> None:
    """tags (2.26+)."""
    if state.version >= '2.26':
        tags = _get(state, 'tags') or []
        state.server['tags'] = [t if isinstance(t, str) else
                                common.get(t, 'tag') for t in tags]


@FLOW.stage
def trusted_image_certificates(ctx: Any, state: ServerViewState) -> None:
    """trusted_image_certificates (2.63+)."""
    if state.version >= '2.63':
        state.server['trusted_image_certificates'] = _get(
            state, 'trusted_certs') or None


@FLOW.stage
def server_groups(ctx: Any, state: ServerViewState) -> None:
    """server_groups (2.71+, single-server responses only)."""
    if not state.full:
        return
    if state.version >= '2.71' and state.show:
        state.server['server_groups'] = list(_get(state, 'server_groups')
                                             or [])


@FLOW.stage
def pinned_availability_zone(ctx: Any, state: ServerViewState) -> None:
    """pinned_availability_zone (2.96+): the zone the user asked for."""
    if state.version >= '2.96':
        state.server['pinned_availability_zone'] = _get(
            state, 'pinned_availability_zone')


@FLOW.stage
def scheduler_hints(ctx: Any, state: ServerViewState) -> None:
    """scheduler_hints (2.100+): the hints the server was created with."""
    if state.version >= '2.100':
        state.server['scheduler_hints'] = dict(
            _get(state, 'scheduler_hints') or {})
