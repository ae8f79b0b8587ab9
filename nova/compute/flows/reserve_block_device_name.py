"""compute.reserve_block_device_name: give a volume about to be attached
its device name and block device mapping (first half of
``os-volume_attachments`` POST).

The compute API calls this over RPC (a call: the device name is in the
API's response) before it reserves the volume and casts
compute.attach_volume.  It runs on the instance's host under the
instance's lock, so two attaches to one instance never pick the same
name.  A requested device (``/dev/vdc``) is used if it is free, else
refused; without one the next free name after the instance's disks is
chosen, as upstream.

Failure: the mapping, if created, is deleted; the error goes back to the
API (and so to the user); the instance is not touched and gets no fault.

Interrupted: reverted at restart: the API's call has failed (timed out)
meanwhile, so the user was told the attach did not happen.
"""

from __future__ import annotations

import dataclasses
import re
import string
from typing import Any

from nova import exception
from nova.compute.flows import base
from nova.flow import REVERT, Flow, contract

_DEVICE = re.compile(r'^/dev/(?P<prefix>x?[a-z]+?d)(?P<letters>[a-z]+)$')
DEFAULT_PREFIX = 'vd'


@dataclasses.dataclass
class ReserveDeviceState:
    """Contract 1.0 of compute.reserve_block_device_name."""

    #: The compute services the stages call (DB, driver, network, volume, image
    #: APIs).
    compute: base.ComputeServices = dataclasses.field(
        metadata=contract.READ_ONLY)
    #: The instance (its database row as a dict); stages keep it current after
    #: each update.
    instance: dict[str, Any] = dataclasses.field(metadata=contract.READ_ONLY)
    #: The volume a device name is reserved for.
    volume_id: str = dataclasses.field(metadata=contract.READ_ONLY)
    #: The device name the user asked for (None: the driver chooses).
    device: str | None = None
    #: The disk bus the user asked for.
    disk_bus: str | None = None
    #: The device type the user asked for (disk, cdrom...).
    device_type: str | None = None
    #: The device tag the user gave the volume (2.49+).
    tag: str | None = None
    #: Delete the volume with the instance (2.79+).
    delete_on_termination: bool = False
    #: Filled in by choose_device_name / create_bdm.
    device_name: str | None = None
    #: The block device mapping created for the volume, filled in by
    #: create_bdm.
    bdm: dict[str, Any] | None = None


def _load_state(ctx: Any, run: Any,
                compute: base.ComputeServices) -> ReserveDeviceState:
    """The mapping the cut run may have created: one for a volume that is
    still ``available`` (the API reserves it only after this call)."""
    instance = compute.db.instance_get_by_uuid(ctx, run.subject)
    state = ReserveDeviceState(compute=compute, instance=instance,
                               volume_id='')
    for bdm in compute.db.block_device_mapping_get_all_by_instance(
            ctx, instance['uuid']):
        if bdm.get('destination_type') != 'volume' or \
                not bdm.get('volume_id') or bdm.get('connection_info'):
            continue
        try:
            volume = compute.volume.get(ctx, bdm['volume_id'])
        except exception.VolumeNotFound:
            continue
        if volume['status'] == 'available':
            state.volume_id, state.bdm = bdm['volume_id'], bdm
    return state


FLOW = Flow('compute.reserve_block_device_name', '1.0', ReserveDeviceState,
            on_interrupt=REVERT, subject=base.instance_subject,
            load_state=_load_state,
            doc='Choose the device name of a volume and map it.')
FLOW.stages(
    'choose_device_name',
    'create_bdm',
)


@FLOW.stage
def choose_device_name(ctx: Any, state: ReserveDeviceState) -> None:
    """The requested device if free, else the next free one."""
    bdms = state.compute.db.block_device_mapping_get_all_by_instance(
        ctx, state.instance['uuid'])
    used = {b['device_name'] for b in bdms if b.get('device_name')}
    if state.device:
        if not _DEVICE.match(state.device):
            raise exception.InvalidDevicePath(path=state.device)
        if state.device in used:
            raise exception.DevicePathInUse(path=state.device)
        state.device_name = state.device
        return
    state.device_name = next_device_name(used)


def next_device_name(used: set[str]) -> str:
    """``/dev/vdb`` after ``/dev/vda`` ..., with the prefix of the disks
    the instance has (``vd`` by default); the root disk is always ``a``."""
    prefix = DEFAULT_PREFIX
    taken = {'a'}
    for name in used:
        match = _DEVICE.match(name)
        if match:
            prefix = match.group('prefix')
            taken.add(match.group('letters'))
    for letters in _letters():
        if letters not in taken:
            return f'/dev/{prefix}{letters}'
    raise exception.InvalidDevicePath(path=f'/dev/{prefix}*')


def _letters() -> Any:
    for first in string.ascii_lowercase:
        yield first
    for first in string.ascii_lowercase:
        for second in string.ascii_lowercase:
            yield first + second


@FLOW.stage
def create_bdm(ctx: Any, state: ReserveDeviceState) -> None:
    """Record the volume's block device mapping."""
    state.bdm = state.compute.db.block_device_mapping_create(ctx, {
        'instance_uuid': state.instance['uuid'],
        'source_type': 'volume', 'destination_type': 'volume',
        'volume_id': state.volume_id, 'device_name': state.device_name,
        'disk_bus': state.disk_bus, 'device_type': state.device_type,
        'tag': state.tag, 'boot_index': None,
        'delete_on_termination': bool(state.delete_on_termination)})


@FLOW.revert('create_bdm')
def destroy_bdm(ctx: Any, state: ReserveDeviceState, failure: Any) -> None:
    if state.bdm is not None:
        state.compute.db.block_device_mapping_destroy_by_instance_and_volume(
            ctx, state.instance['uuid'], state.volume_id)
