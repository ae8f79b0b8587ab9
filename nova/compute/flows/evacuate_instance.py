"""compute.evacuate_instance: the destination's part of an evacuation -
re-create, on this host, an instance whose host is down (an RPC call
from conductor.evacuate_instance; upstream's ``rebuild_instance`` with
``recreate``).

First the driver says whether the instance's disks are on this host's
storage (``instance_on_disk``: storage the hosts share).  What the
admin said (``onSharedStorage``, before 2.14) must agree, or the
evacuation fails with InvalidSharedStorage before anything is done;
from 2.14 the driver's answer is taken.  On shared storage the guest is
re-created from its existing disks, not from its image, and the admin
password is not set (it is the guest's own disk).

The instance is claimed here (the source's allocation passes to
the migration in the same transaction: the source gives it back when it
returns and cleans up, ``compute.destroy_evacuated_instance``), its
ports bound to this host (``binding:host_id``,
``setup_networks_on_host``) and its network info read, its volumes
connected to this host, and its guest spawned from its image (evacuate rebuilds
from the image; with shared storage a driver may find the disks
already there).  Only then, in one transaction, is the instance on
this host and node - ACTIVE, or STOPPED and powered off if it was
STOPPED or the request asked for it (``targetState``, 2.95) - and the
migration 'done', as upstream's ``finish_evacuation``: until then its
record names the source, so a source that comes back meanwhile leaves
its guest alone.

Failure: every started stage is reverted newest first on this host: the
new guest is destroyed (its disks too, unless they are on shared
storage: they were there before), the volume connections made here are
terminated, the ports are bound to the source again and the claim goes
back (this host's allocation released, the source's
handed back to the instance, one transaction); the error goes back to
the conductor, which records the fault and sets the instance to ERROR
(its source is down: it cannot go back there) and the migration
'failed'.

Point of no return: ``update_evacuated`` (instance and migration in one
transaction): the instance lives here from then on; the closing
notification is never a reason to undo it.

Interrupted (nova-compute died): reverted at restart, as a failure,
unless ``update_evacuated`` had committed, when it is resumed (only the
closing notification is left).  Resuming earlier would spawn without
the admin password given with the request, which is not stored.  The
conductor's call fails meanwhile (its heartbeats stop) and it sets the
instance to ERROR.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from oslo_utils import timeutils

from nova import exception
from nova.compute import power_state, task_states, vm_states
from nova.compute.flows import base, moves, shared
from nova.flow import REVERT, Flow, stage


@dataclasses.dataclass
class EvacuateState(moves.MoveState):
    """Contract 1.0 of compute.evacuate_instance."""

    #: The admin password to set in the rebuilt guest (never logged).
    admin_password: str | None = dataclasses.field(default=None,
                                                   repr=False)
    #: What the admin said of the instance's disks (before 2.14); None:
    #: the driver finds out.
    on_shared_storage: bool | None = None
    #: ACTIVE or STOPPED: the vm_state the instance ends in.
    target_state: str = vm_states.ACTIVE


def load_state(ctx: Any, run: Any,
               compute: base.ComputeServices) -> EvacuateState:
    """An interrupted evacuation's state: the instance and its newest
    evacuation (the target state is only read by the stages after the
    point of no return, which have written it already)."""
    instance = compute.db.instance_get_by_uuid(ctx, run.subject)
    migrations = compute.db.migration_get_all_by_filters(
        ctx, {'instance_uuid': run.subject,
              'migration_type': 'evacuation'}, limit=1)
    if not migrations:
        raise exception.MigrationNotFoundForInstance(
            migration_id='(newest evacuation)', instance_id=run.subject)
    return EvacuateState(compute=compute, instance=instance,
                         migration=migrations[0],
                         flavor=instance.get('flavor') or {},
                         target_state=instance.get('vm_state') or
                         vm_states.ACTIVE)


FLOW = Flow('compute.evacuate_instance', '1.3', EvacuateState,
            changes={'1.1': 'Stage setup_networks_on_host added: the '
                            "instance's ports are bound to this host "
                            '(reverted: bound to the source again).',
                     '1.2': 'Stage check_instance_shared_storage added: '
                            'on_shared_storage is what the driver finds '
                            '(InvalidSharedStorage when the admin said '
                            'otherwise); driver_spawn re-creates the guest '
                            'from its existing disks on shared storage, '
                            'without the admin password.',
                     '1.3': "driver_spawn's revert keeps the disks on "
                            'shared storage (they were there before the '
                            'evacuation).'},
            on_interrupt=REVERT, subject=moves.subject,
            load_state=load_state,
            point_of_no_return='update_evacuated',
            doc='Re-create on this host an instance whose host is down.')
FLOW.stages(
    stage('update_migration_pre_migrating', moves.migration_status(
        'pre-migrating', "The migration is 'pre-migrating'.")),
    'check_instance_shared_storage',
    'claim_resources',
    'get_image_meta',
    stage('update_rebuild_block_device_mapping', base.set_state(
        'update_rebuild_block_device_mapping',
        task_state=task_states.REBUILD_BLOCK_DEVICE_MAPPING,
        expected_task_state=task_states.REBUILDING)),
    'setup_networks_on_host',
    stage('load_network_info', base.load_network_info),
    'prep_block_device',
    stage('update_rebuild_spawning', base.set_state(
        'update_rebuild_spawning', task_state=task_states.REBUILD_SPAWNING,
        expected_task_state=task_states.REBUILD_BLOCK_DEVICE_MAPPING)),
    'driver_spawn',
    'update_evacuated',
    stage('notify_usage_end', base.notifier('rebuild.end'),
          optional=True),
)


@FLOW.stage
def check_instance_shared_storage(ctx: Any, state: EvacuateState) -> None:
    """Are the instance's disks on this host's storage?  The admin's
    ``onSharedStorage`` (before 2.14) must say the same."""
    on_disk = bool(state.compute.driver.instance_on_disk(state.instance))
    if state.on_shared_storage is not None and \
            state.on_shared_storage != on_disk:
        raise exception.InvalidSharedStorage(
            path=state.instance['uuid'],
            reason='the instance files are ' +
                   ('' if on_disk else 'not ') + 'on this host\'s storage '
                   'but the request said they are ' +
                   ('' if state.on_shared_storage else 'not ') + 'shared')
    state.on_shared_storage = on_disk


@FLOW.stage
def claim_resources(ctx: Any, state: EvacuateState) -> None:
    """Claim the flavor on this node; the source's claim passes to the
    migration in the same transaction."""
    state.compute.resource_tracker.move_claim(
        ctx, state.instance, state.migration, state.migration['dest_node'],
        state.flavor)


@FLOW.revert('claim_resources')
def drop_move_claim(ctx: Any, state: EvacuateState, failure: Any) -> None:
    state.compute.resource_tracker.drop_move_claim(ctx, state.instance,
                                                   state.migration)


@FLOW.stage
def get_image_meta(ctx: Any, state: EvacuateState) -> None:
    """The instance's image, which the guest is rebuilt from."""
    state.image_meta = shared.get_image_or_none(
        ctx, state.compute.image, state.instance.get('image_ref')) or {}


@FLOW.stage(idempotent=True)
def setup_networks_on_host(ctx: Any, state: EvacuateState) -> None:
    """Bind the instance's ports to this host."""
    moves.bind_ports(ctx, state, state.compute.host)


@FLOW.revert('setup_networks_on_host')
def bind_ports_to_source(ctx: Any, state: EvacuateState,
                         failure: Any) -> None:
    moves.bind_ports(ctx, state, state.migration['source_compute'])


@FLOW.stage
def prep_block_device(ctx: Any, state: EvacuateState) -> None:
    """Connect the instance's volumes to this host; describe its disks."""
    bdms = state.compute.db.block_device_mapping_get_all_by_instance(
        ctx, state.instance['uuid'])
    connections = {
        bdm['volume_id']: state.compute.volume.initialize_connection(
            ctx, bdm['volume_id'], _connector(state))
        for bdm in shared.volume_bdms(bdms)}
    state.block_device_info = shared.block_device_info(bdms, connections)


@FLOW.revert('prep_block_device')
def terminate_connections(ctx: Any, state: EvacuateState,
                          failure: Any) -> None:
    bdms = state.compute.db.block_device_mapping_get_all_by_instance(
        ctx, state.instance['uuid'])
    for bdm in shared.volume_bdms(bdms):
        state.compute.volume.terminate_connection(ctx, bdm['volume_id'],
                                                  _connector(state))


def _connector(state: EvacuateState) -> dict[str, Any]:
    return {'host': state.compute.host}


def _here(state: EvacuateState) -> dict[str, Any]:
    """The instance as the driver sees it here: on this host and node
    (the record says so only from ``update_evacuated``)."""
    return dict(state.instance, host=state.compute.host,
                node=state.migration['dest_node'])


@FLOW.stage
def driver_spawn(ctx: Any, state: EvacuateState) -> None:
    """Create the guest from the instance's image, or from its existing
    disks on shared storage, without the admin password then (powered
    off if it is to end STOPPED)."""
    state.compute.driver.spawn(
        ctx, _here(state), state.image_meta, [],
        None if state.on_shared_storage else state.admin_password,
        None, network_info=state.network_info,
        block_device_info=state.block_device_info,
        power_on=state.target_state != vm_states.STOPPED)


@FLOW.revert('driver_spawn')
def destroy_guest(ctx: Any, state: EvacuateState, failure: Any) -> None:
    # On shared storage the disks were there before: they stay.
    state.compute.driver.destroy(ctx, _here(state), state.network_info,
                                 block_device_info=state.block_device_info,
                                 destroy_disks=not state.on_shared_storage)


@FLOW.stage(transactional=True)
def update_evacuated(ctx: Any, state: EvacuateState) -> None:
    """On this host and node, ACTIVE and running (STOPPED, powered
    off, if so asked), task cleared, launched now; the migration is
    'done'."""
    on = state.target_state != vm_states.STOPPED
    base.instance_update(
        ctx, state, expected_task_state=task_states.REBUILD_SPAWNING,
        host=state.compute.host, node=state.migration['dest_node'],
        vm_state=vm_states.ACTIVE if on else vm_states.STOPPED,
        power_state=power_state.RUNNING if on else power_state.SHUTDOWN,
        task_state=None, launched_at=timeutils.utcnow())
    moves.set_migration(ctx, state, 'done')
