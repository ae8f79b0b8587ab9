"""A fake hypervisor, for tests, demonstrations and benchmarks.

``FakeDriver`` runs no guests, but behaves like a hypervisor where it matters
to nova:

* its guests outlive nova-compute: with ``[fake_driver] state_path`` set each
  guest is a small JSON file there (written atomically), so after a SIGKILL
  a new nova-compute finds exactly the guests a real hypervisor would have,
  and crash-recovery tests can check that nothing leaked. Without it guests
  live in memory;
* it reports the host resources of ``[fake_driver] vcpus/memory_mb/
  local_gb`` and what its guests use of them;
* it tracks each guest's power state, volumes and interfaces;
* faults can be injected per method: a delay (``[fake_driver]
  delay_seconds``, ``set_delay()``), a failure (``fail_methods``,
  ``inject_failure()``) and a call that never returns (``block_methods``,
  ``block()``), which writes ``<state_path>/blocked-<method>-<uuid>`` first
  (with a state_path) so a test knows when to kill the process;
* the whole host can be down (``[fake_driver] host_down``,
  ``set_host_down()``): every driver call then raises
  HypervisorUnavailable, as a real driver does when its hypervisor is
  gone, and the guests stay as they were - what a compute host that died
  leaves behind until it comes back (an evacuation's source).  A test
  stops the host's nova-compute too, and marks its service forced down as
  an operator does (os-services, 2.11); the guests it keeps are then
  there for the returning host to clean up.  The introspection helpers
  for tests (``instance_record``, ``attached_volumes``,
  ``attached_interfaces``) still answer.
* each guest has its disks on its host's instance storage (until it is
  destroyed with ``destroy_disks``; ``has_disk()`` tells); hosts of one
  process can share that storage (``share_instance_storage()``, a
  test's switch): ``instance_on_disk`` then finds a guest's disks on any
  of them, an evacuation between them re-creates the guest from its
  existing disk, the ``check_instance_shared_storage_*`` methods find
  each other's marks, and destroying a guest with its disks on one of
  them removes the disks the others' guest of it uses;
* a live migration held by ``block('live_migration', 'before')`` is
  under way until ``unblock``, ``live_migration_force_complete`` (it
  finishes) or ``live_migration_abort`` (it fails, the guest stays).

With no fault configured a call costs a dict update (plus a small file write
with state_path), because a boot benchmark runs thousands of spawns.
"""

from __future__ import annotations

import functools
import inspect
import json
import os
import socket
from collections.abc import Callable
from typing import Any

from oslo_config import cfg
from oslo_log import log as logging
from oslo_utils import uuidutils

from nova import concurrency, exception
from nova.compute import power_state, task_states
from nova.console import type as console_type
from nova.virt import driver

LOG = logging.getLogger(__name__)

MARKER_PREFIX = 'blocked-'
RECORD_SUFFIX = '.json'
# Console lines kept per guest: enough to see its history, bounded so a
# guest rebooted in a loop does not grow its file.
CONSOLE_LINES = 100
BEFORE = 'before'
AFTER = 'after'

# Names of the methods faults can be injected into (filled by _faultable).
FAULTABLE: set[str] = set()


def marker_path(state_path: str, method: str, uuid: str | None) -> str:
    """Where a call to ``method`` blocked by ``block_methods`` says so."""
    return os.path.join(state_path,
                        f'{MARKER_PREFIX}{method}-{uuid or "host"}')


def read_state(state_path: str) -> dict[str, dict[str, Any]]:
    """The guests a FakeDriver keeps in ``state_path``, by UUID.

    For tests that inspect a (possibly dead) nova-compute's hypervisor
    without starting a driver on it (which would clear its markers).
    """
    guests: dict[str, dict[str, Any]] = {}
    try:
        names = os.listdir(state_path)
    except FileNotFoundError:
        return guests
    for name in names:
        if name.startswith('.') or not name.endswith(RECORD_SUFFIX):
            continue
        path = os.path.join(state_path, name)
        try:
            with open(path, encoding='utf-8') as f:
                record = json.load(f)
        except (OSError, ValueError) as error:
            # Files are replaced atomically, so this is not ours to fix.
            LOG.warning('Ignoring unreadable fake guest %s: %s', path, error)
            continue
        guests[record['uuid']] = record
    return guests


class _Storage:
    """An instance storage (upstream's ``[DEFAULT] instances_path``) as
    the fake keeps it, in memory."""

    def __init__(self, *hosts: FakeDriver) -> None:
        #: The hosts that have it.
        self.hosts = hosts
        #: The UUIDs of the guests whose disks are on it.
        self.disks: set[str] = set()
        #: The marks of check_instance_shared_storage_local.
        self.files: set[str] = set()


def _faultable(fn: Callable[..., Any] | None = None, *,
               name: str | None = None) -> Any:
    """Let faults be injected into ``fn`` (under ``name``, by default its
    own): before it runs or after it took effect. The wrapper costs one
    attribute test while no fault is set.
    """
    if fn is None:
        return functools.partial(_faultable, name=name)
    name = name or fn.__name__
    params = list(inspect.signature(fn).parameters)[1:]
    position = params.index('instance') if 'instance' in params else None
    FAULTABLE.add(name)

    @functools.wraps(fn)
    def wrapper(self: FakeDriver, *args: Any, **kwargs: Any) -> Any:
        if not self._armed:
            return fn(self, *args, **kwargs)
        instance = kwargs.get('instance')
        if instance is None and position is not None and position < len(
                args):
            instance = args[position]
        uuid = None if instance is None else driver.instance_uuid(instance)
        self._before(name, uuid)
        result = fn(self, *args, **kwargs)
        self._after(name, uuid)
        return result

    return wrapper


class FakeDriver(driver.ComputeDriver):

    capabilities = dict(driver.ComputeDriver.capabilities,
                        supports_evacuate=True,
                        supports_migrate_to_same_host=True,
                        supports_attach_interface=True,
                        supports_device_tagging=True,
                        supports_multiattach=True,
                        supports_live_migration=True,
                        supports_deferred_power_on=True)

    def __init__(self, virtapi: Any = None,
                 conf: cfg.ConfigOpts | None = None) -> None:
        super().__init__(virtapi, conf)
        opts = self.conf.fake_driver
        self.state_path: str | None = opts.state_path
        self.resources = {'vcpus': opts.vcpus, 'memory_mb': opts.memory_mb,
                          'local_gb': opts.local_gb}
        self._host = socket.gethostname()
        self._nodes: list[str] | None = None
        self._lock = concurrency.Lock()
        self._instances: dict[str, dict[str, Any]] = {}
        self._image_api: Any = None

        self._delays: dict[str, float] = {}
        self._always_fail: set[str] = set()
        # method -> [remaining failures (None: until cleared), error]
        self._failures: dict[str, list] = {}
        # method -> (BEFORE or AFTER, event that releases the call)
        self._blocks: dict[str, tuple[str, Any]] = {}
        # (method, uuid) of the calls waiting in a block now.
        self._blocked_now: list[tuple[str, str | None]] = []
        self._blocked_changed = concurrency.Condition(concurrency.Lock())
        self._host_down = bool(opts.host_down)
        self._armed = False
        # Instances whose live migration was asked to abort.
        self._aborted: set[str] = set()
        # This host's instance storage: the guests' disks and the marks
        # of the shared-storage check (shared with the hosts of
        # share_instance_storage()).
        self._storage = _Storage(self)

        for method, seconds in opts.delay_seconds.items():
            self._check_method(method, '[fake_driver] delay_seconds')
            try:
                self._delays[method] = float(seconds)
            except ValueError:
                raise ValueError(
                    f'[fake_driver] delay_seconds: {method}:{seconds} is '
                    f'not a number of seconds') from None
        for method in opts.fail_methods:
            self._check_method(method, '[fake_driver] fail_methods')
            self._always_fail.add(method)
        for entry in opts.block_methods:
            method, _, when = entry.partition(':')
            self._check_method(method, '[fake_driver] block_methods')
            if when not in ('', BEFORE, AFTER):
                raise ValueError(
                    f'[fake_driver] block_methods: {entry!r}: say '
                    f'"{method}", "{method}:before" or "{method}:after"')
            if not self.state_path:
                raise ValueError('[fake_driver] block_methods needs '
                                 '[fake_driver] state_path for its markers')
            # Never released: the process is meant to be killed.
            self._blocks[method] = (when or AFTER, concurrency.Event())
        self._update_armed()

        if self.state_path:
            os.makedirs(self.state_path, exist_ok=True)
            self._clear_leftovers()
            self._instances = read_state(self.state_path)
            self._storage.disks.update(self._instances)
            LOG.info('Fake hypervisor in %s has %d guests', self.state_path,
                     len(self._instances))

    # -- faults -------------------------------------------------------------

    @staticmethod
    def _check_method(method: str, where: str) -> None:
        if method not in FAULTABLE:
            raise ValueError(f'{where}: {method!r} is not a fake driver '
                             f'method; choose from '
                             f'{", ".join(sorted(FAULTABLE))}')

    def _update_armed(self) -> None:
        self._armed = bool(self._delays or self._always_fail or
                           self._failures or self._blocks or
                           self._host_down)

    def set_host_down(self, down: bool = True) -> None:
        """Take the whole hypervisor down (every driver call raises
        HypervisorUnavailable) or bring it back; the guests are kept."""
        with self._lock:
            self._host_down = bool(down)
            self._update_armed()

    @property
    def host_down(self) -> bool:
        return self._host_down

    def _check_host_up(self) -> None:
        if self._host_down:
            raise exception.HypervisorUnavailable(host=self._host)

    def set_delay(self, method: str, seconds: float) -> None:
        """Make ``method`` take ``seconds`` longer (0: no delay)."""
        self._check_method(method, 'set_delay')
        with self._lock:
            if seconds:
                self._delays[method] = seconds
            else:
                self._delays.pop(method, None)
            self._update_armed()

    def inject_failure(self, method: str, times: int | None = 1,
                       error: BaseException | type | None = None) -> None:
        """Make the next ``times`` calls of ``method`` (all of them if None)
        raise ``error`` (default VirtDriverError) before taking effect.
        """
        self._check_method(method, 'inject_failure')
        with self._lock:
            self._failures[method] = [times, error]
            self._update_armed()

    def clear_failures(self, method: str | None = None) -> None:
        """Forget injected failures (of ``method``, or all)."""
        with self._lock:
            if method is None:
                self._failures.clear()
                self._always_fail.clear()
            else:
                self._failures.pop(method, None)
                self._always_fail.discard(method)
            self._update_armed()

    def block(self, method: str, when: str = AFTER) -> None:
        """Make calls of ``method`` wait, with a marker file, until
        ``unblock(method)``: ``when`` is 'after' the call took effect or
        'before' it did.  Without a state_path no marker file is written
        (``wait_blocked`` says when a call is blocked).
        """
        self._check_method(method, 'block')
        if when not in (BEFORE, AFTER):
            raise ValueError(f'when must be {BEFORE!r} or {AFTER!r}')
        with self._lock:
            self._blocks[method] = (when, concurrency.Event())
            self._update_armed()

    def unblock(self, method: str) -> None:
        """Release the calls of ``method`` waiting in a block (one set by
        ``block()`` or by ``[fake_driver] block_methods``) and stop blocking.
        """
        with self._lock:
            blocked = self._blocks.pop(method, None)
            self._update_armed()
        if blocked:
            blocked[1].set()

    def wait_blocked(self, method: str, timeout: float) -> str | None:
        """Wait until a call of ``method`` is blocked; return its instance
        UUID (None for a host call).

        :raises TimeoutError: if none is blocked within ``timeout``.
        """
        with self._blocked_changed:
            found = self._blocked_changed.wait_for(
                lambda: [u for m, u in self._blocked_now if m == method],
                timeout)
        if not found:
            raise TimeoutError(f'no {method} call blocked within {timeout}s')
        return found[0]

    def _before(self, method: str, uuid: str | None) -> None:
        self._check_host_up()
        delay = self._delays.get(method)
        if delay:
            concurrency.sleep(delay)
        if method in self._always_fail or method in self._failures:
            self._fail(method)
        blocked = self._blocks.get(method)
        if blocked and blocked[0] == BEFORE:
            self._wait_blocked(method, uuid, blocked[1])

    def _after(self, method: str, uuid: str | None) -> None:
        blocked = self._blocks.get(method)
        if blocked and blocked[0] == AFTER:
            self._wait_blocked(method, uuid, blocked[1])

    def _fail(self, method: str) -> None:
        error: Any = None
        with self._lock:
            if method not in self._always_fail:
                entry = self._failures.get(method)
                if entry is None:
                    return
                remaining, error = entry
                if remaining is not None:
                    if remaining <= 1:
                        del self._failures[method]
                        self._update_armed()
                    else:
                        entry[0] = remaining - 1
        message = f'injected failure in {method}'
        if error is None:
            raise exception.VirtDriverError(reason=message)
        if isinstance(error, type):
            raise error(message)
        raise error

    def _wait_blocked(self, method: str, uuid: str | None,
                      released: Any) -> None:
        path = None
        if self.state_path:
            path = marker_path(self.state_path, method, uuid)
            self._write_file(path, json.dumps({'pid': os.getpid()}))
        LOG.warning('Fake driver: %s of %s blocked (marker %s)', method,
                    uuid, path)
        with self._blocked_changed:
            self._blocked_now.append((method, uuid))
            self._blocked_changed.notify_all()
        try:
            released.wait()
        finally:
            with self._blocked_changed:
                self._blocked_now.remove((method, uuid))
        if path:
            _remove(path)

    # -- persistence --------------------------------------------------------

    def _clear_leftovers(self) -> None:
        # Markers and half-written files of a previous (killed) process:
        # a marker means "a call is blocked now", which is no longer true.
        assert self.state_path is not None  # only called when it is set
        for name in os.listdir(self.state_path):
            if name.startswith(MARKER_PREFIX) or name.endswith('.tmp'):
                _remove(os.path.join(self.state_path, name))

    def _write_file(self, path: str, data: str) -> None:
        # Write then rename: a reader, or a process started after a kill,
        # sees the old file or the new one, never half of one. No fsync:
        # the page cache survives the killed process, and surviving power
        # loss is not a fake hypervisor's job.
        tmp = os.path.join(os.path.dirname(path),
                           f'.{os.path.basename(path)}.{os.getpid()}.tmp')
        with open(tmp, 'w', encoding='utf-8') as f:
            f.write(data)
        os.replace(tmp, path)

    def _record_path(self, uuid: str) -> str:
        assert self.state_path is not None  # only called when it is set
        return os.path.join(self.state_path, uuid + RECORD_SUFFIX)

    def _save(self, record: dict[str, Any]) -> None:
        """Store ``record`` (call with self._lock held); its disks are
        on this host's instance storage."""
        self._instances[record['uuid']] = record
        self._storage.disks.add(record['uuid'])
        if self.state_path:
            self._write_file(self._record_path(record['uuid']),
                             json.dumps(record, sort_keys=True))

    def _delete(self, uuid: str, destroy_disks: bool | None = None) -> bool:
        """Forget guest ``uuid`` (call with self._lock held); whether it
        was here.  Its disks go with ``destroy_disks``, stay without;
        when None (the guest left: a move), they go unless a host
        sharing this storage runs the guest."""
        found = self._instances.pop(uuid, None) is not None
        if found and self.state_path:
            _remove(self._record_path(uuid))
        if destroy_disks or destroy_disks is None and not any(
                uuid in host._instances for host in self._storage.hosts):
            self._storage.disks.discard(uuid)
        return found

    def _get(self, instance: Any) -> dict[str, Any]:
        uuid = driver.instance_uuid(instance)
        record = self._instances.get(uuid)
        if record is None:
            raise exception.InstanceNotFound(instance_id=uuid)
        return record

    def _change(self, instance: Any, event: str | None = None,
                **changes: Any) -> dict[str, Any]:
        """Apply ``changes`` to the guest, log ``event`` on its console."""
        with self._lock:
            record = dict(self._get(instance))
            record.update(changes)
            if event:
                record['console'] = _console(record, event)
            self._save(record)
            return record

    def _new_record(self, instance: Any, state: int,
                    network_info: list | None,
                    block_device_info: dict[str, Any] | None
                    ) -> dict[str, Any]:
        uuid = driver.instance_uuid(instance)
        record = {
            'uuid': uuid,
            'name': driver.instance_attr(instance, 'name') or
            f'instance-{uuid}',
            'node': driver.instance_attr(instance, 'node') or
            self._default_node(),
            'image_ref': driver.instance_attr(instance, 'image_ref'),
            'power_state': state,
            'rescued': False,
            'migration': None,
            'volumes': _volumes_of(block_device_info),
            'interfaces': _interfaces_of(network_info),
            'console': [],
        }
        record.update(_sizes(instance))
        return record

    # -- host ---------------------------------------------------------------

    @_faultable
    def init_host(self, host: str) -> None:
        self._host = host

    def set_nodes(self, nodes: list[str]) -> None:
        """Report several nodes (upstream's fake does the same, for tests
        of multi-node hosts).
        """
        self._nodes = list(nodes)

    def _default_node(self) -> str:
        return self._nodes[0] if self._nodes else self._host

    def get_available_nodes(self, refresh: bool = False) -> list[str]:
        self._check_host_up()
        return list(self._nodes) if self._nodes else [self._host]

    @_faultable
    def get_available_resource(self, nodename: str) -> dict[str, Any]:
        single = len(self.get_available_nodes()) == 1
        vcpus = memory_mb = local_gb = guests = 0
        for record in list(self._instances.values()):
            if single or record.get('node') == nodename:
                guests += 1
                vcpus += record.get('vcpus') or 0
                memory_mb += record.get('memory_mb') or 0
                local_gb += ((record.get('root_gb') or 0) +
                             (record.get('ephemeral_gb') or 0))
        return {
            'vcpus': self.resources['vcpus'],
            'memory_mb': self.resources['memory_mb'],
            'local_gb': self.resources['local_gb'],
            'vcpus_used': vcpus,
            'memory_mb_used': memory_mb,
            'local_gb_used': local_gb,
            'hypervisor_type': 'fake',
            'hypervisor_version': 1000,
            'hypervisor_hostname': nodename,
            'cpu_info': '?',
            'disk_available_least': self.resources['local_gb'] - local_gb,
            'running_vms': guests,
        }

    # -- inventory ----------------------------------------------------------

    def list_instances(self) -> list[str]:
        self._check_host_up()
        return [record['name'] for record in list(self._instances.values())]

    def list_instance_uuids(self) -> list[str]:
        self._check_host_up()
        return list(self._instances)

    def instance_exists(self, instance: Any) -> bool:
        self._check_host_up()
        return driver.instance_uuid(instance) in self._instances

    @_faultable
    def get_info(self, instance: Any, use_cache: bool = True
                 ) -> driver.InstanceInfo:
        record = self._get(instance)
        return driver.InstanceInfo(state=record['power_state'],
                                   internal_id=record['name'])

    def instance_record(self, instance_or_uuid: Any) -> dict[str, Any] | None:
        """A copy of what the fake hypervisor holds for a guest, or None."""
        uuid = (instance_or_uuid if isinstance(instance_or_uuid, str)
                else driver.instance_uuid(instance_or_uuid))
        record = self._instances.get(uuid)
        return None if record is None else json.loads(json.dumps(record))

    def attached_volumes(self, instance_or_uuid: Any) -> dict[str, str]:
        """``{mountpoint: volume_id}`` of a guest ({} if there is none)."""
        record = self.instance_record(instance_or_uuid) or {}
        return {mountpoint: volume.get('volume_id') for mountpoint, volume
                in record.get('volumes', {}).items()}

    def attached_interfaces(self, instance_or_uuid: Any) -> list[str]:
        """IDs of a guest's VIFs ([] if there is no such guest)."""
        record = self.instance_record(instance_or_uuid) or {}
        return sorted(record.get('interfaces', {}))

    # -- life cycle ---------------------------------------------------------

    @_faultable
    def spawn(self, context: Any, instance: Any, image_meta: dict[str, Any],
              injected_files: list | None, admin_password: str | None,
              allocations: dict[str, Any] | None,
              network_info: list[dict[str, Any]] | None = None,
              block_device_info: dict[str, Any] | None = None,
              power_on: bool = True) -> None:
        uuid = driver.instance_uuid(instance)
        record = self._new_record(
            instance, power_state.RUNNING if power_on else
            power_state.SHUTDOWN, network_info, block_device_info)
        # An evacuation on shared storage: the guest is created from the
        # disks already there, not from its image.
        record['existing_disk'] = uuid in self._storage.disks
        # Whether a password was set in the guest (never the password).
        record['admin_password_set'] = admin_password is not None
        record['console'] = _console(record, 'boot' if power_on
                                     else 'created')
        with self._lock:
            if uuid in self._instances:
                raise exception.InstanceExists(name=uuid)
            self._save(record)

    def share_instance_storage(self, *others: FakeDriver) -> None:
        """A switch for tests: this host and ``others`` share their
        instance storage (one NFS ``instances_path``, say), so the disks
        of a guest on any of them are on the disk of each
        (:meth:`instance_on_disk`).  In memory: the hosts of one
        process."""
        group = [self, *others]
        shared = _Storage(*group)
        for host in group:
            shared.disks.update(host._storage.disks)
            shared.files.update(host._storage.files)
        for host in group:
            host._storage = shared

    def has_disk(self, instance_or_uuid: Any) -> bool:
        """For tests: are the guest's disks on this host's instance
        storage (also while the host is down)?"""
        uuid = (instance_or_uuid if isinstance(instance_or_uuid, str)
                else driver.instance_uuid(instance_or_uuid))
        return uuid in self._storage.disks

    @_faultable
    def instance_on_disk(self, instance: Any) -> bool:
        """Are the instance's disks on this host's instance storage
        (its own guest's, or a guest's of a host sharing it)?"""
        return self.has_disk(instance)

    @_faultable
    def check_instance_shared_storage_local(self, context: Any,
                                            instance: Any) -> Any:
        """A mark on this host's instance storage, named for the
        instance."""
        name = f'{driver.instance_uuid(instance)}.{uuidutils.generate_uuid()}'
        with self._lock:
            self._storage.files.add(name)
        return {'filename': name}

    @_faultable
    def check_instance_shared_storage_remote(self, context: Any,
                                             data: Any) -> bool:
        return data['filename'] in self._storage.files

    @_faultable
    def check_instance_shared_storage_cleanup(self, context: Any,
                                              data: Any) -> None:
        with self._lock:
            self._storage.files.discard(data['filename'])

    @_faultable
    def destroy(self, context: Any, instance: Any,
                network_info: list[dict[str, Any]] | None,
                block_device_info: dict[str, Any] | None = None,
                destroy_disks: bool = True) -> None:
        uuid = driver.instance_uuid(instance)
        with self._lock:
            if not self._delete(uuid, destroy_disks):
                LOG.debug('Fake driver: %s already gone', uuid)

    @_faultable
    def cleanup(self, context: Any, instance: Any,
                network_info: list[dict[str, Any]] | None,
                block_device_info: dict[str, Any] | None = None,
                destroy_disks: bool = True, migrate_data: Any = None,
                destroy_vifs: bool = True) -> None:
        uuid = driver.instance_uuid(instance)
        with self._lock:
            self._delete(uuid, destroy_disks)

    @_faultable
    def reboot(self, context: Any, instance: Any,
               network_info: list[dict[str, Any]] | None, reboot_type: str,
               block_device_info: dict[str, Any] | None = None,
               bad_volumes_callback: Callable[..., Any] | None = None
               ) -> None:
        if reboot_type not in ('SOFT', 'HARD'):
            raise exception.Invalid(
                reason=f'reboot type {reboot_type!r} is not SOFT or HARD')
        self._change(instance, f'reboot {reboot_type}',
                     power_state=power_state.RUNNING)

    @_faultable
    def power_off(self, instance: Any, timeout: int = 0,
                  retry_interval: int = 0) -> None:
        self._change(instance, 'power off', power_state=power_state.SHUTDOWN)

    @_faultable
    def power_on(self, context: Any, instance: Any,
                 network_info: list[dict[str, Any]] | None,
                 block_device_info: dict[str, Any] | None = None) -> None:
        self._change(instance, 'power on', power_state=power_state.RUNNING)

    @_faultable
    def resume_state_on_host_boot(self, context: Any, instance: Any,
                                  network_info: list[dict[str, Any]] | None,
                                  block_device_info: dict[str, Any] | None
                                  = None) -> None:
        self._change(instance, 'boot after host reboot',
                     power_state=power_state.RUNNING)

    @_faultable
    def pause(self, instance: Any) -> None:
        self._change(instance, 'pause', power_state=power_state.PAUSED)

    @_faultable
    def unpause(self, instance: Any) -> None:
        self._change(instance, 'unpause', power_state=power_state.RUNNING)

    @_faultable
    def suspend(self, context: Any, instance: Any) -> None:
        self._change(instance, 'suspend', power_state=power_state.SUSPENDED)

    @_faultable
    def resume(self, context: Any, instance: Any,
               network_info: list[dict[str, Any]] | None,
               block_device_info: dict[str, Any] | None = None) -> None:
        self._change(instance, 'resume', power_state=power_state.RUNNING)

    @property
    def image_api(self) -> Any:
        """Where snapshots are uploaded (nova.image, unless a test sets
        another)."""
        if self._image_api is None:
            from nova.image import api as image_api
            self._image_api = image_api.API(self.conf)
        return self._image_api

    @image_api.setter
    def image_api(self, value: Any) -> None:
        self._image_api = value

    @_faultable
    def snapshot(self, context: Any, instance: Any, image_id: str,
                 update_task_state: Callable[..., Any]) -> None:
        # There is no disk: the guest's record stands in for its data, so
        # the image ends active with a size and checksums, as a real
        # driver's upload leaves it.
        record = self._get(instance)
        update_task_state(task_state=task_states.IMAGE_PENDING_UPLOAD)
        update_task_state(task_state=task_states.IMAGE_UPLOADING,
                          expected_state=task_states.IMAGE_PENDING_UPLOAD)
        self.image_api.upload(context, image_id, json.dumps(
            record, sort_keys=True).encode())

    @_faultable
    def set_admin_password(self, instance: Any, new_pass: str) -> None:
        self._get(instance)

    @_faultable
    def rescue(self, context: Any, instance: Any,
               network_info: list[dict[str, Any]] | None,
               image_meta: dict[str, Any], rescue_password: str | None,
               block_device_info: dict[str, Any] | None = None) -> None:
        self._change(instance, 'rescue', rescued=True,
                     power_state=power_state.RUNNING)

    @_faultable
    def unrescue(self, context: Any, instance: Any) -> None:
        self._change(instance, 'unrescue', rescued=False,
                     power_state=power_state.RUNNING)

    @_faultable
    def get_diagnostics(self, instance: Any) -> dict[str, Any]:
        """Figures in upstream's fake driver's keys, from the guest's
        size and devices."""
        record = self._get(instance)
        vcpus = record.get('vcpus') or 0
        figures: dict[str, Any] = {
            f'cpu{n}_time': 17300000000 for n in range(vcpus)}
        figures['memory'] = (record.get('memory_mb') or 0) * 1024
        for n, _volume in enumerate(['root', *record['volumes']]):
            disk = f'vd{chr(ord("a") + n)}'
            figures.update({f'{disk}_read': 262144, f'{disk}_read_req': 112,
                            f'{disk}_write': 5778432,
                            f'{disk}_write_req': 488,
                            f'{disk}_errors': -1})
        for port in record['interfaces']:
            tap = f'tap{port[:11]}'
            figures.update({f'{tap}_rx': 2070139, f'{tap}_rx_packets': 26701,
                            f'{tap}_tx': 140208, f'{tap}_tx_packets': 662})
        return figures

    @_faultable
    def get_instance_diagnostics(self, instance: Any) -> dict[str, Any]:
        """The standard format, from the guest's record."""
        record = self._get(instance)
        return {
            'state': power_state.STATE_MAP[record['power_state']],
            'driver': 'fake', 'hypervisor': 'fake',
            'hypervisor_os': 'fake-os',
            'uptime': 46664,
            'config_drive': bool(driver.instance_attr(instance,
                                                      'config_drive')),
            'memory_details': {'maximum': record.get('memory_mb') or 0,
                               'used': 0},
            'cpu_details': [{'id': n, 'time': 17300000000,
                             'utilisation': 15}
                            for n in range(record.get('vcpus') or 0)],
            'nic_details': [
                {'mac_address': vif.get('address'), 'rx_octets': 2070139,
                 'rx_errors': 0, 'rx_drop': 0, 'rx_packets': 26701,
                 'rx_rate': None, 'tx_octets': 140208, 'tx_errors': 0,
                 'tx_drop': 0, 'tx_packets': 662, 'tx_rate': None}
                for vif in record['interfaces'].values()],
            'disk_details': [
                {'read_bytes': 262144, 'read_requests': 112,
                 'write_bytes': 5778432, 'write_requests': 488,
                 'errors_count': 0}
                for _disk in ['root', *record['volumes']]],
        }

    @_faultable
    def trigger_crash_dump(self, instance: Any) -> None:
        """An NMI: counted in the guest's ``crash_dumps``, shown on its
        console; refused, as by libvirt, for a guest that is not running
        or paused."""
        with self._lock:
            record = self._get(instance)
            if record['power_state'] not in (power_state.RUNNING,
                                             power_state.PAUSED):
                raise exception.InstanceNotRunning(
                    instance_id=driver.instance_uuid(instance))
        self._change(instance, 'NMI received: crash dump',
                     crash_dumps=record.get('crash_dumps', 0) + 1)

    @_faultable
    def get_console_output(self, context: Any, instance: Any) -> str:
        return ''.join(line + '\n' for line in self._get(instance)['console'])

    @_faultable
    def get_vnc_console(self, context: Any, instance: Any) -> Any:
        # A console server nobody listens on (as upstream's fake).
        self._get(instance)
        return console_type.ConsoleVNC(host='fakevncconsole.com', port=6969)

    # -- devices ------------------------------------------------------------

    @_faultable
    def attach_volume(self, context: Any, connection_info: dict[str, Any],
                      instance: Any, mountpoint: str,
                      disk_bus: str | None = None,
                      device_type: str | None = None,
                      encryption: dict[str, Any] | None = None) -> None:
        volume_id = _volume_id(connection_info)
        with self._lock:
            record = dict(self._get(instance))
            volumes = dict(record['volumes'])
            present = volumes.get(mountpoint)
            if present is not None:
                if present.get('volume_id') == volume_id:
                    return
                raise exception.VirtDriverError(reason=(
                    f'{mountpoint} of {record["uuid"]} is in use by volume '
                    f'{present.get("volume_id")}'))
            volumes[mountpoint] = {'volume_id': volume_id,
                                   'connection_info': connection_info}
            record['volumes'] = volumes
            self._save(record)

    @_faultable
    def detach_volume(self, context: Any, connection_info: dict[str, Any],
                      instance: Any, mountpoint: str,
                      encryption: dict[str, Any] | None = None) -> None:
        with self._lock:
            record = dict(self._get(instance))
            if mountpoint not in record['volumes']:
                return
            record['volumes'] = {m: v for m, v in record['volumes'].items()
                                 if m != mountpoint}
            self._save(record)

    @_faultable
    def extend_volume(self, context: Any, connection_info: dict[str, Any],
                      instance: Any, requested_size: int) -> None:
        """Record the attached volume's new size (bytes) on the guest."""
        volume_id = _volume_id(connection_info)
        with self._lock:
            record = dict(self._get(instance))
            volumes = dict(record['volumes'])
            for mountpoint, volume in volumes.items():
                if volume.get('volume_id') == volume_id:
                    volumes[mountpoint] = dict(volume, size=requested_size)
                    break
            else:
                raise exception.VolumeNotFound(volume_id=volume_id)
            record['volumes'] = volumes
            self._save(record)

    @_faultable
    def attach_interface(self, context: Any, instance: Any,
                         image_meta: dict[str, Any] | None,
                         vif: dict[str, Any]) -> None:
        with self._lock:
            record = dict(self._get(instance))
            record['interfaces'] = dict(record['interfaces'],
                                        **_interfaces_of([vif]))
            self._save(record)

    @_faultable
    def detach_interface(self, context: Any, instance: Any,
                         vif: dict[str, Any]) -> None:
        with self._lock:
            record = dict(self._get(instance))
            if vif['id'] not in record['interfaces']:
                return
            record['interfaces'] = {i: v for i, v in
                                    record['interfaces'].items()
                                    if i != vif['id']}
            self._save(record)

    def plug_vifs(self, instance: Any,
                  network_info: list[dict[str, Any]]) -> None:
        self._check_host_up()

    def unplug_vifs(self, instance: Any,
                    network_info: list[dict[str, Any]]) -> None:
        self._check_host_up()

    # -- resize and cold migration -----------------------------------------
    # The source guest is powered off and marked; confirm deletes a marked
    # guest, so a resize to the same host (where finish_migration has
    # already replaced it) keeps it.

    @_faultable
    def migrate_disk_and_power_off(self, context: Any, instance: Any,
                                   dest: str, flavor: dict[str, Any],
                                   network_info: list[dict[str, Any]] | None,
                                   block_device_info: dict[str, Any] | None
                                   = None, timeout: int = 0,
                                   retry_interval: int = 0) -> str:
        self._change(instance, f'power off to migrate to {dest}',
                     power_state=power_state.SHUTDOWN, migration='source')
        return '[]'

    @_faultable
    def finish_migration(self, context: Any, migration: dict[str, Any],
                         instance: Any, disk_info: str,
                         network_info: list[dict[str, Any]] | None,
                         image_meta: dict[str, Any],
                         resize_instance: bool,
                         allocations: dict[str, Any] | None,
                         block_device_info: dict[str, Any] | None = None,
                         power_on: bool = True) -> None:
        state = power_state.RUNNING if power_on else power_state.SHUTDOWN
        with self._lock:
            record = self._instances.get(driver.instance_uuid(instance))
            if record is None:
                record = self._new_record(instance, state, network_info,
                                          block_device_info)
            else:
                record = dict(record, power_state=state, migration=None,
                              node=driver.instance_attr(instance, 'node') or
                              record['node'], **_sizes(instance))
            record['console'] = _console(record, 'boot after migration')
            self._save(record)

    @_faultable
    def confirm_migration(self, context: Any, migration: dict[str, Any],
                          instance: Any,
                          network_info: list[dict[str, Any]] | None) -> None:
        with self._lock:
            record = self._instances.get(driver.instance_uuid(instance))
            if record is not None and record.get('migration') == 'source':
                self._delete(record['uuid'])

    @_faultable
    def finish_revert_migration(self, context: Any, instance: Any,
                                network_info: list[dict[str, Any]] | None,
                                migration: dict[str, Any],
                                block_device_info: dict[str, Any] | None
                                = None, power_on: bool = True) -> None:
        state = power_state.RUNNING if power_on else power_state.SHUTDOWN
        with self._lock:
            record = self._instances.get(driver.instance_uuid(instance))
            if record is None:
                record = self._new_record(instance, state, network_info,
                                          block_device_info)
            else:
                record = dict(record, power_state=state, migration=None,
                              **_sizes(instance))
            record['console'] = _console(record, 'boot after revert')
            self._save(record)

    # -- live migration -----------------------------------------------------
    # The guest leaves the source in live_migration() and appears on the
    # destination in post_live_migration_at_destination().

    def check_can_live_migrate_destination(
            self, context: Any, instance: Any,
            src_compute_info: dict[str, Any],
            dst_compute_info: dict[str, Any],
            block_migration: bool = False,
            disk_over_commit: bool = False) -> dict[str, Any]:
        self._check_host_up()
        # None is the API's 'auto': a fake host cannot tell whether it
        # shares storage with another, so the disks go with the guest.
        return {'block_migration': True if block_migration is None
                else block_migration,
                'disk_over_commit': disk_over_commit}

    def cleanup_live_migration_destination_check(
            self, context: Any, dest_check_data: dict[str, Any]) -> None:
        self._check_host_up()

    def check_can_live_migrate_source(
            self, context: Any, instance: Any,
            dest_check_data: dict[str, Any],
            block_device_info: dict[str, Any] | None = None
            ) -> dict[str, Any]:
        self._check_host_up()
        self._get(instance)
        return dest_check_data

    @_faultable
    def pre_live_migration(self, context: Any, instance: Any,
                           block_device_info: dict[str, Any] | None,
                           network_info: list[dict[str, Any]] | None,
                           disk_info: Any,
                           migrate_data: dict[str, Any] | None
                           ) -> dict[str, Any]:
        return dict(migrate_data or {})

    def live_migration(self, context: Any, instance: Any, dest: str,
                       post_method: Callable[..., Any],
                       recover_method: Callable[..., Any],
                       block_migration: bool = False,
                       migrate_data: dict[str, Any] | None = None) -> None:
        self._check_host_up()
        uuid = driver.instance_uuid(instance)
        try:
            self._live_migration(instance)
        except Exception:
            # As real drivers do: roll back through the manager's callback,
            # then let the caller see the error.
            recover_method(context, instance, dest, migrate_data)
            raise
        finally:
            with self._lock:
                self._aborted.discard(uuid)
        post_method(context, instance, dest, block_migration, migrate_data)

    # The fault point is named after the public method.
    @_faultable(name='live_migration')
    def _live_migration(self, instance: Any) -> None:
        uuid = driver.instance_uuid(instance)
        with self._lock:
            self._get(instance)
            if uuid in self._aborted:
                raise exception.LiveMigrationAborted(instance_uuid=uuid)
            self._delete(uuid)

    def live_migration_force_complete(self, instance: Any) -> None:
        """Finish at once: a live migration held by ``block()`` goes on
        (the fake has no memory left to copy)."""
        self._get(instance)
        self.unblock('live_migration')

    def live_migration_abort(self, instance: Any) -> None:
        """The live migration fails with the guest still here; one held
        by ``block()`` is released to fail."""
        uuid = driver.instance_uuid(instance)
        with self._lock:
            self._get(instance)
            self._aborted.add(uuid)
        self.unblock('live_migration')

    def post_live_migration(self, context: Any, instance: Any,
                            block_device_info: dict[str, Any] | None,
                            migrate_data: dict[str, Any] | None = None
                            ) -> None:
        self._check_host_up()

    @_faultable
    def post_live_migration_at_destination(
            self, context: Any, instance: Any,
            network_info: list[dict[str, Any]] | None,
            block_migration: bool = False,
            block_device_info: dict[str, Any] | None = None) -> None:
        # A paused guest arrives paused, as it left.
        paused = driver.instance_attr(instance, 'vm_state') == 'paused'
        record = self._new_record(
            instance, power_state.PAUSED if paused else power_state.RUNNING,
            network_info, block_device_info)
        record['console'] = _console(record, 'arrived by live migration')
        with self._lock:
            self._save(record)

    @_faultable
    def rollback_live_migration_at_destination(
            self, context: Any, instance: Any,
            network_info: list[dict[str, Any]] | None,
            block_device_info: dict[str, Any] | None,
            destroy_disks: bool = True,
            migrate_data: dict[str, Any] | None = None) -> None:
        with self._lock:
            self._delete(driver.instance_uuid(instance), destroy_disks)


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


def _console(record: dict[str, Any], event: str) -> list[str]:
    lines = list(record.get('console') or [])
    lines.append(f'[fake] {record["name"]} ({record["uuid"]}): {event}')
    return lines[-CONSOLE_LINES:]


def _sizes(instance: Any) -> dict[str, int]:
    """vCPUs, RAM and disks of an instance, from it or its flavor."""
    flavor = driver.instance_attr(instance, 'flavor') or {}
    sizes = {}
    for key in ('vcpus', 'memory_mb', 'root_gb', 'ephemeral_gb'):
        value = driver.instance_attr(instance, key)
        if value is None:
            value = driver.instance_attr(flavor, key)
        sizes[key] = int(value or 0)
    return sizes


def _volume_id(connection_info: dict[str, Any] | None) -> str | None:
    info = connection_info or {}
    return (info.get('volume_id') or info.get('serial') or
            (info.get('data') or {}).get('volume_id'))


def _volumes_of(block_device_info: dict[str, Any] | None
                ) -> dict[str, dict[str, Any]]:
    volumes = {}
    for bdm in (block_device_info or {}).get('block_device_mapping') or []:
        mountpoint = bdm.get('mount_device') or bdm.get('device_name')
        connection_info = bdm.get('connection_info') or {}
        volumes[mountpoint] = {
            'volume_id': bdm.get('volume_id') or _volume_id(connection_info),
            'connection_info': connection_info}
    return volumes


def _interfaces_of(network_info: list[dict[str, Any]] | None
                   ) -> dict[str, dict[str, Any]]:
    return {vif['id']: vif for vif in network_info or []}
