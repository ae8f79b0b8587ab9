"""conductor.local_delete_instance: delete an instance that has no host.

An instance with no host - SHELVED_OFFLOADED, never scheduled, or in
ERROR after scheduling failed - has no nova-compute to run
compute.terminate_instance, yet it may still hold fixed IPs and ports
(an offloaded server keeps its addresses), a shelve snapshot, volumes
and their block device mappings, and an allocation.  The API casts its
delete here (``ConductorAPI.local_delete_instance``) and this flow frees
all of that, soft-deletes the record and, through the run's record,
finishes the request's ``delete`` instance action.

The name is upstream's: nova-api's ``_local_delete`` is the delete done
without the instance's compute host, which is what this flow is (and
where a delete for a host that is down would belong too); "local" says
that no compute host takes part, as it does upstream.

Every stage is idempotent - freeing ports an instance no longer has,
deleting an image or a volume that is gone, detaching an available
volume, releasing an allocation already released and destroying a
deleted instance are no-ops - so a delete always completes.

Failure: deleting cannot be undone, so no stage reverts.  The fault is
recorded and the instance goes to ERROR (still with no host); the action
shows the failing stage's Error event.  Deleting it again runs the flow
again and completes it.  A failure after ``destroy_instance`` (the
closing notification) leaves the instance deleted.

Interrupted (nova-conductor died mid-delete): resumed at restart by the
conductor on the same host, which runs again the stage that was cut and
the ones after it.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from oslo_log import log as logging

from nova import exception
from nova.compute import vm_states
from nova.conductor.flows import base
from nova.flow import RESUME, Flow, contract

LOG = logging.getLogger(__name__)


@dataclasses.dataclass
class LocalDeleteState:
    """Contract 1.0 of conductor.local_delete_instance."""

    #: The conductor services the stages call (DB, scheduler, compute RPC API).
    conductor: base.ConductorServices = dataclasses.field(
        metadata=contract.READ_ONLY)
    #: The instance (its database row as a dict).
    instance: dict[str, Any] = dataclasses.field(metadata=contract.READ_ONLY)
    #: The block device mappings of the instance (volumes to detach or delete).
    block_device_mapping: list[dict[str, Any]] = dataclasses.field(
        default_factory=list)
    #: For the notifications' payloads (read before the ports are freed).
    network_info: list[dict[str, Any]] = dataclasses.field(
        default_factory=list)


def new_state(ctx: Any, services: base.ConductorServices,
              instance: dict[str, Any]) -> LocalDeleteState:
    """The state of a delete of ``instance``: what it still holds."""
    uuid = instance['uuid']
    return LocalDeleteState(
        conductor=services, instance=instance,
        block_device_mapping=services.db
        .block_device_mapping_get_all_by_instance(ctx, uuid),
        network_info=services.network.get_instance_nw_info(ctx, uuid))


def _subject(state: LocalDeleteState) -> str:
    return state.instance['uuid']


def _load_state(ctx: Any, run: Any,
                services: base.ConductorServices) -> LocalDeleteState:
    """The instance (deleted or not: the cut stage may have been the
    last) and what it still holds."""
    ctx.read_deleted = 'yes'
    instance = services.db.instance_get_by_uuid(ctx, run.subject)
    ctx.read_deleted = 'no'
    return new_state(ctx, services, instance)


FLOW = Flow('conductor.local_delete_instance', '1.0', LocalDeleteState,
            on_interrupt=RESUME, subject=_subject, load_state=_load_state,
            doc='Delete an instance that has no host: IPs, shelve '
                'snapshot, volumes, allocation, record.')
FLOW.stages(
    'notify_usage_start',
    'deallocate_network',
    'delete_shelve_image',
    'detach_volumes',
    'release_claims',
    'destroy_instance',
    'notify_usage_end',
)
FLOW.on_failure(base.record_fault, base.set_error)


@FLOW.stage(optional=True, idempotent=True)
def notify_usage_start(ctx: Any, state: LocalDeleteState) -> None:
    """instance.delete.start notification.

    Idempotent: sent again by a resumed run, as any notification may be.
    """
    base.notify(ctx, state, 'delete.start')


@FLOW.stage(idempotent=True)
def deallocate_network(ctx: Any, state: LocalDeleteState) -> None:
    """Release the instance's fixed IPs and ports.

    Idempotent: an instance without ports has nothing to release.
    """
    state.conductor.network.deallocate_for_instance(
        ctx, state.instance['uuid'])


@FLOW.stage(idempotent=True)
def delete_shelve_image(ctx: Any, state: LocalDeleteState) -> None:
    """Delete the snapshot of a shelved-offloaded instance, if any.

    The snapshot is the system metadata's ``shelved_image_id``.
    Idempotent: an image already gone is what this stage wants.  One the
    request may not delete is left with a warning, as upstream does: the
    delete of the server must not fail for it.
    """
    image_id = (state.instance.get('system_metadata') or {}).get(
        'shelved_image_id')
    if not image_id:
        return
    try:
        state.conductor.image.delete(ctx, image_id)
    except exception.ImageNotFound:
        LOG.info('Shelve snapshot %s of instance %s is already gone',
                 image_id, state.instance['uuid'])
    except exception.ImageNotAuthorized:
        LOG.warning('Shelve snapshot %s of instance %s cannot be deleted '
                    'by this request; left in place', image_id,
                    state.instance['uuid'])


@FLOW.stage(idempotent=True)
def detach_volumes(ctx: Any, state: LocalDeleteState) -> None:
    """Free every volume, then destroy its block device mapping.

    Volumes marked delete_on_termination are deleted once free.
    Idempotent: detaching an available volume is a no-op, a volume
    already deleted is skipped, and a mapping already destroyed is not
    loaded again by a resumed run - which is also why each mapping goes
    as soon as its volume is free: a volume freed by a cut run and
    attached elsewhere since is not touched again.
    """
    uuid = state.instance['uuid']
    volume_api = state.conductor.volume
    for bdm in state.block_device_mapping:
        volume_id = bdm.get('volume_id')
        if bdm.get('destination_type') == 'volume' and volume_id:
            try:
                volume_api.detach(ctx, volume_id, uuid)
                if bdm.get('delete_on_termination'):
                    volume_api.delete(ctx, volume_id)
            except exception.VolumeNotFound:
                LOG.info('Volume %s of instance %s is already gone',
                         volume_id, uuid)
        try:
            state.conductor.db.block_device_mapping_destroy(ctx, bdm['id'])
        except exception.BDMNotFound:
            pass


@FLOW.stage(idempotent=True)
def release_claims(ctx: Any, state: LocalDeleteState) -> None:
    """Give back any vCPUs, RAM and disk allocated to the instance.

    Idempotent: an instance without an allocation (the usual case: the
    offload or the failed build released it) releases nothing.
    """
    state.conductor.db.allocation_release(ctx, state.instance['uuid'])


@FLOW.stage(idempotent=True)
def destroy_instance(ctx: Any, state: LocalDeleteState) -> None:
    """DELETED in the database (soft delete, as upstream).

    Any block device mapping left goes with it.  Idempotent: destroying
    a deleted instance changes nothing.
    """
    state.conductor.db.instance_destroy(ctx, state.instance['uuid'])
    state.instance.update(vm_state=vm_states.DELETED, task_state=None)


@FLOW.stage(optional=True, idempotent=True)
def notify_usage_end(ctx: Any, state: LocalDeleteState) -> None:
    """instance.delete.end notification.

    Idempotent: sent again by a resumed run, as any notification may be.
    """
    base.notify(ctx, state, 'delete.end')
