"""Notification payloads, in upstream nova's shapes.

Versioned payloads are wrapped as upstream's ``NotificationPayloadBase``
objects are serialised::

    {"nova_object.name": "InstanceActionPayload",
     "nova_object.namespace": "nova",
     "nova_object.version": "1.8",
     "nova_object.data": {...fields...}}

with upstream's payload class per event type: ``InstanceCreatePayload``
for ``instance.create.*``, ``InstanceActionPayload`` for the others. The
fields are upstream's that this nova has data for (``InstancePayload``'s
and, for actions, ``fault``); fields it has no data for are absent rather
than invented, which consumers must tolerate anyway (upstream adds
fields in minor versions).  The versions are upstream's for the field
sets named here; a field added or changed here changes the version as
upstream's rules say.
"""

from __future__ import annotations

import datetime
from typing import Any

from nova.compute import power_state

NAMESPACE = 'nova'
#: Upstream's payload classes and the versions whose fields we send.
ACTION_PAYLOAD = ('InstanceActionPayload', '1.8')
CREATE_PAYLOAD = ('InstanceCreatePayload', '1.12')
FLAVOR_PAYLOAD = ('FlavorPayload', '1.4')
IP_PAYLOAD = ('IpPayload', '1.0')
FAULT_PAYLOAD = ('ExceptionPayload', '1.1')


def _time(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.UTC)
        return value.isoformat()
    return str(value)


def _wrap(kind: tuple[str, str], data: dict[str, Any]) -> dict[str, Any]:
    name, version = kind
    return {'nova_object.name': name, 'nova_object.namespace': NAMESPACE,
            'nova_object.version': version, 'nova_object.data': data}


def _flavor(instance: dict[str, Any]) -> dict[str, Any]:
    flavor = instance.get('flavor') or {}
    if not isinstance(flavor, dict):
        flavor = {}
    return _wrap(FLAVOR_PAYLOAD, {
        'flavorid': flavor.get('flavorid'),
        'name': flavor.get('name'),
        'memory_mb': instance.get('memory_mb'),
        'vcpus': instance.get('vcpus'),
        'root_gb': instance.get('root_gb'),
        'ephemeral_gb': instance.get('ephemeral_gb'),
        'swap': instance.get('swap') or 0,
        'rxtx_factor': flavor.get('rxtx_factor', 1.0),
        'is_public': flavor.get('is_public', True),
        'disabled': flavor.get('disabled', False),
        'extra_specs': flavor.get('extra_specs') or {},
        'description': flavor.get('description'),
    })


def _ip_addresses(network_info: list[dict[str, Any]] | None
                  ) -> list[dict[str, Any]]:
    """``IpPayload`` per fixed IP of the instance's VIFs (network_info in
    upstream's shape: vif -> network -> subnets -> ips)."""
    addresses = []
    for vif in network_info or ():
        network = vif.get('network') or {}
        for subnet in network.get('subnets') or ():
            for ip in subnet.get('ips') or ():
                address = ip.get('address')
                if not address:
                    continue
                addresses.append(_wrap(IP_PAYLOAD, {
                    'address': address,
                    'version': subnet.get('version') or (
                        6 if ':' in address else 4),
                    'port_uuid': vif.get('id'),
                    'mac': vif.get('address'),
                    'label': network.get('label'),
                    'meta': {},
                    'device_name': vif.get('devname'),
                }))
    return addresses


def _fault(fault: BaseException | None) -> dict[str, Any] | None:
    if fault is None:
        return None
    return _wrap(FAULT_PAYLOAD, {
        'exception': type(fault).__name__,
        'exception_message': str(fault),
        'module_name': type(fault).__module__,
        'function_name': '',
        'traceback': '',
    })


def instance_data(ctx: Any, instance: dict[str, Any], host: str,
                  network_info: list[dict[str, Any]] | None = None
                  ) -> dict[str, Any]:
    """``InstancePayload``'s fields this nova has data for."""
    power = instance.get('power_state')
    return {
        'uuid': instance.get('uuid'),
        'user_id': instance.get('user_id'),
        'tenant_id': instance.get('project_id'),
        'reservation_id': instance.get('reservation_id'),
        'display_name': instance.get('display_name'),
        'display_description': instance.get('display_description'),
        'host_name': instance.get('hostname'),
        'host': instance.get('host') or host,
        'node': instance.get('node'),
        'availability_zone': instance.get('availability_zone'),
        'image_uuid': instance.get('image_ref') or '',
        'key_name': instance.get('key_name'),
        'kernel_id': instance.get('kernel_id') or '',
        'ramdisk_id': instance.get('ramdisk_id') or '',
        'created_at': _time(instance.get('created_at')),
        'launched_at': _time(instance.get('launched_at')),
        'terminated_at': _time(instance.get('terminated_at')),
        'deleted_at': _time(instance.get('deleted_at')),
        'updated_at': _time(instance.get('updated_at')),
        'state': instance.get('vm_state'),
        'power_state': power_state.STATE_MAP.get(power, 'pending')
        if power is not None else 'pending',
        'task_state': instance.get('task_state'),
        'progress': instance.get('progress') or 0,
        'ip_addresses': _ip_addresses(network_info),
        'flavor': _flavor(instance),
        'metadata': dict(instance.get('metadata') or {}),
        'locked': bool(instance.get('locked')),
        'request_id': getattr(ctx, 'request_id', None),
        'action_initiator_user': getattr(ctx, 'user_id', None),
        'action_initiator_project': getattr(ctx, 'project_id', None),
    }


def versioned_payload(ctx: Any, instance: dict[str, Any], host: str,
                      event: str, *,
                      network_info: list[dict[str, Any]] | None = None,
                      fault: BaseException | None = None
                      ) -> dict[str, Any]:
    """The versioned payload of ``instance.<event>``."""
    data = instance_data(ctx, instance, host, network_info)
    data['fault'] = _fault(fault)
    if event.startswith('create.'):
        tags = instance.get('tags') or []
        data.update(
            instance_name=instance.get('display_name'),
            tags=[t.get('tag') if isinstance(t, dict) else t for t in tags],
            keypairs=[], trusted_image_certificates=None)
        return _wrap(CREATE_PAYLOAD, data)
    return _wrap(ACTION_PAYLOAD, data)


def legacy_payload(instance: dict[str, Any], host: str,
                   network_info: list[dict[str, Any]] | None = None
                   ) -> dict[str, Any]:
    """The flat payload of upstream's unversioned
    ``compute.instance.*`` notifications (the fields we have)."""
    flavor = instance.get('flavor') or {}
    return {
        'instance_id': instance.get('uuid'),
        'tenant_id': instance.get('project_id'),
        'user_id': instance.get('user_id'),
        'display_name': instance.get('display_name'),
        'hostname': instance.get('hostname'),
        'host': instance.get('host') or host,
        'node': instance.get('node'),
        'availability_zone': instance.get('availability_zone'),
        'instance_type': flavor.get('name') if isinstance(flavor, dict)
        else None,
        'memory_mb': instance.get('memory_mb'),
        'vcpus': instance.get('vcpus'),
        'root_gb': instance.get('root_gb'),
        'ephemeral_gb': instance.get('ephemeral_gb'),
        'disk_gb': (instance.get('root_gb') or 0) +
        (instance.get('ephemeral_gb') or 0),
        'image_ref_url': instance.get('image_ref'),
        'state': instance.get('vm_state'),
        'state_description': instance.get('task_state') or '',
        'created_at': _time(instance.get('created_at')),
        'launched_at': _time(instance.get('launched_at')),
        'terminated_at': _time(instance.get('terminated_at')),
        'deleted_at': _time(instance.get('deleted_at')),
        'fixed_ips': [ip['nova_object.data'] for ip in
                      _ip_addresses(network_info)],
        'metadata': dict(instance.get('metadata') or {}),
    }
