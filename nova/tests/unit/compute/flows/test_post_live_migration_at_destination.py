"""compute.post_live_migration_at_destination with the vendor kit, on
two compute hosts.

Read next to nova/compute/flows/post_live_migration_at_destination.py:
the destination takes the instance (host, node), its driver takes the
guest for good, the source's share is released, the task cleared and
the migration 'completed'.  No stage reverts: it runs past the
conductor's point of no return (update_instance_host), so a failure is
recorded and the conductor still finishes the move.
"""

from __future__ import annotations

import testscenarios

from nova.compute import power_state, vm_states
from nova.tests.unit.compute.flows import kit

load_tests = testscenarios.load_tests_apply_scenarios

FLOW = 'compute.post_live_migration_at_destination'
CONDUCTOR = 'conductor.live_migrate_instance'
STAGES = ['update_instance_host', 'setup_networks_on_host',
          'load_network_info',
          'load_block_device_info', 'post_live_migration_at_destination',
          'release_source_claim', 'update_migrated']


class TestPostLiveMigrationAtDestination(kit.MoveKitTestCase):

    def test_stages_and_effects(self):
        server = self.active_server()
        uuid, source = server['uuid'], server['host']
        dest = self.cloud.other_host(source)
        self.assertEqual('success', self.live_migrate(server)['status'])
        self.cloud.assert_stages_ran(uuid, FLOW, STAGES)
        moved = self.cloud.wait_for_state(uuid, vm_states.ACTIVE)
        # update_instance_host / update_migrated: the destination's,
        # running, task cleared; the migration 'completed'.
        self.assertEqual((dest, dest, power_state.RUNNING),
                         (moved['host'], moved['node'],
                          moved['power_state']))
        self.assertEqual('completed', self.newest_migration(uuid)['status'])
        # setup_networks_on_host: the ports follow the instance.
        self.assertEqual([dest], self.port_hosts(uuid))
        # post_live_migration_at_destination: the guest is here.
        self.assertEqual(power_state.RUNNING,
                         self.guest(dest, uuid)['power_state'])
        # release_source_claim: nothing held on the source.
        self.assertEqual((kit.NO_USAGE, kit.FROM_USAGE),
                         (self.node_usage(source), self.node_usage(dest)))

    def test_paused_server_stays_paused(self):
        server = self.active_server()
        self.cloud.compute_api.pause(self.cloud.ctx, server)
        paused = self.cloud.wait_for_state(server['uuid'], vm_states.PAUSED)
        self.assertEqual('success', self.live_migrate(paused)['status'])
        moved = self.cloud.wait_for_state(server['uuid'], vm_states.PAUSED)
        self.assertEqual(power_state.PAUSED, moved['power_state'])


class TestPostLiveMigrationAtDestinationFails(kit.MoveKitTestCase):
    """A failure at any stage: nothing is reverted (the guest has left
    its source); the conductor records the failed stage and finishes
    the move - the instance is the destination's, the source's share
    released, the migration 'completed'.  Up to the driver's call the
    destination has no guest: the conductor's finish_migration asks it
    and leaves the instance ERROR there with a fault saying so."""

    scenarios = [(s, {'stage': s}) for s in STAGES]

    def test_failure_is_recorded_and_the_move_finished(self):
        move, run = self.failed_move(self.live_migrate,
                                     f'{FLOW}.{self.stage}')
        uuid, source, dest = move.uuid, move.source, move.dest
        self.assertEqual(('success', 'error'), (
            run['status'], self.cloud.wait_for_run(uuid, FLOW)['status']))
        self.assertEqual([], self.cloud.reverted_stages(uuid, FLOW))
        self.assertEqual([], self.cloud.reverted_stages(uuid, CONDUCTOR))
        self.assertIn((f'{CONDUCTOR}.post_live_migration_at_destination',
                       'Error'), self.cloud.events(uuid, 'live-migration'))
        self.assertIn((f'{FLOW}.{self.stage}', 'Error'),
                      self.cloud.events(uuid, 'live-migration'))
        taken = STAGES.index(self.stage) > STAGES.index(
            'post_live_migration_at_destination')
        moved = self.cloud.wait_for_state(
            uuid, vm_states.ACTIVE if taken else vm_states.ERROR)
        self.assertEqual(dest, moved['host'])
        self.assertEqual(taken, self.cloud.has_guest(dest, uuid))
        # Its ports are bound to the destination, even when its part
        # failed before setup_networks_on_host.
        self.assertEqual([dest], self.port_hosts(uuid))
        self.assertEqual('completed', self.newest_migration(uuid)['status'])
        self.assertEqual(kit.NO_USAGE, self.node_usage(source))
