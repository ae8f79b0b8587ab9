"""Boot and delete through the conductor, in one process on SQLite."""

from unittest import mock

from nova import test
from nova.compute import power_state, vm_states
from nova.db import recorder as db_recorder
from nova.tests.functional import fixtures as func_fixtures


class TestBootDelete(test.TestCase):

    def setUp(self):
        super().setUp()
        self.cloud = self.useFixture(func_fixtures.LocalCloud())

    def test_boot_reaches_active_and_delete_frees_everything(self):
        instance = self.cloud.boot()
        active = self.cloud.wait_for_state(instance['uuid'], vm_states.ACTIVE)
        self.assertEqual(power_state.RUNNING, active['power_state'])
        self.assertEqual('compute1', active['host'])
        manager = self.cloud.manager('compute1')
        self.assertTrue(manager.driver.instance_exists(active))

        self.cloud.compute_api.delete(self.cloud.ctx, active)
        self.cloud.wait_for_deleted(instance['uuid'])
        self.assertFalse(manager.driver.instance_exists(active))

    def test_every_build_stage_is_an_instance_action_event(self):
        instance = self.cloud.boot()
        action = self.cloud.wait_for_action(instance['uuid'], 'create')
        events = self.cloud.db.action_events_get(self.cloud.ctx,
                                                 action['id'])
        prefix = 'compute.build_instance.'
        # The conductor's part first: it placed and reserved the request.
        conductor = [e for e in reversed(events)
                     if e['event'].startswith('conductor.')]
        self.assertEqual(
            ['conductor.build_instances.select_destinations',
             'conductor.build_instances.claim_resources',
             'conductor.build_instances.allocate_networks',
             'conductor.build_instances.create_volumes',
             'conductor.build_instances.build_on_hosts',
             'conductor.build_instances.configure_on_hosts',
             'conductor.build_instances.delete_unreserved',
             'conductor.build_instances.power_on_on_hosts'],
            [e['event'] for e in conductor])
        events = [e for e in events if e['event'].startswith(prefix)]
        self.assertEqual(
            ['check_instance_not_already_created', 'check_image_size',
             'notify_usage_start', 'update_building', 'claim_resources',
             'validate_instance_group_policy',
             'allocate_network', 'create_volumes', 'prep_block_device',
             'spawn.update_spawning', 'spawn.driver_spawn',
             'spawn.update_active', 'notify_usage_end'],
            [e['event'].removeprefix(prefix) for e in reversed(events)])
        self.assertEqual({'Success'}, {e['result'] for e in events})
        self.assertEqual({'compute1'}, {e['host'] for e in events})

    def test_get_and_list_carry_the_network_info_the_view_shows(self):
        uuid = self.cloud.boot()['uuid']
        self.cloud.wait_for_state(uuid, vm_states.ACTIVE)
        ctx = self.cloud.user_context()
        shown = self.cloud.compute_api.get(ctx, uuid)
        (vif,) = shown['network_info']
        address = vif['network']['subnets'][0]['ips'][0]['address']
        (listed,) = self.cloud.compute_api.get_all(
            ctx, {'project_id': ctx.project_id})
        self.assertEqual(shown['network_info'], listed['network_info'])
        self.assertTrue(address.startswith('10.'))


class _StartsWritten(test.TestCase):
    """Which of ``STAGES`` of ``FLOW`` a boot writes the start of
    before they run (Flow.nothing_to_do holds the others)."""

    FLOW = ''
    STAGES: list[str] = []

    def setUp(self):
        super().setUp()
        self.cloud = self.useFixture(func_fixtures.LocalCloud())

    def starts_written(self, **kwargs):
        """The build's stages whose start the recorder was asked to
        write at once (not held for the run's next write)."""
        written = []
        original = db_recorder.DBRecorder.stage_started

        def spy(recorder, run, stage_id, at, *, reverts=True):
            if reverts and stage_id.startswith(self.FLOW):
                written.append(stage_id.removeprefix(self.FLOW))
            return original(recorder, run, stage_id, at, reverts=reverts)
        with mock.patch.object(db_recorder.DBRecorder, 'stage_started',
                               spy):
            uuid = self.cloud.boot(**kwargs)['uuid']
            self.cloud.wait_for_state(uuid, vm_states.ACTIVE)
        return [s for s in written if s in self.STAGES]


class TestVolumeStagesStarts(_StartsWritten):
    """create_volumes and prep_block_device have a revert, so their start
    is written before they run - a transaction each on every boot - but
    only when the boot has volumes (Flow.nothing_to_do)."""

    FLOW = 'compute.build_instance.'
    STAGES = ['create_volumes', 'prep_block_device']

    def test_an_image_boot_holds_their_starts(self):
        self.assertEqual([], self.starts_written())

    def test_a_boot_from_a_volume_writes_their_starts(self):
        written = self.starts_written(block_device_mapping=[{
            'source_type': 'image', 'destination_type': 'volume',
            'image_id': self.cloud.image['id'], 'volume_size': 1,
            'boot_index': 0, 'delete_on_termination': True}])
        self.assertEqual(self.STAGES, written)


class TestConductorClaimStart(_StartsWritten):
    """conductor.build_instances' claim_resources claims the instances
    of a multi-create; a single instance is claimed by its host, so its
    start is written before it runs only for a multi-create."""

    FLOW = 'conductor.build_instances.'
    STAGES = ['claim_resources']

    def test_a_one_server_boot_holds_its_start(self):
        self.assertEqual([], self.starts_written())

    def test_a_multi_create_writes_its_start(self):
        self.assertEqual(self.STAGES,
                         self.starts_written(min_count=2, max_count=2))


class TestAllocateNetworkStart(_StartsWritten):
    """compute.build_instance's allocate_network holds its start
    (Flow.revert hold_start): its revert, which frees the instance's
    ports, runs at recovery whenever the run may have reached it, so no
    transaction of its own writes the start before it runs."""

    FLOW = 'compute.build_instance.'
    STAGES = ['allocate_network']

    def test_a_boot_holds_its_start(self):
        self.assertEqual([], self.starts_written())

    def test_its_event_is_still_recorded(self):
        uuid = self.cloud.boot()['uuid']
        self.cloud.wait_for_state(uuid, vm_states.ACTIVE)
        action = self.cloud.wait_for_action(uuid, 'create')
        (event,) = [e for e in self.cloud.db.action_events_get(
            self.cloud.ctx, action['id'])
            if e['event'] == self.FLOW + 'allocate_network']
        self.assertEqual('Success', event['result'])
