"""The compute API's side of forcing and aborting a live migration: the
instance and migration checks (upstream's errors, nothing recorded or
cast when one fails), the instance action, and the cast."""

from unittest import mock

from nova import context, exception, test
from nova.compute import api as compute_api
from nova.compute import task_states, vm_states

UUID = '4a1c8d3e-0000-4000-8000-000000000001'


class _LiveMigrationOpsTest(test.TestCase):

    def setUp(self):
        super().setUp()
        self.db = mock.Mock()
        self.rpc = mock.Mock()
        self.api = compute_api.API(db=self.db, image_api=mock.Mock(),
                                   compute_rpcapi=self.rpc,
                                   conductor_api=mock.Mock(),
                                   volume_api=mock.Mock(),
                                   network_api=mock.Mock())
        self.ctx = context.RequestContext('admin', 'admin',
                                          roles=['admin'])
        self.migration = {'id': 7, 'uuid': 'mig-7', 'instance_uuid': UUID,
                          'migration_type': 'live-migration',
                          'status': 'running'}
        self.db.migration_get.side_effect = self._migration_get

    def _migration_get(self, ctx, migration_id):
        if migration_id != self.migration['id']:
            raise exception.MigrationNotFound(migration_id=migration_id)
        return dict(self.migration)

    def instance(self, vm_state=vm_states.ACTIVE,
                 task_state=task_states.MIGRATING, **values):
        return dict({'uuid': UUID, 'project_id': 'p1', 'user_id': 'u1',
                     'vm_state': vm_state, 'task_state': task_state,
                     'locked': False, 'host': 'src'}, **values)

    def assertNothingDone(self):
        self.db.action_start.assert_not_called()
        self.assertEqual([], self.rpc.method_calls)


class TestForceComplete(_LiveMigrationOpsTest):

    def test_running_live_migration_is_recorded_and_cast(self):
        instance = self.instance()
        self.api.live_migrate_force_complete(self.ctx, instance, '7')
        self.db.migration_get.assert_called_once_with(self.ctx, 7)
        self.db.action_start.assert_called_once_with(
            self.ctx, UUID, 'live_migration_force_complete')
        self.rpc.live_migration_force_complete.assert_called_once_with(
            self.ctx, instance, self.migration)

    def test_paused_instance_allowed(self):
        self.api.live_migrate_force_complete(
            self.ctx, self.instance(vm_state=vm_states.PAUSED), 7)
        self.rpc.live_migration_force_complete.assert_called_once()

    def test_instance_not_migrating(self):
        error = self.assertRaises(
            exception.InstanceInvalidState,
            self.api.live_migrate_force_complete, self.ctx,
            self.instance(task_state=None), '7')
        self.assertEqual(f"Cannot 'force_complete' instance {UUID} while "
                         f"it is in task_state None",
                         error.format_message())
        self.assertNothingDone()

    def test_vm_state_must_be_active_or_paused(self):
        self.assertRaises(exception.InstanceInvalidState,
                          self.api.live_migrate_force_complete, self.ctx,
                          self.instance(vm_state=vm_states.STOPPED), '7')
        self.assertNothingDone()

    def test_locked_instance_refused_to_its_owner(self):
        owner = context.RequestContext('u1', 'p1')
        self.assertRaises(exception.InstanceIsLocked,
                          self.api.live_migrate_force_complete, owner,
                          self.instance(locked=True), '7')
        self.assertNothingDone()

    def test_unknown_or_other_instances_migration(self):
        for migration_id in ('8', 'abc', '1' * 30, '-7'):
            error = self.assertRaises(
                exception.MigrationNotFoundForInstance,
                self.api.live_migrate_force_complete, self.ctx,
                self.instance(), migration_id)
            self.assertIn(f'Migration {migration_id} not found for '
                          f'instance {UUID}', error.format_message())
        self.migration['instance_uuid'] = 'another'
        self.assertRaises(exception.MigrationNotFoundForInstance,
                          self.api.live_migrate_force_complete, self.ctx,
                          self.instance(), '7')
        self.assertNothingDone()

    def test_not_a_live_migration(self):
        self.migration['migration_type'] = 'migration'
        self.assertRaises(exception.InstanceMigrationIsNotLiveMigration,
                          self.api.live_migrate_force_complete, self.ctx,
                          self.instance(), '7')
        self.assertNothingDone()

    def test_only_a_running_migration(self):
        for status in ('queued', 'preparing', 'post-migrating',
                       'completed', 'failed'):
            self.migration['status'] = status
            error = self.assertRaises(
                exception.InvalidMigrationState,
                self.api.live_migrate_force_complete, self.ctx,
                self.instance(), '7')
            self.assertEqual(
                f'Migration 7 state of instance {UUID} is {status}. Cannot '
                f'force complete while the migration is in this state.',
                error.format_message())
        self.assertNothingDone()


class TestAbort(_LiveMigrationOpsTest):

    def test_running_live_migration_is_recorded_and_cast(self):
        instance = self.instance()
        self.api.live_migrate_abort(self.ctx, instance, '7')
        self.db.action_start.assert_called_once_with(
            self.ctx, UUID, 'live_migration_cancel')
        self.rpc.live_migration_abort.assert_called_once_with(
            self.ctx, instance, 7)

    def test_any_vm_state_but_task_state_migrating(self):
        self.api.live_migrate_abort(
            self.ctx, self.instance(vm_state=vm_states.ERROR), '7')
        error = self.assertRaises(
            exception.InstanceInvalidState, self.api.live_migrate_abort,
            self.ctx, self.instance(task_state=task_states.REBOOTING), '7')
        self.assertEqual(f"Cannot 'abort live migration' instance {UUID} "
                         f"while it is in task_state rebooting",
                         error.format_message())

    def test_queued_and_preparing_only_with_support_in_queue(self):
        for status in ('queued', 'preparing'):
            self.migration['status'] = status
            self.db.action_start.reset_mock()
            self.rpc.reset_mock()
            error = self.assertRaises(
                exception.InvalidMigrationState,
                self.api.live_migrate_abort, self.ctx, self.instance(), '7')
            self.assertIn('Cannot abort live migration while the migration '
                          'is in this state', error.format_message())
            self.assertNothingDone()
            self.api.live_migrate_abort(self.ctx, self.instance(), '7',
                                        support_abort_in_queue=True)
            self.rpc.live_migration_abort.assert_called_once()

    def test_finished_migration_never(self):
        for status in ('post-migrating', 'completed', 'cancelled', 'error'):
            self.migration['status'] = status
            self.assertRaises(exception.InvalidMigrationState,
                              self.api.live_migrate_abort, self.ctx,
                              self.instance(), '7',
                              support_abort_in_queue=True)
        self.assertNothingDone()

    def test_unknown_migration_and_other_types(self):
        self.assertRaises(exception.MigrationNotFoundForInstance,
                          self.api.live_migrate_abort, self.ctx,
                          self.instance(), '9')
        self.migration['migration_type'] = 'resize'
        self.assertRaises(exception.InstanceMigrationIsNotLiveMigration,
                          self.api.live_migrate_abort, self.ctx,
                          self.instance(), '7')
        self.assertNothingDone()

    def test_locked_instance_refused_to_its_owner(self):
        owner = context.RequestContext('u1', 'p1')
        self.assertRaises(exception.InstanceIsLocked,
                          self.api.live_migrate_abort, owner,
                          self.instance(locked=True), '7')
        self.assertNothingDone()
