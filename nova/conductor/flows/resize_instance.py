"""conductor.resize_instance: resize or cold-migrate an instance - the
orchestration of the move between its source and destination hosts.

Every stage past the scheduling is one RPC call to one host, which runs
its part as a recorded flow of its own (``nova/compute/flows``)::

    select_destination   scheduler: a host for the new flavor (not the
                         source, unless [DEFAULT] allow_resize_to_same_host)
    create_migration     the migration record, 'pre-migrating'
    prep_resize          destination: claim (the source's claim passes to
                         the migration in the same transaction)
    resize_instance      source: power off, hand over the disks
    finish_resize        destination: take the instance, start the guest;
                         VERIFY_RESIZE, the migration 'finished'

The user then confirms (conductor.confirm_resize) or reverts
(conductor.revert_resize); ``[DEFAULT] resize_confirm_window`` confirms
on its own.  A cold migration is a resize to the same flavor
(migration_type 'migration').

Failure: the completed stages are reverted newest first, each on the
host that did it: the destination destroys its guest
(``compute.revert_resize``), the source takes the instance back with its
old flavor and starts the original guest
(``compute.finish_revert_resize``), and the claim goes back (a database
change, which this conductor makes itself, so it also works while the
destination is unreachable).  Then the fault is recorded, the migration
set to 'error' and the instance's task cleared: it is back as it was on
its source.  If a revert failed (a host that does not answer), the
instance goes to ERROR with the fault naming it instead.

Interrupted (nova-conductor died): the same reverts at restart.  A host
that died inside its stage reverts its own part when it restarts; its
stage here fails when its heartbeats stop (``[DEFAULT]
rpc_response_timeout``), and the move is reverted as above.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from oslo_log import log as logging

import nova.conf
from nova import exception
from nova.compute import task_states, vm_states
from nova.conductor.flows import base
from nova.flow import REVERT, Flow, contract

LOG = logging.getLogger(__name__)
CONF = nova.conf.CONF


@dataclasses.dataclass
class ResizeState:
    """Contract 1.0 of conductor.resize_instance."""

    #: The conductor services the stages call (DB, scheduler, compute RPC API).
    conductor: base.ConductorServices = dataclasses.field(
        metadata=contract.READ_ONLY)
    #: The instance (its database row as a dict); reread after the source's
    #: revert.
    instance: dict[str, Any]
    #: The flavor to move to (the current one for a cold migration).
    flavor: dict[str, Any]
    #: 'resize' or 'migration'.
    migration_type: str = 'resize'
    #: An admin's requested destination host (migrate, 2.56).
    requested_host: str | None = None
    #: Filled in by select_destination.
    dest_host: str | None = None
    #: The compute node chosen on dest_host, filled in by select_destination.
    dest_node: str | None = None
    #: Filled in by create_migration.
    migration: dict[str, Any] = dataclasses.field(default_factory=dict)
    #: What the source's driver said the destination needs.
    disk_info: str = ''
    #: Set when the source's revert failed: the instance is not back.
    revert_failed: bool = False


def _subject(state: ResizeState) -> str:
    return state.instance['uuid']


def _load_state(ctx: Any, run: Any,
                services: base.ConductorServices) -> ResizeState:
    """The instance and the newest migration of it, from the database."""
    instance = services.db.instance_get_by_uuid(ctx, run.subject)
    migration = base.newest_migration(ctx, services, run.subject)
    return ResizeState(
        conductor=services, instance=instance,
        flavor=migration.get('new_flavor') or instance['flavor'],
        migration_type=migration.get('migration_type') or 'resize',
        dest_host=migration.get('dest_compute'),
        dest_node=migration.get('dest_node'), migration=migration)


FLOW = Flow('conductor.resize_instance', '1.0', ResizeState,
            on_interrupt=REVERT, subject=_subject, load_state=_load_state,
            doc='Resize or cold-migrate an instance to another host.')
FLOW.stages(
    'select_destination',
    'create_migration',
    'prep_resize',
    'resize_instance',
    'finish_resize',
)
FLOW.on_failure(base.record_fault, 'restore_instance')


@FLOW.stage
def select_destination(ctx: Any, state: ResizeState) -> None:
    """Ask the scheduler for a host with room for the flavor."""
    instance = state.instance
    spec: dict[str, Any] = {
        'flavor': state.flavor, 'num_instances': 1,
        'instance_uuids': [instance['uuid']],
        'availability_zone': instance.get('availability_zone'),
        'requested_destination': state.requested_host}
    if not CONF.allow_resize_to_same_host:
        spec['ignore_hosts'] = [instance['host']]
    host = state.conductor.scheduler.select_destinations(ctx, spec, 1)[0]
    state.dest_host, state.dest_node = host.host, host.node


@FLOW.stage(transactional=True)
def create_migration(ctx: Any, state: ResizeState) -> None:
    """The migration record, 'pre-migrating'."""
    base.create_migration(ctx, state, state.migration_type,
                          'pre-migrating', new_flavor=state.flavor)


@FLOW.stage
def prep_resize(ctx: Any, state: ResizeState) -> None:
    """Destination: claim the flavor (compute.prep_resize)."""
    state.conductor.compute_rpcapi.prep_resize(
        ctx, state.instance, state.migration, state.flavor,
        state.migration['dest_compute'])


@FLOW.revert('prep_resize')
def drop_move_claim(ctx: Any, state: ResizeState, failure: Any) -> None:
    # A database change: done here, so it works whatever the
    # destination's state (compute.prep_resize's own revert is the same
    # idempotent call).
    state.conductor.db.allocation_move_revert(
        ctx, state.instance['uuid'], state.migration['uuid'])


@FLOW.stage
def resize_instance(ctx: Any, state: ResizeState) -> None:
    """Source: power off, hand over the disks (compute.resize_instance)."""
    state.disk_info = state.conductor.compute_rpcapi.resize_instance(
        ctx, state.instance, state.migration, state.flavor)


@FLOW.revert('resize_instance')
def finish_revert_on_source(ctx: Any, state: ResizeState,
                            failure: Any) -> None:
    _revert_on_host(state, state.migration['source_compute'],
                    state.conductor.compute_rpcapi.finish_revert_resize,
                    ctx)


@FLOW.stage
def finish_resize(ctx: Any, state: ResizeState) -> None:
    """Destination: take the instance, start the guest
    (compute.finish_resize)."""
    state.conductor.compute_rpcapi.finish_resize(
        ctx, state.instance, state.migration, state.disk_info)


@FLOW.revert('finish_resize')
def revert_on_destination(ctx: Any, state: ResizeState,
                          failure: Any) -> None:
    _revert_on_host(state, state.migration['dest_compute'],
                    state.conductor.compute_rpcapi.revert_resize, ctx)


def _revert_on_host(state: ResizeState, host: str, call: Any,
                    ctx: Any) -> None:
    try:
        call(ctx, _current(ctx, state), state.migration)
    except Exception:
        # The call stays queued for the host (durable queues) until
        # [DEFAULT] long_rpc_timeout: a host that comes back in time
        # still does it, after reverting its own interrupted part.
        LOG.error('Could not revert the move of %s on %s; the host does '
                  'it when it is back', state.instance['uuid'], host)
        if host == state.migration['source_compute']:
            # The instance is not back on its source: ERROR until then.
            state.revert_failed = True
        raise


def _current(ctx: Any, state: ResizeState) -> dict[str, Any]:
    """The instance as it is now (a host's flow changed it)."""
    state.instance = state.conductor.db.instance_get_by_uuid(
        ctx, state.instance['uuid'])
    return state.instance


@FLOW.failure_handler
def restore_instance(ctx: Any, state: ResizeState, failure: Any) -> None:
    """The migration is 'error'; the instance is back as it was on its
    source with its task cleared - or ERROR if a revert failed."""
    db = state.conductor.db
    if state.migration:
        db.migration_update(ctx, state.migration['uuid'],
                            {'status': 'error'})
    values: dict[str, Any] = {'task_state': None}
    if state.revert_failed:
        values['vm_state'] = vm_states.ERROR
    try:
        db.instance_update(ctx, state.instance['uuid'], values,
                           expected_task_state=_MOVE_TASK_STATES)
    except exception.UnexpectedTaskStateError as error:
        # A delete took over meanwhile: it finishes the instance.
        LOG.info('Not restoring %s after its failed move: %s',
                 state.instance['uuid'], error)


_MOVE_TASK_STATES = (task_states.RESIZE_PREP, task_states.RESIZE_MIGRATING,
                     task_states.RESIZE_MIGRATED, task_states.RESIZE_FINISH,
                     task_states.RESIZE_REVERTING, None)
