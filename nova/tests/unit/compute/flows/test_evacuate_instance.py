"""compute.evacuate_instance with the vendor kit, on two compute hosts.

Read next to nova/compute/flows/evacuate_instance.py: the destination
re-creates an instance whose host is down - the migration
'pre-migrating', the claim (the source's share passes to the
migration), the image, the volumes connected here, the guest spawned,
then, in one transaction (the point of no return), the instance on
this host ACTIVE and the migration 'done'.  The reverts of
claim_resources, prep_block_device and driver_spawn, and what the
conductor does with the error (set_error: ERROR, the migration
'failed').
"""

from __future__ import annotations

import testscenarios

from nova.compute import power_state, task_states, vm_states
from nova.tests.unit.compute.flows import kit

load_tests = testscenarios.load_tests_apply_scenarios

FLOW = 'compute.evacuate_instance'
CONDUCTOR = 'conductor.evacuate_instance'
STAGES = ['update_migration_pre_migrating',
          'check_instance_shared_storage', 'claim_resources',
          'get_image_meta', 'update_rebuild_block_device_mapping',
          'setup_networks_on_host', 'load_network_info', 'prep_block_device',
          'update_rebuild_spawning', 'driver_spawn', 'update_evacuated',
          'notify_usage_end']
REVERTING = ['claim_resources', 'setup_networks_on_host',
             'prep_block_device', 'driver_spawn']


def _progress(state):
    return (state.migration['status'], state.instance['task_state'],
            state.instance['host'])


class TestEvacuateInstance(kit.MoveKitTestCase):

    watching = (FLOW, '1.0', ['update_migration_pre_migrating',
                              'update_rebuild_block_device_mapping',
                              'update_rebuild_spawning', 'driver_spawn'],
                _progress)

    def test_stages_and_effects(self):
        move = self.moving_server()
        uuid, source, dest = move.uuid, move.source, move.dest
        self.assertEqual('success', self.evacuate(move.server)['status'])
        self.cloud.assert_stages_ran(uuid, FLOW, STAGES)
        # Until update_evacuated the record names the source.
        self.assertEqual({
            'update_migration_pre_migrating': (
                'pre-migrating', task_states.REBUILDING, source),
            'update_rebuild_block_device_mapping': (
                'pre-migrating', task_states.REBUILD_BLOCK_DEVICE_MAPPING,
                source),
            'update_rebuild_spawning': (
                'pre-migrating', task_states.REBUILD_SPAWNING, source),
            'driver_spawn': (
                'pre-migrating', task_states.REBUILD_SPAWNING, source)},
            self.seen)
        # update_evacuated: the destination's, ACTIVE, running.
        moved = self.cloud.wait_for_state(uuid, vm_states.ACTIVE)
        self.assertEqual((dest, dest, power_state.RUNNING),
                         (moved['host'], moved['node'],
                          moved['power_state']))
        migration = self.newest_migration(uuid)
        self.assertEqual(('evacuation', 'done', source, dest),
                         (migration['migration_type'], migration['status'],
                          migration['source_compute'],
                          migration['dest_compute']))
        # driver_spawn: a guest here; the down source keeps its own.
        self.assertEqual([uuid], self.cloud.guests(dest))
        self.assertTrue(self.cloud.has_guest(source, uuid))
        # setup_networks_on_host: the ports follow the instance.
        self.assertEqual([dest], self.port_hosts(uuid))
        # claim_resources: the destination's claim; the source's share
        # is the migration's until the source cleans up.
        self.assertEqual((kit.FROM_USAGE, kit.FROM_USAGE),
                         (self.node_usage(source), self.node_usage(dest)))

    def test_target_state_stopped(self):
        server = self.active_server()
        self.assertEqual('success', self.evacuate(
            server, target_state=vm_states.STOPPED)['status'])
        moved = self.cloud.wait_for_state(server['uuid'],
                                          vm_states.STOPPED)
        self.assertEqual(power_state.SHUTDOWN, self.guest(
            moved['host'], server['uuid'])['power_state'])


class TestEvacuateInstanceFails(kit.MoveKitTestCase):
    """A failure at any stage before the point of no return: the started
    stages with a revert are undone newest first (guest, volume
    connections, claim), the conductor sets the instance to ERROR - still
    on its source, which is down - and the migration to 'failed'."""

    scenarios = [(s, {'stage': s}) for s in STAGES[:STAGES.index(
        'notify_usage_end')]]

    def test_reverts_and_failure_handlers(self):
        move, run = self.failed_move(self.evacuate, f'{FLOW}.{self.stage}')
        uuid = move.uuid
        self.assertEqual(('error', 'error'), (
            run['status'], self.cloud.wait_for_run(uuid, FLOW)['status']))
        self.assert_reverted(uuid, FLOW, STAGES, REVERTING, self.stage)
        self.assertEqual([f'{CONDUCTOR}.rebuild_on_destination'],
                         self.cloud.reverted_stages(uuid, CONDUCTOR))
        failed = self.cloud.wait_for_state(uuid, vm_states.ERROR)
        self.assertEqual(move.source, failed['host'])
        self.assertEqual([], self.cloud.guests(move.dest))
        # The ports are as they were, or, once setup_networks_on_host
        # started, bound to the source again: never to the destination.
        position = STAGES.index(self.stage)
        if STAGES.index('setup_networks_on_host') <= position:
            self.assertEqual([move.source], self.port_hosts(uuid))
        self.assertNotIn(move.dest, self.port_hosts(uuid))
        self.assertEqual((kit.FROM_USAGE, kit.NO_USAGE),
                         (self.node_usage(move.source),
                          self.node_usage(move.dest)))
        self.assertEqual('failed', self.newest_migration(uuid)['status'])
        self.assertIn('InjectedFailure',
                      self.cloud.faults(uuid)[0]['message'])


class TestEvacuateInstanceAfterThePointOfNoReturn(kit.MoveKitTestCase):

    def test_failing_notification_keeps_the_evacuation(self):
        move, run = self.failed_move(self.evacuate,
                                     f'{FLOW}.notify_usage_end')
        self.assertEqual('success', run['status'])
        self.assertEqual([], self.cloud.reverted_stages(move.uuid, FLOW))
        moved = self.cloud.wait_for_state(move.uuid, vm_states.ACTIVE)
        self.assertEqual(move.dest, moved['host'])
        self.assertEqual('done', self.newest_migration(move.uuid)['status'])


class TestEvacuateOnSharedStorage(kit.MoveKitTestCase):
    """check_instance_shared_storage: the destination's driver says
    whether the instance's disks are on its storage (the fake's hosts
    share theirs when a test says so); an admin's onSharedStorage (before
    2.14) must agree.  On shared storage the guest is re-created from its
    existing disks, without the admin password; otherwise from its
    image, with the password.  A disagreement fails the evacuation
    before anything is done: ERROR on the source, the migration
    'failed', the fault InvalidSharedStorage, nothing on the
    destination."""

    cloud_options = dict(kit.MoveKitTestCase.cloud_options, with_api=True)

    scenarios = [
        (f'{"shared" if shared else "local"}-storage-said-{said}',
         {'shared': shared, 'said': said})
        for shared in (True, False) for said in (True, False)]

    def evacuate_at_2_13(self, server, **body):
        """The source dies; POST evacuate at 2.13: (status, body)."""
        source = server['host']
        if self.shared:
            self.cloud.manager(source).driver.share_instance_storage(
                self.cloud.manager(self.cloud.other_host(source)).driver)
        self.cloud.host_down(source)
        return self.cloud.api(
            'POST', f"/servers/{server['uuid']}/action",
            {'evacuate': dict(body, onSharedStorage=self.said)},
            token='admin:admin', version='2.13')

    def test_on_shared_storage(self):
        server = self.active_server()
        uuid, source = server['uuid'], server['host']
        dest = self.cloud.other_host(source)
        code, body = self.evacuate_at_2_13(server)
        self.assertEqual(200, code, body)
        run = self.cloud.wait_for_run(uuid, CONDUCTOR)
        if self.shared != self.said:
            self.assertEqual('error', run['status'])
            # Nothing was done yet: nothing to revert.
            self.assertEqual([], self.cloud.reverted_stages(uuid, FLOW))
            self.assertIn((f'{FLOW}.check_instance_shared_storage',
                           'Error'), self.cloud.events(uuid, 'evacuate'))
            failed = self.cloud.wait_for_state(uuid, vm_states.ERROR)
            self.assertEqual(source, failed['host'])
            self.assertIn('is not on shared storage',
                          self.cloud.faults(uuid)[0]['message'])
            self.assertEqual('failed', self.newest_migration(uuid)['status'])
            self.assertEqual([], self.cloud.guests(dest))
            self.assertEqual((kit.FROM_USAGE, kit.NO_USAGE),
                             (self.node_usage(source),
                              self.node_usage(dest)))
            return
        self.assertEqual('success', run['status'])
        moved = self.cloud.wait_for_state(uuid, vm_states.ACTIVE)
        self.assertEqual(dest, moved['host'])
        guest = self.guest(dest, uuid)
        # Re-created from the disks already there (not re-imaged) and
        # without a new password on shared storage; from the image, with
        # the password the response gave, otherwise.
        self.assertEqual((self.shared, not self.shared),
                         (guest['existing_disk'],
                          guest['admin_password_set']))
        self.assertEqual(self.shared, body['adminPass'] is None)
        # The source comes back and cleans up: its guest goes, and the
        # disks too unless the destination's guest runs on them.
        self.cloud.host_up(source)
        self.assertEqual('success', self.cloud.wait_for_run(
            uuid, 'compute.destroy_evacuated_instance')['status'])
        self.assertEqual([], self.cloud.guests(source))
        self.assertTrue(self.cloud.manager(dest).driver.has_disk(uuid))
        self.assertEqual(self.shared,
                         self.cloud.manager(source).driver.has_disk(uuid))

    def test_password_with_shared_storage_is_refused(self):
        server = self.active_server()
        code, body = self.evacuate_at_2_13(server, adminPass='secret1')
        if self.said:
            self.assertEqual(400, code, body)
            self.assertIn("admin password can't be changed on existing "
                          'disk', body['badRequest']['message'])
            self.assertEqual([], self.cloud.migrations(server['uuid']))
        else:
            self.assertEqual((200, 'secret1'), (code, body['adminPass']))
            self.cloud.wait_for_run(server['uuid'], CONDUCTOR)


class TestEvacuateStorageFoundByTheDriver(kit.MoveKitTestCase):
    """From 2.14 nobody says: the driver's answer is taken."""

    def test_shared_storage_keeps_the_disk(self):
        server = self.active_server()
        source = server['host']
        dest = self.cloud.other_host(source)
        self.cloud.manager(source).driver.share_instance_storage(
            self.cloud.manager(dest).driver)
        self.assertEqual('success', self.evacuate(
            server, admin_password='secret1')['status'])
        self.assertEqual((True, False),
                         (self.guest(dest, server['uuid'])['existing_disk'],
                          self.guest(dest, server['uuid'])[
                              'admin_password_set']))
        # The returning source's cleanup keeps the disks the guest runs on.
        self.cloud.host_up(source)
        self.assertEqual('success', self.cloud.wait_for_run(
            server['uuid'], 'compute.destroy_evacuated_instance')['status'])
        self.assertEqual([], self.cloud.guests(source))
        self.assertTrue(self.cloud.manager(dest).driver.has_disk(
            server['uuid']))

    def test_failure_after_the_spawn_keeps_the_shared_disks(self):
        # driver_spawn's revert destroys the new guest but not the disks
        # the source's guest has on the storage both hosts share.
        server = self.active_server()
        source = server['host']
        dest = self.cloud.other_host(source)
        self.cloud.manager(source).driver.share_instance_storage(
            self.cloud.manager(dest).driver)
        self.cloud.fail_at(f'{FLOW}.update_evacuated')
        self.assertEqual('error', self.evacuate(server)['status'])
        self.assertIn(f'{FLOW}.driver_spawn',
                      self.cloud.reverted_stages(server['uuid'], FLOW))
        self.assertEqual([], self.cloud.guests(dest))
        self.assertTrue(self.cloud.manager(source).driver.has_disk(
            server['uuid']))

    def test_local_storage_rebuilds_from_the_image(self):
        server = self.active_server()
        self.assertEqual('success', self.evacuate(
            server, admin_password='secret1')['status'])
        dest = self.cloud.other_host(server['host'])
        self.assertEqual((False, True),
                         (self.guest(dest, server['uuid'])['existing_disk'],
                          self.guest(dest, server['uuid'])[
                              'admin_password_set']))
