"""Client side of the conductor RPC API (topic ``conductor``).

History:
    1.0 - build_instances
    1.1 - unshelve_instance
    1.2 - local_delete_instance
    1.3 - resize_instance, confirm_resize, revert_resize
    1.4 - live_migrate_instance (a cast: the API makes the cheap checks
          first - states, hosts known and up, not the source - and the
          drivers' checks are the flow's; their refusal is the
          instance's fault and the migration's 'error', as any failure)
    1.5 - evacuate_instance
"""

from __future__ import annotations

from typing import Any

import oslo_messaging as messaging

from nova import rpc

TOPIC = 'conductor'


class ConductorAPI:
    VERSION = '1.5'

    def __init__(self) -> None:
        target = messaging.Target(topic=TOPIC, version=self.VERSION)
        self.client = rpc.get_client(target)

    def build_instances(self, ctx: Any, instances: list[dict[str, Any]], *,
                        image_meta: dict[str, Any],
                        request_spec: dict[str, Any],
                        filter_properties: dict[str, Any],
                        requested_networks: Any = None,
                        block_device_mapping: Any = None,
                        admin_password: str | None = None,
                        injected_files: Any = None) -> None:
        self.client.prepare(version=self.VERSION).cast(
            ctx, 'build_instances', instances=instances,
            image_meta=image_meta, request_spec=request_spec,
            filter_properties=filter_properties,
            requested_networks=requested_networks,
            block_device_mapping=block_device_mapping,
            admin_password=admin_password, injected_files=injected_files)

    def unshelve_instance(self, ctx: Any, instance: dict[str, Any],
                          request_spec: dict[str, Any]) -> None:
        self.client.prepare(version=self.VERSION).cast(
            ctx, 'unshelve_instance', instance=instance,
            request_spec=request_spec)

    def local_delete_instance(self, ctx: Any,
                              instance: dict[str, Any]) -> None:
        """Delete an instance that has no host (a cast: the delete
        action's finish time says when it is done)."""
        self.client.prepare(version=self.VERSION).cast(
            ctx, 'local_delete_instance', instance=instance)

    # -- moves (casts: the instance's task and the migration say how far
    # it got; the action's events say what happened) ---------------------

    def resize_instance(self, ctx: Any, instance: dict[str, Any],
                        flavor: dict[str, Any], migration_type: str,
                        host: str | None = None) -> None:
        self.client.prepare(version=self.VERSION).cast(
            ctx, 'resize_instance', instance=instance, flavor=flavor,
            migration_type=migration_type, host=host)

    def confirm_resize(self, ctx: Any, instance: dict[str, Any],
                       migration: dict[str, Any]) -> None:
        self.client.prepare(version=self.VERSION).cast(
            ctx, 'confirm_resize', instance=instance, migration=migration)

    def revert_resize(self, ctx: Any, instance: dict[str, Any],
                      migration: dict[str, Any]) -> None:
        self.client.prepare(version=self.VERSION).cast(
            ctx, 'revert_resize', instance=instance, migration=migration)

    # -- live migration (1.4) --------------------------------------------

    def live_migrate_instance(self, ctx: Any, instance: dict[str, Any],
                              host: str | None,
                              block_migration: bool | None,
                              force: bool | None = None,
                              disk_over_commit: bool = False) -> None:
        self.client.prepare(version=self.VERSION).cast(
            ctx, 'live_migrate_instance', instance=instance, host=host,
            block_migration=block_migration, force=force,
            disk_over_commit=disk_over_commit)

    # -- end of live migration (1.4) -------------------------------------

    # -- evacuate (1.5; a cast, as the moves) --------------------------------

    def evacuate_instance(self, ctx: Any, instance: dict[str, Any], *,
                          host: str | None = None, force: bool = False,
                          admin_password: str | None = None,
                          on_shared_storage: bool | None = None,
                          target_state: str | None = None) -> None:
        self.client.prepare(version=self.VERSION).cast(
            ctx, 'evacuate_instance', instance=instance, host=host,
            force=force, admin_password=admin_password,
            on_shared_storage=on_shared_storage, target_state=target_state)

    # -- end of evacuate -----------------------------------------------------
