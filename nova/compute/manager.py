"""nova-compute's RPC endpoint: each method builds a state and runs a flow.

Everything an operation does lives in its flow module under
``nova/compute/flows``; this class only owns the host's services, the
per-instance serialisation and crash recovery at start.  Most methods are
casts (``_run``: the flow's failure handlers record what went wrong);
``reserve_block_device_name`` and ``attach_interface`` are calls whose
result is in the API's response (``_call``: the error goes back to the
caller), and ``get_console_output`` is a call that runs no flow (a read).
"""

from __future__ import annotations

from typing import Any

import oslo_messaging as messaging
from oslo_log import log as logging

import nova.conf
from nova import concurrency, exception
from nova import context as nova_context
from nova.compute import resource_tracker, task_states, vm_states
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
from nova.compute.flows.unshelve_instance import UnshelveState
from nova.flow import FlowEngine, recovery

LOG = logging.getLogger(__name__)
CONF = nova.conf.CONF


class ComputeManager:
    target = messaging.Target(version='1.5')

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
            self.recover_interrupted_runs(ctx)
            self.finish_pending_move_reverts(ctx)

    def periodic_tasks(self) -> list[tuple[Any, float]]:
        """What the service runs every so often while it is up."""
        window = CONF.resize_confirm_window
        if not window:
            return []
        return [(lambda: self.poll_unconfirmed_resizes(
            nova_context.get_admin_context()), min(60.0, window / 2))]

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
                         MoveState(compute=self.services, instance=instance,
                                   migration=migration)):
                done += 1
        return done

    def recover_interrupted_runs(self, ctx: Any) -> int:
        """Finish or revert every run a crash on this host left behind."""
        runs = recovery.recover_interrupted_runs(
            self.flows, self.recorder, ctx, self.services, host=self.host,
            namespace='compute', run_context=nova_context.for_run,
            gone=(exception.InstanceNotFound,), lock=self._locks)
        # A delete that arrived while an interrupted run held the instance
        # is not lost with the process: its task_state says so.  Runs of
        # other flows ended above without rescheduling it; the delete is
        # finished here, under the delete's own request.
        deleted = {run.subject for run in runs
                   if run.flow == 'compute.terminate_instance'}
        for uuid in sorted({run.subject for run in runs if run.subject}
                           - deleted):
            self._finish_requested_delete(ctx, uuid)
        return len(runs)

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

    def _finish_requested_delete(self, ctx: Any, uuid: str) -> None:
        """Run the delete of an instance left in task_state ``deleting``
        by a recovered run, linked to the delete's own action."""
        try:
            instance = self.db.instance_get_by_uuid(ctx, uuid)
        except exception.InstanceNotFound:
            return
        if instance.get('task_state') != task_states.DELETING or \
                instance.get('host') not in (self.host, None):
            return
        actions = [a for a in self.db.actions_get(ctx, uuid)
                   if a['action'] == 'delete' and a['finish_time'] is None]
        delete_ctx = nova_context.RequestContext(
            user_id=instance.get('user_id'),
            project_id=instance.get('project_id'),
            request_id=actions[0]['request_id'] if actions else None,
            is_admin=True, overwrite=False)
        LOG.warning('Instance %s was being deleted when its run was cut; '
                    'finishing the delete', uuid)
        self.terminate_instance(delete_ctx, instance)

    # -- RPC methods ------------------------------------------------------

    def build_and_run_instance(self, context: Any, instance: dict[str, Any],
                               node: str, image_meta: dict[str, Any],
                               request_spec: dict[str, Any],
                               filter_properties: dict[str, Any],
                               requested_networks: Any = None,
                               block_device_mapping: Any = None,
                               admin_password: str | None = None,
                               injected_files: Any = None) -> None:
        state = BuildState(
            compute=self.services, instance=instance, node=node,
            image_meta=image_meta, request_spec=request_spec,
            filter_properties=filter_properties,
            requested_networks=requested_networks,
            block_device_mapping=block_device_mapping or [],
            injected_files=injected_files or [],
            admin_password=admin_password)
        self._run('compute.build_instance', context, state)

    def terminate_instance(self, context: Any,
                           instance: dict[str, Any]) -> None:
        state = TerminateState(
            compute=self.services, instance=instance,
            block_device_mapping=self.db.block_device_mapping_get_all_by_instance(
                context, instance['uuid']))
        self._run('compute.terminate_instance', context, state)

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
        if port_id:
            # The local network has no ports but those of instances.
            raise exception.PortNotFound(port_id=port_id)
        state = AttachInterfaceState(
            compute=self.services, instance=instance, network_id=network_id,
            requested_ip=requested_ip, tag=tag)
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

    def _run(self, flow: str, context: Any, state: Any) -> bool:
        """Run a cast's flow; True if it succeeded."""
        # One flow per instance at a time in this process; across
        # processes the task_state compare-and-swap of each flow's first
        # state update does the same job.
        with self._locks(state.instance['uuid']):
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
            # One step of the conductor's run: that run finishes the
            # request's action when the whole move is done.
            kwargs['recorder'] = self.recorder.as_part()
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
