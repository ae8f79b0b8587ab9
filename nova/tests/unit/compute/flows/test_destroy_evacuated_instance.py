"""compute.destroy_evacuated_instance with the vendor kit, on two
compute hosts.

Read next to nova/compute/flows/destroy_evacuated_instance.py: the
source of an evacuation, when its nova-compute starts again, destroys
the guest it still has (its disks too, unless the instance's host sees
them: shared storage, or a host that could not be asked), gives back
what the migration held of it and sets the migration 'completed'.  No
stage reverts: a failed cleanup is left for the next start, which runs
it again.
"""

from __future__ import annotations

import fixtures
import testscenarios

from nova.compute import vm_states
from nova.tests.unit.compute.flows import kit

load_tests = testscenarios.load_tests_apply_scenarios

FLOW = 'compute.destroy_evacuated_instance'
STAGES = ['load_network_info', 'load_block_device_info',
          'check_instance_shared_storage', 'destroy_guest',
          'release_source_claim', 'update_migration_completed']


class _CleanupTestCase(kit.MoveKitTestCase):

    def evacuated(self, shared=False):
        """A server evacuated from its (down) host, with ``shared``
        storage or not: (source, dest, uuid)."""
        server = self.active_server()
        source = server['host']
        dest = self.cloud.other_host(source)
        if shared:
            self.driver(source).share_instance_storage(self.driver(dest))
        self.assertEqual('success', self.evacuate(server)['status'])
        return source, dest, server['uuid']

    def driver(self, host):
        return self.cloud.manager(host).driver


class TestDestroyEvacuatedInstance(_CleanupTestCase):

    def test_stages_and_effects(self):
        source, dest, uuid = self.evacuated()
        self.cloud.host_up(source)
        self.assertEqual('success',
                         self.cloud.wait_for_run(uuid, FLOW)['status'])
        self.cloud.assert_stages_ran(uuid, FLOW, STAGES)
        # destroy_guest: gone from the source, still on the destination;
        # the storage is not shared: the source's disks went too.
        self.assertEqual(([], [uuid]), (self.cloud.guests(source),
                                        self.cloud.guests(dest)))
        self.assertEqual((False, True), (self.driver(source).has_disk(uuid),
                                         self.driver(dest).has_disk(uuid)))
        # release_source_claim: the source holds nothing any more.
        self.assertEqual((kit.NO_USAGE, kit.FROM_USAGE),
                         (self.node_usage(source), self.node_usage(dest)))
        self.assertEqual('completed', self.newest_migration(uuid)['status'])
        self.assertEqual(dest, self.cloud.wait_for_state(
            uuid, vm_states.ACTIVE)['host'])

    def test_instance_still_on_the_source_is_left_alone(self):
        server = self.active_server()
        uuid, source = server['uuid'], server['host']
        self.cloud.fail_at('compute.evacuate_instance.driver_spawn')
        self.assertEqual('error', self.evacuate(server)['status'])
        self.cloud.host_up(source)
        self.assertEqual([], self.cloud.runs(uuid, FLOW))
        self.assertEqual([uuid], self.cloud.guests(source))


class TestCheckInstanceSharedStorage(_CleanupTestCase):
    """check_instance_shared_storage: the source's driver leaves a mark
    where the instance's files are, the instance's host is asked whether
    it sees it, the mark is removed; destroy_guest destroys the disks
    only when the answer was no (or the driver cannot tell)."""

    def assert_cleaned_up(self, source, dest, uuid):
        self.assertEqual('success',
                         self.cloud.wait_for_run(uuid, FLOW)['status'])
        self.assertEqual(([], [uuid]), (self.cloud.guests(source),
                                        self.cloud.guests(dest)))
        self.assertEqual('completed', self.newest_migration(uuid)['status'])
        self.assertEqual(kit.NO_USAGE, self.node_usage(source))

    def test_shared_storage_keeps_the_disks(self):
        source, dest, uuid = self.evacuated(shared=True)
        self.cloud.host_up(source)
        self.assert_cleaned_up(source, dest, uuid)
        # The destination's guest runs on the disks the source had.
        self.assertTrue(self.driver(dest).has_disk(uuid))
        self.assertTrue(self.driver(source).has_disk(uuid))
        moved = self.cloud.instance(uuid)
        self.assertEqual((vm_states.ACTIVE, dest),
                         (moved['vm_state'], moved['host']))

    def test_storage_not_shared_destroys_the_disks(self):
        source, dest, uuid = self.evacuated()
        self.cloud.host_up(source)
        self.assert_cleaned_up(source, dest, uuid)
        self.assertEqual((False, True), (self.driver(source).has_disk(uuid),
                                         self.driver(dest).has_disk(uuid)))

    def test_driver_without_the_check_destroys_the_disks(self):
        # NotImplementedError: not shared, as upstream - even if it is.
        source, dest, uuid = self.evacuated(shared=True)
        self.driver(source).inject_failure(
            'check_instance_shared_storage_local', error=NotImplementedError)
        self.cloud.host_up(source)
        self.assert_cleaned_up(source, dest, uuid)
        self.assertFalse(self.driver(dest).has_disk(uuid))

    def test_destination_failing_to_answer_keeps_the_disks(self):
        source, dest, uuid = self.evacuated()
        self.driver(dest).inject_failure(
            'check_instance_shared_storage_remote')
        self.cloud.host_up(source)
        self.assert_cleaned_up(source, dest, uuid)
        # Maybe shared: kept (a leak rather than a lost disk).
        self.assertTrue(self.driver(source).has_disk(uuid))

    def test_destination_down_keeps_the_disks(self):
        source, dest, uuid = self.evacuated()
        # The question waits for the destination's answer this long.
        self.cloud.config(rpc_response_timeout=1)
        self.cloud.compute_service(dest).stop()
        self.cloud.host_up(source)
        self.assertEqual('success',
                         self.cloud.wait_for_run(uuid, FLOW)['status'])
        self.assertEqual([], self.cloud.guests(source))
        self.assertTrue(self.driver(source).has_disk(uuid))

    def test_the_mark_is_removed(self):
        source, dest, uuid = self.evacuated(shared=True)
        marks = []
        driver = self.driver(source)
        local = driver.check_instance_shared_storage_local

        def leave_mark(ctx, instance):
            data = local(ctx, instance)
            marks.append(data)
            return data
        self.useFixture(fixtures.MockPatchObject(
            driver, 'check_instance_shared_storage_local', leave_mark))
        self.cloud.host_up(source)
        self.assert_cleaned_up(source, dest, uuid)
        self.assertEqual(1, len(marks))
        self.assertFalse(
            self.driver(dest).check_instance_shared_storage_remote(
                None, marks[0]))


class TestDestroyEvacuatedInstanceFails(_CleanupTestCase):
    """A failure at any stage: nothing is reverted, the migration stays
    'done'; the next start of nova-compute cleans up."""

    scenarios = [(s, {'stage': s}) for s in STAGES]

    def test_failure_then_cleanup_at_the_next_start(self):
        source, dest, uuid = self.evacuated()
        self.cloud.fail_at(f'{FLOW}.{self.stage}')
        self.cloud.host_up(source)
        self.assertEqual('error',
                         self.cloud.wait_for_run(uuid, FLOW)['status'])
        self.assertEqual([], self.cloud.reverted_stages(uuid, FLOW))
        self.assertEqual('done', self.newest_migration(uuid)['status'])
        destroyed = STAGES.index(self.stage) > STAGES.index('destroy_guest')
        self.assertEqual([] if destroyed else [uuid],
                         self.cloud.guests(source))

        self.cloud.clear_failures()
        service = self.cloud.compute_service(source)
        service.stop()
        service.start()
        self.assertEqual('success',
                         self.cloud.wait_for_run(uuid, FLOW)['status'])
        self.assertEqual([], self.cloud.guests(source))
        self.assertEqual(kit.NO_USAGE, self.node_usage(source))
        self.assertEqual('completed', self.newest_migration(uuid)['status'])
