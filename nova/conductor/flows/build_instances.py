"""conductor.build_instances: place every instance of a create request,
reserve them all, configure them all on their hosts, then power them all
on - all or nothing::

    select_destinations  scheduler: a host for each instance, as many as
                         fit between min_count and max_count
    claim_resources      reserve: the resource claim of every chosen
                         instance on its node (a database change, as
                         upstream's scheduler claims in placement for
                         all instances before any is built); for a
                         single instance, its host's claim instead
    allocate_networks    reserve: the ports / fixed IPs of every
                         claimed instance (the network API's
                         allocate_for_instance); for a single instance,
                         its host's allocate_network instead
    create_volumes       reserve: for each instance that got its
                         network, the volumes its image -> volume
                         mappings ask for, made from their images and
                         recorded on its own mappings (at most
                         ``[conductor] max_concurrent_configures``
                         instances at a time); for a single instance,
                         its host's create_volumes instead
    build_on_hosts       a single instance: one compute.build_instance
                         cast (see "Single instance" below); a
                         multi-create: nothing
    configure_on_hosts   a multi-create: compute.configure_instance
                         called on each reserved instance's host (at
                         most ``[conductor] max_concurrent_configures``
                         at a time): block devices connected, the guest
                         defined but not started; its claim_resources
                         finds the claim and keeps it, its
                         allocate_network keeps the ports the call
                         carries, its create_volumes the volumes its
                         mappings name
    delete_unreserved    the instances beyond what could be reserved are
                         deleted, each with a fault saying why, as
                         upstream reduces the count (the point of no
                         return)
    power_on_on_hosts    a multi-create: compute.power_on_instance
                         called on the host of each configured instance
                         (the same bound): started, ACTIVE

Each phase runs for every instance of the request before the next
starts, so a hook after ``configure_on_hosts`` sees every instance of
the request configured, and one before ``power_on_on_hosts`` runs
before any is started.

Multi-create: with ``request_spec['min_count']`` = m and n instances,
the request gets between m and n or none.  When fewer than m can be
placed or claimed (no valid host, a claim lost to a concurrent build),
every claim already made is released and every instance of the request
goes to ERROR with one fault (upstream's "No valid host was found.
..."), and its create action ends in Error.  The same when fewer than
m get their network (an IP pool exhausted, a port the network service
refused): every port and claim of the request is given back and each
instance is ERROR with the allocation's error as its fault.  Between m
and n, an instance that could not get its network is dropped as one
that could not be claimed: its claim released, deleted by
``delete_unreserved`` with a fault saying why.  The same again for the
volumes ``create_volumes`` makes from images (the image cannot be
copied, the volume service ends the volume in error or over quota):
an instance whose volumes could not all be made is dropped with the
volumes made for it deleted and its ports and claim given back, and
when fewer than m are left every volume of the request is deleted with
the ports and claims, and every instance is ERROR with the volume's
error as its fault.  A single-instance boot
and a compute host's reschedule (one instance, ``retry`` in the filter
properties) are the case m = n = 1.

Single instance: claim_resources and allocate_networks do nothing and
the host's build claims and allocates itself, as before this flow
reserved anything: for one instance the host's build is already all or
nothing (its reverts give back claim and ports, and a reschedule
reserves again on the next host), so reserving first would add a
claim, an allocation and their reverts to every boot for no gain
(``bench/boot.py`` counts its SQL statements per boot).  For the same
reason it keeps its one build_on_hosts cast instead of the two phases:
with one instance there is no other to wait for between configure and
power on, and two calls would add a round trip, a flow run and its
records to every boot, and hold this conductor's worker for the whole
boot where a cast frees it at once.

Per-instance failures after reservation (a configure or power-on that
fails on its host) follow the build's reschedule rules on that host:
its reverts give back what it took, and the instance is rescheduled
alone (a one-instance build elsewhere) or goes to ERROR.  The other
instances of the request go on; the error of the call is logged here
and the instance is not powered on.  The min_count rule is the
reservation's: it is not applied again to what is lost later.

Ownership: until a compute host's ``update_building`` takes an instance
(a compare-and-swap on BUILDING/``scheduling``), its claim and ports
belong to this run; afterwards to that host's build, whose reverts
release them.  This run's reverts use the same compare-and-swap: they
set an untaken instance to ERROR first and only then release its
claim and ports, so neither is released under a host that took the
instance, and neither is left without an owner.  The existing volumes
a request boots with (source_type volume) follow the same rule:
nova-api reserves them before the cast, this run's ``set_error``
releases them for an instance no host took, a host's build that took
it releases them when it ends in ERROR (or reserves them again for
the instance when it reschedules), and a delete of an instance with
no host (conductor.local_delete_instance) frees them.

Failure: completed stages are reverted (claim_resources' revert asks
each host to unconfigure the instances it configured - a cast: a host
that is down does it when it is back, and its ``[compute]
configured_instance_timeout`` check does it if the cast is lost - and
gives back the ports and claims of the instances no host took), then
every instance no host took is set to ERROR with the fault, its
volumes given back (those create_volumes made deleted, the existing
ones nova-api reserved released), and its create action finished as
Error.  A configured instance is its host's
(its update_building took it): the host's unconfigure gives back its
claim and ports and sets it to ERROR.

Interrupted (nova-conductor died): before ``delete_unreserved``
committed (the point of no return: a transactional stage, as the engine
requires; the calls and casts to the hosts cannot be recorded
atomically with their effect), the same revert runs at restart from the
database on the instances of the request, found by their reservation
ID: those no host took (the request's arguments - networks, admin
password - were never stored, so the calls cannot be sent again) and
those configured on a host (BUILDING, ``spawning``, with a host), which
are unconfigured.  A cast or call that already left is then refused by
its host's ``update_building`` (the instance is ERROR), and an instance
a host already took builds there.  After that stage the run is resumed:
``power_on_on_hosts`` powers on the configured instances (an instance
already ACTIVE is refused by its host's ``check_configured`` and left
alone).  The request's arguments are lost with the conductor: a
power-on that fails then has no request spec to reschedule with and
ends in ERROR.

From the cast or call on, claim and ports are the host's: its failure
handler releases them even when it failed before its own
claim_resources or allocate_network.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from oslo_log import log as logging

import nova.conf
from nova import concurrency, exception
from nova import context as nova_context
from nova.compute import task_states, vm_states
from nova.conductor.flows import base
from nova.flow import REVERT, Flow
from nova.volume import api as volume_api

LOG = logging.getLogger(__name__)
CONF = nova.conf.CONF


@dataclasses.dataclass
class BuildInstancesState:
    """Contract 1.3 of conductor.build_instances.

    1.1: the ``allocate_networks`` stage; ``network_info`` and
    ``dropped``.
    1.2: the ``configure_on_hosts`` and ``power_on_on_hosts`` stages;
    ``configured``.
    1.3: the ``create_volumes`` stage; ``instance_block_device_mappings``.
    """

    #: The conductor services the stages call (DB, scheduler, compute
    #: RPC API).
    conductor: base.ConductorServices
    #: Every instance of the request (one for a reschedule).
    instances: list[dict[str, Any]]
    #: The image the instances boot from, for the hosts' builds.
    image_meta: dict[str, Any] = dataclasses.field(default_factory=dict)
    #: ``min_count`` (default 1) and the scheduler's inputs.
    request_spec: dict[str, Any] = dataclasses.field(default_factory=dict)
    #: The scheduler's filter properties (``retry`` of a reschedule).
    filter_properties: dict[str, Any] = dataclasses.field(
        default_factory=dict)
    #: The networks or ports the request asked for, for the hosts.
    requested_networks: Any = None
    #: The request's block device mappings, for the hosts.
    block_device_mapping: Any = None
    #: The admin password of the new servers (never logged).
    admin_password: str | None = dataclasses.field(default=None, repr=False)
    #: Files to inject into the guests (before 2.57).
    injected_files: Any = None
    #: Filled in by select_destinations: ``[host, node]`` of the first
    #: ``len(hosts)`` instances.
    hosts: list[list[str]] = dataclasses.field(default_factory=list)
    #: Filled in by claim_resources: the UUIDs of the reserved instances
    #: (allocate_networks takes out those that got no network,
    #: create_volumes those whose volumes could not be made).
    reserved: list[str] = dataclasses.field(default_factory=list)
    #: Filled in by allocate_networks: instance UUID -> the VIFs of the
    #: ports allocated for it (a multi-create only), sent with its cast.
    network_info: dict[str, list[dict[str, Any]]] = dataclasses.field(
        default_factory=dict)
    #: Instance UUID -> why it was dropped after its host was chosen
    #: (its network or its volumes could not be made), for its fault.
    dropped: dict[str, str] = dataclasses.field(default_factory=dict)
    #: Filled in by create_volumes: instance UUID -> its own block device
    #: mappings, with the volumes made for it (a multi-create with image
    #: -> volume mappings only), sent with its calls instead of
    #: ``block_device_mapping``.
    instance_block_device_mappings: dict[str, list[dict[str, Any]]] = \
        dataclasses.field(default_factory=dict)
    #: The instances this run set to ERROR (no host had taken them).
    errored: list[str] = dataclasses.field(default_factory=list)
    #: Filled in by configure_on_hosts: instance UUID -> ``[host,
    #: node]`` of each instance configured there (a multi-create only),
    #: which power_on_on_hosts powers on.
    configured: dict[str, list[str]] = dataclasses.field(
        default_factory=dict)

    @property
    def instance(self) -> dict[str, Any]:
        """The first instance: the run's subject, whose create action
        holds this run's events."""
        return self.instances[0]

    @property
    def min_count(self) -> int:
        return max(1, min(int(self.request_spec.get('min_count') or 1),
                          len(self.instances)))


def _subject(state: BuildInstancesState) -> str:
    return state.instances[0]['uuid']


def _untaken(instance: dict[str, Any]) -> bool:
    return not instance.get('host') and instance.get('vm_state') in (
        vm_states.BUILDING, vm_states.ERROR)


def _load_state(ctx: Any, run: Any,
                services: base.ConductorServices) -> BuildInstancesState:
    """The run's subject and the other instances of its request that no
    host took (found by the reservation ID)."""
    first = services.db.instance_get_by_uuid(ctx, run.subject)
    others = []
    if first.get('reservation_id'):
        others = [i for i in services.db.instance_get_all_by_filters(
            ctx, {'reservation_id': first['reservation_id']},
            sort_keys=['launch_index'], sort_dirs=['asc'])
            if i['uuid'] != first['uuid']
            and (_untaken(i) or _configured(i))]
    instances = [first, *others]
    reserved = [i['uuid'] for i in instances
                if services.db.allocation_get_by_instance(ctx, i['uuid'])
                or i.get('host')]
    configured = {}
    if len(instances) > 1:
        configured = {i['uuid']: [i['host'], i['node']]
                      for i in instances if _configured(i)}
    return BuildInstancesState(conductor=services, instances=instances,
                               reserved=reserved, configured=configured)


def _configured(instance: dict[str, Any]) -> bool:
    """Configured on a host, not powered on (compute.configure_instance
    ended with it BUILDING, spawning)."""
    return bool(instance.get('host')) and (
        instance.get('vm_state'), instance.get('task_state')) == (
        vm_states.BUILDING, task_states.SPAWNING)


FLOW = Flow('conductor.build_instances', '1.3', BuildInstancesState,
            changes={'1.1': 'Stage allocate_networks added (the ports of '
                            'every instance of a multi-create allocated '
                            'before any cast); fields network_info and '
                            'dropped.',
                     '1.2': 'Stages configure_on_hosts and '
                            'power_on_on_hosts added (a multi-create is '
                            'configured on every host, then powered on; '
                            'build_on_hosts casts only a single '
                            'instance); field configured.',
                     '1.3': 'Stage create_volumes added (the volumes of '
                            'the image -> volume mappings of every '
                            'instance of a multi-create made before any '
                            'host configures one); field '
                            'instance_block_device_mappings.'},
            on_interrupt=REVERT, subject=_subject, load_state=_load_state,
            point_of_no_return='delete_unreserved',
            doc='Place, reserve, configure and power on the instances of '
                'a create request, all or nothing.')
FLOW.stages(
    'select_destinations',
    'claim_resources',
    'allocate_networks',
    'create_volumes',
    'build_on_hosts',
    'configure_on_hosts',
    'delete_unreserved',
    'power_on_on_hosts',
)
FLOW.on_failure('set_error')


@FLOW.stage
def select_destinations(ctx: Any, state: BuildInstancesState) -> None:
    """As many hosts as fit, from every instance down to min_count.

    Of several, only those still waiting for a host are placed: a
    request that arrives late (given up as lost, or deleted meanwhile)
    claims nothing.  A single instance is not read again: its host's
    update_building refuses it."""
    if len(state.instances) > 1:
        state.instances = _waiting(ctx, state)
    spec = dict(_spec(state),
                instance_uuids=[i['uuid'] for i in state.instances])
    scheduler = state.conductor.scheduler
    error: Exception | None = None
    for count in range(len(state.instances), state.min_count - 1, -1):
        try:
            hosts = scheduler.select_destinations(ctx, spec, count)
        except exception.NoValidHost as exc:
            error = error or exc
            continue
        state.hosts = [[h.host, h.node] for h in hosts]
        return
    assert error is not None
    raise error


def _waiting(ctx: Any, state: BuildInstancesState) -> list[dict[str, Any]]:
    """The instances still waiting for a host (BUILDING, scheduling, no
    host); none: the request is refused."""
    db = state.conductor.db
    waiting = []
    for instance in state.instances:
        try:
            current = db.instance_get_by_uuid(ctx, instance['uuid'])
        except exception.InstanceNotFound:
            continue
        if (current['vm_state'], current['task_state'], current['host']) \
                == (vm_states.BUILDING, task_states.SCHEDULING, None):
            waiting.append(instance)
    if not waiting:
        raise exception.UnexpectedTaskStateError(
            instance_uuid=state.instance['uuid'],
            expected=task_states.SCHEDULING, actual='taken or deleted')
    return waiting


@FLOW.stage
def claim_resources(ctx: Any, state: BuildInstancesState) -> None:
    """Claim each placed instance on its node; fewer than min_count
    claimed: release them all and fail.

    A single instance (a one-server create, a host's reschedule) is not
    claimed here: its host's claim_resources gives the same all or
    nothing, and the boot costs no more than before."""
    db = state.conductor.db
    if len(state.instances) == 1:
        state.reserved = [state.instance['uuid']]
        return
    state.reserved = []
    lost: list[str] = []
    for instance, (host, node) in zip(state.instances, state.hosts,
                                      strict=False):
        try:
            node_id = db.compute_node_get_by_host_and_nodename(
                ctx, host, node)['id']
            db.allocation_claim(
                ctx, node_id, instance['uuid'],
                vcpus=int(instance.get('vcpus') or 0),
                memory_mb=int(instance.get('memory_mb') or 0),
                disk_gb=_disk_gb(instance))
        except (exception.ComputeResourcesUnavailable,
                exception.ComputeNodeNotFound) as exc:
            lost.append(f'{instance["uuid"]} on {host}: {exc}')
            continue
        state.reserved.append(instance['uuid'])
    if len(state.reserved) >= state.min_count:
        if lost:
            LOG.info('Claims lost for %s', '; '.join(lost))
        return
    for uuid in state.reserved:
        db.allocation_release(ctx, uuid)
    state.reserved = []
    raise exception.NoValidHost(
        reason=f'{state.min_count} instances could not be claimed '
               f'({"; ".join(lost)}).')


@FLOW.nothing_to_do('claim_resources')
def single_instance(ctx: Any, state: BuildInstancesState) -> bool:
    """A single instance: nothing is claimed here (its host claims it),
    and what the revert would do for it after a crash - set it to ERROR
    if no host took it - the failure handler set_error does too, which
    recovery runs after the reverts.  Its start is then not written
    before it runs (a transaction on every one-server boot)."""
    return len(state.instances) == 1


@FLOW.revert('claim_resources')
def release_reservations(ctx: Any, state: BuildInstancesState,
                         failure: Any) -> None:
    """Give back the ports (allocate_networks) and release the claim of
    every instance no host took, after setting it to ERROR (the
    compare-and-swap a host's update_building uses).

    The ports are given back here rather than by a revert of
    allocate_networks: the start of a stage with a revert is written
    before it runs, on every boot (nova.db.recorder), and a
    single-instance boot, for which allocate_networks does nothing,
    would pay one more statement.  The reverts run for a failure or an
    interruption at any later stage, allocate_networks included, and
    giving back the ports of an instance that has none does nothing.

    For the same reason the instances configure_on_hosts configured are
    unconfigured here, first: each host is asked to undo its own (see
    :func:`_unconfigure_on_hosts`)."""
    _unconfigure_on_hosts(ctx, state, failure)
    for instance in state.instances:
        if _take_back(ctx, state, instance['uuid'], failure):
            state.conductor.network.deallocate_for_instance(
                ctx, instance['uuid'])
            state.conductor.db.allocation_release(ctx, instance['uuid'])


@FLOW.stage
def allocate_networks(ctx: Any, state: BuildInstancesState) -> None:
    """Allocate the ports of each claimed instance of a multi-create;
    one that gets none is dropped (its claim released); fewer than
    min_count left: give back every port and fail with the allocation's
    error.

    A single instance is left to its host's allocate_network (see the
    module docstring).  No revert of its own: claim_resources' revert
    gives the ports back with the claims (see release_reservations)."""
    if len(state.instances) == 1:
        return
    network = state.conductor.network
    errors: list[Exception] = []
    for instance in state.instances:
        uuid = instance['uuid']
        if uuid not in state.reserved:
            continue
        try:
            state.network_info[uuid] = network.allocate_for_instance(
                ctx, uuid, state.requested_networks,
                security_groups=instance.get('security_groups'))
        except Exception as exc:
            # All or nothing per instance; given back all the same, in
            # case the service created a port before it failed.
            _drop(ctx, state, uuid, f'its network: {_message(exc)}')
            errors.append(exc)

    def give_back_ports() -> None:
        for uuid in state.network_info:
            network.deallocate_for_instance(ctx, uuid)
        state.network_info = {}

    _ensure_sufficient_reserved(state, errors, give_back_ports)


@FLOW.stage
def create_volumes(ctx: Any, state: BuildInstancesState) -> None:
    """Make the volumes of the image -> volume mappings of each reserved
    instance of a multi-create, at most ``[conductor]
    max_concurrent_configures`` instances at a time; one whose volumes
    could not all be made is dropped (those made deleted, its ports and
    claim released); fewer than min_count left: fail with the volume's
    error (set_error deletes what was made).

    Each volume is recorded on its instance's own mapping as soon as the
    volume service returns it and named after its instance and mapping
    (nova.volume.api.create_from_images), so the failure handler finds
    it also after a crash, and the host's create_volumes, which skips a mapping
    that has its volume, does not make it again.  A single instance, or
    a request with no such mapping, is left to its host (see the module
    docstring).  No revert of its own: set_error deletes the volumes of
    the instances no host took (see :func:`_release_volumes`), and one a
    host took is its host's, whose reverts delete them."""
    if len(state.instances) == 1 or not any(
            volume_api.creates_volume(b)
            for b in state.block_device_mapping or ()):
        return
    db = state.conductor.db
    volumes = state.conductor.volume

    def create(uuid: str) -> tuple[list[dict[str, Any]], Exception | None]:
        bdms = db.block_device_mapping_get_all_by_instance(ctx, uuid)
        try:
            volume_api.create_from_images(ctx, volumes, db, uuid, bdms)
        except Exception as exc:
            return bdms, exc
        return bdms, None

    todo = [i['uuid'] for i in state.instances
            if i['uuid'] in state.reserved]
    errors: list[Exception] = []
    for uuid, (bdms, error) in zip(todo, concurrency.map_bounded(
            create, todo, CONF.conductor.max_concurrent_configures),
            strict=True):
        if error is None:
            state.instance_block_device_mappings[uuid] = bdms
            continue
        volume_api.delete_created(ctx, volumes, db, uuid, bdms)
        _drop(ctx, state, uuid, f'its volumes: {_message(error)}')
        errors.append(error)

    def forget_mappings() -> None:
        state.instance_block_device_mappings = {}

    _ensure_sufficient_reserved(state, errors, forget_mappings)


def _drop(ctx: Any, state: BuildInstancesState, uuid: str, why: str) -> None:
    """Drop a reserved instance whose reservation failed at a stage
    after claim_resources: its ports given back, its claim released, out
    of ``state.reserved``; delete_unreserved deletes it with ``why`` in
    its fault.  What the stage made for it (volumes) the stage gives
    back first."""
    state.conductor.network.deallocate_for_instance(ctx, uuid)
    state.network_info.pop(uuid, None)
    state.conductor.db.allocation_release(ctx, uuid)
    state.reserved.remove(uuid)
    state.dropped[uuid] = why


def _ensure_sufficient_reserved(state: BuildInstancesState,
                                errors: list[Exception],
                                give_back: Callable[[], None]) -> None:
    """The min_count rule after a stage that drops instances (as
    upstream's scheduler ``_ensure_sufficient_hosts``): fewer than
    min_count still reserved, ``give_back`` what the stage made for the
    instances left and fail with the first of ``errors`` (the stage's
    failures, one per instance it dropped).

    Enough left: when this stage dropped one, every instance dropped so
    far is logged."""
    if len(state.reserved) >= state.min_count:
        if errors:
            LOG.info('Dropped: %s', '; '.join(
                f'{u}, {m}' for u, m in state.dropped.items()))
        return
    give_back()
    raise errors[0]


@FLOW.stage
def build_on_hosts(ctx: Any, state: BuildInstancesState) -> None:
    """A single instance: one compute.build_instance cast (see the
    module docstring); a multi-create goes through the phases."""
    if len(state.instances) > 1:
        return
    instance = state.instance
    if instance['uuid'] not in state.reserved:
        return
    host, node = state.hosts[0]
    state.conductor.compute_rpcapi.build_and_run_instance(
        ctx, instance, host, node, **_build_kwargs(
            state, instance, state.instance_block_device_mappings.get(
                instance['uuid'], state.block_device_mapping)))


@FLOW.stage
def configure_on_hosts(ctx: Any, state: BuildInstancesState) -> None:
    """compute.configure_instance on the host of each reserved instance
    of a multi-create, at most ``[conductor] max_concurrent_configures``
    at a time, each with its own block device mappings (see
    :func:`_own_mappings`); one that fails follows the build's rules on
    its host and is not powered on.  No revert of its own:
    claim_resources' revert has the hosts unconfigure (see
    release_reservations)."""
    if len(state.instances) == 1:
        return
    hosts = dict(zip([i['uuid'] for i in state.instances], state.hosts,
                     strict=False))
    rpcapi = state.conductor.compute_rpcapi
    todo = [i for i in state.instances if i['uuid'] in state.reserved]
    mappings = _own_mappings(ctx, state, [i['uuid'] for i in todo])

    def configure(instance: dict[str, Any]) -> list[str] | None:
        host, node = hosts[instance['uuid']]
        try:
            rpcapi.configure_instance(
                _instance_context(ctx), instance, host, node,
                **_build_kwargs(state, instance, mappings[instance['uuid']]))
        except Exception as exc:
            LOG.warning('Instance %s was not configured on %s (%s); its '
                        'host rescheduled it or set it to ERROR',
                        instance['uuid'], host, _message(exc))
            return None
        return [host, node]

    for instance, where in zip(todo, concurrency.map_bounded(
            configure, todo, CONF.conductor.max_concurrent_configures),
            strict=True):
        if where is not None:
            state.configured[instance['uuid']] = where


def _unconfigure_on_hosts(ctx: Any, state: BuildInstancesState,
                          failure: Any) -> None:
    """Ask each host to unconfigure the instances it configured (a
    cast per instance: the host gives back its claim and ports and sets
    it to ERROR; one it does not hold configured any more is left
    alone)."""
    reason = ('The create request was reverted before it was powered '
              f'on: {_message(failure.exc)}')
    by_uuid = {i['uuid']: i for i in state.instances}
    for uuid, (host, _node) in state.configured.items():
        instance = by_uuid.get(uuid) or {'uuid': uuid}
        state.conductor.compute_rpcapi.unconfigure_instance(
            ctx, instance, host, reason)


@FLOW.stage(transactional=True)
def delete_unreserved(ctx: Any, state: BuildInstancesState) -> None:
    """Delete the instances beyond what could be reserved, each with a
    fault and its create action finished as Error."""
    db = state.conductor.db
    for instance in state.instances:
        uuid = instance['uuid']
        if uuid in state.reserved:
            continue
        try:
            db.instance_update(ctx, uuid, {'task_state': task_states.DELETING},
                               expected_task_state=task_states.SCHEDULING,
                               expected_vm_state=vm_states.BUILDING)
        except (exception.UnexpectedTaskStateError,
                exception.UnexpectedVMStateError,
                exception.InstanceNotFound):
            continue  # deleted meanwhile, or taken by a resumed run's cast
        why = (f' ({state.dropped[uuid]})'
               if uuid in state.dropped else '')
        db.instance_fault_create(ctx, uuid, exception.NoValidHost(
            reason=f'only {len(state.reserved)} of {len(state.instances)} '
                   f'instances of the request could be placed; this one '
                   f'is deleted{why} (min_count {state.min_count}).'),
            state.conductor.host)
        _finish_action(ctx, state, uuid, 'Error')
        db.instance_destroy(ctx, uuid)


@FLOW.stage(idempotent=True)
def power_on_on_hosts(ctx: Any, state: BuildInstancesState) -> None:
    """compute.power_on_instance on the host of each configured
    instance (the same bound as configure_on_hosts, each with its own
    block device mappings, also in a run resumed after a crash); one
    that fails follows the build's rules on its host.

    Idempotent: a run resumed after a crash may call it again, and a
    host refuses an instance it has powered on already
    (InstanceNotConfigured); so its finish needs no write of its own
    past the point of no return, and a single boot, for which it does
    nothing, costs no more statements."""
    if not state.configured:
        return
    by_uuid = {i['uuid']: i for i in state.instances}
    rpcapi = state.conductor.compute_rpcapi
    mappings = _own_mappings(ctx, state, list(state.configured))

    def power_on(uuid: str) -> None:
        host, node = state.configured[uuid]
        instance = by_uuid[uuid]
        try:
            rpcapi.power_on_instance(
                _instance_context(ctx), instance, host, node,
                **_build_kwargs(state, instance, mappings[uuid]))
        except Exception as exc:
            LOG.warning('Instance %s was not powered on on %s (%s); its '
                        'host rescheduled it or set it to ERROR',
                        uuid, host, _message(exc))

    concurrency.map_bounded(power_on, list(state.configured),
                            CONF.conductor.max_concurrent_configures)


def _build_kwargs(state: BuildInstancesState, instance: dict[str, Any],
                  block_device_mapping: Any) -> dict[str, Any]:
    """What a host's build, configure and power-on take from the
    request, with the instance's own block device mappings."""
    return {'image_meta': state.image_meta,
            'request_spec': state.request_spec,
            'filter_properties': state.filter_properties,
            'requested_networks': state.requested_networks,
            'block_device_mapping': block_device_mapping,
            'admin_password': state.admin_password,
            'injected_files': state.injected_files,
            'network_info': state.network_info.get(instance['uuid'])}


def _own_mappings(ctx: Any, state: BuildInstancesState,
                  uuids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Instance UUID -> its own block device mappings, for the calls
    of a multi-create: those create_volumes kept, the others read in one
    query (none when create_volumes kept them all).  The request's
    ``block_device_mapping`` are the first instance's rows (nova-api's
    cast carries one instance's), which a host records its volumes on:
    never sent for another instance.

    Read by each phase (configure_on_hosts, power_on_on_hosts) rather
    than kept in the state: ``instance_block_device_mappings`` is
    create_volumes' by its contract, and a run resumed after a crash
    has no state to keep them in.  A single instance reads nothing: its
    one cast sends the request's mappings, which are its own."""
    own = {u: state.instance_block_device_mappings[u] for u in uuids
           if u in state.instance_block_device_mappings}
    missing = [u for u in uuids if u not in own]
    if missing:
        own.update(state.conductor.db
                   .block_device_mapping_get_all_by_instance_uuids(
                       ctx, missing))
    return own


def _instance_context(ctx: Any) -> Any:
    """The request's context for one instance's call: its host records
    the run under that instance's own create action (found by request
    ID), not under the action of this run's subject."""
    if getattr(ctx, 'action_id', None) is None:
        return ctx
    return nova_context.RequestContext.from_dict(
        dict(ctx.to_dict(), action_id=None))


@FLOW.failure_handler
def set_error(ctx: Any, state: BuildInstancesState, failure: Any) -> None:
    """Every instance no host took: ERROR, the fault, its existing
    volumes released, its create action finished as Error."""
    LOG.warning('No instance of the request of %s is built: %s',
                state.instance['uuid'], failure.exc)
    for instance in state.instances:
        if _take_back(ctx, state, instance['uuid'], failure):
            _release_volumes(ctx, state, instance['uuid'])
    for uuid in state.errored:
        _finish_action(ctx, state, uuid, 'Error')


def _release_volumes(ctx: Any, state: BuildInstancesState,
                     uuid: str) -> None:
    """Give back the volumes of an instance no host took (they are this
    run's, as its claim is): the existing ones nova-api reserved for it
    are released (only a reservation for this instance), those
    create_volumes made are deleted.  Idempotent (a recovered run's
    handler runs again)."""
    bdms = state.conductor.db.block_device_mapping_get_all_by_instance(
        ctx, uuid)
    for bdm in bdms:
        if bdm.get('source_type') != 'volume' or not bdm.get('volume_id'):
            continue
        try:
            state.conductor.volume.unreserve(ctx, bdm['volume_id'], uuid)
        except exception.VolumeNotFound:
            pass
    volume_api.delete_created(ctx, state.conductor.volume, state.conductor.db,
                              uuid, bdms)


def _take_back(ctx: Any, state: BuildInstancesState, uuid: str,
               failure: Any) -> bool:
    """True if no host has the instance: it is ERROR, set by this run
    (noted in ``state.errored``) or by an earlier attempt of its revert
    (a recovered run), and its claim is this run's to release.

    ERROR and the fault are one transaction: whoever sees ERROR sees
    why."""
    db = state.conductor.db
    try:
        with db.writer(ctx):
            db.instance_update(ctx, uuid, {'vm_state': vm_states.ERROR,
                                           'task_state': None},
                               expected_task_state=task_states.SCHEDULING,
                               expected_vm_state=vm_states.BUILDING)
            fault, details = _scheduling_fault(failure.exc, _spec(state))
            db.instance_fault_create(ctx, uuid, fault, None,
                                     details=details)
        state.errored.append(uuid)
        return True
    except (exception.UnexpectedTaskStateError,
            exception.UnexpectedVMStateError):
        pass
    except exception.InstanceNotFound:
        return False
    try:
        current = db.instance_get_by_uuid(ctx, uuid)
    except exception.InstanceNotFound:
        return False
    return bool(current.get('vm_state') == vm_states.ERROR
                and not current.get('host'))


def _spec(state: BuildInstancesState) -> dict[str, Any]:
    """The scheduler's request: the spec with the reschedule's retry.

    A build's servers are in a server group only through the ``group``
    hint (the compute API sets it when they join one, and a reschedule
    keeps the spec), so the scheduler reads no membership for them
    (``group_from_hint``), as compute's late group check does not."""
    return dict(state.request_spec, group_from_hint=True,
                retry=state.filter_properties.get('retry'))


def _scheduling_fault(exc: Exception, spec: dict[str, Any],
                      ) -> tuple[Exception, str | None]:
    """The fault of a build no host was found for, and its details.

    After a reschedule the scheduler's NoValidHost alone would hide why
    the build left its first host(s) (the retry filter removed them), so
    the fault keeps the last build failure's reason, as upstream's
    ``exc_reason``; the scheduler's own reason goes to the details.
    The scheduler's ``detail`` (the filter that removed the last host)
    goes to the details only: a fault's details are shown to admins
    only, and upstream names no filter to users.
    """
    if not isinstance(exc, exception.NoValidHost):
        return exc, None
    detail = exc.kwargs.get('detail')
    reason = (spec.get('retry') or {}).get('exc_reason')
    if not reason:
        return exc, detail
    details = exc.format_message() + (f' {detail}' if detail else '')
    return (exception.NoValidHost(reason=f'Last build failure: {reason}'),
            details)


def _message(exc: BaseException) -> str:
    """What a fault may say about ``exc`` (never the text of an
    unexpected exception, which may hold internals)."""
    if isinstance(exc, exception.NovaException):
        return str(exc.format_message())
    return type(exc).__name__


def _finish_action(ctx: Any, state: BuildInstancesState, uuid: str,
                   message: str) -> None:
    try:
        state.conductor.db.action_finish(ctx, uuid, message=message)
    except exception.InstanceActionNotFound:
        pass


def _disk_gb(instance: dict[str, Any]) -> int:
    swap_gb = (int(instance.get('swap') or 0) + 1023) // 1024
    return (int(instance.get('root_gb') or 0)
            + int(instance.get('ephemeral_gb') or 0) + swap_gb)
