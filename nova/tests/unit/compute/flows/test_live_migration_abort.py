"""compute.live_migration_abort with the vendor kit, on two compute
hosts.

Read next to nova/compute/flows/live_migration_abort.py: a live
migration not yet running is 'cancelled' (cancel_queued_migration, 2.65)
and one under way is aborted by the driver (abort_running_migration);
either way the conductor's run fails and the server stays on its source.
No stage reverts and there is no failure handler: a failed abort leaves
the live migration to go on.
"""

from __future__ import annotations

import testscenarios

from nova.compute import vm_states
from nova.tests.unit.compute.flows import kit

load_tests = testscenarios.load_tests_apply_scenarios

FLOW = 'compute.live_migration_abort'
CONDUCTOR = 'conductor.live_migrate_instance'
STAGES = ['cancel_queued_migration', 'abort_running_migration']
ACTION = 'live_migration_cancel'


class _AbortTestCase(kit.MoveKitTestCase):

    def abort(self, uuid, in_queue=False):
        migration = self.newest_migration(uuid)
        self.cloud.compute_api.live_migrate_abort(
            self.cloud.ctx, self.cloud.instance(uuid), migration['id'],
            support_abort_in_queue=in_queue)
        return self.cloud.wait_for_run(uuid, FLOW)

    def assert_cancelled(self, server):
        """The live migration ended in error, cancelled: the server back
        on its source."""
        self.assertEqual('error', self.cloud.wait_for_run(
            server['uuid'], CONDUCTOR)['status'])
        self.assert_back_on_source(
            kit.Move(server, server['host'],
                     self.cloud.other_host(server['host'])),
            migration='cancelled', fault=None)


class TestLiveMigrationAbort(_AbortTestCase):

    def test_abort_a_running_migration(self):
        server, _ = self.held_live_migration()
        uuid = server['uuid']
        self.assertEqual('success', self.abort(uuid)['status'])
        self.cloud.assert_stages_ran(uuid, FLOW, STAGES)
        # abort_running_migration: the driver's live migration fails.
        self.assert_cancelled(server)
        self.assertEqual([(f'{FLOW}.{s}', 'Success') for s in STAGES],
                         [e for e in self.cloud.events(uuid, ACTION)
                          if e[0].startswith(FLOW + '.')])

    def test_abort_a_preparing_migration(self):
        server, dest_driver = self.held_live_migration(
            'pre_live_migration', 'preparing')
        uuid = server['uuid']
        self.assertEqual('success',
                         self.abort(uuid, in_queue=True)['status'])
        self.cloud.assert_stages_ran(uuid, FLOW, STAGES)
        # cancel_queued_migration: 'cancelled' at once; the live
        # migration's next step finds it so and is rolled back.
        self.assertEqual('cancelled', self.newest_migration(uuid)['status'])
        dest_driver.unblock('pre_live_migration')
        self.assert_cancelled(server)

    def test_the_rollback_is_the_live_migrations_not_the_aborts(self):
        # One action per request: the destination's rollback, which the
        # abort causes, is a stage of the live migration's request.
        server, _ = self.held_live_migration()
        uuid = server['uuid']
        self.abort(uuid)
        self.assert_cancelled(server)
        self.assertEqual(
            {f'{FLOW}.{s}' for s in STAGES},
            {e for e, _ in self.cloud.events(uuid, ACTION)})
        moved = {e.split('.')[0] + '.' + e.split('.')[1]
                 for e, _ in self.cloud.events(uuid, 'live-migration')}
        self.assertEqual({CONDUCTOR, 'compute.pre_live_migration',
                          'compute.live_migration',
                          'compute.rollback_live_migration_at_destination'},
                         moved)


class TestLiveMigrationAbortFails(_AbortTestCase):
    """A failure at either stage: nothing is reverted, the abort's
    action shows the Error, and the live migration goes on (here:
    completes once the driver lets it)."""

    scenarios = [(s, {'stage': s}) for s in STAGES]

    def test_failed_abort_leaves_the_migration_going(self):
        server, driver = self.held_live_migration()
        uuid = server['uuid']
        self.cloud.fail_at(f'{FLOW}.{self.stage}')
        self.assertEqual('error', self.abort(uuid)['status'])
        self.assertEqual([], self.cloud.reverted_stages(uuid, FLOW))
        self.assertIn((f'{FLOW}.{self.stage}', 'Error'),
                      self.cloud.events(uuid, ACTION))
        self.assertEqual('running', self.newest_migration(uuid)['status'])
        driver.unblock('live_migration')
        self.assertEqual('success',
                         self.cloud.wait_for_run(uuid, CONDUCTOR)['status'])
        moved = self.cloud.wait_for_state(uuid, vm_states.ACTIVE)
        self.assertEqual(self.cloud.other_host(server['host']),
                         moved['host'])
        self.assertEqual('completed', self.newest_migration(uuid)['status'])
