"""compute.live_migration with the vendor kit, on two compute hosts.

Read next to nova/compute/flows/live_migration.py: the source sets the
migration 'running' and its driver moves the guest; the point of no
return is the live_migration stage itself (its verify: has the guest
left?).  A failure before the guest left is rolled back by the
conductor (record_fault, restore_instance); a failure after it finishes
the move.
"""

from __future__ import annotations

import testscenarios

from nova.compute import vm_states
from nova.tests.unit.compute.flows import kit

load_tests = testscenarios.load_tests_apply_scenarios

FLOW = 'compute.live_migration'
CONDUCTOR = 'conductor.live_migrate_instance'
STAGES = ['update_migration_running', 'load_network_info',
          'load_block_device_info', 'live_migration',
          'update_migration_copied']


def _migration(state):
    migration = state.migration
    return (migration['status'], migration.get('memory_remaining'),
            state.compute.driver.instance_exists(state.instance))


class TestLiveMigration(kit.MoveKitTestCase):

    watching = (FLOW, '2.0', ['update_migration_running', 'live_migration',
                              'update_migration_copied'], _migration)

    def test_stages_and_effects(self):
        move = self.moving_server()
        self.assertEqual('success', self.live_migrate(move.server)['status'])
        self.cloud.assert_stages_ran(move.uuid, FLOW, STAGES)
        running, moved, copied = (
            self.seen['update_migration_running'],
            self.seen['live_migration'], self.seen['update_migration_copied'])
        # update_migration_running: 'running', the guest still here;
        # live_migration: the guest left; update_migration_copied:
        # nothing left to copy.
        self.assertEqual(('running', True), (running[0], running[2]))
        self.assertEqual(('running', False), (moved[0], moved[2]))
        self.assertEqual(('running', 0, False), copied)
        self.assertEqual(([], [move.uuid]), (self.cloud.guests(move.source),
                                             self.cloud.guests(move.dest)))


class TestLiveMigrationFailsBeforeTheGuestLeft(kit.MoveKitTestCase):
    """A failure before the guest left: nothing of this flow reverts,
    the conductor rolls the destination back and the server stays
    running on its source, with the fault."""

    scenarios = [(s, {'stage': s}) for s in STAGES[:STAGES.index(
        'update_migration_copied')]]

    def test_reverts_and_failure_handlers(self):
        move, run = self.failed_move(self.live_migrate,
                                     f'{FLOW}.{self.stage}')
        self.assertEqual(('error', 'error'), (
            run['status'],
            self.cloud.wait_for_run(move.uuid, FLOW)['status']))
        self.assertEqual([], self.cloud.reverted_stages(move.uuid, FLOW))
        # The conductor's live_migration has no revert of its own.
        self.assertEqual([f'{CONDUCTOR}.pre_live_migration'],
                         self.cloud.reverted_stages(move.uuid, CONDUCTOR))
        self.assert_back_on_source(move)


class TestLiveMigrationFailsAfterTheGuestLeft(kit.MoveKitTestCase):
    """Past the point of no return (the guest runs on the destination) a
    failing stage does not undo the move: the live migration completes."""

    def test_move_completes(self):
        move, _ = self.failed_move(self.live_migrate,
                                   f'{FLOW}.update_migration_copied')
        self.assertEqual([], self.cloud.reverted_stages(move.uuid, FLOW))
        moved = self.cloud.wait_for_state(move.uuid, vm_states.ACTIVE)
        self.assertEqual(move.dest, moved['host'])
        self.assertEqual(([], [move.uuid]), (self.cloud.guests(move.source),
                                             self.cloud.guests(move.dest)))
        self.assertEqual('completed',
                         self.newest_migration(move.uuid)['status'])
