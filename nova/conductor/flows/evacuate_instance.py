"""conductor.evacuate_instance: re-create an instance whose compute host
is down on another host - the orchestration of an evacuation (the API
checked that the source's nova-compute is down and took the instance,
task_state ``rebuilding``).

The source takes no part: it is down.  Past the scheduling, the one
stage that does the work is an RPC call to the destination, which runs
it as a recorded flow of its own (``compute.evacuate_instance``)::

    select_destination      scheduler: a host for the flavor, never the
                            source; an admin's requested host is checked
                            by the scheduler, or taken as it is when
                            forced (2.29 - 2.67), as upstream
    create_migration        the migration record, type 'evacuation',
                            'accepted'
    rebuild_on_destination  destination: claim, volumes, spawn from the
                            image; the instance is there, ACTIVE (or
                            STOPPED), the migration 'done'

The source cleans up when its nova-compute comes back
(``compute.destroy_evacuated_instance``, run at its start): it destroys
the guest it still has, gives back the source's share of the
allocation (held by the migration since the destination's claim) and
sets the migration 'completed'.

Failure: the destination's flow has reverted its own part (its guest
destroyed, its claim released and the source's share handed back to
the instance); this flow's revert makes sure of the claim (a database
change it makes itself, so it also works while the destination is
unreachable).  Then the fault is recorded, the migration set to
'failed' and the instance to ERROR with its task cleared: it cannot go
back to its source, which is down; its record still names the source,
so the admin can evacuate it again, or rebuild or delete it.  When no
host was found (NoValidHost) the instance keeps its vm_state, as
upstream.  If the destination's flow had finished (only its answer was
lost: the migration is 'done'), nothing is undone.

Interrupted (nova-conductor died): reverted at restart, as a failure.
A destination that died inside its stage reverts its own part when it
restarts; this flow's call fails when its heartbeats stop (``[DEFAULT]
rpc_response_timeout``), and the evacuation fails as above.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from oslo_log import log as logging
from oslo_utils import timeutils

from nova import exception
from nova.compute import task_states, vm_states
from nova.conductor.flows import base
from nova.flow import REVERT, Flow, contract

LOG = logging.getLogger(__name__)

#: The statuses of an evacuation the destination has not finished.
_UNFINISHED = ('accepted', 'pre-migrating')


@dataclasses.dataclass
class EvacuateState:
    """Contract 1.0 of conductor.evacuate_instance."""

    #: The conductor services the stages call (DB, scheduler, compute RPC API).
    conductor: base.ConductorServices = dataclasses.field(
        metadata=contract.READ_ONLY)
    #: The instance (its database row as a dict).
    instance: dict[str, Any] = dataclasses.field(metadata=contract.READ_ONLY)
    #: An admin's requested destination host.
    requested_host: str | None = None
    #: Take ``requested_host`` without the scheduler's filters (2.29 -
    #: 2.67 ``force``).
    force: bool = False
    #: The admin password to set in the rebuilt guest (never logged).
    admin_password: str | None = dataclasses.field(default=None,
                                                   repr=False)
    #: ``onSharedStorage`` (before 2.14); None: the driver finds out.
    on_shared_storage: bool | None = None
    #: ACTIVE or STOPPED: the vm_state the instance ends in.
    target_state: str = vm_states.ACTIVE
    #: Filled in by select_destination.
    dest_host: str | None = None
    #: The compute node chosen on dest_host, filled in by select_destination.
    dest_node: str | None = None
    #: Filled in by create_migration.
    migration: dict[str, Any] = dataclasses.field(default_factory=dict)


def _subject(state: EvacuateState) -> str:
    return state.instance['uuid']


def _load_state(ctx: Any, run: Any,
                services: base.ConductorServices) -> EvacuateState:
    """The instance and its newest evacuation, from the database."""
    instance = services.db.instance_get_by_uuid(ctx, run.subject)
    migrations = services.db.migration_get_all_by_filters(
        ctx, {'instance_uuid': run.subject,
              'migration_type': 'evacuation'}, limit=1)
    migration = migrations[0] if migrations else {}
    if migration.get('status') not in _UNFINISHED and \
            instance.get('task_state') is not None:
        # An earlier evacuation's: this run wrote none (a finished one
        # of this run's would have cleared the task).
        migration = {}
    return EvacuateState(
        conductor=services, instance=instance,
        dest_host=migration.get('dest_compute'),
        dest_node=migration.get('dest_node'), migration=migration)


FLOW = Flow('conductor.evacuate_instance', '1.0', EvacuateState,
            on_interrupt=REVERT, subject=_subject, load_state=_load_state,
            doc='Re-create an instance whose host is down on another host.')
FLOW.stages(
    'select_destination',
    'create_migration',
    'rebuild_on_destination',
)
FLOW.on_failure('set_error')


@FLOW.stage
def select_destination(ctx: Any, state: EvacuateState) -> None:
    """Ask the scheduler for a host with room for the flavor, never the
    source (a forced host is only checked to be a compute host)."""
    instance = state.instance
    scheduler = state.conductor.scheduler
    source = instance['host']
    if state.requested_host == source:
        raise exception.NoValidHost(
            reason=f'Compute host {source} is the one the instance is on.')
    if state.force and state.requested_host:
        hosts = [h for h in scheduler.host_states(ctx)
                 if h.host == state.requested_host]
        if not hosts:
            raise exception.NoValidHost(
                reason=f'Compute host {state.requested_host} is not known.')
        host = hosts[0]
    else:
        host = scheduler.select_destinations(ctx, {
            'flavor': instance['flavor'], 'num_instances': 1,
            'instance_uuids': [instance['uuid']],
            'availability_zone': instance.get('availability_zone'),
            'ignore_hosts': [source],
            'requested_destination': state.requested_host}, 1)[0]
    state.dest_host, state.dest_node = host.host, host.node


@FLOW.stage(transactional=True)
def create_migration(ctx: Any, state: EvacuateState) -> None:
    """The migration record: an evacuation, 'accepted'."""
    base.create_migration(ctx, state, 'evacuation', 'accepted')


@FLOW.stage
def rebuild_on_destination(ctx: Any, state: EvacuateState) -> None:
    """Destination: claim, spawn from the image, take the instance
    (compute.evacuate_instance)."""
    state.conductor.compute_rpcapi.evacuate_instance(
        ctx, state.instance, state.migration,
        admin_password=state.admin_password,
        on_shared_storage=state.on_shared_storage,
        target_state=state.target_state)


@FLOW.revert('rebuild_on_destination')
def drop_move_claim(ctx: Any, state: EvacuateState, failure: Any) -> None:
    # A database change: done here, so it works whatever the
    # destination's state (compute.evacuate_instance's own revert is the
    # same idempotent call) - unless the destination finished and only
    # its answer was lost.
    db = state.conductor.db
    if not state.migration or db.migration_get_by_uuid(
            ctx, state.migration['uuid'])['status'] not in _UNFINISHED:
        return
    db.allocation_move_revert(ctx, state.instance['uuid'],
                              state.migration['uuid'])


@FLOW.failure_handler
def set_error(ctx: Any, state: EvacuateState, failure: Any) -> None:
    """The migration is 'failed'; the fault is recorded and the instance
    is ERROR (its vm_state kept when no host was found), task cleared -
    unless the destination finished the evacuation after all."""
    db = state.conductor.db
    uuid = state.instance['uuid']
    if state.migration:
        try:
            db.migration_update(ctx, state.migration['uuid'],
                                {'status': 'failed'},
                                expected_status=_UNFINISHED)
        except exception.UnexpectedMigrationStatusError as error:
            LOG.warning('Evacuation of %s: the destination finished it '
                        'although its call failed (%s); nothing undone',
                        uuid, error)
            return
    base.record_fault(ctx, state, failure)
    values: dict[str, Any] = {'task_state': None,
                              'updated_at': timeutils.utcnow()}
    if not isinstance(failure.exc, exception.NoValidHost):
        values['vm_state'] = vm_states.ERROR
    try:
        db.instance_update(ctx, uuid, values,
                           expected_task_state=_EVACUATE_TASK_STATES)
    except (exception.UnexpectedTaskStateError,
            exception.InstanceNotFound) as error:
        # A delete took over meanwhile: it finishes the instance.
        LOG.info('Not setting %s to ERROR after its failed evacuation: '
                 '%s', uuid, error)
        return
    state.instance.update(values)


_EVACUATE_TASK_STATES = (task_states.REBUILDING,
                         task_states.REBUILD_BLOCK_DEVICE_MAPPING,
                         task_states.REBUILD_SPAWNING, None)
