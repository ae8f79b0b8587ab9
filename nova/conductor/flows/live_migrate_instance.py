"""conductor.live_migrate_instance: live-migrate an instance - the
orchestration of the move of its running guest from its source host to
a destination.

Every stage past the choice of the destination is one RPC call to one
host, which runs its part as a recorded flow of its own
(``nova/compute/flows``)::

    select_destination    scheduler (never the source); an admin's host
                          is a filtered candidate, or taken as it is
                          with force (a host before 2.30)
    create_migration      the migration record, 'live-migration',
                          'accepted'
    check_can_live_migrate  destination, then the source from there:
                          the drivers' checks (a plain call, no flow:
                          it changes nothing); decides an 'auto' block
                          migration
    pre_live_migration    destination: claim, prepare ('preparing')
    live_migration        source: the driver moves the guest
                          ('running'; force-complete and abort act here)
                          - the point of no return
    update_instance_host  the guest runs on the destination: the
                          instance's host and node say so
    post_live_migration   source: clean up after the guest
    post_live_migration_at_destination
                          destination: take the instance, release the
                          source's share; 'completed', task cleared
    finish_migration      whatever a host's part past the point of no
                          return left undone of those records, and the
                          instance's ports bound to its host

The instance's task is MIGRATING from the API's request to the end; its
vm_state (ACTIVE or PAUSED) never changes.

Failure before the point of no return: the completed stages are
reverted newest first, each on the host that did it - the source's
``compute.live_migration`` reverts itself (the driver leaves the guest
running there) and the destination undoes its preparation and drops its
claim (``compute.rollback_live_migration_at_destination``).  Then the
fault is recorded, the migration is 'cancelled' (an abort) or 'error',
and the task is cleared: the instance runs on its source as before.  A
destination that stops answering its rollback (it died in it, and
resumes it when it restarts, or before it took the call) is asked
again, the call waiting in its queue until it is back.  If a revert
failed (a host that does not answer, or not back within ``[DEFAULT]
long_rpc_timeout``), the instance goes to ERROR and the migration to
'failed'.

Point of no return: ``live_migration``, once the guest has left its
source.  After it a failing stage is recorded and the move still
finishes: ``finish_migration`` completes the records.  The guest can
leave although the call did not return - the source died, or its answer
(or its own record of it) was lost - so when the call fails, and when
a crash cut this flow short there, the source is asked whether it still
has the guest (``check_instance_exists``, answered once its own part is
over; the question waits in its queue while it is down): if not, the
stage counts as done and the move is finished, never undone - undoing
it would destroy the only guest.  One failure past it is not only
recorded: when the destination did not take the instance
(``post_live_migration_at_destination`` failed, or did not run) and has
no guest of it (``finish_migration`` asks, with
``check_instance_exists``), the instance is ERROR on the destination
with the fault, as upstream's destination leaves it; a hard reboot
there brings the guest back.  Either way ``finish_migration`` binds its
ports to the destination (``setup_networks_on_host``): the destination's
part may have failed before it did.

Interrupted (nova-conductor died): before the point of no return, the
same reverts at restart; after it, resumed.  A host that died inside its
stage reverts (or, past its own point of no return, finishes) its part
when it restarts; the call here fails when its heartbeats stop
(``[DEFAULT] rpc_response_timeout``).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import oslo_messaging as messaging
from oslo_log import log as logging

from nova import exception
from nova.compute import task_states, vm_states
from nova.conductor.flows import base
from nova.flow import REVERT, Flow, contract

LOG = logging.getLogger(__name__)


@dataclasses.dataclass
class LiveMigrateState:
    """Contract 1.0 of conductor.live_migrate_instance."""

    #: The conductor services the stages call (DB, scheduler, compute RPC API).
    conductor: base.ConductorServices = dataclasses.field(
        metadata=contract.READ_ONLY)
    #: The instance (its database row as a dict).
    instance: dict[str, Any] = dataclasses.field(metadata=contract.READ_ONLY)
    #: An admin's requested destination host.
    requested_host: str | None = None
    #: Take ``requested_host`` without the scheduler (before 2.30).
    force: bool = False
    #: True, False, or None for the API's 'auto' (the drivers decide).
    block_migration: bool | None = None
    #: Allow disk over-commit on the destination (before 2.25).
    disk_over_commit: bool = False
    #: Filled in by select_destination.
    dest_host: str | None = None
    #: The compute node chosen on dest_host, filled in by select_destination.
    dest_node: str | None = None
    #: Filled in by create_migration.
    migration: dict[str, Any] = dataclasses.field(default_factory=dict)
    #: What the drivers' checks and pre_live_migration said (in memory).
    migrate_data: dict[str, Any] = dataclasses.field(default_factory=dict)
    #: Set when a revert failed: the instance cannot be put back.
    revert_failed: bool = False
    #: Set once the destination took the instance
    #: (post_live_migration_at_destination answered).
    taken: bool = False
    #: Why the destination could not take it, when it said so.
    take_error: str | None = None


def _subject(state: LiveMigrateState) -> str:
    return state.instance['uuid']


def _load_state(ctx: Any, run: Any,
                services: base.ConductorServices) -> LiveMigrateState:
    """The instance and its newest migration, from the database."""
    instance = services.db.instance_get_by_uuid(ctx, run.subject)
    migration = base.newest_migration(ctx, services, run.subject)
    return LiveMigrateState(
        conductor=services, instance=instance,
        dest_host=migration.get('dest_compute'),
        dest_node=migration.get('dest_node'), migration=migration)


FLOW = Flow('conductor.live_migrate_instance', '2.3', LiveMigrateState,
            on_interrupt=REVERT, subject=_subject, load_state=_load_state,
            point_of_no_return='live_migration',
            changes={'2.0': 'The point of no return is live_migration (the '
                             'guest left its source, checked when the stage '
                             'raised or was cut short), no longer '
                             'update_instance_host: a failure or crash '
                             'after the guest left finishes the move.',
                     '2.1': 'New fields taken and take_error. When the '
                            'destination did not take the instance '
                            '(post_live_migration_at_destination failed or '
                            'did not run) and has no guest of it, '
                            'finish_migration leaves the instance ERROR '
                            'there with the fault, no longer ACTIVE without '
                            'a guest.',
                     '2.2': "finish_migration binds the instance's ports "
                            'to its host (the destination), which the '
                            "destination's part may not have done.",
                     '2.3': 'A destination that stops answering its '
                            'rollback (pre_live_migration\'s revert) is '
                            'asked again, waiting until it is back: the '
                            'instance ends ACTIVE on its source, no longer '
                            'ERROR, when the destination that died in its '
                            'rollback restarts.'},
            doc='Live-migrate an instance to another host.')
FLOW.stages(
    'select_destination',
    'create_migration',
    'check_can_live_migrate',
    'pre_live_migration',
    'live_migration',
    'update_instance_host',
    'post_live_migration',
    'post_live_migration_at_destination',
    'finish_migration',
)
FLOW.on_failure(base.record_fault, 'restore_instance')


@FLOW.stage
def select_destination(ctx: Any, state: LiveMigrateState) -> None:
    """The scheduler's host (or the admin's, forced) - never the source."""
    instance = state.instance
    if state.requested_host and state.force:
        nodes = state.conductor.db.compute_node_get_all_by_host(
            ctx, state.requested_host)
        if not nodes:
            raise exception.ComputeHostNotFound(host=state.requested_host)
        state.dest_host, state.dest_node = (state.requested_host,
                                            nodes[0]['hypervisor_hostname'])
        return
    spec: dict[str, Any] = {
        'flavor': instance['flavor'], 'num_instances': 1,
        'instance_uuids': [instance['uuid']],
        'availability_zone': instance.get('availability_zone'),
        'requested_destination': state.requested_host,
        'ignore_hosts': [instance['host']]}
    host = state.conductor.scheduler.select_destinations(ctx, spec, 1)[0]
    state.dest_host, state.dest_node = host.host, host.node


@FLOW.stage(transactional=True)
def create_migration(ctx: Any, state: LiveMigrateState) -> None:
    """The migration record, 'accepted'."""
    base.create_migration(ctx, state, 'live-migration', 'accepted')


@FLOW.stage
def check_can_live_migrate(ctx: Any, state: LiveMigrateState) -> None:
    """Destination, then source: can the guest go?  Decides 'auto'."""
    state.migrate_data = dict(
        state.conductor.compute_rpcapi.check_can_live_migrate_destination(
            ctx, state.instance, state.migration, state.block_migration,
            state.disk_over_commit))
    state.block_migration = bool(state.migrate_data.get('block_migration'))


@FLOW.stage
def pre_live_migration(ctx: Any, state: LiveMigrateState) -> None:
    """Destination: claim, prepare (compute.pre_live_migration)."""
    state.migrate_data = dict(
        state.conductor.compute_rpcapi.pre_live_migration(
            ctx, state.instance, state.migration,
            bool(state.block_migration), state.migrate_data))


@FLOW.revert('pre_live_migration')
def rollback_at_destination(ctx: Any, state: LiveMigrateState,
                            failure: Any) -> None:
    rpcapi = state.conductor.compute_rpcapi
    try:
        try:
            rpcapi.rollback_live_migration_at_destination(
                ctx, state.instance, state.migration, state.migrate_data)
        except messaging.MessagingTimeout:
            # The destination stopped answering: it died in its rollback
            # (which it resumes when it restarts) or before it took the
            # call.  Ask again, the call waiting in its queue until it is
            # back; its rollback can run again.
            LOG.warning('%s: %s did not answer its rollback; asking again '
                        'once it is back', _subject(state),
                        state.migration['dest_compute'])
            rpcapi.rollback_live_migration_at_destination(
                ctx, state.instance, state.migration, state.migrate_data,
                wait_for_host=True)
    except Exception:
        state.revert_failed = True
        LOG.error('Could not roll back the live migration of %s on %s',
                  state.instance['uuid'], state.migration['dest_compute'])
        raise


@FLOW.stage
def live_migration(ctx: Any, state: LiveMigrateState) -> None:
    """Source: the driver moves the guest (compute.live_migration)."""
    state.conductor.compute_rpcapi.live_migration(
        ctx, state.instance, state.migration, bool(state.block_migration),
        state.migrate_data)


@FLOW.verify('live_migration')
def guest_left_source(ctx: Any, state: LiveMigrateState) -> bool:
    """Has the source no guest of the instance any more?"""
    if not state.migration:
        return False  # interrupted before there was a move
    return not state.conductor.compute_rpcapi.check_instance_exists(
        ctx, state.instance, state.migration['source_compute'])


@FLOW.stage(transactional=True)
def update_instance_host(ctx: Any, state: LiveMigrateState) -> None:
    """The instance is on the destination's host and node."""
    values = {'host': state.migration['dest_compute'],
              'node': state.migration['dest_node']}
    state.conductor.db.instance_update(ctx, state.instance['uuid'], values)
    state.instance.update(values)


@FLOW.stage
def post_live_migration(ctx: Any, state: LiveMigrateState) -> None:
    """Source: clean up (compute.post_live_migration_at_source)."""
    state.conductor.compute_rpcapi.post_live_migration_at_source(
        ctx, state.instance, state.migration, state.migrate_data)


@FLOW.stage
def post_live_migration_at_destination(ctx: Any,
                                       state: LiveMigrateState) -> None:
    """Destination: take the instance
    (compute.post_live_migration_at_destination)."""
    try:
        state.conductor.compute_rpcapi.post_live_migration_at_destination(
            ctx, state.instance, state.migration,
            bool(state.block_migration))
    except Exception as exc:
        state.take_error = str(exc)
        raise
    state.taken = True


@FLOW.stage(idempotent=True)
def finish_migration(ctx: Any, state: LiveMigrateState) -> None:
    """The source's share released, the migration 'completed', the
    ports bound to the instance's host and the task cleared, if a
    host's part left them; ERROR (with the fault) if the destination did
    not take the instance and has no guest of it."""
    db = state.conductor.db
    db.allocation_release(ctx, state.migration['uuid'])
    # The guest is on the destination (its host since
    # update_instance_host): so are its ports.
    state.conductor.network.setup_networks_on_host(
        ctx, state.instance['uuid'], state.migration['dest_compute'])
    db.migration_update(ctx, state.migration['uuid'],
                        {'status': 'completed'})
    if not state.taken and not _destination_has_guest(ctx, state):
        # As upstream's destination does when it cannot take the guest:
        # ERROR there; a hard reboot brings the guest back.
        dest = state.migration['dest_compute']
        LOG.error('%s: the destination %s did not take the instance and '
                  'has no guest of it: ERROR', _subject(state), dest)
        why = state.take_error or 'its part failed or was not called'
        db.instance_fault_create(
            ctx, state.instance['uuid'], exception.MigrationError(
                reason=f'{dest} did not take the live-migrated instance: '
                       f'{why}'), state.conductor.host)
        db.instance_update(ctx, state.instance['uuid'],
                           {'vm_state': vm_states.ERROR})
    db.instance_update(ctx, state.instance['uuid'], {'task_state': None},
                       expected_task_state=(task_states.MIGRATING, None))


def _destination_has_guest(ctx: Any, state: LiveMigrateState) -> bool:
    try:
        return state.conductor.compute_rpcapi.check_instance_exists(
            ctx, state.instance, state.migration['dest_compute'])
    except Exception:
        LOG.exception('%s: could not ask %s for its guest',
                      _subject(state), state.migration['dest_compute'])
        return False


@FLOW.failure_handler
def restore_instance(ctx: Any, state: LiveMigrateState,
                     failure: Any) -> None:
    """The migration is 'cancelled', 'error' or (a revert failed)
    'failed'; the instance runs on its source with its task cleared - or
    is ERROR if a revert failed."""
    db = state.conductor.db
    if state.migration:
        current = db.migration_get_by_uuid(ctx, state.migration['uuid'])
        if state.revert_failed:
            status = 'failed'
        elif current['status'] == 'cancelled' or isinstance(
                failure.exc, exception.LiveMigrationAborted):
            status = 'cancelled'
        else:
            status = 'error'
        db.migration_update(ctx, state.migration['uuid'], {'status': status})
    values: dict[str, Any] = {'task_state': None}
    if state.revert_failed:
        values['vm_state'] = vm_states.ERROR
    try:
        db.instance_update(ctx, state.instance['uuid'], values,
                           expected_task_state=(task_states.MIGRATING, None))
    except exception.UnexpectedTaskStateError as error:
        # A delete took over meanwhile: it finishes the instance.
        LOG.info('Not restoring %s after its failed live migration: %s',
                 state.instance['uuid'], error)
