"""Live migration between two compute hosts, in one process
(conductor.live_migrate_instance and the compute flows of each host):
the move, to a scheduled or a requested host, its abort and
force-complete, and a failure at every stage of every flow it runs -
reverted on the host that did each part before the point of no return,
finished after it."""

from __future__ import annotations

import fixtures
import testscenarios
from nova_fault_injection_hooks import stage_ids

from nova import exception, test
from nova.compute import task_states, vm_states
from nova.tests.functional import fixtures as func_fixtures
from nova.tests.functional.compute import action_helpers as helpers
from nova.tests.functional.compute import move_helpers
from nova.virt import fake

load_tests = testscenarios.load_tests_apply_scenarios

#: The flows a live migration runs before the conductor's point of no
#: return (the source's up to its own), and after it.
BEFORE_FLOWS = ('conductor.live_migrate_instance',
                'compute.pre_live_migration', 'compute.live_migration')
AFTER_FLOWS = ('compute.post_live_migration_at_source',
               'compute.post_live_migration_at_destination')


class _LiveMigrationBase(move_helpers.MoveHelpers, test.TestCase):

    def setUp(self):
        super().setUp()
        self.cloud = self.useFixture(func_fixtures.LocalCloud(
            compute_hosts=('compute1', 'compute2'),
            flow__enabled_hooks=['fault_injection']))
        self.ctx = self.cloud.ctx
        self.db = self.cloud.db
        self.api = self.cloud.compute_api

    def boot_active(self):
        instance = self.cloud.boot()
        return self.cloud.wait_for_state(instance['uuid'], vm_states.ACTIVE)

    def guests(self, host):
        return self.cloud.manager(host).driver.list_instance_uuids()

    def finished_actions(self, uuid, action='live-migration'):
        return [row for row in self.db.actions_get(self.ctx, uuid)
                if row['action'] == action and row['finish_time']]

    def live_migrate(self, instance, host=None, block_migration='auto',
                     **kwargs):
        uuid = instance['uuid']
        before = len(self.finished_actions(uuid))
        self.api.live_migrate(self.ctx, instance, host, block_migration,
                              **kwargs)
        func_fixtures.wait_for(
            lambda: len(self.finished_actions(uuid)) > before,
            what=f'live migration of {uuid} to finish')
        return self.cloud.instance(uuid)

    def assert_on(self, uuid, host, vm_state=vm_states.ACTIVE):
        current = self.cloud.instance(uuid)
        self.assertEqual((vm_state, None, host), (
            current['vm_state'], current['task_state'], current['host']))
        self.assertEqual(host, self.allocation_host(uuid))
        other = self.db.compute_node_get_all_by_host(self.ctx,
                                                     self.other(host))[0]
        self.assertEqual(0, other['memory_mb_used'])
        for migration in self.migrations(uuid):
            self.assertIsNone(self.allocation_host(migration['uuid']))
        return current

    def block_live_migration(self, source):
        driver = self.cloud.manager(source).driver
        driver.block('live_migration', fake.BEFORE)
        self.addCleanup(driver.unblock, 'live_migration')
        return driver


class TestLiveMigration(_LiveMigrationBase):

    def test_live_migrate(self):
        instance = self.boot_active()
        uuid, source = instance['uuid'], instance['host']
        dest = self.other(source)
        self.live_migrate(instance)
        self.assert_on(uuid, dest)
        self.assertEqual([uuid], self.guests(dest))
        self.assertEqual([], self.guests(source))
        self.assertEqual([dest], self.port_hosts(uuid))
        migration = self.migrations(uuid)[0]
        self.assertEqual(('completed', 'live-migration', source, dest), (
            migration['status'], migration['migration_type'],
            migration['source_compute'], migration['dest_compute']))
        action = self.cloud.wait_for_action(uuid, 'live-migration')
        self.assertIsNone(action['message'])
        events = self.db.action_events_get(self.ctx, action['id'])
        names = {e['event'] for e in events}
        for stage in ('conductor.live_migrate_instance.live_migration',
                      'compute.pre_live_migration.claim_resources',
                      'compute.live_migration.live_migration',
                      'compute.post_live_migration_at_source.'
                      'post_live_migration',
                      'compute.post_live_migration_at_destination.'
                      'update_migrated'):
            self.assertIn(stage, names)
        self.assertTrue({source, dest} <=
                        {e['host'] for e in events})

    def test_live_migrate_back_and_forth(self):
        instance = self.boot_active()
        source = instance['host']
        moved = self.live_migrate(instance)
        self.assertEqual([moved['host']],
                         self.port_hosts(instance['uuid']))
        back = self.live_migrate(moved)
        self.assertEqual(source, back['host'])
        self.assertEqual([source], self.port_hosts(instance['uuid']))
        self.assertEqual([instance['uuid']], self.guests(source))

    def test_paused_instance_stays_paused(self):
        instance = self.boot_active()
        self.api.pause(self.ctx, instance)
        paused = self.cloud.wait_for_state(instance['uuid'],
                                           vm_states.PAUSED)
        self.live_migrate(paused)
        self.assert_on(instance['uuid'], self.other(instance['host']),
                       vm_states.PAUSED)

    def test_requested_host(self):
        instance = self.boot_active()
        dest = self.other(instance['host'])
        self.live_migrate(instance, host=dest, block_migration=False)
        self.assert_on(instance['uuid'], dest)

    def test_forced_host_skips_the_scheduler(self):
        instance = self.boot_active()
        dest = self.other(instance['host'])
        self.live_migrate(instance, host=dest, force=True)
        self.assert_on(instance['uuid'], dest)

    def test_abort(self):
        instance = self.boot_active()
        uuid, source = instance['uuid'], instance['host']
        driver = self.block_live_migration(source)
        self.api.live_migrate(self.ctx, instance, None, 'auto')
        driver.wait_blocked('live_migration', func_fixtures.WAIT_SECONDS)
        migration = self.wait_for_migration(uuid, 'running')
        self.api.live_migrate_abort(self.ctx, self.cloud.instance(uuid),
                                    migration['id'])
        self.wait_for_migration(uuid, 'cancelled')
        action = self.cloud.wait_for_action(uuid, 'live-migration')
        self.assertEqual('Error', action['message'])
        self.cloud.wait_for_action(uuid, 'live_migration_cancel')
        self.assert_on(uuid, source)
        self.assertEqual([uuid], self.guests(source))
        self.assertEqual([], self.guests(self.other(source)))

    def test_abort_while_preparing(self):
        instance = self.boot_active()
        uuid, source = instance['uuid'], instance['host']
        dest_driver = self.cloud.manager(self.other(source)).driver
        dest_driver.block('pre_live_migration', fake.BEFORE)
        self.addCleanup(dest_driver.unblock, 'pre_live_migration')
        self.api.live_migrate(self.ctx, instance, None, 'auto')
        dest_driver.wait_blocked('pre_live_migration',
                                 func_fixtures.WAIT_SECONDS)
        migration = self.wait_for_migration(uuid, 'preparing')
        self.api.live_migrate_abort(self.ctx, self.cloud.instance(uuid),
                                    migration['id'],
                                    support_abort_in_queue=True)
        self.wait_for_migration(uuid, 'cancelled')
        dest_driver.unblock('pre_live_migration')
        self.cloud.wait_for_action(uuid, 'live-migration')
        self.assertEqual('cancelled', self.migrations(uuid)[0]['status'])
        self.assert_on(uuid, source)
        self.assertEqual([], self.guests(self.other(source)))

    def test_force_complete(self):
        instance = self.boot_active()
        uuid, source = instance['uuid'], instance['host']
        driver = self.block_live_migration(source)
        self.api.live_migrate(self.ctx, instance, None, 'auto')
        driver.wait_blocked('live_migration', func_fixtures.WAIT_SECONDS)
        migration = self.wait_for_migration(uuid, 'running')
        self.api.live_migrate_force_complete(
            self.ctx, self.cloud.instance(uuid), migration['id'])
        self.wait_for_migration(uuid, 'completed')
        self.cloud.wait_for_action(uuid, 'live-migration')
        self.cloud.wait_for_action(uuid, 'live_migration_force_complete')
        self.assert_on(uuid, self.other(source))
        self.assertEqual([uuid], self.guests(self.other(source)))

    def test_refused_checks(self):
        instance = self.boot_active()
        self.assertRaises(exception.UnableToMigrateToSelf,
                          self.api.live_migrate, self.ctx, instance,
                          instance['host'], 'auto')
        error = self.assertRaises(exception.Invalid, self.api.live_migrate,
                                  self.ctx, instance, 'nowhere', 'auto')
        self.assertEqual('Compute host nowhere could not be found.',
                         error.format_message())
        self.api.stop(self.ctx, instance)
        stopped = self.cloud.wait_for_state(instance['uuid'],
                                            vm_states.STOPPED)
        self.assertRaises(exception.InstanceInvalidState,
                          self.api.live_migrate, self.ctx, stopped, None,
                          'auto')
        self.assertEqual([], self.migrations(instance['uuid']))

    def test_task_is_migrating_meanwhile(self):
        instance = self.boot_active()
        driver = self.block_live_migration(instance['host'])
        self.api.live_migrate(self.ctx, instance, None, 'auto')
        driver.wait_blocked('live_migration', func_fixtures.WAIT_SECONDS)
        self.assertEqual(task_states.MIGRATING,
                         self.cloud.instance(instance['uuid'])['task_state'])
        driver.unblock('live_migration')
        self.cloud.wait_for_action(instance['uuid'], 'live-migration')


def _stages(flows, committed):
    """Every stage of ``flows`` before (or after) the point of no return
    (generated: a new stage is covered without editing)."""
    return [(stage_id, {'stage_id': stage_id}) for flow in flows
            for stage_id in stage_ids(flow)
            if helpers.past_point_of_no_return(stage_id) == committed]


class TestLiveMigrationFailures(_LiveMigrationBase):
    """A failure in any stage before the point of no return, on whichever
    host runs it: the instance runs on its source as it did, the
    migration is 'error', nothing is left on the destination."""

    scenarios = _stages(BEFORE_FLOWS, committed=False)

    def test_failure_is_reverted_on_every_host(self):
        instance = self.boot_active()
        uuid, source = instance['uuid'], instance['host']
        self.useFixture(fixtures.EnvironmentVariable(
            'NOVA_FAULT_AT', f'{self.stage_id}:fail'))
        self.api.live_migrate(self.ctx, instance, None, 'auto')
        action = self.cloud.wait_for_action(uuid, 'live-migration')
        self.assertEqual('Error', action['message'])
        self.assert_on(uuid, source)
        self.assertEqual([uuid], self.guests(source))
        self.assertEqual([], self.guests(self.other(source)))
        for migration in self.migrations(uuid):
            self.assertEqual('error', migration['status'])
        faults = self.db.instance_fault_get_by_instance_uuids(
            self.ctx, [uuid])[uuid]
        self.assertTrue([f for f in faults if 'injected failure in ' +
                         self.stage_id in f['message'] + (f['details'] or '')],
                        faults)


class TestLiveMigrationLateFailures(_LiveMigrationBase):
    """A failure in any stage after the point of no return: the move
    finishes on the destination all the same - ERROR there, with the
    fault, when the destination could not take the guest."""

    scenarios = (_stages(BEFORE_FLOWS, committed=True) +
                 _stages(AFTER_FLOWS, committed=False))

    def test_failure_finishes_the_move(self):
        instance = self.boot_active()
        uuid, source = instance['uuid'], instance['host']
        self.useFixture(fixtures.EnvironmentVariable(
            'NOVA_FAULT_AT', f'{self.stage_id}:fail'))
        self.api.live_migrate(self.ctx, instance, None, 'auto')
        self.cloud.wait_for_action(uuid, 'live-migration')
        dest = self.other(source)
        if move_helpers.guest_not_taken(self.stage_id):
            self.assert_on(uuid, dest, vm_states.ERROR)
            self.assertEqual([], self.guests(dest))
            faults = self.db.instance_fault_get_by_instance_uuids(
                self.ctx, [uuid])[uuid]
            self.assertTrue([f for f in faults if 'did not take' in
                             f['message'] + (f['details'] or '')], faults)
        else:
            self.assert_on(uuid, dest)
            self.assertEqual([uuid], self.guests(dest))
        self.assertNotIn(uuid, self.guests(source))
        self.assertEqual('completed', self.migrations(uuid)[0]['status'])
        # Its ports follow it, even when the destination failed before
        # binding them (the conductor's finish_migration does).
        self.assertEqual([dest], self.port_hosts(uuid))
