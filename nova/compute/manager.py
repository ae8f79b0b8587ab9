"""nova-compute's RPC endpoint: each method builds a state and runs a flow.

Everything an operation does lives in its flow module under
``nova/compute/flows``; this class only owns the host's services, the
per-instance serialisation and crash recovery at start.  Most methods are
casts (``_run``: the flow's failure handlers record what went wrong);
``reserve_block_device_name``, ``attach_interface`` and
``trigger_crash_dump`` are calls whose result is in the API's response
(``_call``: the error goes back to the caller), and
``get_console_output`` is a call that runs no flow (a read).
``external_instance_event`` runs no flow either: each event reports
something another service already did, and its handling is one read or
one state update to bring this host in line.
"""

from __future__ import annotations

import contextlib
import datetime
from typing import Any

import oslo_messaging as messaging
from oslo_log import log as logging
from oslo_utils import timeutils, units

import nova.conf
from nova import concurrency, exception
from nova import context as nova_context
from nova.compute import power_state, resource_tracker, task_states, vm_states
from nova.compute.flows import base, moves
from nova.compute.flows import destroy_evacuated_instance as evacuated
from nova.compute.flows.attach_interface import AttachInterfaceState
from nova.compute.flows.attach_volume import AttachVolumeState
from nova.compute.flows.build_instance import BuildState
from nova.compute.flows.detach_interface import DetachInterfaceState
from nova.compute.flows.detach_volume import DetachVolumeState
from nova.compute.flows.evacuate_instance import EvacuateState
from nova.compute.flows.moves import MoveState
from nova.compute.flows.reboot_instance import RebootState
from nova.compute.flows.rebuild_instance import RebuildState
from nova.compute.flows.rescue_instance import RescueState
from nova.compute.flows.reserve_block_device_name import ReserveDeviceState
from nova.compute.flows.shelve_instance import ShelveState
from nova.compute.flows.shelve_offload_instance import ShelveOffloadState
from nova.compute.flows.snapshot_instance import SnapshotState
from nova.compute.flows.terminate_instance import TerminateState
from nova.compute.flows.unconfigure_instance import UnconfigureState
from nova.compute.flows.unshelve_instance import UnshelveState
from nova.console import auth_tokens
from nova.flow import FlowEngine, recovery

LOG = logging.getLogger(__name__)
CONF = nova.conf.CONF

#: power-update event tag: (the vm_state it applies to, the new vm_state).
_POWER_UPDATE_STATES = {
    power_state.POWER_ON: (vm_states.STOPPED, vm_states.ACTIVE),
    power_state.POWER_OFF: (vm_states.ACTIVE, vm_states.STOPPED),
}


class ComputeManager:
    target = messaging.Target(version='1.12')

    def __init__(self, host: str, driver: Any, db: Any, network: Any,
                 volume: Any, image: Any, conductor: Any, notifier: Any,
                 recorder: Any, engine: FlowEngine | None = None) -> None:
        self.host = host
        self.db = db
        self.driver = driver
        self.recorder = recorder
        self.resource_tracker = resource_tracker.ResourceTracker(
            host, driver, db)
        self.services = base.ComputeServices(
            host=host, driver=driver, network=network, volume=volume,
            image=image, db=db, resource_tracker=self.resource_tracker,
            conductor=conductor, notifier=notifier)
        self.flows = engine or FlowEngine.from_conf(CONF, recorder=recorder,
                                                    host=host)
        self._locks = concurrency.KeyedLock()
        self._recovery: concurrency.Handle | None = None
        self._compute_rpcapi: Any = None

    @property
    def compute_rpcapi(self) -> Any:
        """For the casts some flows make to this host (offload after
        shelve); made on first use, once RPC is set up."""
        if self._compute_rpcapi is None:
            from nova.compute import rpcapi
            self._compute_rpcapi = rpcapi.ComputeAPI()
        return self._compute_rpcapi

    # -- service life cycle ---------------------------------------------

    def init_host(self) -> None:
        ctx = nova_context.get_admin_context()
        self.driver.init_host(self.host)
        self.resource_tracker.update_available_resource(ctx)
        self.destroy_evacuated_instances(ctx)
        if CONF.compute.recover_interrupted_flows:
            self._recovery = self.start_recovery(ctx)

    def wait_for_recovery(self, timeout: float | None = None) -> int:
        """Until the recovery init_host started has ended; how many runs
        it recovered (0 if none was started)."""
        if self._recovery is None:
            return 0
        return int(self._recovery.wait(timeout))

    def periodic_tasks(self) -> list[tuple[Any, float]]:
        """What the service runs every so often while it is up."""
        tasks: list[tuple[Any, float]] = [
            (self.clean_expired_console_tokens, 600.0)]
        interval = CONF.flow.abandoned_run_check_interval
        if interval and CONF.compute.recover_interrupted_flows:
            tasks.append((lambda: self.recover_abandoned_work(
                nova_context.get_admin_context()), float(interval)))
        configured = CONF.compute.configured_instance_timeout
        if configured:
            tasks.append((lambda: self.unconfigure_stale_instances(
                nova_context.get_admin_context()),
                max(1.0, min(60.0, configured / 2))))
        window = CONF.resize_confirm_window
        if window:
            tasks.append((lambda: self.poll_unconfirmed_resizes(
                nova_context.get_admin_context()), min(60.0, window / 2)))
        return tasks

    def poll_unconfirmed_resizes(self, ctx: Any) -> int:
        """Confirm the moves to this host whose user has not confirmed
        nor reverted them within ``[DEFAULT] resize_confirm_window``
        (upstream's ``_poll_unconfirmed_resizes``); how many."""
        from nova.compute import api as compute_api
        api = compute_api.API()
        confirmed = 0
        for migration in self.db.migration_get_unconfirmed_by_dest_compute(
                ctx, CONF.resize_confirm_window, self.host):
            try:
                instance = self.db.instance_get_by_uuid(
                    ctx, migration['instance_uuid'])
                confirm_ctx = nova_context.RequestContext(
                    user_id=instance.get('user_id'),
                    project_id=instance.get('project_id'), is_admin=True)
                api.confirm_resize(confirm_ctx, instance)
            except Exception as error:
                # Being deleted, reverted or confirmed by its user right
                # now: that request wins.
                LOG.info('Not confirming the resize of %s automatically: '
                         '%s', migration['instance_uuid'], error)
                continue
            LOG.info('Confirmed the resize of %s automatically after '
                     '%s seconds', migration['instance_uuid'],
                     CONF.resize_confirm_window)
            confirmed += 1
        return confirmed

    # -- evacuate: the returning source's cleanup --------------------------

    def destroy_evacuated_instances(self, ctx: Any) -> int:
        """Clean up after every evacuation away from this host whose
        instance is now on another host or deleted: close the runs a crash
        here left for it (the instance is another host's now; recovering
        them would act on it), then run compute.destroy_evacuated_instance
        for it (upstream's ``_destroy_evacuated_instances``).  How many
        were cleaned up; one that fails is logged and left for the next
        start."""
        migrations = self.db.migration_get_all_by_filters(ctx, {
            'source_compute': self.host, 'migration_type': 'evacuation',
            'status': list(evacuated.CLEANUP_STATUSES)})
        unfinished = [run for run in self.recorder.unfinished_runs(
            ctx, self.host) if run.flow.startswith('compute.')]
        done = 0
        seen = set()
        for migration in migrations:  # newest first
            uuid = migration['instance_uuid']
            if uuid in seen:
                continue
            seen.add(uuid)
            try:
                instance = evacuated.instance_or_deleted(self.services, ctx,
                                                         uuid)
            except exception.InstanceNotFound:
                # Purged: nothing names the guest's owner any more.
                instance = {'uuid': uuid, 'deleted': True}
            if instance.get('host') == self.host and \
                    not instance.get('deleted'):
                continue  # not evacuated (yet): still this host's
            for run in unfinished:
                if run.subject == uuid:
                    self.recorder.close_orphan(
                        ctx, run, f'Closed at start: {uuid} was evacuated '
                                  f'from {self.host}')
            LOG.info('Instance %s was evacuated from this host; destroying '
                     'what it left here', uuid)
            if self._run('compute.destroy_evacuated_instance', ctx,
                         evacuated.DestroyEvacuatedState(
                             compute=self.services, instance=instance,
                             migration=migration,
                             compute_rpcapi=self.compute_rpcapi)):
                done += 1
        return done

    def recover_interrupted_runs(self, ctx: Any) -> int:
        """Finish or revert every run a crash on this host left behind,
        then the move reverts it missed; how many runs it recovered."""
        return int(self.start_recovery(ctx).wait())

    def recover_abandoned_runs(self, ctx: Any) -> int:
        """Finish or revert the runs of this host that stopped while the
        service ran, without ending, because their record could not be
        written (nova.flow.recovery: abandoned runs), each under its
        instance's lock; how many.  Nothing while the recovery at start
        is still going on: it has those runs."""
        if self._recovery is not None and not self._recovery.done():
            return 0
        return len(recovery.recover_abandoned_runs(
            self.flows, self.recorder, ctx, self.services, host=self.host,
            namespace='compute', run_context=nova_context.for_run,
            gone=(exception.InstanceNotFound,), lock=self._locks))

    def recover_abandoned_work(self, ctx: Any) -> int:
        """:meth:`recover_abandoned_runs`, then
        :meth:`finish_lost_deletes`; how many runs and deletes."""
        return (self.recover_abandoned_runs(ctx) +
                self.finish_lost_deletes(ctx))

    def finish_lost_deletes(self, ctx: Any) -> int:
        """Finish the deletes this host was asked for and lost; how many.

        A delete whose cast came while the database could not be
        reached (past the retries) failed before its run was recorded,
        so no recovery knows of it: its instance stays in task_state
        ``deleting`` for good.  Upstream's nova-compute finishes such
        deletes when it starts (``_init_instance``); this one also does
        it while it runs, for the instances of this host left
        ``deleting`` for longer than ``[flow]
        abandoned_run_check_interval``, under the instance's lock (a
        delete going on here holds it: once it is taken, the instance
        is gone or the delete was lost).  A delete cast that comes later
        finds the instance deleted and does nothing.
        """
        if self._recovery is not None and not self._recovery.done():
            return 0
        cutoff = timeutils.utcnow() - datetime.timedelta(
            seconds=CONF.flow.abandoned_run_check_interval)
        done = 0
        for instance in self.db.instance_get_all_by_filters(
                ctx, {'host': self.host,
                      'task_state': task_states.DELETING}):
            changed = instance.get('updated_at') or instance['created_at']
            if changed > cutoff:
                continue
            with self._locks(instance['uuid']):
                if self._finish_requested_delete(ctx, instance['uuid'],
                                                 older_than=cutoff):
                    done += 1
        return done

    def start_recovery(self, ctx: Any) -> concurrency.Handle:
        """Recover in the background what a crash on this host left
        behind: every unfinished run (nova.flow.recovery), up to
        ``[compute] max_concurrent_recoveries`` instances at a time, then
        :meth:`finish_pending_move_reverts`.  The Handle's result: how
        many runs were recovered.

        The instances of those runs are locked here, before this returns
        and so before the service takes requests (nova.service starts
        its RPC server after init_host): a request for one of them waits
        until its own recovery has ended, while requests for every other
        instance are served at once.  The end is logged ("Crash recovery
        ended on HOST"), with what was recovered.
        """
        groups = recovery.interrupted_runs(self.recorder, ctx,
                                           host=self.host,
                                           namespace='compute')
        held = []
        for group in groups:
            lock = contextlib.ExitStack()
            lock.enter_context(self._locks(group[0].subject))
            held.append((group, lock))
        return concurrency.spawn(self._recover, ctx, held)

    def _recover(self, ctx: Any,
                 held: list[tuple[list[Any], contextlib.ExitStack]]) -> int:
        def recover(item: tuple[list[Any], contextlib.ExitStack]
                    ) -> list[Any]:
            group, lock = item
            uuid = group[0].subject
            with lock:
                runs = recovery.recover_runs(
                    self.flows, self.recorder, self.services, group,
                    run_context=nova_context.for_run,
                    gone=(exception.InstanceNotFound,))
                # A delete that arrived while an interrupted run held the
                # instance is not lost with the process: its task_state
                # says so.  Runs of other flows ended above without
                # rescheduling it; the delete is finished here, under the
                # delete's own request, before the lock lets the delete's
                # own cast (still queued) see the instance.
                if runs and uuid and not any(
                        run.flow == 'compute.terminate_instance'
                        for run in runs):
                    self._finish_requested_delete(ctx, uuid)
            return runs

        try:
            results = concurrency.map_bounded(
                recover, held, CONF.compute.max_concurrent_recoveries)
            recovered = sum(len(runs) for runs in results)
            reverts = self.finish_pending_move_reverts(ctx)
        except Exception:
            LOG.exception('Crash recovery ended on %s with an error; the '
                          'runs left unfinished are recovered at the next '
                          'start', self.host)
            raise
        LOG.info('Crash recovery ended on %s: %d interrupted runs of %d '
                 'instances recovered, %d missed move reverts done',
                 self.host, recovered, len(held), reverts)
        return recovered

    def finish_pending_move_reverts(self, ctx: Any) -> int:
        """Do this host's part of the moves whose revert it missed while
        it was down (the conductor's revert call waited in its queue
        until ``[DEFAULT] long_rpc_timeout`` and expired); how many.

        From what the hypervisor and the migration records say, with
        the same flows the conductor would have called, so each is a
        recorded run:

        * a guest here of an instance that is now on another host, whose
          latest move to this host failed or was reverted: this host was
          the destination - ``compute.revert_resize`` destroys it;
        * a guest here of an instance in ERROR whose latest move from
          this host failed: this host was the source and its revert
          never ran - ``compute.finish_revert_resize`` brings the
          instance back here.
        """
        done = 0
        for uuid in self.driver.list_instance_uuids():
            try:
                instance = self.db.instance_get_by_uuid(ctx, uuid)
            except exception.InstanceNotFound:
                continue
            migrations = self.db.migration_get_all_by_filters(
                ctx, {'instance_uuid': uuid,
                      'migration_type': ['resize', 'migration']}, limit=1)
            if not migrations:
                continue
            migration = migrations[0]
            status = migration['status']
            if (migration['dest_compute'] == self.host and
                    migration['source_compute'] != self.host and
                    instance.get('host') != self.host and
                    status in ('error', 'reverted')):
                flow = 'compute.revert_resize'
            elif (migration['source_compute'] == self.host and
                    instance.get('vm_state') == vm_states.ERROR and
                    status == 'error'):
                flow = 'compute.finish_revert_resize'
            else:
                continue
            LOG.warning('Finishing the revert of the move of %s (migration '
                        '%s, %s) that this host missed: %s', uuid,
                        migration['uuid'], status, flow)
            state = MoveState(compute=self.services, instance=instance,
                              migration=migration,
                              flavor=migration.get('old_flavor') or {})
            if self._run(flow, ctx, state):
                done += 1
        return done

    def _finish_requested_delete(
            self, ctx: Any, uuid: str,
            older_than: datetime.datetime | None = None) -> bool:
        """Run the delete of an instance left in task_state ``deleting``
        (by a recovered run, or a lost cast: not changed since
        ``older_than``), linked to the delete's own action (the caller
        holds the instance's lock); True if it ran."""
        try:
            instance = self.db.instance_get_by_uuid(ctx, uuid)
        except exception.InstanceNotFound:
            return False
        if instance.get('task_state') != task_states.DELETING or \
                instance.get('host') not in (self.host, None):
            return False
        if older_than is not None and (
                instance.get('updated_at') or instance['created_at']
        ) > older_than:
            return False
        actions = [a for a in self.db.actions_get(ctx, uuid)
                   if a['action'] == 'delete' and a['finish_time'] is None]
        delete_ctx = nova_context.RequestContext(
            user_id=instance.get('user_id'),
            project_id=instance.get('project_id'),
            request_id=actions[0]['request_id'] if actions else None,
            is_admin=True, overwrite=False)
        LOG.warning('Instance %s was left in task_state deleting (its run '
                    'was cut, or its delete lost); finishing the delete',
                    uuid)
        # The caller holds the instance's lock.
        self._terminate(delete_ctx, instance, lock=False)
        return True

    # -- RPC methods ------------------------------------------------------

    def build_and_run_instance(self, context: Any, instance: dict[str, Any],
                               node: str, image_meta: dict[str, Any],
                               request_spec: dict[str, Any],
                               filter_properties: dict[str, Any],
                               requested_networks: Any = None,
                               block_device_mapping: Any = None,
                               admin_password: str | None = None,
                               injected_files: Any = None,
                               network_info: Any = None) -> None:
        """``network_info`` (1.11): the ports nova-conductor allocated
        for a multi-create, which the build keeps."""
        state = self._build_state(
            instance, node, image_meta=image_meta,
            request_spec=request_spec, filter_properties=filter_properties,
            requested_networks=requested_networks,
            block_device_mapping=block_device_mapping,
            admin_password=admin_password, injected_files=injected_files,
            network_info=network_info)
        self._run('compute.build_instance', context, state)

    # -- a boot in phases (1.12): calls and a cast from
    # -- conductor.build_instances for a multi-create ---------------------

    @messaging.expected_exceptions(exception.NovaException)
    def configure_instance(self, context: Any, instance: dict[str, Any],
                           node: str, **kwargs: Any) -> None:
        """compute.configure_instance: the guest defined, not started.
        One step of the conductor's run (its action stays open); the
        error goes back to the conductor.  ``kwargs`` are those of
        :meth:`build_and_run_instance`."""
        self._call('compute.configure_instance', context,
                   self._build_state(instance, node, **kwargs), part=True)

    @messaging.expected_exceptions(exception.NovaException)
    def power_on_instance(self, context: Any, instance: dict[str, Any],
                          node: str, **kwargs: Any) -> None:
        """compute.power_on_instance: start what configure_instance
        defined; ACTIVE.  The run finishes the instance's create action.
        """
        self._call('compute.power_on_instance', context,
                   self._build_state(instance, node, **kwargs))

    def unconfigure_instance(self, context: Any, instance: dict[str, Any],
                             reason: str) -> None:
        """compute.unconfigure_instance: undo a configured instance
        whose power-on will not come (a cast: a host that is down does it
        when it is back)."""
        self._run('compute.unconfigure_instance', context,
                  self._unconfigure_state(context, instance, reason))

    def _build_state(self, instance: dict[str, Any], node: str, *,
                     image_meta: dict[str, Any],
                     request_spec: dict[str, Any],
                     filter_properties: dict[str, Any],
                     requested_networks: Any = None,
                     block_device_mapping: Any = None,
                     admin_password: str | None = None,
                     injected_files: Any = None,
                     network_info: Any = None) -> BuildState:
        return BuildState(
            compute=self.services, instance=instance, node=node,
            image_meta=image_meta, request_spec=request_spec,
            filter_properties=filter_properties,
            requested_networks=requested_networks,
            block_device_mapping=block_device_mapping or [],
            injected_files=injected_files or [],
            admin_password=admin_password,
            network_info=network_info or [])

    def _unconfigure_state(self, context: Any, instance: dict[str, Any],
                           reason: str) -> UnconfigureState:
        return UnconfigureState(
            compute=self.services, instance=instance,
            node=instance.get('node') or self.host,
            block_device_mapping=self._bdms(context, instance),
            reason=reason)

    def unconfigure_stale_instances(self, ctx: Any) -> int:
        """Undo the instances configured on this host whose power-on
        has not come within ``[compute] configured_instance_timeout``
        (a periodic task); how many.

        Configured: BUILDING, task ``spawning``, on this host, not
        changed for that long, and no flow of this process on it (a
        build under way holds the instance's lock and is skipped)."""
        timeout = CONF.compute.configured_instance_timeout
        older_than = timeutils.utcnow() - datetime.timedelta(
            seconds=timeout)
        undone = 0
        for instance in self.db.instance_get_all_by_filters(
                ctx, {'host': self.host, 'vm_state': vm_states.BUILDING,
                      'task_state': task_states.SPAWNING}):
            if (instance.get('updated_at') or
                    instance['created_at']) > older_than:
                continue
            try:
                with self._locks(instance['uuid'], timeout=0):
                    self._run('compute.unconfigure_instance', ctx,
                              self._unconfigure_state(
                                  ctx, instance,
                                  f'Its power-on did not come within '
                                  f'{timeout} seconds of its configure.'),
                              lock=False)
            except TimeoutError:
                continue  # a flow of this process is on it
            undone += 1
        return undone

    def terminate_instance(self, context: Any,
                           instance: dict[str, Any]) -> None:
        """Delete the instance, unless it is deleted already: a delete
        cast redelivered after a crash, which the recovery at start
        finished, finds it gone and runs nothing."""
        with self._locks(instance['uuid']):
            try:
                self.db.instance_get_by_uuid(context, instance['uuid'])
            except exception.InstanceNotFound:
                LOG.info('Instance %s is deleted already; nothing to do',
                         instance['uuid'])
                return
            self._terminate(context, instance, lock=False)

    def _terminate(self, context: Any, instance: dict[str, Any],
                   lock: bool = True) -> None:
        state = TerminateState(
            compute=self.services, instance=instance,
            block_device_mapping=self.db.block_device_mapping_get_all_by_instance(
                context, instance['uuid']))
        self._run('compute.terminate_instance', context, state, lock=lock)

    def reboot_instance(self, context: Any, instance: dict[str, Any],
                        reboot_type: str) -> None:
        self._run('compute.reboot_instance', context, RebootState(
            compute=self.services, instance=instance,
            reboot_type=reboot_type))

    def stop_instance(self, context: Any, instance: dict[str, Any]) -> None:
        self._run('compute.stop_instance', context, base.InstanceState(
            compute=self.services, instance=instance))

    def start_instance(self, context: Any, instance: dict[str, Any]) -> None:
        self._run('compute.start_instance', context, base.InstanceState(
            compute=self.services, instance=instance))

    def pause_instance(self, context: Any, instance: dict[str, Any]) -> None:
        self._run('compute.pause_instance', context, self._state(instance))

    def unpause_instance(self, context: Any,
                         instance: dict[str, Any]) -> None:
        self._run('compute.unpause_instance', context,
                  self._state(instance))

    def suspend_instance(self, context: Any,
                         instance: dict[str, Any]) -> None:
        self._run('compute.suspend_instance', context,
                  self._state(instance))

    def resume_instance(self, context: Any,
                        instance: dict[str, Any]) -> None:
        self._run('compute.resume_instance', context, self._state(instance))

    def rebuild_instance(self, context: Any, instance: dict[str, Any],
                         admin_password: str | None = None,
                         preserve_ephemeral: bool = False,
                         injected_files: Any = None) -> None:
        self._run('compute.rebuild_instance', context, RebuildState(
            compute=self.services, instance=instance,
            admin_password=admin_password,
            preserve_ephemeral=bool(preserve_ephemeral),
            injected_files=injected_files or [],
            original_vm_state=instance['vm_state'],
            block_device_mapping=self._bdms(context, instance)))

    def snapshot_instance(self, context: Any, instance: dict[str, Any],
                          image_id: str) -> None:
        self._run('compute.snapshot_instance', context, SnapshotState(
            compute=self.services, instance=instance, image_id=image_id))

    def rescue_instance(self, context: Any, instance: dict[str, Any],
                        rescue_password: str | None = None,
                        rescue_image_ref: str | None = None) -> None:
        self._run('compute.rescue_instance', context, RescueState(
            compute=self.services, instance=instance,
            rescue_image_ref=rescue_image_ref,
            rescue_password=rescue_password,
            original_vm_state=instance['vm_state']))

    def unrescue_instance(self, context: Any,
                          instance: dict[str, Any]) -> None:
        self._run('compute.unrescue_instance', context,
                  self._state(instance))

    def shelve_instance(self, context: Any, instance: dict[str, Any],
                        image_id: str | None = None) -> None:
        """Shelve; the flow's last stage casts the offload back here
        (upstream's default ``shelved_offload_time = 0``)."""
        self._run('compute.shelve_instance', context, ShelveState(
            compute=self.services, instance=instance, image_id=image_id,
            original_vm_state=instance['vm_state'],
            compute_rpcapi=self.compute_rpcapi))

    def shelve_offload_instance(self, context: Any,
                                instance: dict[str, Any]) -> None:
        self._run('compute.shelve_offload_instance', context,
                  ShelveOffloadState(
                      compute=self.services, instance=instance,
                      block_device_mapping=self._bdms(context, instance)))

    def unshelve_instance(self, context: Any, instance: dict[str, Any],
                          node: str | None = None,
                          image: dict[str, Any] | None = None) -> None:
        self._run('compute.unshelve_instance', context, UnshelveState(
            compute=self.services, instance=instance,
            node=node or instance.get('node') or self.host,
            image_meta=image or {},
            shelved_vm_state=instance['vm_state'],
            block_device_mapping=self._bdms(context, instance)))

    @messaging.expected_exceptions(exception.NovaException)
    def reserve_block_device_name(self, context: Any,
                                  instance: dict[str, Any], volume_id: str,
                                  device: str | None = None,
                                  disk_bus: str | None = None,
                                  device_type: str | None = None,
                                  tag: str | None = None,
                                  delete_on_termination: bool = False,
                                  ) -> dict[str, Any]:
        """An RPC call: returns the new block device mapping."""
        state = ReserveDeviceState(
            compute=self.services, instance=instance, volume_id=volume_id,
            device=device, disk_bus=disk_bus, device_type=device_type,
            tag=tag, delete_on_termination=delete_on_termination)
        self._call('compute.reserve_block_device_name', context, state)
        assert state.bdm is not None
        return state.bdm

    def attach_volume(self, context: Any, instance: dict[str, Any],
                      bdm: dict[str, Any]) -> None:
        self._run('compute.attach_volume', context, AttachVolumeState(
            compute=self.services, instance=instance, bdm=dict(bdm)))

    def detach_volume(self, context: Any, instance: dict[str, Any],
                      volume_id: str) -> None:
        bdm = self.db.block_device_mapping_get_by_volume_id(
            context, volume_id, instance['uuid'])
        self._run('compute.detach_volume', context, DetachVolumeState(
            compute=self.services, instance=instance, bdm=bdm))

    @messaging.expected_exceptions(exception.NovaException)
    def attach_interface(self, context: Any, instance: dict[str, Any],
                         network_id: str | None = None,
                         port_id: str | None = None,
                         requested_ip: str | None = None,
                         tag: str | None = None) -> dict[str, Any]:
        """An RPC call: returns the new port's network info."""
        state = AttachInterfaceState(
            compute=self.services, instance=instance, network_id=network_id,
            port_id=port_id, requested_ip=requested_ip, tag=tag)
        self._call('compute.attach_interface', context, state,
                   lambda exc: exception.InterfaceAttachFailed(
                       instance_uuid=instance['uuid']))
        assert state.vif is not None
        return state.vif

    def detach_interface(self, context: Any, instance: dict[str, Any],
                         port_id: str) -> None:
        self._run('compute.detach_interface', context, DetachInterfaceState(
            compute=self.services, instance=instance, port_id=port_id))

    @messaging.expected_exceptions(exception.NovaException)
    def get_console_output(self, context: Any, instance: dict[str, Any],
                           tail_length: int | None = None) -> str:
        """An RPC call, and not a flow: a read that changes nothing, so
        there is nothing to revert or resume, and recording every poll of
        a console as a run would bury the instance's real actions (upstream
        records no action for it either)."""
        if not self.driver.instance_exists(instance):
            raise exception.InstanceNotReady(instance_id=instance['uuid'])
        output = self.driver.get_console_output(context, instance)
        if tail_length is None:
            return output
        lines = output.splitlines(keepends=True)
        return ''.join(lines[-tail_length:]) if tail_length > 0 else ''

    @messaging.expected_exceptions(exception.NovaException)
    def get_diagnostics(self, context: Any,
                        instance: dict[str, Any]) -> dict[str, Any]:
        """An RPC call, not a flow (a read): the driver's own figures."""
        return self._diagnostics(instance, self.driver.get_diagnostics)

    @messaging.expected_exceptions(exception.NovaException)
    def get_instance_diagnostics(self, context: Any,
                                 instance: dict[str, Any]) -> dict[str, Any]:
        """An RPC call, not a flow (a read): the standard format."""
        return self._diagnostics(instance,
                                 self.driver.get_instance_diagnostics)

    def _diagnostics(self, instance: dict[str, Any],
                     read: Any) -> dict[str, Any]:
        """Of a running guest only, as upstream (409 otherwise)."""
        state = self.driver.get_info(instance).state
        if state != power_state.RUNNING:
            raise exception.InstanceInvalidState(
                attr='power state', instance_uuid=instance['uuid'],
                state=power_state.STATE_MAP.get(state, state),
                method='get_diagnostics')
        LOG.info('Retrieving diagnostics of %s', instance['uuid'])
        try:
            return dict(read(instance))
        except NotImplementedError:
            raise exception.FeatureNotSupported() from None

    @messaging.expected_exceptions(exception.NovaException)
    def trigger_crash_dump(self, context: Any,
                           instance: dict[str, Any]) -> None:
        """An RPC call (1.6): a driver without the feature is reported to
        the user (TriggerCrashDumpNotSupported)."""
        self._call('compute.trigger_crash_dump', context,
                   self._state(instance), _crash_dump_error)
    # -- remote consoles (1.8): calls, not flows (reads of the guest; the
    # token they store is the only write, and upstream records no action)

    @messaging.expected_exceptions(exception.NovaException)
    def get_vnc_console(self, context: Any, instance: dict[str, Any],
                        console_type: str) -> dict[str, Any]:
        """A token for the guest's VNC console and the URL with it."""
        if not CONF.vnc.enabled:
            raise exception.ConsoleTypeUnavailable(console_type=console_type)
        if console_type != 'novnc':
            raise exception.ConsoleTypeInvalid(console_type=console_type)
        try:
            console = self.driver.get_vnc_console(context, instance)
        except exception.InstanceNotFound as exc:
            if instance.get('vm_state') != vm_states.BUILDING:
                raise
            raise exception.InstanceNotReady(
                instance_id=instance['uuid']) from exc
        except NotImplementedError:
            raise exception.ConsoleTypeUnavailable(
                console_type=console_type) from None
        authorization = auth_tokens.authorize(
            context, instance_uuid=instance['uuid'],
            console_type=console_type, host=console.host,
            port=console.port,
            internal_access_path=console.internal_access_path,
            access_url_base=CONF.vnc.novncproxy_base_url)
        LOG.debug('Issued a %s console token for %s', console_type,
                  instance['uuid'])
        return {'token': authorization.token,
                'access_url': authorization.access_url,
                'host': console.host, 'port': console.port,
                'internal_access_path': console.internal_access_path}

    def validate_console_port(self, context: Any, instance: dict[str, Any],
                              port: str, console_type: str) -> bool:
        """Is ``port`` the port of the instance's console on this host
        now?  (nova-novncproxy asks before it connects: a token outlives
        a guest that moved or was restarted on another port.)"""
        try:
            console = self.driver.get_vnc_console(context, instance)
        except (exception.NovaException, NotImplementedError):
            return False
        return str(console.port) == str(port)

    def clean_expired_console_tokens(self) -> int:
        """Remove the console tokens that have expired (a periodic
        task); how many."""
        return auth_tokens.clean_expired(nova_context.get_admin_context())

    # -- external events (a cast from the external events API, 1.10) -----

    def external_instance_event(self, context: Any,
                                instances: list[dict[str, Any]],
                                events: list[dict[str, Any]]) -> None:
        """Handle what another service reports about this host's
        instances, one event at a time: an event that cannot be handled
        is logged and does not stop the others."""
        by_uuid = {instance['uuid']: instance for instance in instances}
        for event in events:
            instance = by_uuid.get(event['instance_uuid'])
            if instance is None:
                continue
            LOG.info('Received event %s-%s (%s) for instance %s',
                     event['name'], event.get('tag'), event.get('status'),
                     instance['uuid'])
            handler = self._EVENT_HANDLERS.get(event['name'])
            try:
                if handler is None:
                    self._process_instance_event(instance, event)
                else:
                    handler(self, context, instance, event.get('tag'))
            except Exception as exc:
                LOG.warning('Failed to process external instance event '
                            '%s-%s for instance %s: %s', event['name'],
                            event.get('tag'), instance['uuid'], exc)
                if event['name'] in ('volume-extended', 'power-update'):
                    self._finish_event_action(context, instance, 'Error')

    def _network_changed(self, context: Any, instance: dict[str, Any],
                         port_id: str | None) -> None:
        """Read the instance's ports again from the network service.

        Upstream refreshes the instance's network info cache here.  This
        tree keeps no such cache: the API and every flow read the ports
        from the network service when they need them, so the re-read only
        confirms the changed port is still the instance's.
        """
        vifs = self.services.network.get_instance_nw_info(context,
                                                          instance['uuid'])
        if port_id and port_id not in {vif['id'] for vif in vifs}:
            LOG.info('Port %s of the network-changed event is not an '
                     'interface of instance %s', port_id, instance['uuid'])
            return
        LOG.info('Refreshed the network info of instance %s (%d ports)',
                 instance['uuid'], len(vifs))

    def _network_vif_deleted(self, context: Any, instance: dict[str, Any],
                             port_id: str | None) -> None:
        """The network service deleted a port of the instance.

        Upstream drops the port from the instance's network info cache;
        with no cache here, the deleted port is already gone from every
        read of the instance's network info.
        """
        LOG.info('The network service deleted port %s of instance %s',
                 port_id, instance['uuid'])

    def _volume_extended(self, context: Any, instance: dict[str, Any],
                         volume_id: str | None) -> None:
        """The volume service grew an attached volume: record its new
        size in the block device mapping and tell the driver, so that the
        guest sees it (upstream's extend_volume)."""
        error = None
        try:
            bdm = self.db.block_device_mapping_get_by_volume_id(
                context, volume_id, instance['uuid'])
        except exception.VolumeBDMNotFound:
            LOG.warning('Extend volume failed, volume %s is not attached '
                        'to instance %s.', volume_id, instance['uuid'])
            bdm = None
            error = 'Error'
        if bdm is not None and not bdm.get('connection_info'):
            LOG.warning('Extend volume failed, attached volume %s of '
                        'instance %s has no connection_info', volume_id,
                        instance['uuid'])
            error = 'Error'
        elif bdm is not None:
            error = self._extend_volume(context, instance, bdm)
        self._finish_event_action(context, instance, error)

    def _extend_volume(self, context: Any, instance: dict[str, Any],
                       bdm: dict[str, Any]) -> str | None:
        volume_id = bdm['volume_id']
        size = self.services.volume.get(context, volume_id)['size']
        self.db.block_device_mapping_update(context, bdm['id'],
                                            {'volume_size': size})
        LOG.info('Cinder extended volume %s; extending it to detect new '
                 'size (%d GiB) on instance %s', volume_id, size,
                 instance['uuid'])
        try:
            self.driver.extend_volume(context, bdm['connection_info'],
                                      instance, size * units.Gi)
        except NotImplementedError:
            LOG.warning('Extend volume failed, volume_id=%s, reason: the '
                        'driver cannot extend an attached volume '
                        '(instance %s)', volume_id, instance['uuid'])
            return 'Error'
        except Exception as exc:
            LOG.warning('Extend volume failed, volume_id=%s, reason: %s '
                        '(instance %s)', volume_id, exc, instance['uuid'])
            return 'Error'
        return None

    def _power_update(self, context: Any, instance: dict[str, Any],
                      target: str | None) -> None:
        """The guest was powered on or off outside nova (a bare metal
        service's power-update: POWER_ON or POWER_OFF).

        As upstream, only an instance with no task under way that is not
        already in the target state changes: ACTIVE to STOPPED on
        POWER_OFF, STOPPED to ACTIVE on POWER_ON.  The power state
        recorded is what the driver reports; when it disagrees with the
        event, only the power state is recorded and the vm_state stays.
        """
        with self._locks(instance['uuid']):
            current = self.db.instance_get_by_uuid(context, instance['uuid'])
            if target not in _POWER_UPDATE_STATES:
                return
            from_state, to_state = _POWER_UPDATE_STATES[target]
            if current['task_state'] is not None or \
                    current['vm_state'] != from_state:
                LOG.info('Not handling power-update %s of instance %s: '
                         'vm_state %s, task_state %s', target,
                         instance['uuid'], current['vm_state'],
                         current['task_state'])
                self._finish_event_action(context, instance, None)
                return
            state = self.driver.get_info(current).state
            values: dict[str, Any] = {'power_state': state}
            if (state == power_state.RUNNING) == (
                    target == power_state.POWER_ON):
                values['vm_state'] = to_state
            else:
                LOG.warning('power-update %s of instance %s, but its driver '
                            'reports power state %s: only the power state '
                            'is recorded', target, instance['uuid'],
                            power_state.STATE_MAP.get(state, state))
            try:
                self.db.instance_update(context, instance['uuid'], values,
                                        expected_task_state=None,
                                        expected_vm_state=from_state)
            except (exception.UnexpectedTaskStateError,
                    exception.UnexpectedVMStateError) as exc:
                LOG.info('Not handling power-update %s of instance %s: '
                         '%s', target, instance['uuid'], exc)
            else:
                LOG.info('power-update %s: instance %s is now %s (power '
                         'state %s)', target, instance['uuid'],
                         values.get('vm_state', current['vm_state']),
                         power_state.STATE_MAP.get(state, state))
            self._finish_event_action(context, instance, None)

    def _process_instance_event(self, instance: dict[str, Any],
                                event: dict[str, Any]) -> None:
        """An event nothing here waits for: upstream wakes the thread
        waiting for it (a port plugged during spawn); this tree spawns
        without waiting for the network service, so it is only logged."""
        LOG.info('No waiting events found dispatching %s-%s for instance '
                 '%s', event['name'], event.get('tag'), instance['uuid'])

    def _finish_event_action(self, context: Any, instance: dict[str, Any],
                             message: str | None) -> None:
        """Finish the instance action the API recorded for the event."""
        try:
            self.db.action_finish(context, instance['uuid'],
                                  message=message)
        except exception.InstanceActionNotFound:
            pass

    _EVENT_HANDLERS: dict[str, Any] = {
        'network-changed': _network_changed,
        'network-vif-deleted': _network_vif_deleted,
        'volume-extended': _volume_extended,
        'power-update': _power_update,
    }

    # -- moves: RPC calls from nova-conductor's move flows ---------------
    # Each runs this host's part as a flow and answers when it is done;
    # an error goes back to the conductor, which reverts the move.

    def _move(self, flow: str, context: Any, instance: dict[str, Any],
              migration: dict[str, Any], flavor: dict[str, Any] | None,
              **fields: Any) -> MoveState:
        state = MoveState(compute=self.services, instance=instance,
                          migration=migration,
                          flavor=flavor or migration.get('new_flavor') or {},
                          **fields)
        self._call(flow, context, state,
                   lambda exc: exception.MigrationError(
                       reason=f'{flow} failed on {self.host}: '
                              f'{type(exc).__name__}: {exc}'),
                   part=True)
        return state

    @messaging.expected_exceptions(exception.NovaException)
    def prep_resize(self, context: Any, instance: dict[str, Any],
                    migration: dict[str, Any],
                    flavor: dict[str, Any]) -> None:
        """Destination: claim ``flavor`` for the move."""
        self._move('compute.prep_resize', context, instance, migration,
                   flavor)

    @messaging.expected_exceptions(exception.NovaException)
    def resize_instance(self, context: Any, instance: dict[str, Any],
                        migration: dict[str, Any],
                        flavor: dict[str, Any]) -> str:
        """Source: power off and hand over the disks; the disk info."""
        return self._move('compute.resize_instance', context, instance,
                          migration, flavor).disk_info

    @messaging.expected_exceptions(exception.NovaException)
    def finish_resize(self, context: Any, instance: dict[str, Any],
                      migration: dict[str, Any], disk_info: str,
                      image: dict[str, Any] | None = None) -> None:
        """Destination: take the instance, start the guest."""
        self._move('compute.finish_resize', context, instance, migration,
                   None, disk_info=disk_info or '', image_meta=image or {})

    @messaging.expected_exceptions(exception.NovaException)
    def confirm_resize(self, context: Any, instance: dict[str, Any],
                       migration: dict[str, Any]) -> None:
        """Source: delete what the move left here."""
        self._move('compute.confirm_resize', context, instance, migration,
                   None)

    @messaging.expected_exceptions(exception.NovaException)
    def revert_resize(self, context: Any, instance: dict[str, Any],
                      migration: dict[str, Any]) -> None:
        """Destination: destroy the guest the move made here."""
        self._move('compute.revert_resize', context, instance, migration,
                   None)

    @messaging.expected_exceptions(exception.NovaException)
    def finish_revert_resize(self, context: Any, instance: dict[str, Any],
                             migration: dict[str, Any]) -> None:
        """Source: take the instance back, start the original guest."""
        self._move('compute.finish_revert_resize', context, instance,
                   migration, migration.get('old_flavor'))

    # -- live migration (1.3): calls from conductor.live_migrate_instance,
    # and the user's force-complete and abort (casts) -------------------

    @messaging.expected_exceptions(exception.NovaException)
    def check_can_live_migrate_destination(
            self, context: Any, instance: dict[str, Any],
            migration: dict[str, Any], block_migration: bool | None,
            disk_over_commit: bool = False) -> dict[str, Any]:
        """Destination: can the guest come here?  The driver checks this
        host, then the source's checks its side (a call to the source);
        the answer is the migrate data, with ``block_migration`` decided.

        Not a flow: it changes nothing, so there is nothing to revert or
        resume (the driver's check file is removed in any case).
        """
        source = migration['source_compute']
        data = self._precheck(
            self.driver.check_can_live_migrate_destination, context,
            instance, self._compute_info(context, source),
            self._compute_info(context, self.host),
            block_migration=block_migration,
            disk_over_commit=disk_over_commit)
        try:
            return self.compute_rpcapi.check_can_live_migrate_source(
                context, instance, data, source)
        finally:
            self.driver.cleanup_live_migration_destination_check(context,
                                                                 data)

    @messaging.expected_exceptions(exception.NovaException)
    def check_can_live_migrate_source(
            self, context: Any, instance: dict[str, Any],
            dest_check_data: dict[str, Any]) -> dict[str, Any]:
        """Source: can the guest leave?  (A read, as the destination's.)"""
        state = MoveState(compute=self.services, instance=instance,
                          migration={})
        return self._precheck(
            self.driver.check_can_live_migrate_source, context, instance,
            dest_check_data,
            block_device_info=moves.block_device_info(context, state))

    @staticmethod
    def _precheck(check: Any, *args: Any, **kwargs: Any) -> Any:
        """A driver's check; its refusal crosses RPC as a NovaException."""
        try:
            return check(*args, **kwargs)
        except exception.NovaException as exc:
            if type(exc).__module__ == exception.__name__:
                raise
            raise exception.MigrationPreCheckError(reason=str(exc)) from exc
        except Exception as exc:
            raise exception.MigrationPreCheckError(
                reason=f'{type(exc).__name__}: {exc}') from exc

    def _compute_info(self, context: Any, host: str) -> dict[str, Any]:
        nodes = self.db.compute_node_get_all_by_host(context, host)
        return dict(nodes[0]) if nodes else {}

    @messaging.expected_exceptions(exception.NovaException)
    def pre_live_migration(self, context: Any, instance: dict[str, Any],
                           migration: dict[str, Any],
                           block_migration: bool,
                           migrate_data: dict[str, Any]) -> dict[str, Any]:
        """Destination: claim, prepare; the migrate data for the source."""
        return self._move('compute.pre_live_migration', context, instance,
                          migration, None, block_migration=block_migration,
                          migrate_data=dict(migrate_data or {})
                          ).migrate_data

    @messaging.expected_exceptions(exception.NovaException)
    def live_migration(self, context: Any, instance: dict[str, Any],
                       migration: dict[str, Any], block_migration: bool,
                       migrate_data: dict[str, Any]) -> None:
        """Source: move the running guest to the destination."""
        self._move('compute.live_migration', context, instance, migration,
                   None, block_migration=block_migration,
                   migrate_data=dict(migrate_data or {}))

    @messaging.expected_exceptions(exception.NovaException)
    def post_live_migration_at_source(
            self, context: Any, instance: dict[str, Any],
            migration: dict[str, Any],
            migrate_data: dict[str, Any]) -> None:
        """Source: clean up after the guest left."""
        self._move('compute.post_live_migration_at_source', context,
                   instance, migration, None,
                   migrate_data=dict(migrate_data or {}))

    @messaging.expected_exceptions(exception.NovaException)
    def post_live_migration_at_destination(
            self, context: Any, instance: dict[str, Any],
            migration: dict[str, Any], block_migration: bool) -> None:
        """Destination: take the instance; the migration 'completed'."""
        self._move('compute.post_live_migration_at_destination', context,
                   instance, migration, None,
                   block_migration=block_migration)

    @messaging.expected_exceptions(exception.NovaException)
    def rollback_live_migration_at_destination(
            self, context: Any, instance: dict[str, Any],
            migration: dict[str, Any],
            migrate_data: dict[str, Any]) -> None:
        """Destination: undo pre_live_migration."""
        self._move('compute.rollback_live_migration_at_destination',
                   context, instance, migration, None,
                   migrate_data=dict(migrate_data or {}))

    def check_instance_exists(self, context: Any,
                              instance: dict[str, Any]) -> bool:
        """Has this host's hypervisor the instance's guest?  Answered
        once the run acting on the instance here is over (its lock), so
        the answer is about where that run left the guest."""
        with self._locks(instance['uuid']):
            return bool(self.driver.instance_exists(instance))

    def check_instance_shared_storage(self, context: Any,
                                      data: Any) -> bool:
        """Does this host see the mark another host's driver left where
        an instance's files are (its
        ``check_instance_shared_storage_local``): do both hosts have them
        on one storage?"""
        return bool(self.driver.check_instance_shared_storage_remote(
            context, data))

    def live_migration_force_complete(self, context: Any,
                                      instance: dict[str, Any],
                                      migration: dict[str, Any]) -> None:
        """Source (a cast): finish the running live migration now."""
        self._run_beside('compute.live_migration_force_complete', context,
                         instance, migration)

    def live_migration_abort(self, context: Any, instance: dict[str, Any],
                             migration_id: int) -> None:
        """Source (a cast): abort the live migration."""
        try:
            migration = self.db.migration_get(context, migration_id)
        except exception.MigrationNotFound as exc:
            LOG.error('Cannot abort the live migration of %s: %s',
                      instance['uuid'], exc)
            return
        self._run_beside('compute.live_migration_abort', context, instance,
                         migration)

    def _run_beside(self, flow: str, context: Any, instance: dict[str, Any],
                    migration: dict[str, Any]) -> None:
        """Run a flow acting on a live migration under way: without the
        instance's lock, which the migration's own flow holds."""
        state = MoveState(compute=self.services, instance=instance,
                          migration=dict(migration))
        try:
            self.flows.run(flow, context, state)
        except Exception as exc:
            LOG.error('%s failed for instance %s: %s', flow,
                      instance['uuid'], exc)

    # -- evacuate (1.4): an RPC call from conductor.evacuate_instance ------

    @messaging.expected_exceptions(exception.NovaException)
    def evacuate_instance(self, context: Any, instance: dict[str, Any],
                          migration: dict[str, Any],
                          admin_password: str | None = None,
                          on_shared_storage: bool | None = None,
                          target_state: str | None = None) -> None:
        """Destination: re-create an instance whose host is down."""
        flow = 'compute.evacuate_instance'
        state = EvacuateState(
            compute=self.services, instance=instance, migration=migration,
            flavor=instance.get('flavor') or {},
            admin_password=admin_password,
            on_shared_storage=on_shared_storage,
            target_state=target_state or vm_states.ACTIVE)
        self._call(flow, context, state,
                   lambda exc: exception.MigrationError(
                       reason=f'{flow} failed on {self.host}: '
                              f'{type(exc).__name__}: {exc}'),
                   part=True)

    # -- end of evacuate --------------------------------------------------

    # -- running flows ----------------------------------------------------

    def _state(self, instance: dict[str, Any]) -> base.InstanceState:
        return base.InstanceState(compute=self.services, instance=instance)

    def _bdms(self, context: Any,
              instance: dict[str, Any]) -> list[dict[str, Any]]:
        return self.db.block_device_mapping_get_all_by_instance(
            context, instance['uuid'])

    def _run(self, flow: str, context: Any, state: Any,
             lock: bool = True) -> bool:
        """Run a cast's flow; True if it succeeded.  Not ``lock``: the
        caller holds the instance's lock already."""
        # One flow per instance at a time in this process; across
        # processes the task_state compare-and-swap of each flow's first
        # state update does the same job.
        with (self._locks(state.instance['uuid']) if lock
              else contextlib.nullcontext()):
            try:
                self.flows.run(flow, context, state)
            except Exception as exc:
                # The flow's failure handlers have already recorded the
                # fault and set the instance state; a cast has nobody to
                # return the error to.
                LOG.error('%s failed for instance %s: %s', flow,
                          state.instance['uuid'], exc)
                return False
        return True

    def _call(self, flow: str, context: Any, state: Any,
              error: Any = None, part: bool = False) -> None:
        """Run a call's flow; its error goes back to the caller.

        With ``part``, the run is one step of a conductor's run, which
        finishes the request's action (not this one).

        Only nova.exception errors cross RPC as themselves; any other is
        replaced by ``error(exc)`` (or a plain NovaException) naming it, so
        the API answers with a meaningful status instead of a RemoteError.
        """
        kwargs = {}
        if part and hasattr(self.recorder, 'as_part'):
            # One step of the conductor's run: recorded under the move's
            # action, which the conductor names (a later request on the
            # instance, an abort, has an action of its own); that run
            # finishes it when the whole move is done.
            kwargs['recorder'] = self.recorder.as_part(
                getattr(context, 'action_id', None))
        with self._locks(state.instance['uuid']):
            try:
                self.flows.run(flow, context, state, **kwargs)
            except exception.NovaException as exc:
                if type(exc).__module__ == exception.__name__:
                    raise
                raise (error(exc) if error else exception.NovaException(
                    str(exc))) from exc
            except Exception as exc:
                LOG.error('%s failed for instance %s: %s', flow,
                          state.instance['uuid'], exc)
                raise (error(exc) if error else exception.NovaException(
                    f'{flow} failed: {type(exc).__name__}')) from exc


def _crash_dump_error(exc: Exception) -> exception.NovaException:
    if isinstance(exc, NotImplementedError):
        return exception.TriggerCrashDumpNotSupported()
    return exception.NovaException(
        f'compute.trigger_crash_dump failed: {type(exc).__name__}')
