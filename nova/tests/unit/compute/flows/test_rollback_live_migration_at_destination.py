"""compute.rollback_live_migration_at_destination with the vendor kit,
on two compute hosts.

Read next to
nova/compute/flows/rollback_live_migration_at_destination.py: the
conductor's revert of its pre_live_migration stage runs it on the
destination when a live migration fails before the guest left - the
driver's preparation is undone and the destination's claim dropped (the
source's share passes back to the instance).  No stage reverts; when it
fails the conductor's revert failed: the instance goes to ERROR and the
migration to 'failed' (restore_instance).
"""

from __future__ import annotations

import testscenarios

from nova.compute import vm_states
from nova.tests.unit.compute.flows import kit

load_tests = testscenarios.load_tests_apply_scenarios

FLOW = 'compute.rollback_live_migration_at_destination'
CONDUCTOR = 'conductor.live_migrate_instance'
STAGES = ['load_network_info', 'load_block_device_info',
          'rollback_live_migration_at_destination', 'drop_move_claim']
#: Where the live migration fails, so that the rollback runs.
FAIL_AT = 'compute.live_migration.live_migration'


class TestRollbackLiveMigrationAtDestination(kit.MoveKitTestCase):

    def test_stages_and_effects(self):
        server = self.active_server()
        uuid, source = server['uuid'], server['host']
        dest = self.cloud.other_host(source)
        self.cloud.fail_at(FAIL_AT)
        self.assertEqual('error', self.live_migrate(server)['status'])
        self.cloud.assert_stages_ran(uuid, FLOW, STAGES)
        self.assertEqual('success',
                         self.cloud.wait_for_run(uuid, FLOW)['status'])
        # drop_move_claim: the destination holds nothing, the source the
        # instance's share again.
        self.assertEqual((kit.FROM_USAGE, kit.NO_USAGE),
                         (self.node_usage(source), self.node_usage(dest)))
        self.assertEqual([], self.cloud.guests(dest))
        back = self.cloud.wait_for_state(uuid, vm_states.ACTIVE)
        self.assertEqual(source, back['host'])
        self.assertEqual('error', self.newest_migration(uuid)['status'])


class TestRollbackLiveMigrationAtDestinationFails(kit.MoveKitTestCase):
    """A failure at any stage: the conductor's revert failed, so the
    instance is ERROR (still on its source) and the migration
    'failed', with the fault of the live migration."""

    scenarios = [(s, {'stage': s}) for s in STAGES]

    def test_failure_handlers(self):
        server = self.active_server()
        uuid, source = server['uuid'], server['host']
        self.cloud.fail_at(FAIL_AT)
        self.cloud.fail_at(f'{FLOW}.{self.stage}')
        self.assertEqual('error', self.live_migrate(server)['status'])
        self.assertEqual('error',
                         self.cloud.wait_for_run(uuid, FLOW)['status'])
        self.assertEqual([], self.cloud.reverted_stages(uuid, FLOW))
        self.assertIn((f'{CONDUCTOR}.pre_live_migration', 'Success'),
                      self.cloud.events(uuid, 'live-migration'))
        failed = self.cloud.wait_for_state(uuid, vm_states.ERROR)
        self.assertEqual(source, failed['host'])
        self.assertEqual('failed', self.newest_migration(uuid)['status'])
        self.assertIn('InjectedFailure',
                      self.cloud.faults(uuid)[0]['message'])
