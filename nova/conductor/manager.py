"""nova-conductor: schedules builds and unshelves and hands them to
compute hosts, and runs the conductor's own flows (``nova/conductor/flows``)
with their records and their recovery at start, as nova-compute does for
its flows."""

from __future__ import annotations

import contextlib
import datetime
import functools
from collections.abc import Callable
from typing import Any

import oslo_messaging as messaging
from oslo_log import log as logging
from oslo_utils import timeutils

import nova.conf
from nova import concurrency, exception
from nova import context as nova_context
from nova.compute import rpcapi as compute_rpcapi
from nova.compute import task_states, vm_states
from nova.conductor.flows import base, local_delete_instance
from nova.conductor.flows.build_instances import BuildInstancesState
from nova.conductor.flows.confirm_resize import ConfirmResizeState
from nova.conductor.flows.evacuate_instance import EvacuateState
from nova.conductor.flows.live_migrate_instance import LiveMigrateState
from nova.conductor.flows.resize_instance import ResizeState
from nova.flow import FlowEngine, recovery
from nova.scheduler import filters, host_manager

LOG = logging.getLogger(__name__)
CONF = nova.conf.CONF


class ConductorManager:
    target = messaging.Target(version='1.5')

    def __init__(self, host: str, db: Any, recorder: Any, *,
                 network: Any = None, volume: Any = None, image: Any = None,
                 notifier: Any = None,
                 engine: FlowEngine | None = None) -> None:
        self.host = host
        self.db = db
        self.recorder = recorder
        self.scheduler = host_manager.Scheduler(db)
        self.compute_rpcapi = compute_rpcapi.ComputeAPI()
        self.services = base.ConductorServices(
            host=host, network=network, volume=volume, image=image, db=db,
            notifier=notifier, compute_rpcapi=self.compute_rpcapi,
            scheduler=self.scheduler)
        self.flows = engine or FlowEngine.from_conf(CONF, recorder=recorder,
                                                    host=host)

    # -- service life cycle ---------------------------------------------

    def init_host(self) -> None:
        ctx = nova_context.get_admin_context()
        if CONF.conductor.recover_interrupted_flows:
            self.recover_interrupted_runs(ctx)
        if CONF.conductor.lost_build_timeout:
            self.fail_lost_builds(ctx)

    def periodic_tasks(self) -> list[tuple[Callable[[], Any], float]]:
        """What the service runs every so often while it is up."""
        tasks: list[tuple[Callable[[], Any], float]] = []
        timeout = CONF.conductor.lost_build_timeout
        if timeout:
            tasks.append((lambda: self.fail_lost_builds(
                nova_context.get_admin_context()), timeout / 2))
        interval = CONF.flow.abandoned_run_check_interval
        if interval and CONF.conductor.recover_interrupted_flows:
            tasks.append((lambda: self.recover_abandoned_runs(
                nova_context.get_admin_context()), float(interval)))
        return tasks

    def fail_lost_builds(self, ctx: Any) -> int:
        """Set to ERROR, with a fault, every server whose create request
        no service took within ``[conductor] lost_build_timeout`` (see
        db.create_requests_lost), and finish its create action; how many.

        A compare-and-swap on BUILDING/``scheduling``: a server a compute
        host takes meanwhile is left alone, and a compute host does not
        take one set to ERROR here (its update_building expects
        BUILDING).  The request's arguments (networks, hints, admin
        password) were never stored, so it cannot be built instead.
        """
        timeout = CONF.conductor.lost_build_timeout
        cutoff = timeutils.utcnow() - datetime.timedelta(seconds=timeout)
        failed = 0
        for request in self.db.create_requests_lost(ctx, cutoff):
            uuid = request['instance_uuid']
            try:
                self.db.instance_update(
                    ctx, uuid, {'vm_state': vm_states.ERROR,
                                'task_state': None},
                    expected_task_state=task_states.SCHEDULING,
                    expected_vm_state=vm_states.BUILDING)
            except (exception.UnexpectedTaskStateError,
                    exception.UnexpectedVMStateError,
                    exception.InstanceNotFound):
                continue  # taken or deleted meanwhile
            lost = exception.InstanceBuildLost(instance_uuid=uuid,
                                               timeout=timeout)
            self.db.instance_fault_create(ctx, uuid, lost, None)
            self.db.action_finish(ctx, uuid, request['request_id'],
                                  message='Error')
            LOG.warning('%s (request %s)', lost, request['request_id'])
            failed += 1
        return failed

    def recover_interrupted_runs(self, ctx: Any) -> int:
        """Finish or revert every conductor run a crash on this host left
        behind (the compute runs recorded under the same host name, as in
        nova-all, are nova-compute's to recover)."""
        return len(recovery.recover_interrupted_runs(
            self.flows, self.recorder, ctx, self.services, host=self.host,
            namespace='conductor', run_context=nova_context.for_run,
            gone=(exception.InstanceNotFound,),
            concurrently=functools.partial(
                concurrency.map_bounded,
                workers=CONF.conductor.max_concurrent_recoveries)))

    def recover_abandoned_runs(self, ctx: Any) -> int:
        """Finish or revert the conductor runs of this host that stopped
        while the service ran, without ending, because their record
        could not be written (nova.flow.recovery: abandoned runs); how
        many.  (The recovery at start ends before this service takes
        requests, so it never overlaps.)"""
        return len(recovery.recover_abandoned_runs(
            self.flows, self.recorder, ctx, self.services, host=self.host,
            namespace='conductor', run_context=nova_context.for_run,
            gone=(exception.InstanceNotFound,)))

    # -- RPC methods ------------------------------------------------------

    def build_instances(self, context: Any, instances: list[dict[str, Any]],
                        image_meta: dict[str, Any],
                        request_spec: dict[str, Any],
                        filter_properties: dict[str, Any],
                        requested_networks: Any = None,
                        block_device_mapping: Any = None,
                        admin_password: str | None = None,
                        injected_files: Any = None) -> None:
        """Build a create request (or a host's reschedule of one
        instance): the conductor.build_instances flow, which places and
        claims all of them (between ``request_spec['min_count']`` and
        all, or none) before any host builds one.  Its events join the
        create action of the first instance; the hosts' builds finish
        the actions."""
        state = BuildInstancesState(
            conductor=self.services, instances=list(instances),
            image_meta=image_meta, request_spec=request_spec,
            filter_properties=filter_properties,
            requested_networks=requested_networks,
            block_device_mapping=block_device_mapping,
            admin_password=admin_password, injected_files=injected_files)
        kwargs = {}
        if hasattr(self.recorder, 'as_part'):
            kwargs['recorder'] = self.recorder.as_part()
        try:
            self.flows.run('conductor.build_instances', context, state,
                           **kwargs)
        except Exception as exc:
            # The failure handler set the instances to ERROR with the
            # fault; a cast has nobody to report to.
            log = (LOG.warning if isinstance(exc, exception.NoValidHost)
                   else LOG.exception)
            log('No valid host for %s: %s',
                ', '.join(i['uuid'] for i in instances), exc)

    def unshelve_instance(self, context: Any, instance: dict[str, Any],
                          request_spec: dict[str, Any]) -> None:
        """Send an unshelve to a compute host.

        A SHELVED instance still has its guest on its host: it goes back
        there.  A SHELVED_OFFLOADED one is scheduled like a build, to
        ``request_spec['host']`` when an admin named one (2.91), with
        its snapshot's image record.  When no host fits, or the snapshot
        is gone, the instance stays shelved with a fault and its task
        state cleared, as upstream.
        """
        uuid = instance['uuid']
        if instance['vm_state'] == vm_states.SHELVED:
            self.compute_rpcapi.unshelve_instance(
                context, instance, instance['host'], node=instance['node'])
            return
        try:
            image_id = (instance.get('system_metadata') or {}).get(
                'shelved_image_id')
            if not image_id:
                raise exception.UnshelveException(
                    instance_id=uuid, reason='it has no shelved snapshot')
            try:
                image = self.services.image.get(context, image_id)
            except exception.ImageNotFound:
                raise exception.UnshelveException(
                    instance_id=uuid,
                    reason=f'its snapshot {image_id} is gone') from None
            spec = dict(request_spec, flavor=instance['flavor'],
                        image=image, instance_uuids=[uuid])
            host = self._select_host(context, spec)
        except (exception.NoValidHost, exception.UnshelveException) as exc:
            LOG.warning('Cannot unshelve %s: %s', uuid, exc)
            self.db.instance_fault_create(context, uuid, exc, None)
            self.db.instance_update(context, uuid, {'task_state': None})
            self.db.action_finish(context, uuid, message='Error')
            return
        self.compute_rpcapi.unshelve_instance(
            context, instance, host.host, node=host.node, image=image)

    def local_delete_instance(self, context: Any,
                              instance: dict[str, Any]) -> None:
        """Delete an instance that has no host: the
        conductor.local_delete_instance flow, which finishes the
        request's delete action.

        The instance is read again: if a compute host took it between
        the API's read and its delete (a build that had just been
        scheduled), that host's terminate flow deletes it instead.
        """
        uuid = instance['uuid']
        try:
            current = self.db.instance_get_by_uuid(context, uuid)
        except exception.InstanceNotFound:
            LOG.info('Instance %s to delete is already gone', uuid)
            with contextlib.suppress(exception.InstanceActionNotFound):
                self.db.action_finish(context, uuid)
            return
        if current.get('host'):
            LOG.info('Instance %s to delete has a host now (%s): deleting '
                     'it there', uuid, current['host'])
            self.compute_rpcapi.terminate_instance(context, current)
            return
        state = local_delete_instance.new_state(context, self.services,
                                                current)
        try:
            self.flows.run('conductor.local_delete_instance', context,
                           state)
        except Exception as exc:
            # The failure handlers recorded the fault and set ERROR; a
            # cast has nobody to return the error to.
            LOG.error('conductor.local_delete_instance failed for '
                      'instance %s: %s', uuid, exc)

    # -- moves ----------------------------------------------------------

    def resize_instance(self, context: Any, instance: dict[str, Any],
                        flavor: dict[str, Any], migration_type: str,
                        host: str | None = None) -> None:
        """Resize or cold-migrate: the conductor.resize_instance flow."""
        self._run_flow('conductor.resize_instance', context, ResizeState(
            conductor=self.services, instance=instance, flavor=flavor,
            migration_type=migration_type, requested_host=host))

    def confirm_resize(self, context: Any, instance: dict[str, Any],
                       migration: dict[str, Any]) -> None:
        self._run_flow('conductor.confirm_resize', context,
                       ConfirmResizeState(conductor=self.services,
                                          instance=instance,
                                          migration=migration))

    def revert_resize(self, context: Any, instance: dict[str, Any],
                      migration: dict[str, Any]) -> None:
        self._run_flow('conductor.revert_resize', context,
                       ConfirmResizeState(conductor=self.services,
                                          instance=instance,
                                          migration=migration))

    # -- live migration (1.4) --------------------------------------------

    def live_migrate_instance(self, context: Any, instance: dict[str, Any],
                              host: str | None,
                              block_migration: bool | None,
                              force: bool | None = None,
                              disk_over_commit: bool = False) -> None:
        """Live-migrate: the conductor.live_migrate_instance flow."""
        self._run_flow('conductor.live_migrate_instance', context,
                       LiveMigrateState(
                           conductor=self.services, instance=instance,
                           requested_host=host, force=bool(force),
                           block_migration=block_migration,
                           disk_over_commit=bool(disk_over_commit)))

    # -- end of live migration (1.4) -------------------------------------

    # -- evacuate (1.5) ---------------------------------------------------

    def evacuate_instance(self, context: Any, instance: dict[str, Any],
                          host: str | None = None, force: bool = False,
                          admin_password: str | None = None,
                          on_shared_storage: bool | None = None,
                          target_state: str | None = None) -> None:
        """Evacuate: the conductor.evacuate_instance flow."""
        self._run_flow('conductor.evacuate_instance', context, EvacuateState(
            conductor=self.services, instance=instance,
            requested_host=host, force=bool(force),
            admin_password=admin_password,
            on_shared_storage=on_shared_storage,
            target_state=target_state or vm_states.ACTIVE))

    # -- end of evacuate --------------------------------------------------

    def _run_flow(self, flow: str, context: Any, state: Any) -> bool:
        """Run a cast's flow (a move); its failure handlers have recorded
        what went wrong, and a cast has nobody to return the error to.

        The run, and the parts the hosts run for it, are recorded under
        the request's action, found now and named in the context of
        every RPC call the flow makes: the hosts' later steps stay the
        move's even when another request on the instance (an abort)
        has come meanwhile.
        """
        kwargs = {}
        action = None
        if getattr(context, 'request_id', None):
            action = self.db.action_get_by_request_id(
                context, state.instance['uuid'], context.request_id)
        if action is not None:
            context = nova_context.RequestContext.from_dict(
                dict(context.to_dict(), action_id=action['id']))
            if hasattr(self.recorder, 'for_action'):
                kwargs['recorder'] = self.recorder.for_action(action['id'])
        try:
            self.flows.run(flow, context, state, **kwargs)
        except Exception as exc:
            LOG.error('%s failed for instance %s: %s', flow,
                      state.instance['uuid'], exc)
            return False
        return True

    def _select_host(self, context: Any,
                     spec: dict[str, Any]) -> filters.HostState:
        wanted = spec.get('host')
        if not wanted:
            return self.scheduler.select_destinations(context, spec, 1)[0]
        hosts = [h for h in self.scheduler.host_states(context)
                 if h.host == wanted]
        if not hosts:
            raise exception.NoValidHost(
                reason=f'Compute host {wanted} is not known.')
        return filters.select_hosts(
            hosts, spec, self.scheduler.filters, 1.0, 1)[0]
