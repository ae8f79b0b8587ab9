"""compute.live_migration_force_complete with the vendor kit, on two
compute hosts.

Read next to nova/compute/flows/live_migration_force_complete.py: the
source's driver finishes a running live migration now (force_complete);
the conductor's run then completes the move.  No stage reverts and
there is no failure handler: a failed force-complete leaves the live
migration to go on.
"""

from __future__ import annotations

from nova.compute import vm_states
from nova.tests.unit.compute.flows import kit

FLOW = 'compute.live_migration_force_complete'
CONDUCTOR = 'conductor.live_migrate_instance'
ACTION = 'live_migration_force_complete'


class _ForceCompleteTestCase(kit.MoveKitTestCase):

    def force_complete(self, uuid):
        migration = self.newest_migration(uuid)
        self.cloud.compute_api.live_migrate_force_complete(
            self.cloud.ctx, self.cloud.instance(uuid), migration['id'])
        return self.cloud.wait_for_run(uuid, FLOW)


class TestLiveMigrationForceComplete(_ForceCompleteTestCase):

    def test_stage_and_effect(self):
        server, _ = self.held_live_migration()
        uuid, source = server['uuid'], server['host']
        dest = self.cloud.other_host(source)
        self.assertEqual('success', self.force_complete(uuid)['status'])
        self.cloud.assert_stages_ran(uuid, FLOW, ['force_complete'])
        self.assertEqual([(f'{FLOW}.force_complete', 'Success')],
                         [e for e in self.cloud.events(uuid, ACTION)
                          if e[0].startswith(FLOW + '.')])
        # force_complete: the held migration finishes, on the destination.
        self.assertEqual('success',
                         self.cloud.wait_for_run(uuid, CONDUCTOR)['status'])
        moved = self.cloud.wait_for_state(uuid, vm_states.ACTIVE)
        self.assertEqual(dest, moved['host'])
        self.assertEqual(([], [uuid]), (self.cloud.guests(source),
                                        self.cloud.guests(dest)))
        self.assertEqual('completed', self.newest_migration(uuid)['status'])


    def test_the_end_of_the_move_is_the_live_migrations(self):
        # One action per request: the stages that finish the move after
        # the force-complete are the live migration's request's.
        server, _ = self.held_live_migration()
        uuid = server['uuid']
        self.force_complete(uuid)
        self.cloud.wait_for_run(uuid, CONDUCTOR)
        self.assertEqual(
            {f'{FLOW}.force_complete'},
            {e for e, _ in self.cloud.events(uuid, ACTION)})
        moved = {e.split('.')[0] + '.' + e.split('.')[1]
                 for e, _ in self.cloud.events(uuid, 'live-migration')}
        self.assertEqual({CONDUCTOR, 'compute.pre_live_migration',
                          'compute.live_migration',
                          'compute.post_live_migration_at_source',
                          'compute.post_live_migration_at_destination'},
                         moved)


class TestLiveMigrationForceCompleteFails(_ForceCompleteTestCase):

    def test_failed_force_complete_leaves_the_migration_going(self):
        server, driver = self.held_live_migration()
        uuid = server['uuid']
        self.cloud.fail_at(f'{FLOW}.force_complete')
        self.assertEqual('error', self.force_complete(uuid)['status'])
        self.assertEqual([], self.cloud.reverted_stages(uuid, FLOW))
        self.assertEqual([(f'{FLOW}.force_complete', 'Error')],
                         [e for e in self.cloud.events(uuid, ACTION)
                          if e[0].startswith(FLOW + '.')])
        self.assertEqual('running', self.newest_migration(uuid)['status'])
        self.assertEqual([uuid], self.cloud.guests(server['host']))
        driver.unblock('live_migration')
        self.assertEqual('success',
                         self.cloud.wait_for_run(uuid, CONDUCTOR)['status'])
        self.assertEqual('completed', self.newest_migration(uuid)['status'])
