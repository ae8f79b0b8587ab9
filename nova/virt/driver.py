"""The virt driver API: what nova-compute asks of a hypervisor.

``ComputeDriver`` keeps upstream nova's method names and argument order, so a
driver author can follow upstream's documentation, with one simplification:
where upstream passes versioned objects, nova here passes plain data.

* ``instance`` is the instance as the compute manager has it: a dict (or an
  object with the same attributes) with at least ``uuid``, and usually
  ``memory_mb``, ``vcpus``, ``root_gb``, ``ephemeral_gb``, ``flavor``,
  ``image_ref``, ``host``, ``node``. Use ``instance_attr()`` to read it so
  both forms work.
* ``network_info`` is a list of VIF dicts, each with at least ``id``.
* ``block_device_info`` is ``{'block_device_mapping': [{'volume_id',
  'mount_device', 'connection_info', ...}, ...]}`` or None.
* ``image_meta`` is the image's dict (``id``, ``size``, ``properties`` ...).

Every method the compute flows may call is declared here. A method a driver
does not implement raises ``NotImplementedError``; flows treat that as
"not supported" (e.g. ``rebuild``: the rebuild flow falls back to destroy +
spawn).
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
from collections.abc import Callable, Mapping
from typing import Any

from oslo_config import cfg
from oslo_log import log as logging

from nova import exception

LOG = logging.getLogger(__name__)

VIRT_PACKAGE = 'nova.virt'


class DriverLoadError(exception.NovaException):
    msg_fmt = ('Could not load compute driver %(driver)s (option [DEFAULT] '
               'compute_driver): %(reason)s')


@dataclasses.dataclass(frozen=True)
class InstanceInfo:
    """What ``get_info()`` reports about a guest."""

    # One of nova.compute.power_state.
    state: int
    # The hypervisor's own ID of the guest, if it has one.
    internal_id: str | None = None


def instance_attr(instance: Any, name: str, default: Any = None) -> Any:
    """``instance[name]`` for a dict, ``instance.name`` for an object."""
    if isinstance(instance, Mapping):
        return instance.get(name, default)
    return getattr(instance, name, default)


def instance_uuid(instance: Any) -> str:
    return instance_attr(instance, 'uuid')


class ComputeDriver:
    """Base class of virt drivers; see the module docstring for arguments.

    ``capabilities`` tells the compute manager and the API what the driver
    can do without calling it; a driver overrides the keys that differ.
    """

    capabilities: dict[str, bool] = {
        'has_imagecache': False,
        'supports_evacuate': False,
        'supports_migrate_to_same_host': False,
        'supports_attach_interface': False,
        'supports_device_tagging': False,
        'supports_multiattach': False,
        'supports_rebuild': False,
        'supports_live_migration': False,
        # spawn(power_on=False) defines the guest without starting it,
        # and power_on() starts it (see configure_guest).
        'supports_deferred_power_on': False,
    }

    def __init__(self, virtapi: Any = None,
                 conf: cfg.ConfigOpts | None = None) -> None:
        # The compute manager's callbacks into nova (upstream's VirtAPI).
        self.virtapi = virtapi
        if conf is None:
            import nova.conf
            conf = nova.conf.CONF
        self.conf = conf
        # Instance UUID -> the spawn arguments configure_guest kept for
        # power_on_configured, for a driver without deferred power on.
        self._deferred_spawns: dict[str, dict[str, Any]] = {}

    # -- host ---------------------------------------------------------------

    def init_host(self, host: str) -> None:
        """Prepare the hypervisor connection; called once at service start.

        Must not assume the guests it finds are in any particular state: the
        previous nova-compute may have died in the middle of an operation.
        """
        raise NotImplementedError()

    def cleanup_host(self, host: str) -> None:
        """Release what ``init_host`` acquired; called at service stop."""

    def get_available_nodes(self, refresh: bool = False) -> list[str]:
        """Names of the compute nodes (hypervisors) this driver manages."""
        raise NotImplementedError()

    def node_is_available(self, nodename: str) -> bool:
        return nodename in self.get_available_nodes()

    def get_available_resource(self, nodename: str) -> dict[str, Any]:
        """The node's inventory and use, for the resource tracker.

        Keys: ``vcpus``, ``memory_mb``, ``local_gb``, ``vcpus_used``,
        ``memory_mb_used``, ``local_gb_used``, ``hypervisor_type``,
        ``hypervisor_version``, ``hypervisor_hostname``, ``cpu_info``,
        ``disk_available_least``.
        """
        raise NotImplementedError()

    # -- inventory of guests ------------------------------------------------

    def list_instances(self) -> list[str]:
        """Names of the guests on this host."""
        raise NotImplementedError()

    def list_instance_uuids(self) -> list[str]:
        """UUIDs of the guests on this host."""
        raise NotImplementedError()

    def instance_exists(self, instance: Any) -> bool:
        """Whether the hypervisor has a guest for ``instance``."""
        return instance_uuid(instance) in self.list_instance_uuids()

    def instance_on_disk(self, instance: Any) -> bool:
        """Whether the disks of ``instance``, whose guest is on another
        host, are on this host's storage all the same (storage the hosts
        share): an evacuation then re-creates the guest from them
        instead of from its image.  Upstream's default: no."""
        return False

    def check_instance_shared_storage_local(self, context: Any,
                                            instance: Any) -> Any:
        """Leave a mark where the instance's files are on this host (a
        temporary file in its directory, say), for another host to look
        for with :meth:`check_instance_shared_storage_remote`; what that
        host needs to find it (None: nothing to look for, the storage
        counts as shared).  The caller removes it with
        :meth:`check_instance_shared_storage_cleanup`.
        """
        raise NotImplementedError()

    def check_instance_shared_storage_remote(self, context: Any,
                                             data: Any) -> bool:
        """Does this host see the mark another host's
        :meth:`check_instance_shared_storage_local` left (``data``):
        do both hosts have the instance's files on the same storage?"""
        raise NotImplementedError()

    def check_instance_shared_storage_cleanup(self, context: Any,
                                              data: Any) -> None:
        """Remove the mark :meth:`check_instance_shared_storage_local`
        left (``data``); idempotent."""
        raise NotImplementedError()

    def get_num_instances(self) -> int:
        return len(self.list_instance_uuids())

    def get_info(self, instance: Any, use_cache: bool = True) -> InstanceInfo:
        """The guest's power state.

        :raises nova.exception.InstanceNotFound: no such guest.
        """
        raise NotImplementedError()

    # -- life cycle ---------------------------------------------------------

    def spawn(self, context: Any, instance: Any, image_meta: dict[str, Any],
              injected_files: list | None, admin_password: str | None,
              allocations: dict[str, Any] | None,
              network_info: list[dict[str, Any]] | None = None,
              block_device_info: dict[str, Any] | None = None,
              power_on: bool = True) -> None:
        """Create the guest and (unless ``power_on`` is False) boot it.

        :raises nova.exception.InstanceExists: the guest already exists.
        """
        raise NotImplementedError()

    # -- boot in phases (configure, then power on) --------------------------

    def configure_guest(self, context: Any, instance: Any,
                        image_meta: dict[str, Any],
                        injected_files: list | None,
                        admin_password: str | None,
                        allocations: dict[str, Any] | None,
                        network_info: list[dict[str, Any]] | None = None,
                        block_device_info: dict[str, Any] | None = None,
                        ) -> None:
        """The configure phase of a boot in phases: the guest defined on
        the hypervisor, not started; :meth:`power_on_configured` starts
        it, :meth:`unconfigure_guest` undoes it.

        A driver with ``capabilities['supports_deferred_power_on']``
        does this with ``spawn(..., power_on=False)``.  Any other driver
        (one that cannot define a guest without starting it) keeps
        working through this default: nothing is done on the hypervisor
        here, the arguments are kept in this process, and the whole
        spawn happens at :meth:`power_on_configured`.  For such a driver
        a nova-compute restart between the two phases loses the kept
        arguments: the power on then fails (InstanceNotFound) and the
        boot follows its failure rules (reschedule).  Drivers should not
        override this; they implement ``spawn`` and ``power_on``.
        """
        if self.capabilities.get('supports_deferred_power_on'):
            self.spawn(context, instance, image_meta, injected_files,
                       admin_password, allocations,
                       network_info=network_info,
                       block_device_info=block_device_info, power_on=False)
            return
        self._deferred_spawns[instance_uuid(instance)] = {
            'image_meta': image_meta, 'injected_files': injected_files,
            'admin_password': admin_password, 'allocations': allocations}

    def power_on_configured(self, context: Any, instance: Any,
                            network_info: list[dict[str, Any]] | None,
                            block_device_info: dict[str, Any] | None = None,
                            ) -> None:
        """The power-on phase: start the guest :meth:`configure_guest`
        defined - ``power_on`` with deferred power on, else the whole
        spawn now.

        :raises nova.exception.InstanceNotFound: nothing was configured
            for the instance in this process (no deferred power on).
        """
        if self.capabilities.get('supports_deferred_power_on'):
            self.power_on(context, instance, network_info,
                          block_device_info=block_device_info)
            return
        uuid = instance_uuid(instance)
        kept = self._deferred_spawns.get(uuid)
        if kept is None:
            raise exception.InstanceNotFound(instance_id=uuid)
        self.spawn(context, instance, kept['image_meta'],
                   kept['injected_files'], kept['admin_password'],
                   kept['allocations'], network_info=network_info,
                   block_device_info=block_device_info, power_on=True)
        self._deferred_spawns.pop(uuid, None)

    def unconfigure_guest(self, context: Any, instance: Any,
                          network_info: list[dict[str, Any]] | None,
                          block_device_info: dict[str, Any] | None = None,
                          ) -> None:
        """Undo :meth:`configure_guest` (and a power on after it): the
        kept arguments are forgotten and the guest destroyed.
        Idempotent, as ``destroy``."""
        self._deferred_spawns.pop(instance_uuid(instance), None)
        self.destroy(context, instance, network_info,
                     block_device_info=block_device_info)

    def destroy(self, context: Any, instance: Any,
                network_info: list[dict[str, Any]] | None,
                block_device_info: dict[str, Any] | None = None,
                destroy_disks: bool = True) -> None:
        """Power the guest off and remove it (and its disks).

        Idempotent: destroying a guest that does not exist succeeds, because
        reverts and crash recovery call it without knowing how far the
        operation they undo got.
        """
        raise NotImplementedError()

    def cleanup(self, context: Any, instance: Any,
                network_info: list[dict[str, Any]] | None,
                block_device_info: dict[str, Any] | None = None,
                destroy_disks: bool = True, migrate_data: Any = None,
                destroy_vifs: bool = True) -> None:
        """Remove what is left of a guest that is no longer running here
        (after a migration away, or a failed build); idempotent.
        """
        raise NotImplementedError()

    def rebuild(self, context: Any, instance: Any,
                image_meta: dict[str, Any], injected_files: list | None,
                admin_password: str | None,
                allocations: dict[str, Any] | None,
                network_info: list[dict[str, Any]] | None = None,
                block_device_info: dict[str, Any] | None = None,
                preserve_ephemeral: bool = False,
                evacuate: bool = False) -> None:
        """Re-create the guest from ``image_meta`` in place.

        Optional: the default raises NotImplementedError and the rebuild flow
        then does destroy + spawn, which is what most drivers want.
        """
        raise NotImplementedError()

    def reboot(self, context: Any, instance: Any,
               network_info: list[dict[str, Any]] | None, reboot_type: str,
               block_device_info: dict[str, Any] | None = None,
               bad_volumes_callback: Callable[..., Any] | None = None
               ) -> None:
        """Reboot the guest; ``reboot_type`` is ``'SOFT'`` or ``'HARD'``."""
        raise NotImplementedError()

    def power_off(self, instance: Any, timeout: int = 0,
                  retry_interval: int = 0) -> None:
        """Power the guest off, after at most ``timeout`` seconds of asking
        its OS to shut down (0: at once); no-op if it is already off.
        """
        raise NotImplementedError()

    def power_on(self, context: Any, instance: Any,
                 network_info: list[dict[str, Any]] | None,
                 block_device_info: dict[str, Any] | None = None) -> None:
        """Power the guest on; no-op if it is already running."""
        raise NotImplementedError()

    def resume_state_on_host_boot(self, context: Any, instance: Any,
                                  network_info: list[dict[str, Any]] | None,
                                  block_device_info: dict[str, Any] | None
                                  = None) -> None:
        """Bring a guest that was running before the host rebooted back."""
        raise NotImplementedError()

    def pause(self, instance: Any) -> None:
        raise NotImplementedError()

    def unpause(self, instance: Any) -> None:
        raise NotImplementedError()

    def suspend(self, context: Any, instance: Any) -> None:
        raise NotImplementedError()

    def resume(self, context: Any, instance: Any,
               network_info: list[dict[str, Any]] | None,
               block_device_info: dict[str, Any] | None = None) -> None:
        raise NotImplementedError()

    def snapshot(self, context: Any, instance: Any, image_id: str,
                 update_task_state: Callable[..., Any]) -> None:
        """Snapshot the guest's root disk into image ``image_id``.

        Calls ``update_task_state(task_state=IMAGE_PENDING_UPLOAD)`` once
        the disk is captured, then ``update_task_state(
        task_state=IMAGE_UPLOADING, expected_state=IMAGE_PENDING_UPLOAD)``
        before the upload, as upstream drivers do.
        """
        raise NotImplementedError()

    def set_admin_password(self, instance: Any, new_pass: str) -> None:
        raise NotImplementedError()

    def rescue(self, context: Any, instance: Any,
               network_info: list[dict[str, Any]] | None,
               image_meta: dict[str, Any], rescue_password: str | None,
               block_device_info: dict[str, Any] | None = None) -> None:
        """Boot the guest from a rescue image, its own disk attached."""
        raise NotImplementedError()

    def unrescue(self, context: Any, instance: Any) -> None:
        raise NotImplementedError()

    def get_console_output(self, context: Any, instance: Any) -> str:
        raise NotImplementedError()

    def get_diagnostics(self, instance: Any) -> dict[str, Any]:
        """The guest's statistics in the driver's own keys (what the
        diagnostics API shows before 2.48).  Optional."""
        raise NotImplementedError()

    def get_instance_diagnostics(self, instance: Any) -> dict[str, Any]:
        """The guest's statistics in the standard format (2.48): state,
        driver, hypervisor, hypervisor_os, uptime, config_drive,
        cpu_details, nic_details, disk_details, memory_details (a value
        the driver cannot measure is None).  Optional."""
        raise NotImplementedError()

    def trigger_crash_dump(self, instance: Any) -> None:
        """Have the guest's kernel dump its memory (an NMI on x86).

        Optional: the default raises NotImplementedError, which the API
        reports as "Triggering crash dump is not supported" (400).
        :raises InstanceNotRunning: the guest is not running
        """
        raise NotImplementedError()

    def get_vnc_console(self, context: Any, instance: Any) -> Any:
        """Where the guest's VNC server listens: a
        ``nova.console.type.ConsoleVNC`` (host, port) that nova-novncproxy
        can reach.

        :raises InstanceNotFound: the guest is not on this host.
        :raises ConsoleTypeUnavailable: the guest has no VNC server.
        """
        raise NotImplementedError()

    # -- devices ------------------------------------------------------------

    def attach_volume(self, context: Any, connection_info: dict[str, Any],
                      instance: Any, mountpoint: str,
                      disk_bus: str | None = None,
                      device_type: str | None = None,
                      encryption: dict[str, Any] | None = None) -> None:
        """Attach the volume described by ``connection_info`` (from the
        volume service) at ``mountpoint``.
        """
        raise NotImplementedError()

    def detach_volume(self, context: Any, connection_info: dict[str, Any],
                      instance: Any, mountpoint: str,
                      encryption: dict[str, Any] | None = None) -> None:
        """Detach the volume at ``mountpoint``; no-op if it is not there."""
        raise NotImplementedError()

    def extend_volume(self, context: Any, connection_info: dict[str, Any],
                      instance: Any, requested_size: int) -> None:
        """The volume service grew the attached volume described by
        ``connection_info`` to ``requested_size`` bytes: make the guest
        see the new size.  Optional (the volume-extended event is then
        logged and its action finished with an error)."""
        raise NotImplementedError()

    def attach_interface(self, context: Any, instance: Any,
                         image_meta: dict[str, Any] | None,
                         vif: dict[str, Any]) -> None:
        raise NotImplementedError()

    def detach_interface(self, context: Any, instance: Any,
                         vif: dict[str, Any]) -> None:
        """Detach ``vif`` (by its ``id``); no-op if it is not attached."""
        raise NotImplementedError()

    def plug_vifs(self, instance: Any,
                  network_info: list[dict[str, Any]]) -> None:
        """Connect the guest's VIFs to the host network (at start-up)."""
        raise NotImplementedError()

    def unplug_vifs(self, instance: Any,
                    network_info: list[dict[str, Any]]) -> None:
        raise NotImplementedError()

    # -- resize and cold migration -----------------------------------------

    def migrate_disk_and_power_off(self, context: Any, instance: Any,
                                   dest: str, flavor: dict[str, Any],
                                   network_info: list[dict[str, Any]] | None,
                                   block_device_info: dict[str, Any] | None
                                   = None, timeout: int = 0,
                                   retry_interval: int = 0) -> str:
        """Source side: power off and move the disks to ``dest``.

        Returns the disk information ``finish_migration`` needs (a JSON
        string, as upstream).
        """
        raise NotImplementedError()

    def finish_migration(self, context: Any, migration: dict[str, Any],
                         instance: Any, disk_info: str,
                         network_info: list[dict[str, Any]] | None,
                         image_meta: dict[str, Any],
                         resize_instance: bool,
                         allocations: dict[str, Any] | None,
                         block_device_info: dict[str, Any] | None = None,
                         power_on: bool = True) -> None:
        """Destination side: create the guest from the moved disks."""
        raise NotImplementedError()

    def confirm_migration(self, context: Any, migration: dict[str, Any],
                          instance: Any,
                          network_info: list[dict[str, Any]] | None) -> None:
        """Source side: delete what the migration left behind."""
        raise NotImplementedError()

    def finish_revert_migration(self, context: Any, instance: Any,
                                network_info: list[dict[str, Any]] | None,
                                migration: dict[str, Any],
                                block_device_info: dict[str, Any] | None
                                = None, power_on: bool = True) -> None:
        """Source side: bring the original guest back."""
        raise NotImplementedError()

    # -- live migration -----------------------------------------------------

    def check_can_live_migrate_destination(
            self, context: Any, instance: Any,
            src_compute_info: dict[str, Any],
            dst_compute_info: dict[str, Any],
            block_migration: bool = False,
            disk_over_commit: bool = False) -> dict[str, Any]:
        """Destination side check; returns migrate data for the source."""
        raise NotImplementedError()

    def cleanup_live_migration_destination_check(
            self, context: Any, dest_check_data: dict[str, Any]) -> None:
        raise NotImplementedError()

    def check_can_live_migrate_source(
            self, context: Any, instance: Any,
            dest_check_data: dict[str, Any],
            block_device_info: dict[str, Any] | None = None
            ) -> dict[str, Any]:
        """Source side check; returns the (amended) migrate data."""
        raise NotImplementedError()

    def pre_live_migration(self, context: Any, instance: Any,
                           block_device_info: dict[str, Any] | None,
                           network_info: list[dict[str, Any]] | None,
                           disk_info: Any,
                           migrate_data: dict[str, Any] | None
                           ) -> dict[str, Any]:
        """Destination side: prepare to receive the guest."""
        raise NotImplementedError()

    def live_migration(self, context: Any, instance: Any, dest: str,
                       post_method: Callable[..., Any],
                       recover_method: Callable[..., Any],
                       block_migration: bool = False,
                       migrate_data: dict[str, Any] | None = None) -> None:
        """Source side: move the running guest to ``dest``.

        Calls ``post_method(context, instance, dest, block_migration,
        migrate_data)`` on success and ``recover_method(context, instance,
        dest, migrate_data)`` on failure.
        """
        raise NotImplementedError()

    def live_migration_force_complete(self, instance: Any) -> None:
        """Source side: have the live migration of ``instance`` under way
        finish now (upstream's libvirt driver pauses the guest so that its
        last memory pages copy, or switches to post-copy); it still ends
        through ``post_method``."""
        raise NotImplementedError()

    def live_migration_abort(self, instance: Any) -> None:
        """Source side: cancel the live migration of ``instance`` under
        way; ``live_migration`` then fails (``recover_method``) with the
        guest still running here."""
        raise NotImplementedError()

    def post_live_migration(self, context: Any, instance: Any,
                            block_device_info: dict[str, Any] | None,
                            migrate_data: dict[str, Any] | None = None
                            ) -> None:
        """Source side, after success: disconnect volumes etc."""
        raise NotImplementedError()

    def post_live_migration_at_destination(
            self, context: Any, instance: Any,
            network_info: list[dict[str, Any]] | None,
            block_migration: bool = False,
            block_device_info: dict[str, Any] | None = None) -> None:
        raise NotImplementedError()

    def rollback_live_migration_at_destination(
            self, context: Any, instance: Any,
            network_info: list[dict[str, Any]] | None,
            block_device_info: dict[str, Any] | None,
            destroy_disks: bool = True,
            migrate_data: dict[str, Any] | None = None) -> None:
        raise NotImplementedError()

    # -- periodic -----------------------------------------------------------

    def manage_image_cache(self, context: Any, all_instances: list) -> None:
        """Remove cached images no instance uses; drivers without a cache
        need not override it.
        """


def _import_driver_class(name: str) -> type:
    """The class ``name`` names, looked up under nova.virt first."""
    tried = []
    for path in (f'{VIRT_PACKAGE}.{name}', name):
        module_name, _, class_name = path.rpartition('.')
        if not module_name:
            continue
        try:
            found = importlib.util.find_spec(module_name) is not None
        except ImportError:
            found = False
        if not found:
            tried.append(module_name)
            continue
        try:
            module = importlib.import_module(module_name)
        except Exception as error:
            # The module exists but is broken (e.g. a missing dependency of
            # a real driver): say so, not "not found".
            raise DriverLoadError(driver=name, reason=(
                f'importing {module_name} failed: {error!r}')) from error
        cls = getattr(module, class_name, None)
        if not isinstance(cls, type):
            raise DriverLoadError(driver=name, reason=(
                f'module {module_name} has no class {class_name}'))
        return cls
    raise DriverLoadError(driver=name, reason=(
        f'no module {" or ".join(tried)}'))


def load_compute_driver(conf: cfg.ConfigOpts | None = None,
                        virtapi: Any = None,
                        compute_driver: str | None = None) -> ComputeDriver:
    """Load and construct the driver ``[DEFAULT] compute_driver`` names.

    :raises DriverLoadError: naming the option, for nova-compute to print at
        start instead of a traceback.
    """
    if conf is None:
        import nova.conf
        conf = nova.conf.CONF
    name = compute_driver or conf.compute_driver
    if not name:
        raise DriverLoadError(driver='(none)', reason='the option is not set')
    cls = _import_driver_class(name)
    if not issubclass(cls, ComputeDriver):
        raise DriverLoadError(driver=name, reason=(
            f'{cls.__module__}.{cls.__qualname__} is not a '
            f'nova.virt.driver.ComputeDriver'))
    try:
        driver = cls(virtapi, conf=conf)
    except Exception as error:
        raise DriverLoadError(driver=name, reason=str(error)) from error
    LOG.info('Loaded compute driver %s', name)
    return driver
