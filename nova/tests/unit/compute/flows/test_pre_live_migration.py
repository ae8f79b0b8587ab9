"""compute.pre_live_migration with the vendor kit, on two compute hosts.

Read next to nova/compute/flows/pre_live_migration.py: the destination
of a live migration sets the migration 'preparing', claims the
instance's flavor (the source's share passes to the migration) and has
its driver make ready; the reverts of claim_resources and
pre_live_migration, and what the conductor does with the error (its
revert of pre_live_migration, record_fault, restore_instance).
"""

from __future__ import annotations

import testscenarios

from nova.compute import vm_states
from nova.tests.unit.compute.flows import kit

load_tests = testscenarios.load_tests_apply_scenarios

FLOW = 'compute.pre_live_migration'
CONDUCTOR = 'conductor.live_migrate_instance'
STAGES = ['update_migration_preparing', 'claim_resources',
          'load_network_info', 'load_block_device_info',
          'pre_live_migration']
REVERTING = ['claim_resources', 'pre_live_migration']


def _claims(state):
    """The migration's status and the destination node's memory in use."""
    (node,) = state.compute.db.compute_node_get_all_by_host(
        None, state.compute.host)
    return state.migration['status'], node['memory_mb_used']


class TestPreLiveMigration(kit.MoveKitTestCase):

    watching = (FLOW, '1.0', ['update_migration_preparing',
                              'claim_resources'], _claims)

    def test_stages_and_effects(self):
        move = self.moving_server()
        self.assertEqual('success', self.live_migrate(move.server)['status'])
        self.cloud.assert_stages_ran(move.uuid, FLOW, STAGES)
        # update_migration_preparing, then claim_resources: the flavor's
        # share on the destination.
        self.assertEqual({'update_migration_preparing': ('preparing', 0),
                          'claim_resources': ('preparing', 512)},
                         self.seen)
        moved = self.cloud.wait_for_state(move.uuid, vm_states.ACTIVE)
        self.assertEqual(move.dest, moved['host'])
        self.assertEqual((kit.NO_USAGE, kit.FROM_USAGE),
                         (self.node_usage(move.source),
                          self.node_usage(move.dest)))


class TestPreLiveMigrationFails(kit.MoveKitTestCase):
    """A failure at any stage: the claim and the driver's preparation
    are undone here, the conductor rolls the destination back
    (compute.rollback_live_migration_at_destination) and the server
    stays where it was, running on its source, with the fault."""

    scenarios = [(s, {'stage': s}) for s in STAGES]

    def test_reverts_and_failure_handlers(self):
        move, run = self.failed_move(self.live_migrate,
                                     f'{FLOW}.{self.stage}')
        self.assertEqual(('error', 'error'), (
            run['status'],
            self.cloud.wait_for_run(move.uuid, FLOW)['status']))
        self.assert_reverted(move.uuid, FLOW, STAGES, REVERTING, self.stage)
        self.assertEqual([f'{CONDUCTOR}.pre_live_migration'],
                         self.cloud.reverted_stages(move.uuid, CONDUCTOR))
        self.assert_back_on_source(move)
