"""compute.build_instance: build and boot an instance on this host.

Failure: every started stage is reverted newest first (the guest is
destroyed, volumes detached, the network deallocated, the resource claim
released - also the claim nova-conductor made before the cast, which
this build owns from the start); then ``record_fault`` stores the error
as an instance fault and ``reschedule_or_error`` either sends the build
back to the conductor for another host (up to ``[scheduler]
max_attempts`` hosts, skipping the ones already tried) or sets the
instance to ERROR.  The existing volumes the user booted with, which
nova-api reserved for the instance, are this build's from
``update_building`` on: it hands them back to the conductor reserved
when it reschedules, and releases them when it ends in ERROR.  A hook
that raises ``nova.flow.hooks.RunRefused`` is never rescheduled: the
instance goes to ERROR with the hook's message as its fault.  When a
reschedule finds no host, the NoValidHost fault keeps the reason of the
last build failure.  The user sees the fault message on the server and
an Error event for the failing stage in ``os-instance-actions``.

Point of no return: ``spawn.update_active``.  Once the instance is ACTIVE
(its completion is recorded in the same transaction) the build is done:
a failing ``notify_usage_end`` is recorded on its event and nothing is
reverted.

Interrupted (nova-compute died mid-build): before ``update_active``
committed, the same reverts run at restart from what the database and
the hypervisor say, so nothing is leaked, and the build is rescheduled -
unless the instance is being deleted (a delete always wins), in which case
it only ends reverted and the delete finishes it.  After it, the run is
resumed: the closing stages run and the server stays ACTIVE.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from oslo_log import log as logging
from oslo_utils import timeutils

import nova.conf
from nova import concurrency, exception
from nova.compute import power_state, task_states, vm_states
from nova.compute.flows import base
from nova.flow import REVERT, Flow, contract, stage, sub
from nova.flow.hooks import RunRefused
from nova.volume import api as volume_api

LOG = logging.getLogger(__name__)
CONF = nova.conf.CONF


@dataclasses.dataclass
class BuildState:
    """Contract 1.2 of compute.build_instance (what hooks may use).

    1.1: the ``validate_instance_group_policy`` stage.
    1.2: the ``create_volumes`` stage.
    """

    #: The compute services the stages call (DB, driver, network, volume, image
    #: APIs).
    compute: base.ComputeServices = dataclasses.field(
        metadata=contract.READ_ONLY)
    #: The instance (its database row as a dict); stages keep it current after
    #: each update.
    instance: dict[str, Any] = dataclasses.field(metadata=contract.READ_ONLY)
    #: The compute node (hypervisor) the scheduler chose on this host.
    node: str = dataclasses.field(metadata=contract.READ_ONLY)
    #: The image the instance boots from (empty for a volume-backed instance).
    image_meta: dict[str, Any] = dataclasses.field(default_factory=dict)
    #: The scheduler's request spec of the build.
    request_spec: dict[str, Any] = dataclasses.field(default_factory=dict)
    #: ``retry``: ``{'num_attempts': n, 'hosts': [[host, node], ...]}``
    filter_properties: dict[str, Any] = dataclasses.field(
        default_factory=dict)
    #: The networks or ports the user asked for (``networks`` of the request).
    requested_networks: Any = None
    #: The block device mappings of the instance, as the API created them
    #: (``create_volumes`` sets the ``volume_id`` of those it creates).
    block_device_mapping: list[dict[str, Any]] = dataclasses.field(
        default_factory=list)
    #: Personality files to inject (before 2.57).
    injected_files: list[Any] = dataclasses.field(default_factory=list)
    #: The admin password to set in the guest (never logged).
    admin_password: str | None = dataclasses.field(default=None, repr=False)
    #: The network info (VIFs) of the instance, filled in by
    #: allocate_network.
    network_info: list[dict[str, Any]] = dataclasses.field(
        default_factory=list)
    #: The volumes as the driver takes them, filled in by prep_block_device.
    block_device_info: dict[str, Any] = dataclasses.field(
        default_factory=dict)
    #: Set by reschedule_or_error when the build went to another host.
    rescheduled: bool = False


def _subject(state: BuildState) -> str:
    return state.instance['uuid']


def _load_state(ctx: Any, run: Any,
                compute: base.ComputeServices) -> BuildState:
    """Rebuild the state of an interrupted build from the database.

    The request spec is rebuilt from the instance (its flavor was copied
    at create) and its server group (the ``group`` hint the create had),
    which is what a reschedule from the failure handler needs.
    """
    instance = compute.db.instance_get_by_uuid(ctx, run.subject)
    group = compute.db.instance_group_get_by_instance(ctx, run.subject)
    image_meta: dict[str, Any] = {}
    if instance.get('image_ref'):
        try:
            image_meta = compute.image.get(ctx, instance['image_ref'])
        except exception.ImageNotFound:
            LOG.warning('Image %s of interrupted build %s is gone',
                        instance['image_ref'], instance['uuid'])
    return BuildState(
        compute=compute, instance=instance,
        node=instance.get('node') or compute.host,
        image_meta=image_meta,
        request_spec={
            'flavor': instance['flavor'], 'image': image_meta,
            'availability_zone': instance.get('availability_zone'),
            'scheduler_hints': {'group': group['uuid']} if group else {},
            'num_instances': 1},
        network_info=compute.network.get_instance_nw_info(
            ctx, instance['uuid']),
        block_device_mapping=compute.db.block_device_mapping_get_all_by_instance(
            ctx, instance['uuid']))


FLOW = Flow('compute.build_instance', '1.2', BuildState,
            changes={'1.1': 'Stage validate_instance_group_policy added '
                             '(the late server group check).',
                     '1.2': 'Stage create_volumes added (boot from a '
                            'volume nova creates from an image).'},
            on_interrupt=REVERT, subject=_subject, load_state=_load_state,
            point_of_no_return='spawn.update_active',
            doc='Build and boot an instance on this host.')
FLOW.stages(
    'check_instance_not_already_created',
    'check_image_size',
    'notify_usage_start',
    'update_building',
    'claim_resources',
    'validate_instance_group_policy',
    'allocate_network',
    'create_volumes',
    'prep_block_device',
    sub('spawn', [
        # SPAWNING expected too: an 'around' hook may run the spawn
        # sub-flow again after a failure (its reverts ran), in one run.
        stage('update_spawning', base.set_state(
            'update_spawning', task_state=task_states.SPAWNING,
            expected_task_state=(None, task_states.SPAWNING))),
        'driver_spawn',
        'update_active',
    ]),
    'notify_usage_end',
)
FLOW.on_failure(base.record_fault, 'reschedule_or_error')


@FLOW.stage
def check_instance_not_already_created(ctx: Any, state: BuildState) -> None:
    """Refuse to build over a guest the hypervisor already has."""
    if state.compute.driver.instance_exists(state.instance):
        raise exception.InstanceExists(name=state.instance['uuid'])


@FLOW.stage
def check_image_size(ctx: Any, state: BuildState) -> None:
    """The image must fit the flavor's root disk (0 means 'any size')."""
    size = int(state.image_meta.get('size') or 0)
    root_gb = int(state.instance.get('root_gb') or 0)
    if root_gb and size > root_gb * 1024 ** 3:
        raise exception.FlavorDiskSmallerThanImage(
            flavor_size=root_gb * 1024 ** 3, image_size=size)


@FLOW.stage(optional=True)
def notify_usage_start(ctx: Any, state: BuildState) -> None:
    """compute.instance.create.start notification."""
    base.notify(ctx, state, 'create.start')


@FLOW.stage(transactional=True)
def update_building(ctx: Any, state: BuildState) -> None:
    """Take the instance: BUILDING on this host and node.

    Transactional (one compare-and-swap UPDATE): its completion and the
    start of ``claim_resources``, which has a revert, commit with it -
    one transaction per build fewer (nova.flow.plan._plan_next_starts).
    """
    # BUILDING expected too: a build that nova-conductor gave up as lost
    # (ERROR) is not taken.
    base.instance_update(
        ctx, state, expected_task_state=(task_states.SCHEDULING, None),
        expected_vm_state=vm_states.BUILDING,
        vm_state=vm_states.BUILDING, task_state=None,
        host=state.compute.host, node=state.node,
        launched_on=state.compute.host)


@FLOW.stage
def claim_resources(ctx: Any, state: BuildState) -> None:
    """Claim vCPUs, RAM and disk on the node, atomically in the database."""
    state.compute.resource_tracker.instance_claim(ctx, state.instance,
                                                  state.node)


@FLOW.revert('claim_resources')
def release_claim(ctx: Any, state: BuildState, failure: Any) -> None:
    state.compute.resource_tracker.release(ctx, state.instance['uuid'])


#: (host, instance) of the builds that passed the anti-affinity check on
#: a host of this process and are still building; the lock makes the
#: checks of one process one at a time.
_GROUP_CHECKED: set[tuple[str, str]] = set()
_GROUP_CHECK_LOCK = concurrency.Lock()


@FLOW.stage(optional=True)
def validate_instance_group_policy(ctx: Any, state: BuildState) -> None:
    """Late check of the server group's (anti-)affinity on this host.

    Builds scheduled at the same time cannot see each other's hosts;
    this runs once this one holds its host (``update_building``), as
    upstream's ``_validate_instance_group_policy``, and raises
    RescheduledException (the build goes to another host) on a
    violation.  Anti-affinity counts the members on this host that are
    built or passed this check before (checks on one host are one at a
    time), so of two builds racing for one host the first to check
    stays and the other moves.
    """
    uuid = state.instance['uuid']
    if not (state.request_spec.get('scheduler_hints') or {}).get('group'):
        # As upstream: no ``group`` hint, no check (membership comes only
        # from the hint; a recovered build's _load_state puts it back).
        return
    group = state.compute.db.instance_group_get_by_instance(ctx, uuid)
    if group is None or group['policy'] not in ('affinity',
                                                'anti-affinity'):
        return
    here = state.compute.host
    others = [m for m in group['members']
              if m['host'] and m['instance_uuid'] != uuid]
    if group['policy'] == 'affinity':
        hosts = {m['host'] for m in others}
        if hosts and here not in hosts:
            raise exception.RescheduledException(
                instance_uuid=uuid,
                reason='Affinity instance group policy was violated.')
        return
    limit = int((group.get('rules') or {}).get('max_server_per_host', 1))
    with _GROUP_CHECK_LOCK:
        # Read again under the lock: what the checks before this one let
        # through is in it.
        group = state.compute.db.instance_group_get_by_instance(
            ctx, uuid) or group
        for m in group['members']:
            if m['vm_state'] != vm_states.BUILDING or m['host'] != here:
                _GROUP_CHECKED.discard((here, m['instance_uuid']))
        here_count = sum(
            1 for m in group['members']
            if m['host'] == here and m['instance_uuid'] != uuid and (
                m['vm_state'] != vm_states.BUILDING
                or (here, m['instance_uuid']) in _GROUP_CHECKED))
        if here_count >= limit:
            raise exception.RescheduledException(
                instance_uuid=uuid,
                reason='Anti-affinity instance group policy was violated.')
        _GROUP_CHECKED.add((here, uuid))


def forget_group_check(ctx: Any, state: BuildState, failure: Any) -> None:
    """Forget that this build passed the group check on this host.

    Not the build's revert: what it undoes is this process's memory, so
    its stage's start need not be on record (a crash forgets it too), and
    a stage with a revert costs a write of its start before it runs.  The
    build's failure handler calls it; a check forgotten by neither (a run
    recovered by this process) is dropped by the next check on this host,
    once its instance is not BUILDING here.  compute.configure_instance
    keeps it as that stage's revert (a configured instance holds its
    check until its power-on or unconfigure).
    """
    _GROUP_CHECKED.discard((state.compute.host, state.instance['uuid']))


@FLOW.stage
def allocate_network(ctx: Any, state: BuildState) -> None:
    """Allocate fixed IPs and ports, with the instance's security
    groups; the result goes to network_info.

    Ports nova-conductor allocated before the cast (a multi-create:
    conductor.build_instances' allocate_networks) come with it in
    ``network_info``: they are kept, bound to this host
    (``setup_networks_on_host``; with Neutron, the ports'
    ``binding:host_id``), not allocated again - neither network API's
    allocate_for_instance is idempotent (a second call adds ports).
    The revert gives them back as its own."""
    if state.network_info:
        state.compute.network.setup_networks_on_host(
            ctx, state.instance['uuid'], state.compute.host)
        return
    state.network_info = state.compute.network.allocate_for_instance(
        ctx, state.instance['uuid'], state.requested_networks,
        security_groups=state.instance.get('security_groups'))


@FLOW.revert('allocate_network', hold_start=True)
def deallocate_network(ctx: Any, state: BuildState, failure: Any) -> None:
    """Give back the instance's ports and fixed IPs.

    Its start is held (written with ``update_spawning``'s transaction,
    not in one of its own): after a crash whose record stops between
    ``claim_resources`` and ``update_spawning``, recovery runs this
    whether or not the network was allocated, and for an instance with
    no port it only finds none to free.
    """
    state.compute.network.deallocate_for_instance(ctx, state.instance['uuid'])


@FLOW.stage
def create_volumes(ctx: Any, state: BuildState) -> None:
    """Create the volumes of image-to-volume mappings from their images.

    Each volume is recorded on its mapping as soon as the volume service
    returns it, and named after its instance and mapping, so the revert
    finds it also after a crash (nova.volume.api.create_from_images),
    then waited for until it is available.  A mapping that has its volume
    already (a stage run again, or the conductor made it for a
    multi-create) is not created twice.
    """
    volume_api.create_from_images(
        ctx, state.compute.volume, state.compute.db,
        state.instance['uuid'], state.block_device_mapping)


@FLOW.revert('create_volumes')
def delete_created_volumes(ctx: Any, state: BuildState,
                           failure: Any) -> None:
    """Delete the volumes this build created (the user never had them),
    and forget them on their mappings: a reschedule creates new ones."""
    volume_api.delete_created(
        ctx, state.compute.volume, state.compute.db,
        state.instance['uuid'], state.block_device_mapping)


@FLOW.nothing_to_do('create_volumes')
def no_volume_to_create(ctx: Any, state: BuildState) -> bool:
    """No image -> volume mapping: nothing to make, nothing to delete."""
    return not any(volume_api.creates_volume(bdm)
                   for bdm in state.block_device_mapping)


@FLOW.stage
def prep_block_device(ctx: Any, state: BuildState) -> None:
    """Attach the volumes of volume-backed mappings; describe the disks."""
    volumes = []
    for bdm in state.block_device_mapping:
        if bdm.get('destination_type') != 'volume' or not bdm.get(
                'volume_id'):
            continue
        connection_info = state.compute.volume.attach(
            ctx, bdm['volume_id'], state.instance['uuid'],
            bdm.get('device_name'))
        volumes.append({'volume_id': bdm['volume_id'],
                        'mount_device': bdm.get('device_name'),
                        'connection_info': connection_info,
                        'boot_index': bdm.get('boot_index')})
    state.block_device_info = {'block_device_mapping': volumes}


@FLOW.revert('prep_block_device')
def detach_block_devices(ctx: Any, state: BuildState, failure: Any) -> None:
    for bdm in state.block_device_mapping:
        if bdm.get('destination_type') == 'volume' and bdm.get('volume_id'):
            state.compute.volume.detach(ctx, bdm['volume_id'],
                                        state.instance['uuid'])


@FLOW.nothing_to_do('prep_block_device')
def no_volume_to_attach(ctx: Any, state: BuildState) -> bool:
    """No mapping to a volume: nothing to attach, nothing to detach."""
    return not any(bdm.get('destination_type') == 'volume'
                   for bdm in state.block_device_mapping)


@FLOW.stage
def driver_spawn(ctx: Any, state: BuildState) -> None:
    """Create and boot the guest on the hypervisor."""
    state.compute.driver.spawn(
        ctx, state.instance, state.image_meta, state.injected_files,
        state.admin_password, None, network_info=state.network_info,
        block_device_info=state.block_device_info)


@FLOW.revert('driver_spawn')
def driver_destroy(ctx: Any, state: BuildState, failure: Any) -> None:
    state.compute.driver.destroy(ctx, state.instance, state.network_info,
                                 block_device_info=state.block_device_info)


@FLOW.stage(transactional=True)
def update_active(ctx: Any, state: BuildState) -> None:
    """ACTIVE and running, launched now."""
    base.instance_update(
        ctx, state, expected_task_state=task_states.SPAWNING,
        vm_state=vm_states.ACTIVE, task_state=None,
        power_state=power_state.RUNNING, launched_at=timeutils.utcnow())


@FLOW.stage(optional=True, idempotent=True)
def notify_usage_end(ctx: Any, state: BuildState) -> None:
    """compute.instance.create.end notification."""
    base.notify(ctx, state, 'create.end')


@FLOW.failure_handler
def reschedule_or_error(ctx: Any, state: BuildState, failure: Any) -> None:
    """Try another host if the error may be host-specific, else ERROR -
    unless the instance is being deleted: a delete always wins, and the
    delete (waiting for this run, or started by recovery) finishes it."""
    forget_group_check(ctx, state, failure)
    _release_unbuilt_claim(ctx, state)
    # Taken by this build (update_building): the existing volumes'
    # reservations are this build's to give back or to hand on.
    took = state.instance.get('host') == state.compute.host
    if _delete_requested(ctx, state):
        LOG.info('Build of %s failed in stage %s while a delete was '
                 'requested; leaving it to the delete',
                 state.instance['uuid'], failure.stage_id)
        return
    if state.compute.conductor is not None and _may_reschedule(
            state, failure):
        retry = state.filter_properties.setdefault(
            'retry', {'num_attempts': 1, 'hosts': []})
        retry['num_attempts'] += 1
        retry['hosts'].append([state.compute.host, state.node])
        # Kept for the user: if no other host can build it, the fault
        # says why this one failed, not only that no host was left.
        retry['exc_reason'] = _fault_message(failure.exc)
        try:
            # Not over a delete that came in since _delete_requested,
            # nor over an instance someone else ended meanwhile (ERROR:
            # nova-conductor gave the build up as lost, or reverted the
            # request it belonged to) - that one stays as they left it.
            base.instance_update(
                ctx, state, expected_task_state=(
                    None, task_states.SCHEDULING, task_states.SPAWNING),
                expected_vm_state=vm_states.BUILDING,
                vm_state=vm_states.BUILDING,
                task_state=task_states.SCHEDULING, host=None, node=None)
        except (exception.UnexpectedTaskStateError,
                exception.UnexpectedVMStateError,
                exception.InstanceNotFound):
            LOG.info('Build of %s failed in stage %s while it was deleted '
                     'or ended elsewhere; not rescheduled',
                     state.instance['uuid'], failure.stage_id)
            return
        if took:
            _reserve_volumes_again(ctx, state)
        state.compute.conductor.build_instances(
            ctx, [state.instance], image_meta=state.image_meta,
            request_spec=state.request_spec,
            filter_properties=state.filter_properties,
            requested_networks=state.requested_networks,
            block_device_mapping=state.block_device_mapping,
            admin_password=state.admin_password,
            injected_files=state.injected_files)
        state.rescheduled = True
        LOG.info('Build of %s failed on %s in stage %s; rescheduled',
                 state.instance['uuid'], state.compute.host,
                 failure.stage_id)
        return
    base.instance_update(ctx, state, vm_state=vm_states.ERROR,
                         task_state=None)
    if took:
        _release_volumes(ctx, state)


def _existing_volumes(state: BuildState) -> list[str]:
    """The volumes the user booted with (source_type volume), which
    nova-api reserved for the instance."""
    return [b['volume_id'] for b in state.block_device_mapping
            if b.get('source_type') == 'volume' and b.get('volume_id')]


def _release_volumes(ctx: Any, state: BuildState) -> None:
    """The build ends in ERROR: the reservations of the existing volumes
    are given back (prep_block_device's revert detached those it had
    attached; this releases those it had not reached).  Only a
    reservation for this instance is released; idempotent."""
    for volume_id in _existing_volumes(state):
        try:
            state.compute.volume.unreserve(ctx, volume_id,
                                           state.instance['uuid'])
        except exception.VolumeNotFound:
            pass


def _reserve_volumes_again(ctx: Any, state: BuildState) -> None:
    """The build is rescheduled: the existing volumes go back to the
    conductor's run reserved for the instance, as nova-api handed them
    over (prep_block_device's revert left those it had attached
    available).  One taken meanwhile is left to the next host's
    prep_block_device, which fails the build on it."""
    for volume_id in _existing_volumes(state):
        try:
            state.compute.volume.reserve(ctx, volume_id,
                                         state.instance['uuid'])
        except (exception.VolumeNotFound, exception.InvalidVolume) as exc:
            LOG.warning('Volume %s of %s could not be reserved again for '
                        'its reschedule: %s', volume_id,
                        state.instance['uuid'], _fault_message(exc))


def _release_unbuilt_claim(ctx: Any, state: BuildState) -> None:
    """Release the claim (and the ports) nova-conductor made for this
    build before the cast (conductor.build_instances reserves every
    instance of a multi-create first): from the cast on they are this
    build's, also when the build failed before its own claim_resources
    or allocate_network (whose reverts release them otherwise).  Only
    for an instance never launched and on no other host: a stray build
    of a live instance leaves its claim alone.  Idempotent; a
    reschedule claims and allocates again."""
    uuid = state.instance['uuid']
    try:
        current = state.compute.db.instance_get_by_uuid(ctx, uuid)
    except exception.InstanceNotFound:
        # Deleted while it was being placed (the delete had no host to
        # ask): nothing may hold a claim for it any more.
        state.compute.resource_tracker.release(ctx, uuid)
        if state.network_info:
            state.compute.network.deallocate_for_instance(ctx, uuid)
        return
    if current.get('launched_at') or current.get('host') not in (
            None, state.compute.host) or current.get('vm_state') not in (
            vm_states.BUILDING, vm_states.ERROR):
        return
    state.compute.resource_tracker.release(ctx, uuid)
    if state.network_info:
        state.compute.network.deallocate_for_instance(ctx, uuid)


def _delete_requested(ctx: Any, state: BuildState) -> bool:
    try:
        current = state.compute.db.instance_get_by_uuid(
            ctx, state.instance['uuid'])
    except exception.InstanceNotFound:
        return True
    return bool(current.get('task_state') == task_states.DELETING)


# Errors that will fail the same way on every host: no point retrying.
_NOT_RESCHEDULABLE = (exception.InstanceExists,
                      exception.FlavorDiskSmallerThanImage,
                      exception.UnexpectedTaskStateError,
                      exception.UnexpectedVMStateError,
                      exception.InstanceNotFound,
                      # The volume service failed to make the root
                      # volume from the image (upstream aborts too).
                      exception.VolumeNotCreated,
                      exception.InvalidVolume,
                      exception.ImageNotFound,
                      # A hook refused the build on purpose.
                      RunRefused)


def _fault_message(exc: BaseException) -> str:
    """What an instance fault would say about ``exc`` (never the text of
    an unexpected exception, which may hold internals)."""
    format_message = getattr(exc, 'format_message', None)
    if callable(format_message):
        return str(format_message())
    return type(exc).__name__


def _may_reschedule(state: BuildState, failure: Any) -> bool:
    if isinstance(failure.exc, _NOT_RESCHEDULABLE):
        return False
    retry = state.filter_properties.get('retry') or {'num_attempts': 1}
    return retry['num_attempts'] < CONF.scheduler.max_attempts
