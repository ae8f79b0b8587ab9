"""compute.build_instance, stage by stage, with the vendor hook test kit.

Read next to nova/compute/flows/build_instance.py: each stage's effect,
each revert after a failure at that stage, and the failure handlers
(record_fault, reschedule_or_error).
"""

from __future__ import annotations

from unittest import mock

import fixtures
import testscenarios

from nova import exception
from nova.compute import power_state, vm_states
from nova.compute.flows import build_instance
from nova.flow import hooks, testing
from nova.tests.unit.compute.flows import kit

load_tests = testscenarios.load_tests_apply_scenarios

FLOW = 'compute.build_instance'
STAGES = ['check_instance_not_already_created', 'check_image_size',
          'notify_usage_start', 'update_building', 'claim_resources',
          'validate_instance_group_policy', 'allocate_network',
          'create_volumes', 'prep_block_device', 'spawn.update_spawning',
          'spawn.driver_spawn', 'spawn.update_active', 'notify_usage_end']
#: The stages with a revert, in order (not validate_instance_group_policy:
#: the failure handler forgets its check).
REVERTING = ['claim_resources', 'allocate_network', 'create_volumes',
             'prep_block_device',
             'spawn.driver_spawn']


class TestBuildSucceeds(kit.FlowKitTestCase):

    def test_stages_and_their_effects(self):
        server = self.active_server()
        uuid = server['uuid']
        self.cloud.assert_stages_ran(uuid, FLOW, STAGES)
        # update_building / update_active: host, node, launched, running.
        self.assertEqual(('compute1', power_state.RUNNING),
                         (server['host'], server['power_state']))
        self.assertIsNotNone(server['launched_at'])
        # claim_resources: the flavor's share of the node.
        self.assertEqual((512, 1, 1), self.node_usage())
        # allocate_network: an address for the server.
        self.assertTrue(self.cloud.manager().services.network
                        .get_instance_nw_info(self.cloud.ctx, uuid))
        # driver_spawn: the guest exists.
        self.assertTrue(self.cloud.manager().driver.instance_exists(
            {'uuid': uuid}))
        # The create action also holds conductor.build_instances' events.
        self.assertEqual([(f'{FLOW}.{s}', 'Success') for s in STAGES],
                         [e for e in self.cloud.events(uuid, 'create')
                          if e[0].startswith(FLOW + '.')])


class TestBuildFailsAtEachStage(kit.FlowKitTestCase):
    """A failure at any stage before the point of no return: the started
    stages with a revert are undone newest first, record_fault stores the
    error, and reschedule_or_error finds no other host: ERROR."""

    scenarios = [(s, {'stage': s}) for s in STAGES[:STAGES.index(
        'spawn.update_active')]]

    def test_reverts_and_failure_handlers(self):
        self.cloud.fail_at(f'{FLOW}.{self.stage}')
        uuid = self.cloud.boot()['uuid']
        server = self.cloud.wait_for_state(uuid, vm_states.ERROR)
        position = STAGES.index(self.stage)
        expected = [f'{FLOW}.{s}' for s in reversed(REVERTING)
                    if STAGES.index(s) <= position]
        self.assertEqual(expected, self.cloud.reverted_stages(uuid, FLOW))
        self.assertEqual((0, 0, 0), self.node_usage())
        self.assertFalse(self.cloud.manager().driver.instance_exists(
            {'uuid': uuid}))
        self.assertEqual([], self.cloud.manager().services.network
                         .get_instance_nw_info(self.cloud.ctx, uuid))
        faults = self.cloud.faults(uuid)
        # record_fault, then the conductor's NoValidHost (no host left)
        # keeping the cause.
        self.assertEqual('InjectedFailure', faults[-1]['message'])
        self.assertEqual('No valid host was found. Last build failure: '
                         'InjectedFailure', faults[0]['message'])
        self.assertIsNone(server['task_state'])


class TestBuildAfterThePointOfNoReturn(kit.FlowKitTestCase):

    def test_failing_closing_stage_leaves_the_server_active(self):
        self.cloud.fail_at(f'{FLOW}.notify_usage_end')
        uuid = self.cloud.boot()['uuid']
        self.cloud.wait_for_state(uuid, vm_states.ACTIVE)
        run = self.cloud.wait_for_run(uuid, FLOW)
        self.assertEqual('success', run['status'])
        self.assertEqual([], self.cloud.reverted_stages(uuid, FLOW))
        self.assertIn((f'{FLOW}.notify_usage_end', 'Error'),
                      self.cloud.events(uuid, 'create'))


class TestBootFromVolume(kit.FlowKitTestCase):
    """An image-to-volume mapping (``server create --boot-from-volume``):
    create_volumes makes the root volume from the image, the guest boots
    from it, and a failed build deletes it."""

    def boot_from_volume(self, delete_on_termination: bool = False,
                         image_id: str | None = None,
                         volume_size: int = 1) -> str:
        ctx = self.cloud.user_context()
        flavor = self.cloud.db.flavor_get_by_flavor_id(ctx, '1')
        instances, _ = self.cloud.compute_api.create(
            ctx, flavor, None, name='bfv', block_device_mapping=[{
                'source_type': 'image', 'destination_type': 'volume',
                'image_id': image_id or self.cloud.image['id'],
                'volume_size': volume_size, 'boot_index': 0,
                'delete_on_termination': delete_on_termination}])
        return str(instances[0]['uuid'])

    def test_unknown_image_is_refused_before_anything_is_created(self):
        self.assertRaises(exception.InvalidBDMImage, self.boot_from_volume,
                          image_id='8b3e1e0c-0d36-4bb8-9d84-5f8b1c4f9e9a')
        self.assertEqual([], self.cloud.db.instance_get_all_by_filters(
            self.cloud.ctx, {}))

    def test_volume_smaller_than_the_images_min_disk_is_refused(self):
        self.cloud.manager().services.image.update(
            self.cloud.ctx, self.cloud.image['id'], {'min_disk': 2})
        error = self.assertRaises(exception.VolumeSmallerThanMinDisk,
                                  self.boot_from_volume, volume_size=1)
        self.assertEqual(400, error.code)
        self.assertEqual([], self.cloud.db.instance_get_all_by_filters(
            self.cloud.ctx, {}))

    @property
    def volume_api(self):
        return self.cloud.manager().services.volume

    def volumes(self):
        return self.volume_api.get_all(self.cloud.ctx)

    def root_mapping(self, uuid):
        (bdm,) = self.cloud.db.block_device_mapping_get_all_by_instance(
            self.cloud.ctx, uuid)
        return bdm

    def test_boots_from_a_volume_created_from_the_image(self):
        uuid = self.boot_from_volume()
        self.cloud.wait_for_state(uuid, vm_states.ACTIVE)
        self.cloud.assert_stages_ran(uuid, FLOW, STAGES)
        (volume,) = self.volumes()
        self.assertEqual((1, 'in-use', uuid),
                         (volume['size'], volume['status'],
                          volume['instance_uuid']))
        self.assertEqual(volume['id'], self.root_mapping(uuid)['volume_id'])
        guest = self.cloud.manager().driver.instance_exists({'uuid': uuid})
        self.assertTrue(guest)

    def test_delete_keeps_the_volume_by_default(self):
        uuid = self.boot_from_volume()
        server = self.cloud.wait_for_state(uuid, vm_states.ACTIVE)
        self.cloud.compute_api.delete(self.cloud.user_context(), server)
        self.cloud.wait_for_state(uuid, vm_states.DELETED)
        (volume,) = self.volumes()
        self.assertEqual(('available', None),
                         (volume['status'], volume['instance_uuid']))

    def test_delete_on_termination_deletes_the_volume(self):
        uuid = self.boot_from_volume(delete_on_termination=True)
        server = self.cloud.wait_for_state(uuid, vm_states.ACTIVE)
        self.cloud.compute_api.delete(self.cloud.user_context(), server)
        self.cloud.wait_for_state(uuid, vm_states.DELETED)
        self.assertEqual([], self.volumes())

    def test_failure_after_create_volumes_deletes_the_volume(self):
        self.cloud.fail_at(f'{FLOW}.spawn.driver_spawn')
        uuid = self.boot_from_volume()
        self.cloud.wait_for_state(uuid, vm_states.ERROR)
        self.assertIn(f'{FLOW}.create_volumes',
                      self.cloud.reverted_stages(uuid, FLOW))
        self.assertEqual([], self.volumes())
        self.assertIsNone(self.root_mapping(uuid)['volume_id'])
        # Nothing left for the delete either.
        self.cloud.compute_api.delete(self.cloud.user_context(),
                                      self.cloud.instance(uuid))
        self.cloud.wait_for_state(uuid, vm_states.DELETED)
        self.assertEqual([], self.volumes())

    def test_volume_in_error_fails_the_build_without_leaking_it(self):
        """The volume service reports the volume in error (Cinder failed
        to copy the image): VolumeNotCreated, no reschedule, the volume
        is deleted."""
        real_create = type(self.volume_api).create

        def create_failing(api, ctx, size, name=None, image_id=None):
            volume = real_create(api, ctx, size, name, image_id=image_id)
            self.cloud.db.volume_update(ctx, volume['id'],
                                        {'status': 'error'})
            return dict(volume, status='error')

        self.useFixture(fixtures.MonkeyPatch(
            f'{type(self.volume_api).__module__}.'
            f'{type(self.volume_api).__name__}.create', create_failing))
        uuid = self.boot_from_volume()
        self.cloud.wait_for_state(uuid, vm_states.ERROR)
        self.assertEqual([f'{FLOW}.create_volumes', f'{FLOW}.'
                          'allocate_network'],
                         self.cloud.reverted_stages(uuid, FLOW)[:2])
        self.assertEqual([], self.volumes())
        self.assertEqual(1, len(self.cloud.runs(uuid, FLOW)))
        self.assertIn('did not finish being created',
                      self.cloud.faults(uuid)[0]['message'])

    def test_volume_made_but_not_recorded_is_found_by_name(self):
        """The volume service made the volume but its answer was lost
        (or the process died before recording its ID on the mapping):
        the revert finds it by the name nova gave it and deletes it."""
        real_create = type(self.volume_api).create
        names = []

        def create_lost(api, ctx, size, name=None, image_id=None):
            names.append(name)
            real_create(api, ctx, size, name, image_id=image_id)
            raise exception.VolumeNotCreated(
                volume_id='?', seconds=0, attempts=1, volume_status='lost')

        self.useFixture(fixtures.MonkeyPatch(
            f'{type(self.volume_api).__module__}.'
            f'{type(self.volume_api).__name__}.create', create_lost))
        uuid = self.boot_from_volume()
        self.cloud.wait_for_state(uuid, vm_states.ERROR)
        self.cloud.wait_for_run(uuid, FLOW)
        bdm_id = self.root_mapping(uuid)['id']
        self.assertEqual([f'{uuid}-blockdevice-{bdm_id}'], names)
        self.assertIn(f'{FLOW}.create_volumes',
                      self.cloud.reverted_stages(uuid, FLOW))
        self.assertEqual([], self.volumes())


class Refuse(hooks.Hook):
    supports = {FLOW: '1.0'}

    @hooks.replace(f'{FLOW}.check_image_size')
    def refuse(self, ctx, state):
        raise hooks.RunRefused('Refused by policy.')


class TestRescheduleOrError(kit.FlowKitTestCase):

    cloud_options = {'compute_hosts': ('compute1', 'compute2')}

    def test_host_failure_is_rescheduled_to_the_other_host(self):
        self.cloud.fail_at(f'{FLOW}.spawn.driver_spawn', host='compute2')
        uuid = self.cloud.boot()['uuid']
        server = self.cloud.wait_for_state(uuid, vm_states.ACTIVE)
        self.assertEqual('compute1', server['host'])
        self.cloud.wait_for_run(uuid, FLOW)
        self.assertEqual(['error', 'success'],
                         [r['status'] for r in self.cloud.runs(uuid, FLOW)])

    def test_image_too_big_is_not_rescheduled(self):
        self.cloud.fail_at(f'{FLOW}.check_image_size',
                           exc=exception.FlavorDiskSmallerThanImage(
                               flavor_size=1, image_size=2))
        uuid = self.cloud.boot()['uuid']
        self.cloud.wait_for_state(uuid, vm_states.ERROR)
        self.assertEqual(1, len(self.cloud.runs(uuid, FLOW)))


class TestRefusalIsNotRescheduled(kit.FlowKitTestCase):

    cloud_options = {'compute_hosts': ('compute1', 'compute2'),
                     'hook_objects': [Refuse()]}

    def test_refusal(self):
        uuid = self.cloud.boot()['uuid']
        self.cloud.wait_for_state(uuid, vm_states.ERROR)
        self.assertEqual(1, len(self.cloud.runs(uuid, FLOW)))
        self.assertEqual('Refused by policy.',
                         self.cloud.faults(uuid)[0]['message'])


class TestDeleteDuringReschedule(kit.FlowKitTestCase):
    """A delete that lands after the failed build checked for one and
    before it handed the instance back to the scheduler: the delete
    wins (regression: the reschedule overwrote task_state deleting and
    the build went on on another host)."""

    cloud_options = {'compute_hosts': ('compute1', 'compute2')}

    def test_delete_wins_over_the_reschedule(self):
        real = build_instance._delete_requested

        def then_deleted(ctx, state):
            requested = real(ctx, state)
            self.cloud.compute_api.delete(
                self.cloud.user_context(),
                self.cloud.instance(state.instance['uuid']))
            return requested

        self.useFixture(fixtures.MonkeyPatch(
            'nova.compute.flows.build_instance._delete_requested',
            then_deleted))
        self.cloud.fail_at(f'{FLOW}.spawn.driver_spawn', times=1)
        uuid = self.cloud.boot()['uuid']
        testing.wait_for(lambda: (self.cloud.instance(uuid) or {}).get(
            'vm_state') == vm_states.DELETED)
        runs = self.cloud.runs(uuid, FLOW)
        self.assertEqual(['error'], [r['status'] for r in runs])
        for host in ('compute1', 'compute2'):
            self.assertEqual(
                [], self.cloud.manager(host).driver.list_instance_uuids())


class TestErrorDuringReschedule(kit.FlowKitTestCase):
    """The instance is set to ERROR by someone else (nova-conductor gave
    the build up, or reverted its request) after the failed build
    checked for a delete and before it handed the instance back to the
    scheduler: it stays ERROR and is not rescheduled (regression: the
    reschedule's compare-and-swap did not check vm_state and brought
    the instance back to BUILDING)."""

    cloud_options = {'compute_hosts': ('compute1', 'compute2')}

    def test_error_set_elsewhere_is_not_rescheduled(self):
        real = build_instance._delete_requested

        def then_errored(ctx, state):
            requested = real(ctx, state)
            self.cloud.db.instance_update(
                self.cloud.ctx, state.instance['uuid'],
                {'vm_state': vm_states.ERROR})
            return requested

        self.useFixture(fixtures.MonkeyPatch(
            'nova.compute.flows.build_instance._delete_requested',
            then_errored))
        self.cloud.fail_at(f'{FLOW}.spawn.driver_spawn', times=1)
        uuid = self.cloud.boot()['uuid']
        run = self.cloud.wait_for_run(uuid, FLOW)
        self.assertEqual('error', run['status'])
        self.assertEqual(vm_states.ERROR,
                         self.cloud.instance(uuid)['vm_state'])
        self.assertEqual(1, len(self.cloud.runs(uuid, FLOW)))
        for host in ('compute1', 'compute2'):
            self.assertEqual(
                [], self.cloud.manager(host).driver.list_instance_uuids())
            self.assertEqual((0, 0, 0), self.node_usage(host))


class TestGroupCheck(kit.FlowKitTestCase):
    """validate_instance_group_policy runs for a build with a ``group``
    hint only, as upstream's late check; a recovered build gets its hint
    back from its group; a failed build forgets its check."""

    def group(self, policy: str = 'anti-affinity') -> dict:
        return self.cloud.db.instance_group_create(self.cloud.ctx, {
            'name': 'g', 'policy': policy, 'project_id': 'demo',
            'user_id': 'demo'})

    def checked(self, uuid: str) -> bool:
        return ('compute1', uuid) in build_instance._GROUP_CHECKED

    def test_no_group_hint_no_check(self):
        member = {'host': 'compute1', 'instance_uuid': 'other',
                  'vm_state': vm_states.ACTIVE}
        db = mock.Mock(**{'instance_group_get_by_instance.return_value': {
            'policy': 'anti-affinity', 'rules': {}, 'members': [member]}})
        state = build_instance.BuildState(
            compute=mock.Mock(db=db, host='compute1'),
            instance={'uuid': 'new'}, node='node1')
        build_instance.validate_instance_group_policy(self.cloud.ctx, state)
        db.instance_group_get_by_instance.assert_not_called()
        state.request_spec = {'scheduler_hints': {'group': 'g'}}
        self.assertRaises(exception.RescheduledException,
                          build_instance.validate_instance_group_policy,
                          self.cloud.ctx, state)

    def test_the_group_joined_at_create_is_checked(self):
        """A create with ``instance_group`` (no hint given by its caller)
        still sends the group's hint: the host checks it."""
        group = self.group()
        uuid = self.cloud.boot(instance_group=group)['uuid']
        self.cloud.wait_for_state(uuid, vm_states.ACTIVE)
        self.assertTrue(self.checked(uuid))

    def test_a_failed_build_forgets_its_check(self):
        group = self.group()
        self.cloud.fail_at(f'{FLOW}.spawn.driver_spawn')
        uuid = self.cloud.boot(instance_group=group)['uuid']
        self.cloud.wait_for_state(uuid, vm_states.ERROR)
        self.assertIn(f'{FLOW}.validate_instance_group_policy',
                      [e for e, result in self.cloud.events(uuid, 'create')
                       if result == 'Success'])
        self.assertFalse(self.checked(uuid))

    def test_recovered_build_has_its_group_hint(self):
        group = self.group()
        member = self.cloud.boot(instance_group=group)['uuid']
        loner = self.cloud.boot()['uuid']
        services = self.cloud.manager().services
        hints = {
            uuid: build_instance._load_state(
                self.cloud.ctx, mock.Mock(subject=uuid), services,
            ).request_spec['scheduler_hints']
            for uuid in (member, loner)}
        self.assertEqual({member: {'group': group['uuid']}, loner: {}},
                         hints)


def _volume_held(state):
    """For kit.watch on conductor.build_instances: the status and the
    holder of the server's existing volume."""
    (volume_id,) = [b['volume_id'] for b in state.block_device_mapping
                    if b.get('source_type') == 'volume']
    volume = state.conductor.volume.get(None, volume_id)
    return volume['status'], volume['instance_uuid']


class TestBootWithAnExistingVolume(kit.FlowKitTestCase):
    """A volume the user boots with (source_type volume): nova-api
    reserved it for the server; the build that took the server gives
    the reservation back when it ends in ERROR, and hands it on, still
    reserved, when it reschedules."""

    def setUp(self):
        self.watch, self.seen = kit.watch(
            'conductor.build_instances', '1.0', ['select_destinations'],
            _volume_held)
        self.cloud_options = {'compute_hosts': ('compute1', 'compute2'),
                              'hook_objects': [self.watch]}
        super().setUp()
        self.volume_api = self.cloud.manager().services.volume
        self.volume_id = self.volume_api.create(
            self.cloud.user_context(), 1, 'data')['id']

    def boot(self):
        return self.cloud.boot(block_device_mapping=[{
            'source_type': 'volume', 'destination_type': 'volume',
            'volume_id': self.volume_id, 'boot_index': None,
            'device_name': '/dev/vdb', 'delete_on_termination': False}])[
                'uuid']

    def volume(self):
        volume = self.volume_api.get(self.cloud.ctx, self.volume_id)
        return volume['status'], volume['instance_uuid']

    def test_volume_is_attached(self):
        uuid = self.boot()
        self.cloud.wait_for_state(uuid, vm_states.ACTIVE)
        self.assertEqual(('reserved', uuid), self.seen['select_destinations'])
        self.assertEqual(('in-use', uuid), self.volume())

    def assert_released_after_error_in(self, stage: str) -> None:
        """A build failing in ``stage`` with an error that is not
        rescheduled leaves the volume available, held by nobody."""
        self.cloud.fail_at(f'{FLOW}.{stage}',
                           exc=exception.FlavorDiskSmallerThanImage(
                               flavor_size=1, image_size=2))
        uuid = self.boot()
        self.cloud.wait_for_state(uuid, vm_states.ERROR)
        self.cloud.wait_for_run(uuid, FLOW)
        self.assertEqual(('available', None), self.volume())

    def test_error_before_the_attach_releases_the_reservation(self):
        self.assert_released_after_error_in('claim_resources')

    def test_error_after_the_attach_releases_the_volume(self):
        self.assert_released_after_error_in('spawn.driver_spawn')

    def test_reschedule_hands_the_volume_on_reserved(self):
        self.cloud.fail_at(f'{FLOW}.spawn.driver_spawn', times=1)
        uuid = self.boot()
        self.cloud.wait_for_state(uuid, vm_states.ACTIVE)
        # ACTIVE comes before the run's last stage (notify_usage_end).
        self.cloud.wait_for_run(uuid, FLOW)
        self.assertEqual(['error', 'success'],
                         [r['status'] for r in self.cloud.runs(uuid, FLOW)])
        # The conductor's second run (the reschedule) found the volume
        # reserved for the server, as nova-api handed it over.
        self.assertEqual(('reserved', uuid), self.seen['select_destinations'])
        self.assertEqual(('in-use', uuid), self.volume())
