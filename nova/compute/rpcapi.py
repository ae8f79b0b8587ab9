"""Client side of the compute RPC API (topic ``compute``, one server per
host).

History:
    1.0 - build_and_run_instance, terminate_instance, reboot_instance,
          stop_instance, start_instance
    1.1 - pause_instance, unpause_instance, suspend_instance,
          resume_instance, rebuild_instance, snapshot_instance,
          rescue_instance, unrescue_instance, shelve_instance,
          shelve_offload_instance, unshelve_instance,
          reserve_block_device_name (call), attach_volume, detach_volume,
          attach_interface (call), detach_interface,
          get_console_output (call)
    1.2 - prep_resize, resize_instance, finish_resize, confirm_resize,
          revert_resize, finish_revert_resize (calls from nova-conductor's
          move flows)
    1.3 - live migration: check_can_live_migrate_destination,
          check_can_live_migrate_source, pre_live_migration,
          live_migration, post_live_migration_at_source,
          post_live_migration_at_destination,
          rollback_live_migration_at_destination (calls from
          nova-conductor's live migration flow, and the destination's
          check to the source); live_migration_force_complete,
          live_migration_abort (casts from the API)
    1.4 - evacuate_instance (a call from nova-conductor's evacuate flow)
    1.5 - check_instance_exists (a call from nova-conductor's live
          migration flow: did the guest leave the source?)
    1.6 - trigger_crash_dump (call)
    1.7 - get_diagnostics, get_instance_diagnostics (calls)
    1.8 - get_vnc_console (a call from the API: a console URL with its
          token), validate_console_port (a call from nova-novncproxy:
          is the token's console still the instance's?)
    1.9 - check_instance_shared_storage (a call from an evacuation's
          returning source to the instance's host: do they share the
          instance's storage?)
    1.10 - external_instance_event (a cast per host from the external
           events API)
    1.11 - build_and_run_instance: network_info (the ports nova-conductor
           allocated for a multi-create, which the build keeps)
    1.12 - a boot in phases (nova-conductor's multi-create):
           configure_instance and power_on_instance (calls, with
           build_and_run_instance's arguments), unconfigure_instance (a
           cast)

Calls (the API waits for the answer) are the ones whose result is in the
API's response: a device name, a new port, console text, a crash
dump the driver cannot trigger, a console URL.
"""

from __future__ import annotations

from typing import Any

import oslo_messaging as messaging

import nova.conf
from nova import rpc

CONF = nova.conf.CONF

TOPIC = 'compute'


class ComputeAPI:
    VERSION = '1.12'

    def __init__(self) -> None:
        target = messaging.Target(topic=TOPIC, version=self.VERSION)
        self.client = rpc.get_client(target)

    def _host(self, host: str) -> Any:
        return self.client.prepare(server=host, version=self.VERSION)

    def _long_call(self, host: str) -> Any:
        """For the steps of a move, which may take long: the answer may
        take ``[DEFAULT] long_rpc_timeout``, but the server's heartbeats
        must keep coming every ``rpc_response_timeout`` (so a host that
        dies is noticed then), as upstream's long calls."""
        return self.client.prepare(
            server=host, version=self.VERSION,
            timeout=CONF.long_rpc_timeout,
            call_monitor_timeout=CONF.rpc_response_timeout)

    def _waiting_call(self, host: str) -> Any:
        """For a call that must reach ``host`` even if it is down now:
        no heartbeat watch, so the call waits in the host's queue up to
        ``[DEFAULT] long_rpc_timeout`` for its nova-compute to come back
        (a restarted host finishes its interrupted runs on the instance
        first: recovery holds the instance's lock)."""
        return self.client.prepare(server=host, version=self.VERSION,
                                   timeout=CONF.long_rpc_timeout)

    def _move_call(self, host: str, wait_for_host: bool) -> Any:
        return (self._waiting_call(host) if wait_for_host
                else self._long_call(host))

    # -- moves (calls from nova-conductor) ---------------------------------

    def prep_resize(self, ctx: Any, instance: dict[str, Any],
                    migration: dict[str, Any], flavor: dict[str, Any],
                    host: str) -> None:
        self._long_call(host).call(ctx, 'prep_resize', instance=instance,
                                   migration=migration, flavor=flavor)

    def resize_instance(self, ctx: Any, instance: dict[str, Any],
                        migration: dict[str, Any],
                        flavor: dict[str, Any]) -> str:
        return self._long_call(migration['source_compute']).call(
            ctx, 'resize_instance', instance=instance, migration=migration,
            flavor=flavor)

    def finish_resize(self, ctx: Any, instance: dict[str, Any],
                      migration: dict[str, Any], disk_info: str,
                      image: dict[str, Any] | None = None) -> None:
        self._long_call(migration['dest_compute']).call(
            ctx, 'finish_resize', instance=instance, migration=migration,
            disk_info=disk_info, image=image)

    def confirm_resize(self, ctx: Any, instance: dict[str, Any],
                       migration: dict[str, Any]) -> None:
        self._long_call(migration['source_compute']).call(
            ctx, 'confirm_resize', instance=instance, migration=migration)

    def revert_resize(self, ctx: Any, instance: dict[str, Any],
                      migration: dict[str, Any],
                      wait_for_host: bool = False) -> None:
        """With ``wait_for_host``, a destination that is down is waited
        for (see _waiting_call)."""
        self._move_call(migration['dest_compute'], wait_for_host).call(
            ctx, 'revert_resize', instance=instance, migration=migration)

    def finish_revert_resize(self, ctx: Any, instance: dict[str, Any],
                             migration: dict[str, Any]) -> None:
        self._long_call(migration['source_compute']).call(
            ctx, 'finish_revert_resize', instance=instance,
            migration=migration)

    # -- live migration (1.3) -------------------------------------------

    def check_can_live_migrate_destination(
            self, ctx: Any, instance: dict[str, Any],
            migration: dict[str, Any], block_migration: bool | None,
            disk_over_commit: bool = False) -> dict[str, Any]:
        return self._long_call(migration['dest_compute']).call(
            ctx, 'check_can_live_migrate_destination', instance=instance,
            migration=migration, block_migration=block_migration,
            disk_over_commit=disk_over_commit)

    def check_can_live_migrate_source(
            self, ctx: Any, instance: dict[str, Any],
            dest_check_data: dict[str, Any], host: str) -> dict[str, Any]:
        return self._long_call(host).call(
            ctx, 'check_can_live_migrate_source', instance=instance,
            dest_check_data=dest_check_data)

    def pre_live_migration(self, ctx: Any, instance: dict[str, Any],
                           migration: dict[str, Any],
                           block_migration: bool,
                           migrate_data: dict[str, Any]) -> dict[str, Any]:
        return self._long_call(migration['dest_compute']).call(
            ctx, 'pre_live_migration', instance=instance,
            migration=migration, block_migration=block_migration,
            migrate_data=migrate_data)

    def live_migration(self, ctx: Any, instance: dict[str, Any],
                       migration: dict[str, Any], block_migration: bool,
                       migrate_data: dict[str, Any]) -> None:
        self._long_call(migration['source_compute']).call(
            ctx, 'live_migration', instance=instance, migration=migration,
            block_migration=block_migration, migrate_data=migrate_data)

    def post_live_migration_at_source(
            self, ctx: Any, instance: dict[str, Any],
            migration: dict[str, Any],
            migrate_data: dict[str, Any]) -> None:
        self._long_call(migration['source_compute']).call(
            ctx, 'post_live_migration_at_source', instance=instance,
            migration=migration, migrate_data=migrate_data)

    def post_live_migration_at_destination(
            self, ctx: Any, instance: dict[str, Any],
            migration: dict[str, Any], block_migration: bool) -> None:
        self._long_call(migration['dest_compute']).call(
            ctx, 'post_live_migration_at_destination', instance=instance,
            migration=migration, block_migration=block_migration)

    def rollback_live_migration_at_destination(
            self, ctx: Any, instance: dict[str, Any],
            migration: dict[str, Any],
            migrate_data: dict[str, Any],
            wait_for_host: bool = False) -> None:
        """With ``wait_for_host``, a destination that is down is waited
        for (see _waiting_call)."""
        self._move_call(migration['dest_compute'], wait_for_host).call(
            ctx, 'rollback_live_migration_at_destination',
            instance=instance, migration=migration,
            migrate_data=migrate_data)

    def live_migration_force_complete(self, ctx: Any,
                                      instance: dict[str, Any],
                                      migration: dict[str, Any]) -> None:
        self._host(migration['source_compute']).cast(
            ctx, 'live_migration_force_complete', instance=instance,
            migration=migration)

    def live_migration_abort(self, ctx: Any, instance: dict[str, Any],
                             migration_id: int) -> None:
        self._host(instance['host']).cast(
            ctx, 'live_migration_abort', instance=instance,
            migration_id=migration_id)

    def check_instance_exists(self, ctx: Any, instance: dict[str, Any],
                              host: str) -> bool:
        """Has ``host``'s hypervisor the instance's guest - once the run
        acting on the instance there, if any, is over?  Waits up to
        ``[DEFAULT] long_rpc_timeout`` for a host that is down to come
        back (its queue keeps the question): the answer decides whether a
        move is finished or undone."""
        return bool(self._waiting_call(host).call(
            ctx, 'check_instance_exists', instance=instance))

    # -- end of live migration (1.3) ---------------------------------------

    def check_instance_shared_storage(self, ctx: Any, data: Any,
                                      instance: dict[str, Any],
                                      host: str | None = None) -> bool:
        """Does ``host`` (by default the instance's) see what ``data``
        names (what this host's driver left where the instance's files
        are, ``check_instance_shared_storage_local``)?"""
        return bool(self._host(host or instance['host']).call(
            ctx, 'check_instance_shared_storage', data=data))

    # -- evacuate (1.4; a call from nova-conductor) --------------------------

    def evacuate_instance(self, ctx: Any, instance: dict[str, Any],
                          migration: dict[str, Any], *,
                          admin_password: str | None = None,
                          on_shared_storage: bool | None = None,
                          target_state: str | None = None) -> None:
        """Re-create ``instance`` on the migration's destination."""
        self._long_call(migration['dest_compute']).call(
            ctx, 'evacuate_instance', instance=instance,
            migration=migration, admin_password=admin_password,
            on_shared_storage=on_shared_storage, target_state=target_state)

    # -- end of evacuate -----------------------------------------------------

    def build_and_run_instance(self, ctx: Any, instance: dict[str, Any],
                               host: str, node: str, *,
                               image_meta: dict[str, Any],
                               request_spec: dict[str, Any],
                               filter_properties: dict[str, Any],
                               requested_networks: Any = None,
                               block_device_mapping: Any = None,
                               admin_password: str | None = None,
                               injected_files: Any = None,
                               network_info: Any = None) -> None:
        kwargs = {}
        if network_info:
            # Only when there are some: a single boot's cast stays as it
            # was.
            kwargs['network_info'] = network_info
        self._host(host).cast(
            ctx, 'build_and_run_instance', instance=instance, node=node,
            image_meta=image_meta, request_spec=request_spec,
            filter_properties=filter_properties,
            requested_networks=requested_networks,
            block_device_mapping=block_device_mapping,
            admin_password=admin_password, injected_files=injected_files,
            **kwargs)

    # -- a boot in phases (1.12; from nova-conductor) -------------------------

    def configure_instance(self, ctx: Any, instance: dict[str, Any],
                           host: str, node: str, **kwargs: Any) -> None:
        """compute.configure_instance on ``host`` (``kwargs``: those of
        :meth:`build_and_run_instance`); raises its error."""
        self._long_call(host).call(
            ctx, 'configure_instance', instance=instance, node=node,
            **kwargs)

    def power_on_instance(self, ctx: Any, instance: dict[str, Any],
                          host: str, node: str, **kwargs: Any) -> None:
        """compute.power_on_instance on ``host``, with the arguments of
        its configure (a failure reschedules from them); raises its
        error."""
        self._long_call(host).call(
            ctx, 'power_on_instance', instance=instance, node=node,
            **kwargs)

    def unconfigure_instance(self, ctx: Any, instance: dict[str, Any],
                             host: str, reason: str) -> None:
        """compute.unconfigure_instance on ``host`` (a cast: a host
        that is down does it when it is back)."""
        self._host(host).cast(ctx, 'unconfigure_instance',
                              instance=instance, reason=reason)

    def terminate_instance(self, ctx: Any, instance: dict[str, Any]) -> None:
        self._host(instance['host']).cast(
            ctx, 'terminate_instance', instance=instance)

    def reboot_instance(self, ctx: Any, instance: dict[str, Any],
                        reboot_type: str) -> None:
        self._host(instance['host']).cast(
            ctx, 'reboot_instance', instance=instance,
            reboot_type=reboot_type)

    def stop_instance(self, ctx: Any, instance: dict[str, Any]) -> None:
        self._host(instance['host']).cast(ctx, 'stop_instance',
                                          instance=instance)

    def start_instance(self, ctx: Any, instance: dict[str, Any]) -> None:
        self._host(instance['host']).cast(ctx, 'start_instance',
                                          instance=instance)

    def _cast(self, ctx: Any, method: str, instance: dict[str, Any],
              **kwargs: Any) -> None:
        self._host(instance['host']).cast(ctx, method, instance=instance,
                                          **kwargs)

    def _call(self, ctx: Any, method: str, instance: dict[str, Any],
              **kwargs: Any) -> Any:
        return self._host(instance['host']).call(
            ctx, method, instance=instance, **kwargs)

    def pause_instance(self, ctx: Any, instance: dict[str, Any]) -> None:
        self._cast(ctx, 'pause_instance', instance)

    def unpause_instance(self, ctx: Any, instance: dict[str, Any]) -> None:
        self._cast(ctx, 'unpause_instance', instance)

    def suspend_instance(self, ctx: Any, instance: dict[str, Any]) -> None:
        self._cast(ctx, 'suspend_instance', instance)

    def resume_instance(self, ctx: Any, instance: dict[str, Any]) -> None:
        self._cast(ctx, 'resume_instance', instance)

    def rebuild_instance(self, ctx: Any, instance: dict[str, Any], *,
                         admin_password: str | None = None,
                         preserve_ephemeral: bool = False,
                         injected_files: Any = None) -> None:
        self._cast(ctx, 'rebuild_instance', instance,
                   admin_password=admin_password,
                   preserve_ephemeral=preserve_ephemeral,
                   injected_files=injected_files)

    def snapshot_instance(self, ctx: Any, instance: dict[str, Any],
                          image_id: str) -> None:
        self._cast(ctx, 'snapshot_instance', instance, image_id=image_id)

    def rescue_instance(self, ctx: Any, instance: dict[str, Any], *,
                        rescue_password: str | None = None,
                        rescue_image_ref: str | None = None) -> None:
        self._cast(ctx, 'rescue_instance', instance,
                   rescue_password=rescue_password,
                   rescue_image_ref=rescue_image_ref)

    def unrescue_instance(self, ctx: Any, instance: dict[str, Any]) -> None:
        self._cast(ctx, 'unrescue_instance', instance)

    def shelve_instance(self, ctx: Any, instance: dict[str, Any],
                        image_id: str | None) -> None:
        self._cast(ctx, 'shelve_instance', instance, image_id=image_id)

    def shelve_offload_instance(self, ctx: Any,
                                instance: dict[str, Any]) -> None:
        self._cast(ctx, 'shelve_offload_instance', instance)

    def unshelve_instance(self, ctx: Any, instance: dict[str, Any],
                          host: str, *, node: str | None = None,
                          image: dict[str, Any] | None = None) -> None:
        self._host(host).cast(ctx, 'unshelve_instance', instance=instance,
                              node=node, image=image)

    def reserve_block_device_name(self, ctx: Any, instance: dict[str, Any],
                                  volume_id: str, *,
                                  device: str | None = None,
                                  disk_bus: str | None = None,
                                  device_type: str | None = None,
                                  tag: str | None = None,
                                  delete_on_termination: bool = False,
                                  ) -> dict[str, Any]:
        return self._call(ctx, 'reserve_block_device_name', instance,
                          volume_id=volume_id, device=device,
                          disk_bus=disk_bus, device_type=device_type,
                          tag=tag,
                          delete_on_termination=delete_on_termination)

    def attach_volume(self, ctx: Any, instance: dict[str, Any],
                      bdm: dict[str, Any]) -> None:
        self._cast(ctx, 'attach_volume', instance, bdm=bdm)

    def detach_volume(self, ctx: Any, instance: dict[str, Any],
                      volume_id: str) -> None:
        self._cast(ctx, 'detach_volume', instance, volume_id=volume_id)

    def attach_interface(self, ctx: Any, instance: dict[str, Any], *,
                         network_id: str | None = None,
                         port_id: str | None = None,
                         requested_ip: str | None = None,
                         tag: str | None = None) -> dict[str, Any]:
        return self._call(ctx, 'attach_interface', instance,
                          network_id=network_id, port_id=port_id,
                          requested_ip=requested_ip, tag=tag)

    def detach_interface(self, ctx: Any, instance: dict[str, Any],
                         port_id: str) -> None:
        self._cast(ctx, 'detach_interface', instance, port_id=port_id)

    def get_console_output(self, ctx: Any, instance: dict[str, Any],
                           tail_length: int | None = None) -> str:
        return self._call(ctx, 'get_console_output', instance,
                          tail_length=tail_length)

    def trigger_crash_dump(self, ctx: Any, instance: dict[str, Any]) -> None:
        self._call(ctx, 'trigger_crash_dump', instance)

    def get_diagnostics(self, ctx: Any,
                        instance: dict[str, Any]) -> dict[str, Any]:
        return self._call(ctx, 'get_diagnostics', instance)

    def get_instance_diagnostics(self, ctx: Any, instance: dict[str, Any]
                                 ) -> dict[str, Any]:
        return self._call(ctx, 'get_instance_diagnostics', instance)

    # -- remote consoles (1.8) ------------------------------------------------

    def get_vnc_console(self, ctx: Any, instance: dict[str, Any],
                        console_type: str) -> dict[str, Any]:
        """The connection info of a new console token: ``access_url``
        (with the token), ``token``, ``host``, ``port``,
        ``internal_access_path``."""
        return self._call(ctx, 'get_vnc_console', instance,
                          console_type=console_type)

    def validate_console_port(self, ctx: Any, instance: dict[str, Any],
                              port: str, console_type: str) -> bool:
        """Is ``port`` still the port of the instance's console?"""
        return bool(self._call(ctx, 'validate_console_port', instance,
                               port=port, console_type=console_type))

    def external_instance_event(self, ctx: Any,
                                instances: list[dict[str, Any]],
                                events: list[dict[str, Any]],
                                host: str) -> None:
        """Hand ``host`` the events of its ``instances``."""
        self._host(host).cast(ctx, 'external_instance_event',
                              instances=instances, events=events)

