"""The compute API the REST layer calls: checks, records, then RPC casts.

It validates what can be validated without a compute host (image state,
key pair, instance state for an action), writes the records the request
creates (instances, block device mappings, the instance action that the
flow's stage events will hang off), and casts to the conductor or the
instance's compute host.  Moves between hosts (resize, cold and live
migration, evacuate) go to the conductor, which orchestrates them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

import oslo_messaging as messaging
from oslo_log import log as logging
from oslo_utils import excutils, timeutils, units

import nova.conf
from nova import exception, quota, servicegroup
from nova.compute import power_state, task_states, vm_states
from nova.conductor import rpcapi as conductor_rpcapi

LOG = logging.getLogger(__name__)
CONF = nova.conf.CONF

# Action names as upstream's instance_actions module spells them.
CREATE = 'create'
DELETE = 'delete'
TRIGGER_CRASH_DUMP = 'trigger_crash_dump'
EXTEND_VOLUME = 'extend_volume'
START = 'start'
STOP = 'stop'

#: The instance action a power-update event's tag records.
_POWER_UPDATE_ACTIONS = {power_state.POWER_ON: START,
                         power_state.POWER_OFF: STOP}

# "Not given" for keyword arguments whose None means something (rebuild
# with key_name None removes the key pair).
_UNSET: Any = object()


class API:

    def __init__(self, db: Any = None, image_api: Any = None,
                 compute_rpcapi: Any = None,
                 conductor_api: Any = None, volume_api: Any = None,
                 network_api: Any = None) -> None:
        if db is None:
            from nova.db import api as db
        if image_api is None:
            from nova.image import api as image_module
            image_api = image_module.API()
        if compute_rpcapi is None:
            from nova.compute import rpcapi as compute_rpc_module
            compute_rpcapi = compute_rpc_module.ComputeAPI()
        self.db = db
        self.image_api = image_api
        self.compute_rpcapi = compute_rpcapi
        self.conductor_api = conductor_api or conductor_rpcapi.ConductorAPI()
        self._volume_api = volume_api
        self._network_api = network_api

    @property
    def volume_api(self) -> Any:
        if self._volume_api is None:
            from nova.volume import api as volume_module
            self._volume_api = volume_module.API()
        return self._volume_api

    @property
    def network_api(self) -> Any:
        if self._network_api is None:
            from nova.network import api as network_module
            self._network_api = network_module.API()
        return self._network_api

    # -- create ------------------------------------------------------------

    def create(self, ctx: Any, flavor: dict[str, Any], image_href: str | None,
               *, name: str, min_count: int = 1, max_count: int = 1,
               key_name: str | None = None, user_data: str | None = None,
               availability_zone: str | None = None,
               block_device_mapping: list[dict[str, Any]] | None = None,
               requested_networks: Any = None,
               metadata: dict[str, str] | None = None,
               config_drive: bool | None = None,
               scheduler_hints: dict[str, Any] | None = None,
               instance_group: dict[str, Any] | None = None,
               security_groups: list[str] | None = None,
               description: str | None = None,
               tags: list[str] | None = None, hostname: str | None = None,
               admin_password: str | None = None,
               access_ip_v4: str | None = None,
               access_ip_v6: str | None = None,
               recheck_quota: bool = False,
               ) -> tuple[list[dict[str, Any]], str]:
        image_meta = self._image_for_boot(ctx, image_href)
        key_data = None
        if key_name:
            key_data = self.db.key_pair_get(ctx, ctx.user_id,
                                            key_name)['public_key']
        bdms = list(block_device_mapping or [])
        self._check_image_volumes(ctx, bdms)
        volume_ids = self._check_volumes(ctx, bdms, min_count, max_count)
        if image_href and not any(b.get('boot_index') == 0 for b in bdms):
            bdms.insert(0, {'source_type': 'image',
                            'destination_type': 'local', 'boot_index': 0,
                            'image_id': image_href,
                            'delete_on_termination': True})
        reservation_id = 'r-' + uuid.uuid4().hex[:8]
        instances = []
        for index in range(max_count):
            values = {
                'uuid': str(uuid.uuid4()),
                'user_id': ctx.user_id, 'project_id': ctx.project_id,
                'display_name': name if max_count == 1
                else f'{name}-{index + 1}',
                'display_description': description,
                'hostname': hostname or name,
                'vm_state': vm_states.BUILDING,
                'task_state': task_states.SCHEDULING,
                'power_state': power_state.NOSTATE,
                'memory_mb': flavor['memory_mb'], 'vcpus': flavor['vcpus'],
                'root_gb': flavor['root_gb'],
                'ephemeral_gb': flavor['ephemeral_gb'],
                'swap': flavor['swap'], 'flavor': dict(flavor),
                'image_ref': image_href or '',
                'kernel_id': image_meta.get('properties', {}).get(
                    'kernel_id'),
                'ramdisk_id': image_meta.get('properties', {}).get(
                    'ramdisk_id'),
                'availability_zone': availability_zone,
                'key_name': key_name, 'key_data': key_data,
                'user_data': user_data, 'metadata': dict(metadata or {}),
                'system_metadata': {}, 'config_drive': bool(config_drive),
                'access_ip_v4': access_ip_v4, 'access_ip_v6': access_ip_v6,
                'locked': False, 'launch_index': index,
                'reservation_id': reservation_id, 'progress': 0,
                'tags': list(tags or []),
                'security_groups': list(security_groups or ['default']),
            }
            # One transaction per instance: the record, its block devices
            # and its action exist together or not at all.
            instance, instance_bdms, _action = \
                self.db.instance_create_for_request(
                    ctx, values, bdms, CREATE,
                    group_id=instance_group['id'] if instance_group
                    else None)
            instances.append((instance, instance_bdms))
        if recheck_quota and CONF.quota.recheck_quota:
            self._recheck_quota(ctx, [i for i, _ in instances])
        if volume_ids:
            self._reserve_volumes(ctx, instances[0][0], volume_ids)
        hints = dict(scheduler_hints or {})
        if instance_group and not hints.get('group'):
            # The group the instances joined is the request's, whoever
            # called (upstream's RequestSpec.instance_group): the
            # scheduler and the host's late check go by this hint.
            hints['group'] = instance_group['uuid']
        request_spec = {
            'flavor': dict(flavor), 'image': image_meta,
            'availability_zone': availability_zone,
            'scheduler_hints': hints,
            'num_instances': max_count,
            # conductor.build_instances builds between min_count and
            # num_instances of them, or none.
            'min_count': min_count,
        }
        try:
            self.conductor_api.build_instances(
                ctx, [i for i, _ in instances], image_meta=image_meta,
                request_spec=request_spec, filter_properties={},
                requested_networks=requested_networks,
                block_device_mapping=instances[0][1],
                admin_password=admin_password, injected_files=[])
        except Exception:
            # Not handed over: the reservations are still this request's.
            with excutils.save_and_reraise_exception():
                self._unreserve_volumes(ctx, instances[0][0], volume_ids)
        return [i for i, _ in instances], reservation_id

    def _check_volumes(self, ctx: Any, bdms: list[dict[str, Any]],
                       min_count: int, max_count: int) -> list[str]:
        """The existing volumes the request boots with (source_type
        volume): each must exist and be available, and one server at
        most may have them (upstream's ``_validate_bdm``; no volume
        here is multiattach)."""
        volume_ids = [b['volume_id'] for b in bdms
                      if b.get('source_type') == 'volume'
                      and b.get('volume_id')]
        if not volume_ids:
            return []
        if min_count > 1 or max_count > 1:
            raise exception.InvalidRequest(
                'Cannot attach one or more volumes to multiple instances')
        for volume_id in volume_ids:
            try:
                volume = self.volume_api.get(ctx, volume_id)
            except exception.VolumeNotFound:
                raise exception.InvalidBDMVolume(id=volume_id) from None
            if volume['status'] != 'available':
                raise exception.InvalidVolume(
                    reason=f"volume {volume_id} status must be "
                           f"'available', not '{volume['status']}'")
        return volume_ids

    def _reserve_volumes(self, ctx: Any, instance: dict[str, Any],
                         volume_ids: list[str]) -> None:
        """Reserve the existing volumes for the new server before the
        build is cast (upstream's reserved attachment): a concurrent
        request for one of them is refused from here on.  If one cannot
        be reserved (taken since it was checked), those reserved are
        released, the server is deleted and the request refused."""
        reserved: list[str] = []
        try:
            for volume_id in volume_ids:
                self.volume_api.reserve(ctx, volume_id, instance['uuid'])
                reserved.append(volume_id)
        except Exception:
            with excutils.save_and_reraise_exception():
                self._unreserve_volumes(ctx, instance, reserved)
                self.db.instance_destroy(ctx, instance['uuid'])

    def _unreserve_volumes(self, ctx: Any, instance: dict[str, Any],
                           volume_ids: list[str]) -> None:
        """Release the reservations of a create that failed before its
        build was cast (best effort: the error of the create stands)."""
        for volume_id in volume_ids:
            try:
                self.volume_api.unreserve(ctx, volume_id, instance['uuid'])
            except Exception as error:
                LOG.warning('Volume %s reserved for %s could not be '
                            'released: %s', volume_id, instance['uuid'],
                            type(error).__name__)

    def _recheck_quota(self, ctx: Any,
                       instances: list[dict[str, Any]]) -> None:
        """Upstream's quota recheck ([quota] recheck_quota): with the
        records written, the project's usage must still fit its limits;
        if a concurrent request raced this one past them, this request's
        servers are deleted again and it fails with 403 before anything
        is scheduled.  Asked for by api.server_create.check_quota (the
        callers that checked the quota first)."""
        try:
            quota.QuotaEngine(self.db).check_deltas(
                ctx, {'instances': 0, 'cores': 0, 'ram': 0})
        except exception.OverQuota as error:
            for instance in instances:
                self.db.instance_destroy(ctx, instance['uuid'])
            overs = error.kwargs['overs']
            raise exception.TooManyInstances(
                overs=', '.join(overs),
                req=', '.join('0' for _ in overs),
                used=', '.join(str(error.kwargs['usages'][n])
                               for n in overs),
                allowed=', '.join(str(error.kwargs['quotas'][n])
                                  for n in overs)) from None

    def _check_image_volumes(self, ctx: Any,
                             bdms: list[dict[str, Any]]) -> None:
        """The volumes the build will create from images: each image must
        exist and fit its volume (its ``min_disk``), checked here so that
        the user learns it at once rather than from a failed build."""
        for bdm in bdms:
            if not (bdm.get('source_type') == 'image'
                    and bdm.get('destination_type') == 'volume'):
                continue
            try:
                image = self.image_api.get(ctx, bdm['image_id'])
            except exception.ImageNotFound:
                raise exception.InvalidBDMImage(id=bdm['image_id']) from None
            min_disk = int(image.get('min_disk') or 0) * units.Gi
            volume_size = int(bdm['volume_size']) * units.Gi
            if min_disk > volume_size:
                raise exception.VolumeSmallerThanMinDisk(
                    volume_size=volume_size, image_min_disk=min_disk)

    def _image_for_boot(self, ctx: Any, image_href: str | None,
                        ) -> dict[str, Any]:
        if not image_href:
            return {}
        image = self.image_api.get(ctx, image_href)
        if image.get('status') != 'active':
            raise exception.Invalid(
                reason=f'Image {image_href} is not active.')
        return image

    # -- reads -------------------------------------------------------------

    def get(self, ctx: Any, instance_id: str) -> dict[str, Any]:
        """The instance, with its ``network_info`` from the network
        service (what the server view shows as addresses)."""
        instance = self.db.instance_get_by_uuid(ctx, instance_id)
        instance['network_info'] = self.network_api.get_instance_nw_info(
            ctx, instance['uuid'])
        return _with_lock_reason(instance)

    def get_all(self, ctx: Any, search_opts: dict[str, Any],
                limit: int | None = None, marker: str | None = None,
                sort_keys: Iterable[str] | None = None,
                sort_dirs: Iterable[str] | None = None,
                ) -> list[dict[str, Any]]:
        instances = self.db.instance_get_all_by_filters(
            ctx, dict(search_opts), limit=limit, marker=marker,
            sort_keys=list(sort_keys or []), sort_dirs=list(sort_dirs or []))
        # One query for the whole page, not one per server.
        network_info = self.network_api.get_nw_info_for_instances(
            ctx, [i['uuid'] for i in instances])
        for instance in instances:
            instance['network_info'] = network_info[instance['uuid']]
            _with_lock_reason(instance)
        return instances

    def update(self, ctx: Any, instance: dict[str, Any],
               **values: Any) -> dict[str, Any]:
        self.db.instance_update(ctx, instance['uuid'], values)
        return dict(instance, **values)

    # -- delete ------------------------------------------------------------

    def delete(self, ctx: Any, instance: dict[str, Any]) -> None:
        if instance.get('locked') and not ctx.is_admin:
            raise exception.InstanceIsLocked(instance_uuid=instance['uuid'])
        if instance.get('vm_state') == vm_states.RESIZED:
            self._confirm_resize_on_deleting(ctx, instance)
        self.db.instance_update_for_request(
            ctx, instance['uuid'], {'task_state': task_states.DELETING,
                                    'updated_at': timeutils.utcnow()},
            DELETE, expected_task_state=_DELETABLE_TASK_STATES)
        instance = dict(instance, task_state=task_states.DELETING)
        if instance.get('host'):
            self.compute_rpcapi.terminate_instance(ctx, instance)
            return
        # No host (shelved-offloaded, still scheduling, or NoValidHost):
        # the conductor frees what the instance still holds - addresses,
        # shelve snapshot, volumes, allocation - and deletes the record.
        self.conductor_api.local_delete_instance(ctx, instance)

    def _confirm_resize_on_deleting(self, ctx: Any,
                                    instance: dict[str, Any]) -> None:
        """A server deleted while its resize waits to be confirmed: its
        source first deletes the old guest (upstream's confirm on
        deleting, an RPC call).  If the source does not answer, the
        delete goes on: the terminate flow frees what the migration
        held, and the old guest is left to the source's own cleanup."""
        try:
            migration = self.db.migration_get_by_instance_and_status(
                ctx, instance['uuid'], 'finished')
        except exception.MigrationNotFound:
            return
        try:
            self.compute_rpcapi.confirm_resize(ctx, instance, migration)
        except Exception as error:
            LOG.warning('Could not confirm the resize of %s on %s before '
                        'deleting it: %s', instance['uuid'],
                        migration['source_compute'], error)
        else:
            instance.update(self.db.instance_get_by_uuid(
                ctx, instance['uuid']))

    # -- single-instance actions --------------------------------------------

    def reboot(self, ctx: Any, instance: dict[str, Any],
               reboot_type: str) -> None:
        if reboot_type == 'SOFT':
            self._check_state(instance, 'reboot', (vm_states.ACTIVE,),
                              (None,))
            task_state = task_states.REBOOTING
        else:
            self._check_state(instance, 'reboot', _HARD_REBOOT_VM_STATES,
                              _HARD_REBOOT_TASK_STATES)
            task_state = task_states.REBOOTING_HARD
        self._start_action(ctx, instance, 'reboot', task_state,
                           instance.get('task_state'))
        self.compute_rpcapi.reboot_instance(ctx, instance, reboot_type)

    def stop(self, ctx: Any, instance: dict[str, Any]) -> None:
        self._check_state(instance, 'stop',
                          (vm_states.ACTIVE, vm_states.ERROR), (None,))
        self._start_action(ctx, instance, 'stop', task_states.POWERING_OFF,
                           None)
        self.compute_rpcapi.stop_instance(ctx, instance)

    def start(self, ctx: Any, instance: dict[str, Any]) -> None:
        self._check_state(instance, 'start', (vm_states.STOPPED,), (None,))
        self._start_action(ctx, instance, 'start', task_states.POWERING_ON,
                           None)
        self.compute_rpcapi.start_instance(ctx, instance)

    def _check_state(self, instance: dict[str, Any], action: str,
                     vm_states_allowed: tuple[str, ...],
                     task_states_allowed: tuple[str | None, ...]) -> None:
        if instance.get('vm_state') not in vm_states_allowed:
            raise exception.InstanceInvalidState(
                attr='vm_state', instance_uuid=instance['uuid'],
                state=instance.get('vm_state'), method=action)
        if instance.get('task_state') not in task_states_allowed:
            raise exception.InstanceInvalidState(
                attr='task_state', instance_uuid=instance['uuid'],
                state=instance.get('task_state'), method=action)

    def _start_action(self, ctx: Any, instance: dict[str, Any], action: str,
                      task_state: str, expected: Any, *,
                      check_lock: bool = True, require_host: bool = True,
                      **values: Any) -> None:
        """Take the instance for ``action`` (compare-and-swap on its task
        state, so two requests cannot both start; ``values`` are written
        in the same UPDATE) and open the instance action that the flow's
        stage events are recorded under."""
        if check_lock:
            self._check_lock(ctx, instance)
        if require_host and not instance.get('host'):
            raise exception.InstanceInvalidState(
                attr='host', instance_uuid=instance['uuid'], state=None,
                method=action)
        values.update(task_state=task_state, updated_at=timeutils.utcnow())
        self.db.instance_update_for_request(ctx, instance['uuid'], values,
                                            action,
                                            expected_task_state=expected)
        instance.update(values)

    def _check_compute_up(self, ctx: Any, host: str) -> None:
        """:raises ServiceUnavailable: nova-compute on ``host`` is down
        (or was never registered): upstream's ``check_instance_host(
        check_is_up=True)``."""
        try:
            service = self.db.service_get_by_host_and_binary(
                ctx, host, 'nova-compute')
        except exception.HostBinaryNotFound:
            service = None
        if service is None or not servicegroup.service_is_up(service):
            raise self._compute_unavailable(ctx, host)

    @staticmethod
    def _compute_unavailable(ctx: Any,
                             host: str) -> exception.ServiceUnavailable:
        """The error for a compute host that cannot serve a request: it
        names the host for admins only (users are not shown host names,
        as upstream)."""
        if ctx.is_admin:
            return exception.ComputeServiceUnavailable(host=host)
        return exception.ServiceUnavailable()

    @staticmethod
    def _check_lock(ctx: Any, instance: dict[str, Any]) -> None:
        """A locked server refuses its owner's actions (not an admin's),
        with upstream's 409 message."""
        if instance.get('locked') and not ctx.is_admin:
            raise exception.InstanceIsLocked(instance_uuid=instance['uuid'])

    # -- pause, suspend, rescue: one state change each -------------------

    def pause(self, ctx: Any, instance: dict[str, Any]) -> None:
        self._check_state(instance, 'pause', (vm_states.ACTIVE,), (None,))
        self._start_action(ctx, instance, 'pause', task_states.PAUSING, None)
        self.compute_rpcapi.pause_instance(ctx, instance)

    def unpause(self, ctx: Any, instance: dict[str, Any]) -> None:
        self._check_state(instance, 'unpause', (vm_states.PAUSED,), (None,))
        self._start_action(ctx, instance, 'unpause', task_states.UNPAUSING,
                           None)
        self.compute_rpcapi.unpause_instance(ctx, instance)

    def suspend(self, ctx: Any, instance: dict[str, Any]) -> None:
        self._check_state(instance, 'suspend', (vm_states.ACTIVE,), (None,))
        self._start_action(ctx, instance, 'suspend',
                           task_states.SUSPENDING, None)
        self.compute_rpcapi.suspend_instance(ctx, instance)

    def resume(self, ctx: Any, instance: dict[str, Any]) -> None:
        self._check_state(instance, 'resume', (vm_states.SUSPENDED,),
                          (None,))
        self._start_action(ctx, instance, 'resume', task_states.RESUMING,
                           None)
        self.compute_rpcapi.resume_instance(ctx, instance)

    def rescue(self, ctx: Any, instance: dict[str, Any],
               rescue_password: str | None = None,
               rescue_image_ref: str | None = None) -> None:
        self._check_state(instance, 'rescue', _RESCUE_VM_STATES, (None,))
        if rescue_image_ref:
            self._image_for_boot(ctx, rescue_image_ref)
        self._start_action(ctx, instance, 'rescue', task_states.RESCUING,
                           None)
        self.compute_rpcapi.rescue_instance(
            ctx, instance, rescue_password=rescue_password,
            rescue_image_ref=rescue_image_ref)

    def unrescue(self, ctx: Any, instance: dict[str, Any]) -> None:
        self._check_state(instance, 'unrescue', (vm_states.RESCUED,),
                          (None,))
        self._start_action(ctx, instance, 'unrescue',
                           task_states.UNRESCUING, None)
        self.compute_rpcapi.unrescue_instance(ctx, instance)

    # -- rebuild and snapshots --------------------------------------------

    def rebuild(self, ctx: Any, instance: dict[str, Any], image_href: str,
                admin_password: str | None, *,
                display_name: str | None = None,
                metadata: dict[str, str] | None = None,
                access_ip_v4: str | None = None,
                access_ip_v6: str | None = None,
                preserve_ephemeral: bool = False,
                auto_disk_config: bool | None = None,
                display_description: Any = _UNSET,
                key_name: Any = _UNSET, user_data: Any = _UNSET,
                hostname: str | None = None) -> None:
        """Rebuild from ``image_href`` on the instance's host.

        The new image and fields are written with the task state (as
        upstream, before the cast).  ``auto_disk_config`` is accepted and
        ignored: no driver here partitions disks.
        """
        self._check_state(instance, 'rebuild', _REBUILD_VM_STATES, (None,))
        self._check_lock(ctx, instance)
        image = self._image_for_boot(ctx, image_href)
        root_gb = int(instance.get('root_gb') or 0)
        if root_gb and int(image.get('size') or 0) > root_gb * 1024 ** 3:
            raise exception.FlavorDiskSmallerThanImage(
                flavor_size=root_gb * 1024 ** 3, image_size=image['size'])
        properties = image.get('properties') or {}
        values: dict[str, Any] = {
            'image_ref': image_href, 'progress': 0,
            'kernel_id': properties.get('kernel_id'),
            'ramdisk_id': properties.get('ramdisk_id')}
        for key, value in (('display_name', display_name),
                           ('metadata', metadata),
                           ('access_ip_v4', access_ip_v4),
                           ('access_ip_v6', access_ip_v6),
                           ('hostname', hostname)):
            if value is not None:
                values[key] = value
        if display_description is not _UNSET:
            values['display_description'] = display_description
        if user_data is not _UNSET:
            values['user_data'] = user_data
        if key_name is not _UNSET:
            values['key_name'] = key_name
            values['key_data'] = None if key_name is None else \
                self.db.key_pair_get(ctx, ctx.user_id,
                                     key_name)['public_key']
        self._start_action(ctx, instance, 'rebuild', task_states.REBUILDING,
                           None, **values)
        self.compute_rpcapi.rebuild_instance(
            ctx, instance, admin_password=admin_password,
            preserve_ephemeral=bool(preserve_ephemeral))

    def snapshot(self, ctx: Any, instance: dict[str, Any], name: str,
                 extra_properties: dict[str, Any] | None = None,
                 ) -> dict[str, Any]:
        """createImage: the image record now, its data from the host.

        Upstream allows a snapshot of a locked server, so does this.
        """
        self._check_state(instance, 'createImage', _SNAPSHOT_VM_STATES,
                          (None,))
        if not instance.get('host'):
            raise exception.InstanceInvalidState(
                attr='host', instance_uuid=instance['uuid'], state=None,
                method='createImage')
        image = self._create_image(ctx, instance, name, extra_properties)
        try:
            self._start_action(ctx, instance, 'createImage',
                               task_states.IMAGE_SNAPSHOT, None,
                               check_lock=False)
        except Exception:
            self.image_api.delete(ctx, image['id'])
            raise
        self.compute_rpcapi.snapshot_instance(ctx, instance, image['id'])
        return image

    def _create_image(self, ctx: Any, instance: dict[str, Any], name: str,
                      extra_properties: dict[str, Any] | None,
                      ) -> dict[str, Any]:
        """The snapshot's image record (``saving``): the base image's
        properties and formats, what identifies the instance, and the
        user's metadata, as upstream's compute_utils.create_image."""
        base: dict[str, Any] = {}
        if instance.get('image_ref'):
            try:
                base = self.image_api.get(ctx, instance['image_ref'])
            except exception.ImageNotFound:
                base = {}
        properties = {k: v for k, v in (base.get('properties') or {}).items()
                      if k not in _NOT_INHERITED}
        properties.update(instance_uuid=instance['uuid'],
                          user_id=ctx.user_id, image_type='snapshot',
                          base_image_ref=instance.get('image_ref') or '',
                          image_location='snapshot', image_state='available',
                          owner_id=instance.get('project_id'))
        properties.update(extra_properties or {})
        meta: dict[str, Any] = {
            'min_ram': int(base.get('min_ram') or 0),
            'min_disk': max(int(base.get('min_disk') or 0),
                            int(instance.get('root_gb') or 0))}
        for key in ('disk_format', 'container_format'):
            if base.get(key):
                meta[key] = base[key]
        return self.image_api.create_snapshot(ctx, name,
                                              properties=properties, **meta)

    # -- shelve -------------------------------------------------------------

    def shelve(self, ctx: Any, instance: dict[str, Any],
               clean_shutdown: bool = True) -> None:
        """Shelve: snapshot then offload (a volume-backed server has no
        disk to snapshot: it is offloaded at once, as upstream)."""
        self._check_state(instance, 'shelve', _SHELVE_VM_STATES, (None,))
        self._check_lock(ctx, instance)
        if not instance.get('image_ref'):
            self._start_action(ctx, instance, 'shelve', task_states.SHELVING,
                               None)
            self.compute_rpcapi.shelve_offload_instance(ctx, instance)
            return
        if not instance.get('host'):
            raise exception.InstanceInvalidState(
                attr='host', instance_uuid=instance['uuid'], state=None,
                method='shelve')
        image = self._create_image(
            ctx, instance, f'{instance.get("display_name")}-shelved', None)
        try:
            self._start_action(
                ctx, instance, 'shelve', task_states.SHELVING, None,
                system_metadata=dict(instance.get('system_metadata') or {},
                                     shelved_image_id=image['id']))
        except Exception:
            self.image_api.delete(ctx, image['id'])
            raise
        self.compute_rpcapi.shelve_instance(ctx, instance, image['id'])

    def shelve_offload(self, ctx: Any, instance: dict[str, Any],
                       clean_shutdown: bool = True) -> None:
        self._check_state(instance, 'shelveOffload', (vm_states.SHELVED,),
                          (None,))
        self._start_action(ctx, instance, 'shelveOffload',
                           task_states.SHELVING_OFFLOADING, None)
        self.compute_rpcapi.shelve_offload_instance(ctx, instance)

    def unshelve(self, ctx: Any, instance: dict[str, Any],
                 new_az: Any = _UNSET, host: str | None = None) -> None:
        """Through the conductor, which schedules an offloaded server.

        ``new_az`` (2.77) and ``host`` (2.91) only apply to a
        SHELVED_OFFLOADED server, as upstream.
        """
        self._check_state(instance, 'unshelve', _UNSHELVE_VM_STATES,
                          (None,))
        offloaded = instance['vm_state'] == vm_states.SHELVED_OFFLOADED
        if (new_az is not _UNSET or host) and not offloaded:
            raise exception.Invalid(reason=(
                'The availability zone or host of an unshelve can only be '
                f'chosen for a {vm_states.SHELVED_OFFLOADED} server.'))
        values: dict[str, Any] = {}
        if new_az is not _UNSET:
            values['availability_zone'] = new_az
        self._start_action(ctx, instance, 'unshelve',
                           task_states.UNSHELVING, None,
                           require_host=not offloaded, **values)
        spec = {'availability_zone': instance.get('availability_zone'),
                'num_instances': 1}
        if host:
            spec['host'] = host
        self.conductor_api.unshelve_instance(ctx, instance, spec)

    # -- moves: resize, cold migrate (conductor.resize_instance) ----------

    def resize(self, ctx: Any, instance: dict[str, Any],
               flavor_id: str | None = None, *,
               host_name: str | None = None,
               **kwargs: Any) -> None:
        """Resize to the flavor with public ID ``flavor_id``; without
        one, a cold migration (to ``host_name`` if an admin named one,
        2.56).  The conductor's flow does the rest (a cast)."""
        self._check_state(instance, 'resize' if flavor_id else 'migrate',
                          _RESIZE_VM_STATES, (None,))
        current = instance.get('flavor') or {}
        if flavor_id is None:
            flavor, migration_type, action = current, 'migration', 'migrate'
        else:
            flavor = self.db.flavor_get_by_flavor_id(ctx, flavor_id)
            if str(flavor['flavorid']) == str(current.get('flavorid')):
                raise exception.CannotResizeToSameFlavor()
            if flavor.get('disabled'):
                raise exception.FlavorNotFound(flavor_id=flavor_id)
            if not flavor.get('root_gb') and current.get('root_gb') and \
                    instance.get('image_ref'):
                raise exception.CannotResizeDisk(
                    reason='Resize to zero disk flavor is not allowed.')
            migration_type, action = 'resize', 'resize'
        if host_name:
            self._check_host_exists(ctx, host_name)
        self._check_compute_up(ctx, instance['host'])
        system_metadata = dict(instance.get('system_metadata') or {},
                               old_vm_state=instance['vm_state'])
        self._start_action(ctx, instance, action, task_states.RESIZE_PREP,
                           None, system_metadata=system_metadata,
                           progress=0)
        self.conductor_api.resize_instance(ctx, instance, dict(flavor),
                                           migration_type, host=host_name)

    def migrate(self, ctx: Any, instance: dict[str, Any],
                host_name: str | None = None) -> None:
        """Cold migration: a resize to the same flavor."""
        self.resize(ctx, instance, None, host_name=host_name)

    def confirm_resize(self, ctx: Any, instance: dict[str, Any]) -> None:
        self._check_state(instance, 'confirmResize', (vm_states.RESIZED,),
                          (None,))
        migration = self._finished_migration(ctx, instance)
        self._start_action(ctx, instance, 'confirmResize',
                           task_states.RESIZE_CONFIRMING, None)
        self.conductor_api.confirm_resize(ctx, instance, migration)

    def revert_resize(self, ctx: Any, instance: dict[str, Any]) -> None:
        self._check_state(instance, 'revertResize', (vm_states.RESIZED,),
                          (None,))
        migration = self._finished_migration(ctx, instance)
        self._check_compute_up(ctx, migration['source_compute'])
        self._start_action(ctx, instance, 'revertResize',
                           task_states.RESIZE_REVERTING, None)
        self.conductor_api.revert_resize(ctx, instance, migration)

    def _finished_migration(self, ctx: Any,
                            instance: dict[str, Any]) -> dict[str, Any]:
        """The move waiting for its confirm or revert.

        :raises Invalid: (400) upstream's "Instance has not been resized."
        """
        try:
            return self.db.migration_get_by_instance_and_status(
                ctx, instance['uuid'], 'finished')
        except exception.MigrationNotFound:
            raise exception.Invalid(
                message='Instance has not been resized.') from None

    def _check_host_exists(self, ctx: Any, host: str) -> None:
        try:
            self.db.service_get_by_host_and_binary(ctx, host,
                                                   'nova-compute')
        except exception.HostBinaryNotFound:
            # 400, as upstream: the request names a host that is not one.
            raise exception.Invalid(
                message=f'Compute host {host} could not be found.'
            ) from None

    # -- live migration (conductor.live_migrate_instance) ------------------

    def live_migrate(self, ctx: Any, instance: dict[str, Any],
                     host_name: str | None, block_migration: Any,
                     force: bool | None = None,
                     disk_over_commit: bool = False,
                     async_: bool = True) -> None:
        """Live-migrate to ``host_name`` (or where the scheduler says);
        ``block_migration`` 'auto' (None) is decided by the drivers'
        checks.  Upstream's cheap checks here, the rest in the
        conductor's flow (a cast: ``async_`` is always true here, as
        upstream's from 2.25).

        :raises InstanceInvalidState: not ACTIVE or PAUSED, or busy
        :raises Invalid: (400) the host is not a compute host
        :raises UnableToMigrateToSelf: (400) the host is the source
        :raises MigrationPreCheckError: (400) the host's nova-compute is
            down
        :raises ServiceUnavailable: the source's nova-compute is down
        """
        self._check_state(instance, 'live_migrate',
                          (vm_states.ACTIVE, vm_states.PAUSED), (None,))
        if block_migration == 'auto':
            block_migration = None
        if host_name:
            if host_name == instance.get('host'):
                raise exception.UnableToMigrateToSelf(
                    instance_id=instance['uuid'], host=host_name)
            self._check_host_exists(ctx, host_name)
            try:
                self._check_compute_up(ctx, host_name)
            except exception.ServiceUnavailable as exc:
                raise exception.MigrationPreCheckError(
                    reason=exc.format_message()) from None
        self._check_compute_up(ctx, instance['host'])
        self._start_action(ctx, instance, 'live-migration',
                           task_states.MIGRATING, None)
        self.conductor_api.live_migrate_instance(
            ctx, instance, host_name, block_migration,
            force=bool(force and host_name),
            disk_over_commit=disk_over_commit)

    # -- evacuate (conductor.evacuate_instance) ---------------------------

    def evacuate(self, ctx: Any, instance: dict[str, Any],
                 host: str | None = None, admin_password: str | None = None,
                 on_shared_storage: bool | None = None,
                 force: bool | None = None,
                 target_state: str | None = None) -> None:
        """Re-create an instance whose compute host is down on another
        host (``host`` if an admin named one; ``force`` takes it without
        the scheduler's filters, 2.29 - 2.67).  ``target_state``
        ('active' or 'stopped', 2.95) is the state it ends in; by default
        it ends STOPPED if it was STOPPED, else ACTIVE.  The conductor's
        flow does the rest (a cast).

        :raises ComputeServiceInUse: (409) the source's nova-compute is up.
        :raises ComputeHostNotFound: (404) ``host`` is no compute host.
        :raises Invalid: (400) ``host`` is the instance's own, or
            ``force`` without a host.
        """
        self._check_state(instance, 'evacuate', _EVACUATE_VM_STATES,
                          (None,))
        source = instance.get('host')
        if force and not host:
            raise exception.Invalid(
                message="Can't force to a non-provided destination")
        if host:
            try:
                self.db.service_get_by_host_and_binary(ctx, host,
                                                       'nova-compute')
            except exception.HostBinaryNotFound:
                raise exception.ComputeHostNotFound(host=host) from None
            if host == source:
                raise exception.Invalid(
                    message="The target host can't be the same one.")
        if source:
            try:
                service = self.db.service_get_by_host_and_binary(
                    ctx, source, 'nova-compute')
            except exception.HostBinaryNotFound:
                service = None
            if service is not None and servicegroup.service_is_up(service):
                LOG.error('Compute service of %s expected to be down for '
                          'the evacuation of %s, but it is up', source,
                          instance['uuid'])
                raise exception.ComputeServiceInUse(host=source)
        if target_state is None:
            target_state = (vm_states.STOPPED if instance['vm_state'] ==
                            vm_states.STOPPED else vm_states.ACTIVE)
        self._start_action(ctx, instance, 'evacuate', task_states.REBUILDING,
                           None)
        self.conductor_api.evacuate_instance(
            ctx, instance, host=host, force=bool(force),
            admin_password=admin_password,
            on_shared_storage=on_shared_storage,
            target_state=_TARGET_STATES.get(target_state, target_state))

    # -- volumes ------------------------------------------------------------

    def get_volume_attachments(self, ctx: Any, instance: dict[str, Any],
                               ) -> list[dict[str, Any]]:
        """The instance's volume block device mappings."""
        return [b for b in self.db.block_device_mapping_get_all_by_instance(
            ctx, instance['uuid']) if b.get('destination_type') == 'volume'
            and b.get('volume_id')]

    def attach_volume(self, ctx: Any, instance: dict[str, Any],
                      volume_id: str, device: str | None = None,
                      disk_bus: str | None = None,
                      device_type: str | None = None,
                      tag: str | None = None,
                      delete_on_termination: bool = False,
                      ) -> dict[str, Any]:
        """Attach an available volume; returns its block device mapping.

        The device name is chosen on the compute host (an RPC call), the
        volume reserved, then the attach cast; no task state is taken, as
        upstream.  A SHELVED_OFFLOADED server has no host: the volume is
        attached in the records only, and connected at unshelve.
        """
        self._check_state(instance, 'attach_volume', _VOLUME_VM_STATES,
                          (None,))
        self._check_lock(ctx, instance)
        volume = self.volume_api.get(ctx, volume_id)
        if volume['status'] != 'available':
            raise exception.InvalidVolume(
                reason=f"volume {volume_id} status must be 'available', "
                       f"not '{volume['status']}'")
        uuid = instance['uuid']
        offloaded = instance['vm_state'] == vm_states.SHELVED_OFFLOADED
        if not offloaded:
            if not instance.get('host'):
                raise exception.InstanceInvalidState(
                    attr='host', instance_uuid=uuid, state=None,
                    method='attach_volume')
            # The device name is an RPC call to the host: refused at once
            # when its nova-compute is down, rather than after the RPC
            # timeout.
            self._check_compute_up(ctx, instance['host'])
        self.db.action_start(ctx, uuid, 'attach_volume')
        if offloaded:
            return self._attach_volume_offloaded(ctx, instance, volume_id,
                                                 device, disk_bus,
                                                 device_type, tag,
                                                 delete_on_termination)
        try:
            bdm = self.compute_rpcapi.reserve_block_device_name(
                ctx, instance, volume_id, device=device, disk_bus=disk_bus,
                device_type=device_type, tag=tag,
                delete_on_termination=delete_on_termination)
        except messaging.MessagingTimeout:
            # Up by its heartbeat, yet no answer (it died since, or is
            # overloaded): a 409 to try again later, not a 500.
            self.db.action_finish(ctx, uuid, message='Error')
            LOG.warning('nova-compute on %s did not answer in time to '
                        'reserve a device for volume %s of instance %s',
                        instance['host'], volume_id, uuid)
            raise self._compute_unavailable(ctx, instance['host']) from None
        except Exception:
            self.db.action_finish(ctx, uuid, message='Error')
            raise
        try:
            self.volume_api.reserve(ctx, volume_id, uuid)
        except Exception:
            self.db.block_device_mapping_destroy(ctx, bdm['id'])
            self.db.action_finish(ctx, uuid, message='Error')
            raise
        self.compute_rpcapi.attach_volume(ctx, instance, bdm)
        return bdm

    def _attach_volume_offloaded(self, ctx: Any, instance: dict[str, Any],
                                 volume_id: str, device: str | None,
                                 disk_bus: str | None,
                                 device_type: str | None, tag: str | None,
                                 delete_on_termination: bool,
                                 ) -> dict[str, Any]:
        uuid = instance['uuid']
        try:
            self.volume_api.reserve(ctx, volume_id, uuid)
            bdm = self.db.block_device_mapping_create(ctx, {
                'instance_uuid': uuid, 'source_type': 'volume',
                'destination_type': 'volume', 'volume_id': volume_id,
                'device_name': device, 'disk_bus': disk_bus,
                'device_type': device_type, 'tag': tag, 'boot_index': None,
                'delete_on_termination': bool(delete_on_termination)})
            self.volume_api.attach(ctx, volume_id, uuid, device)
        except Exception:
            self.volume_api.unreserve(ctx, volume_id)
            self.db.block_device_mapping_destroy_by_instance_and_volume(
                ctx, uuid, volume_id)
            self.db.action_finish(ctx, uuid, message='Error')
            raise
        self.db.action_finish(ctx, uuid)
        return bdm

    def detach_volume(self, ctx: Any, instance: dict[str, Any],
                      volume: Any) -> None:
        """Detach a volume (its ID or its dict) from the server."""
        volume_id = volume['id'] if isinstance(volume, dict) else volume
        uuid = instance['uuid']
        self._check_state(instance, 'detach_volume', _VOLUME_VM_STATES,
                          (None,))
        self._check_lock(ctx, instance)
        bdm = self.db.block_device_mapping_get_by_volume_id(ctx, volume_id,
                                                            uuid)
        if bdm.get('boot_index') == 0:
            raise exception.Invalid(
                reason='Cannot detach a root device volume')
        offloaded = instance['vm_state'] == vm_states.SHELVED_OFFLOADED
        if not offloaded and not instance.get('host'):
            raise exception.InstanceInvalidState(
                attr='host', instance_uuid=uuid, state=None,
                method='detach_volume')
        self.volume_api.begin_detaching(ctx, volume_id)
        self.db.action_start(ctx, uuid, 'detach_volume')
        if offloaded:
            self.volume_api.detach(ctx, volume_id, uuid)
            self.db.block_device_mapping_destroy_by_instance_and_volume(
                ctx, uuid, volume_id)
            self.db.action_finish(ctx, uuid)
            return
        self.compute_rpcapi.detach_volume(ctx, instance, volume_id)

    # -- interfaces ---------------------------------------------------------

    def get_interfaces(self, ctx: Any, instance: dict[str, Any],
                       ) -> list[dict[str, Any]]:
        """The instance's ports as network info (VIFs)."""
        return self.network_api.get_instance_nw_info(ctx, instance['uuid'])

    def attach_interface(self, ctx: Any, instance: dict[str, Any],
                         network_id: str | None = None,
                         port_id: str | None = None,
                         requested_ip: str | None = None,
                         tag: str | None = None) -> dict[str, Any]:
        """A new port plugged into the guest (an RPC call to the host,
        as upstream: the port is in the response)."""
        self._check_state(instance, 'attach_interface',
                          _INTERFACE_VM_STATES, (None,))
        self._check_lock(ctx, instance)
        if not instance.get('host'):
            raise exception.InstanceInvalidState(
                attr='host', instance_uuid=instance['uuid'], state=None,
                method='attach_interface')
        self.db.action_start(ctx, instance['uuid'], 'attach_interface')
        return self.compute_rpcapi.attach_interface(
            ctx, instance, network_id=network_id, port_id=port_id,
            requested_ip=requested_ip, tag=tag)

    def detach_interface(self, ctx: Any, instance: dict[str, Any],
                         port_id: str) -> None:
        self._check_state(instance, 'detach_interface',
                          _INTERFACE_VM_STATES, (None,))
        self._check_lock(ctx, instance)
        if not instance.get('host'):
            raise exception.InstanceInvalidState(
                attr='host', instance_uuid=instance['uuid'], state=None,
                method='detach_interface')
        if port_id not in [vif['id'] for vif in
                           self.get_interfaces(ctx, instance)]:
            raise exception.PortNotFound(port_id=port_id)
        # Which port a detach cut by a crash was removing (see
        # nova.compute.flows.detach_interface).
        sysmeta = dict(instance.get('system_metadata') or {},
                       detaching_port_id=port_id)
        self.db.instance_update(ctx, instance['uuid'],
                                {'system_metadata': sysmeta})
        instance['system_metadata'] = sysmeta
        self.db.action_start(ctx, instance['uuid'], 'detach_interface')
        self.compute_rpcapi.detach_interface(ctx, instance, port_id)

    # -- console, lock --------------------------------------------------------

    def get_console_output(self, ctx: Any, instance: dict[str, Any],
                           tail_length: int | None = None) -> str:
        """The guest's console log (an RPC call: a read, not a flow)."""
        if not instance.get('host') or instance.get('vm_state') in (
                vm_states.BUILDING, vm_states.SHELVED_OFFLOADED):
            raise exception.InstanceNotReady(instance_id=instance['uuid'])
        return self.compute_rpcapi.get_console_output(
            ctx, instance, tail_length=tail_length)

    # -- server password (os-server-password) ------------------------------

    def get_password(self, instance: dict[str, Any]) -> str:
        """The guest's encrypted password, as its metadata client posted
        it: ``password_0`` .. ``password_3`` of the instance's
        system_metadata joined, as upstream stores it ('' if none)."""
        sysmeta = instance.get('system_metadata') or {}
        return ''.join(sysmeta.get(key) or ''
                       for key in _PASSWORD_KEYS)

    def clear_password(self, ctx: Any, instance: dict[str, Any]) -> None:
        """Forget the stored password (the chunks become empty strings,
        as upstream's)."""
        sysmeta = dict(instance.get('system_metadata') or {})
        sysmeta.update({key: '' for key in _PASSWORD_KEYS})
        self.db.instance_update(ctx, instance['uuid'],
                                {'system_metadata': sysmeta})
        instance['system_metadata'] = sysmeta

    def get_diagnostics(self, ctx: Any, instance: dict[str, Any],
                        standard: bool = True) -> dict[str, Any]:
        """The guest's statistics from its host (an RPC call): in the
        standard format (2.48) or, not ``standard``, in the driver's own
        keys.

        :raises InstanceNotReady: the instance has no host
        :raises InstanceInvalidState: being deleted or live migrated
            (upstream's states), or the guest is not running
        :raises FeatureNotSupported: the driver cannot do it
        """
        if not instance.get('host'):
            raise exception.InstanceNotReady(instance_id=instance['uuid'])
        if instance.get('task_state') in (task_states.DELETING,
                                          task_states.MIGRATING):
            raise exception.InstanceInvalidState(
                attr='task_state', instance_uuid=instance['uuid'],
                state=instance.get('task_state'), method='get_diagnostics')
        if standard:
            return self.compute_rpcapi.get_instance_diagnostics(ctx,
                                                                instance)
        return self.compute_rpcapi.get_diagnostics(ctx, instance)

    # -- external events -----------------------------------------------------

    def get_instances_by_uuids(self, ctx: Any, uuids: Iterable[str],
                               ) -> dict[str, dict[str, Any]]:
        """The live instances among ``uuids``, by UUID, whatever their
        project (for the external events API, a service's call)."""
        wanted = sorted(set(uuids))
        if not wanted:
            return {}
        return {row['uuid']: row for row in
                self.db.instance_get_all_by_filters(ctx, {'uuid': wanted})}

    def external_instance_event(self, ctx: Any,
                                instances: list[dict[str, Any]],
                                events: list[dict[str, Any]]) -> None:
        """Hand each event to the compute hosts of its instance: one RPC
        cast per host with that host's instances and events.

        An instance being migrated gets its events on both the source and
        the destination host, as upstream.  As upstream, a volume-extended
        event records an ``extend_volume`` instance action and a
        power-update one a ``start`` (POWER_ON) or ``stop`` (POWER_OFF)
        action, which the compute host finishes; a power-update with any
        other tag is dropped with a warning.
        """
        instances_by_host: dict[str, list[dict[str, Any]]] = {}
        hosts_by_instance: dict[str, list[str]] = {}
        for instance in instances:
            for host in self._event_hosts(ctx, instance):
                instances_by_host.setdefault(host, []).append(instance)
                hosts_by_instance.setdefault(instance['uuid'], []).append(
                    host)
        events_by_host: dict[str, list[dict[str, Any]]] = {}
        for event in events:
            uuid = event['instance_uuid']
            if event['name'] == 'volume-extended':
                self.db.action_start(ctx, uuid, EXTEND_VOLUME)
            elif event['name'] == 'power-update':
                action = _POWER_UPDATE_ACTIONS.get(event['tag'])
                if action is None:
                    LOG.warning('Invalid power state %s. Cannot process '
                                'the event %s of instance %s. Skipping it.',
                                event['tag'], event['name'], uuid)
                    continue
                self.db.action_start(ctx, uuid, action)
            for host in hosts_by_instance.get(uuid, []):
                events_by_host.setdefault(host, []).append(event)
        for host, host_instances in instances_by_host.items():
            if host not in events_by_host:
                continue
            self.compute_rpcapi.external_instance_event(
                ctx, host_instances, events_by_host[host], host=host)

    def _event_hosts(self, ctx: Any, instance: dict[str, Any]) -> list[str]:
        """The instance's host, and both ends of a migration under way."""
        hosts = [instance['host']]
        for migration in self.db.migration_get_in_progress_by_instance(
                ctx, instance['uuid'])[:1]:
            for host in (migration.get('source_compute'),
                         migration.get('dest_compute')):
                if host and host not in hosts:
                    hosts.append(host)
        return hosts

    def trigger_crash_dump(self, ctx: Any, instance: dict[str, Any]) -> None:
        """Have the guest dump its memory (an RPC call: the host's driver
        may not support it, which the user is told).

        :raises InstanceIsLocked:
        :raises InstanceInvalidState: not active, paused, rescued,
            resized or in error, or a task under way (upstream's states)
        :raises InstanceNotReady: the instance has no host
        :raises ServiceUnavailable: its compute service is down
        :raises TriggerCrashDumpNotSupported: the driver cannot do it
        :raises InstanceNotRunning: the guest is not running
        """
        self._check_lock(ctx, instance)
        self._check_state(instance, TRIGGER_CRASH_DUMP,
                          _CRASH_DUMP_VM_STATES, (None,))
        if not instance.get('host'):
            raise exception.InstanceNotReady(instance_id=instance['uuid'])
        self._check_compute_up(ctx, instance['host'])
        self.db.action_start(ctx, instance['uuid'], TRIGGER_CRASH_DUMP)
        self.compute_rpcapi.trigger_crash_dump(ctx, instance)

    def get_vnc_console(self, ctx: Any, instance: dict[str, Any],
                        console_type: str) -> dict[str, str]:
        """The URL (with a new token) of the guest's VNC console: an RPC
        call to its host, which asks the driver where the console is and
        stores the token.  A guest without a running QEMU (building,
        stopped, suspended, shelved) or without a host is not ready
        (409), nor is one being deleted or live migrated, as upstream."""
        if not instance.get('host') or \
                instance.get('vm_state') not in _CONSOLE_VM_STATES:
            raise exception.InstanceNotReady(instance_id=instance['uuid'])
        if instance.get('task_state') in (task_states.DELETING,
                                          task_states.MIGRATING):
            raise exception.InstanceInvalidState(
                attr='task_state', instance_uuid=instance['uuid'],
                state=instance.get('task_state'), method='get_vnc_console')
        connect_info = self.compute_rpcapi.get_vnc_console(
            ctx, instance, console_type)
        return {'url': connect_info['access_url']}

    def lock(self, ctx: Any, instance: dict[str, Any],
             reason: str | None = None) -> None:
        """Lock the server against its owner's actions (a DB update).

        ``locked_by`` is ``owner`` or ``admin``, the reason (2.73) goes to
        ``system_metadata['locked_reason']``, as upstream.  Locking again
        is a no-op for the owner.
        """
        is_owner = instance.get('project_id') == ctx.project_id
        if instance.get('locked') and is_owner:
            return
        sysmeta = dict(instance.get('system_metadata') or {})
        sysmeta.pop('locked_reason', None)
        if reason:
            sysmeta['locked_reason'] = reason
        self._record(ctx, instance, 'lock', locked=True,
                     locked_by='owner' if is_owner else 'admin',
                     system_metadata=sysmeta)

    def unlock(self, ctx: Any, instance: dict[str, Any]) -> None:
        sysmeta = dict(instance.get('system_metadata') or {})
        sysmeta.pop('locked_reason', None)
        self._record(ctx, instance, 'unlock', locked=False, locked_by=None,
                     system_metadata=sysmeta)

    def _record(self, ctx: Any, instance: dict[str, Any], action: str,
                **values: Any) -> None:
        """An action that is one DB update: recorded, and finished."""
        self.db.action_start(ctx, instance['uuid'], action)
        values['updated_at'] = timeutils.utcnow()
        self.db.instance_update(ctx, instance['uuid'], values)
        self.db.action_finish(ctx, instance['uuid'])
        instance.update(values)

    # -- live migration: force complete, abort ------------------------------
    #
    # What the server migrations API checks before it hands a live
    # migration under way to the instance's (source) compute host.  The
    # live migration itself is the conductor's and the compute hosts'
    # flow; these only record the user's request and cast.

    #: Instance action names, as upstream's instance_actions spells them.
    LIVE_MIGRATION_FORCE_COMPLETE = 'live_migration_force_complete'
    LIVE_MIGRATION_CANCEL = 'live_migration_cancel'

    def live_migrate_force_complete(self, ctx: Any,
                                    instance: dict[str, Any],
                                    migration_id: Any) -> None:
        """Have the source host complete a running live migration now
        (upstream's drivers pause the guest so the last pages copy).

        :raises InstanceIsLocked:
        :raises InstanceInvalidState: the instance is not active or
            paused with task_state ``migrating``
        :raises MigrationNotFoundForInstance:
        :raises InstanceMigrationIsNotLiveMigration:
        :raises InvalidMigrationState: the migration is not ``running``
        """
        self._check_lock(ctx, instance)
        self._check_state(instance, 'force_complete',
                          (vm_states.ACTIVE, vm_states.PAUSED),
                          (task_states.MIGRATING,))
        migration = self._live_migration_of(ctx, instance, migration_id)
        if migration['status'] != 'running':
            raise exception.InvalidMigrationState(
                migration_id=migration_id, instance_uuid=instance['uuid'],
                state=migration['status'], method='force complete')
        self.db.action_start(ctx, instance['uuid'],
                             self.LIVE_MIGRATION_FORCE_COMPLETE)
        self.compute_rpcapi.live_migration_force_complete(ctx, instance,
                                                          migration)

    def live_migrate_abort(self, ctx: Any, instance: dict[str, Any],
                           migration_id: Any,
                           support_abort_in_queue: bool = False) -> None:
        """Have the source host cancel a running live migration; with
        ``support_abort_in_queue`` (2.65) a queued or preparing one too.

        :raises InstanceIsLocked:
        :raises InstanceInvalidState: task_state is not ``migrating``
        :raises MigrationNotFoundForInstance:
        :raises InstanceMigrationIsNotLiveMigration:
        :raises InvalidMigrationState: the migration cannot be aborted in
            its status
        """
        self._check_lock(ctx, instance)
        if instance.get('task_state') != task_states.MIGRATING:
            raise exception.InstanceInvalidState(
                attr='task_state', instance_uuid=instance['uuid'],
                state=instance.get('task_state'),
                method='abort live migration')
        migration = self._live_migration_of(ctx, instance, migration_id)
        allowed: tuple[str, ...] = ('running',)
        if support_abort_in_queue:
            allowed += ('queued', 'preparing')
        if migration['status'] not in allowed:
            raise exception.InvalidMigrationState(
                migration_id=migration_id, instance_uuid=instance['uuid'],
                state=migration['status'], method='abort live migration')
        self.db.action_start(ctx, instance['uuid'],
                             self.LIVE_MIGRATION_CANCEL)
        self.compute_rpcapi.live_migration_abort(ctx, instance,
                                                 migration['id'])

    def _live_migration_of(self, ctx: Any, instance: dict[str, Any],
                           migration_id: Any) -> dict[str, Any]:
        """Migration ``migration_id`` (the integer ID the URL names) of
        the instance, which must be a live migration.

        :raises MigrationNotFoundForInstance:
        :raises InstanceMigrationIsNotLiveMigration:
        """
        migration = None
        text = str(migration_id)
        # Anything but an ID a row can have is not found (never a DB
        # error for an ID out of the column's range).
        if text.isascii() and text.isdigit() and len(text) < 19:
            try:
                migration = self.db.migration_get(ctx, int(text))
            except exception.MigrationNotFound:
                pass
        if migration is None or \
                migration['instance_uuid'] != instance['uuid']:
            raise exception.MigrationNotFoundForInstance(
                migration_id=migration_id, instance_id=instance['uuid'])
        if migration.get('migration_type') != 'live-migration':
            raise exception.InstanceMigrationIsNotLiveMigration(
                migration_id=migration_id, instance_uuid=instance['uuid'])
        return migration


def _with_lock_reason(instance: dict[str, Any]) -> dict[str, Any]:
    """The instance with ``locked_reason`` (what the server view shows
    from 2.73), which lives in its system_metadata as upstream's does."""
    if 'locked_reason' not in instance:
        instance['locked_reason'] = (instance.get('system_metadata') or
                                     {}).get('locked_reason')
    return instance


_RESIZE_VM_STATES = (vm_states.ACTIVE, vm_states.STOPPED)
_EVACUATE_VM_STATES = (vm_states.ACTIVE, vm_states.STOPPED, vm_states.ERROR)
#: The API's ``targetState`` (2.95) as a vm_state.
_TARGET_STATES = {'active': vm_states.ACTIVE, 'stopped': vm_states.STOPPED}
_RESCUE_VM_STATES = (vm_states.ACTIVE, vm_states.STOPPED, vm_states.ERROR)
_REBUILD_VM_STATES = (vm_states.ACTIVE, vm_states.STOPPED, vm_states.ERROR)
_SNAPSHOT_VM_STATES = (vm_states.ACTIVE, vm_states.STOPPED,
                       vm_states.PAUSED, vm_states.SUSPENDED)
_SHELVE_VM_STATES = (vm_states.ACTIVE, vm_states.STOPPED, vm_states.PAUSED,
                     vm_states.SUSPENDED)
_UNSHELVE_VM_STATES = (vm_states.SHELVED, vm_states.SHELVED_OFFLOADED)
_VOLUME_VM_STATES = (vm_states.ACTIVE, vm_states.PAUSED, vm_states.STOPPED,
                     vm_states.RESIZED, vm_states.SHELVED,
                     vm_states.SHELVED_OFFLOADED)
#: Where the guest's encrypted password lives: four system_metadata
#: items of up to 255 characters, as upstream (nova/api/metadata/password).
_PASSWORD_KEYS = tuple(f'password_{n}' for n in range(4))
_CRASH_DUMP_VM_STATES = (vm_states.ACTIVE, vm_states.PAUSED,
                         vm_states.RESCUED, vm_states.RESIZED,
                         vm_states.ERROR)
_INTERFACE_VM_STATES = (vm_states.ACTIVE, vm_states.PAUSED,
                        vm_states.STOPPED)
#: A guest with a running QEMU, so a live console server.
_CONSOLE_VM_STATES = (vm_states.ACTIVE, vm_states.PAUSED, vm_states.RESCUED)
# Base image properties a snapshot does not inherit: they describe the
# base image, or are set for the snapshot itself.
_NOT_INHERITED = frozenset({
    'instance_uuid', 'user_id', 'image_type', 'base_image_ref',
    'image_location', 'image_state', 'owner_id',
    'os_glance_importing_to_stores', 'os_glance_failed_import'})

_HARD_REBOOT_VM_STATES = (vm_states.ACTIVE, vm_states.STOPPED,
                          vm_states.PAUSED, vm_states.SUSPENDED,
                          vm_states.ERROR)
_HARD_REBOOT_TASK_STATES = (None, task_states.REBOOTING,
                            task_states.REBOOT_PENDING,
                            task_states.REBOOT_STARTED)

# Any task state but DELETING: a second delete while one runs is refused
# with 409 instead of starting two terminate flows.
_DELETABLE_TASK_STATES = (None, task_states.SCHEDULING, task_states.SPAWNING,
                          task_states.REBOOTING, task_states.REBOOTING_HARD,
                          task_states.REBOOT_STARTED,
                          task_states.REBOOT_STARTED_HARD,
                          task_states.POWERING_OFF, task_states.POWERING_ON)
