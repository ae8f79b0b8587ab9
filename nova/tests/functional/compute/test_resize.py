"""Resize and cold migration between two compute hosts, in one process
(conductor.resize_instance and the compute flows of each host): the
move, its confirm and revert, and a failure at every stage of every
flow it runs, reverted on the host that did each part."""

from __future__ import annotations

import fixtures
import testscenarios
from nova_fault_injection_hooks import stage_ids

from nova import exception, test
from nova.compute import vm_states
from nova.tests.functional import fixtures as func_fixtures
from nova.tests.functional.compute import action_helpers as helpers
from nova.tests.functional.compute import move_helpers

load_tests = testscenarios.load_tests_apply_scenarios

MOVE_FLOWS = ('conductor.resize_instance', 'compute.prep_resize',
              'compute.resize_instance', 'compute.finish_resize')


class _ResizeBase(move_helpers.MoveHelpers, test.TestCase):

    overrides: dict = {}

    def setUp(self):
        super().setUp()
        self.cloud = self.useFixture(func_fixtures.LocalCloud(
            compute_hosts=('compute1', 'compute2'),
            flow__enabled_hooks=['fault_injection'], **self.overrides))
        self.ctx = self.cloud.ctx
        self.db = self.cloud.db

    def boot_active(self, flavor='1'):
        instance = self.cloud.boot(flavor=flavor)
        return self.cloud.wait_for_state(instance['uuid'], vm_states.ACTIVE)

    def guests(self, host):
        return self.cloud.manager(host).driver.list_instance_uuids()

    def resize(self, instance, flavor_id='2'):
        self.cloud.compute_api.resize(self.ctx, instance, flavor_id)
        resized = self.cloud.wait_for_state(instance['uuid'],
                                            vm_states.RESIZED)
        self.wait_for_migration(instance['uuid'], 'finished')
        return resized


class TestResize(_ResizeBase):

    def test_resize_and_confirm(self):
        instance = self.boot_active()
        source = instance['host']
        resized = self.resize(instance)
        dest = self.other(source)
        self.assertEqual(dest, resized['host'])
        self.assertEqual('2', resized['flavor']['flavorid'])
        self.assertIsNone(resized['task_state'])
        migration = self.migration(instance['uuid'])
        self.assertEqual((source, dest, 'resize'), (
            migration['source_compute'], migration['dest_compute'],
            migration['migration_type']))
        # Both hosts hold a share until the confirm.
        self.assertEqual(dest, self.allocation_host(instance['uuid']))
        self.assertEqual(source, self.allocation_host(migration['uuid']))
        self.assertIn(instance['uuid'], self.guests(dest))
        self.assertEqual([dest], self.port_hosts(instance['uuid']))

        self.cloud.compute_api.confirm_resize(self.ctx, resized)
        self.wait_for_migration(instance['uuid'], 'confirmed')
        confirmed = self.cloud.wait_for_state(instance['uuid'],
                                              vm_states.ACTIVE)
        self.assertIsNone(confirmed['task_state'])
        self.assertEqual([], self.guests(source))
        self.assertEqual([instance['uuid']], self.guests(dest))
        self.assertIsNone(self.allocation_host(migration['uuid']))
        self.assertEqual(dest, self.allocation_host(instance['uuid']))
        node = self.db.compute_node_get_all_by_host(self.ctx, source)[0]
        self.assertEqual(0, node['memory_mb_used'])
        self.assertEqual([dest], self.port_hosts(instance['uuid']))

    def test_resize_and_revert(self):
        instance = self.boot_active()
        source = instance['host']
        resized = self.resize(instance)
        migration = self.migration(instance['uuid'])
        self.assertEqual([self.other(source)],
                         self.port_hosts(instance['uuid']))
        self.cloud.compute_api.revert_resize(self.ctx, resized)
        self.wait_for_migration(instance['uuid'], 'reverted')
        reverted = self.cloud.wait_for_state(instance['uuid'],
                                             vm_states.ACTIVE)
        self.assertEqual(source, reverted['host'])
        self.assertEqual([source], self.port_hosts(instance['uuid']))
        self.assertEqual('1', reverted['flavor']['flavorid'])
        self.assertEqual(instance['memory_mb'], reverted['memory_mb'])
        self.assertEqual([instance['uuid']], self.guests(source))
        self.assertEqual([], self.guests(self.other(source)))
        self.assertEqual(source, self.allocation_host(instance['uuid']))
        self.assertIsNone(self.allocation_host(migration['uuid']))
        dest_node = self.db.compute_node_get_all_by_host(
            self.ctx, self.other(source))[0]
        self.assertEqual(0, dest_node['memory_mb_used'])

    def test_cold_migrate_keeps_the_flavor(self):
        instance = self.boot_active()
        self.cloud.compute_api.migrate(self.ctx, instance)
        resized = self.cloud.wait_for_state(instance['uuid'],
                                            vm_states.RESIZED)
        self.assertEqual(self.other(instance['host']), resized['host'])
        self.assertEqual('1', resized['flavor']['flavorid'])
        self.assertEqual('migration',
                         self.migration(instance['uuid'])['migration_type'])

    def test_stopped_instance_stays_stopped(self):
        instance = self.boot_active()
        self.cloud.compute_api.stop(self.ctx, instance)
        stopped = self.cloud.wait_for_state(instance['uuid'],
                                            vm_states.STOPPED)
        resized = self.resize(stopped)
        self.cloud.compute_api.confirm_resize(self.ctx, resized)
        self.wait_for_migration(instance['uuid'], 'confirmed')
        self.cloud.wait_for_state(instance['uuid'], vm_states.STOPPED)

    def test_events_of_every_host_under_one_action(self):
        instance = self.boot_active()
        self.resize(instance)
        action = self.cloud.wait_for_action(instance['uuid'], 'resize')
        events = self.db.action_events_get(self.ctx, action['id'])
        names = [e['event'] for e in events]
        for stage in ('conductor.resize_instance.prep_resize',
                      'compute.prep_resize.claim_resources',
                      'compute.resize_instance.migrate_disk_and_power_off',
                      'compute.finish_resize.finish_migration'):
            self.assertIn(stage, names)
        hosts = {e['host'] for e in events}
        self.assertIn(instance['host'], hosts)
        self.assertIn(self.other(instance['host']), hosts)

    def test_same_flavor_resize_is_refused(self):
        instance = self.boot_active()
        self.assertRaises(exception.CannotResizeToSameFlavor,
                          self.cloud.compute_api.resize, self.ctx, instance,
                          '1')


class TestDeleteAndAutoConfirm(_ResizeBase):

    overrides = {'resize_confirm_window': 1}

    def test_delete_while_waiting_for_confirm_frees_both_hosts(self):
        instance = self.boot_active()
        source = instance['host']
        resized = self.resize(instance)
        migration = self.migration(instance['uuid'])
        self.cloud.compute_api.delete(self.ctx, resized)
        self.cloud.wait_for_deleted(instance['uuid'])
        self.assertEqual([], self.guests(source))
        self.assertEqual([], self.guests(self.other(source)))
        self.assertIsNone(self.allocation_host(instance['uuid']))
        self.assertIsNone(self.allocation_host(migration['uuid']))
        for host in ('compute1', 'compute2'):
            node = self.db.compute_node_get_all_by_host(self.ctx, host)[0]
            self.assertEqual(0, node['memory_mb_used'])

    def test_confirm_window_confirms_on_its_own(self):
        instance = self.boot_active()
        source = instance['host']
        resized = self.resize(instance)
        dest = self.cloud.manager(resized['host'])
        # The periodic task's body, as the service runs it once the
        # window has passed (the migration's updated_at is older).  The
        # destination's own periodic task (every half window) may get
        # there first; then this call finds nothing left to confirm.
        func_fixtures.wait_for(
            lambda: dest.poll_unconfirmed_resizes(self.ctx) or
            (self.migration(instance['uuid']) or {}).get('status') in (
                'confirming', 'confirmed'),
            what='the resize to be old enough to confirm')
        self.wait_for_migration(instance['uuid'], 'confirmed')
        self.cloud.wait_for_state(instance['uuid'], vm_states.ACTIVE)
        self.assertEqual([], self.guests(source))
        action = self.cloud.wait_for_action(instance['uuid'],
                                            'confirmResize')
        self.assertIsNone(action['message'])


class TestMissedRevert(_ResizeBase):
    """A host whose revert call failed (it was down past the call's
    life) does its part when it starts again."""

    def test_source_brings_the_instance_back_at_start(self):
        instance = self.boot_active()
        uuid, source = instance['uuid'], instance['host']
        self.useFixture(fixtures.EnvironmentVariable(
            'NOVA_FAULT_AT', 'compute.finish_resize.finish_migration:fail'))
        source_driver = self.cloud.manager(source).driver
        source_driver.inject_failure('finish_revert_migration')
        self.cloud.compute_api.resize(self.ctx, instance, '2')
        self.cloud.wait_for_action(uuid, 'resize')
        self.assertEqual(vm_states.ERROR,
                         self.cloud.instance(uuid)['vm_state'])
        self.assertEqual('error', self.migration(uuid)['status'])

        # What nova-compute's init_host runs after its own recovery.
        self.assertEqual(1, self.cloud.manager(
            source).finish_pending_move_reverts(self.ctx))
        server = self.cloud.instance(uuid)
        self.assertEqual((vm_states.ACTIVE, None, source, '1'), (
            server['vm_state'], server['task_state'], server['host'],
            server['flavor']['flavorid']))
        self.assertEqual('reverted', self.migration(uuid)['status'])
        self.assertEqual([uuid], self.guests(source))
        self.assertEqual(source, self.allocation_host(uuid))
        self.assertEqual(0, self.cloud.manager(
            source).finish_pending_move_reverts(self.ctx))

    def test_destination_destroys_a_guest_it_kept(self):
        instance = self.boot_active()
        uuid, source = instance['uuid'], instance['host']
        dest = self.other(source)
        resized = self.resize(instance)
        # The user's revert, with the destination's part lost: its
        # guest is left there.
        self.cloud.manager(dest).driver.inject_failure('destroy')
        self.cloud.compute_api.revert_resize(self.ctx, resized)
        self.cloud.wait_for_action(uuid, 'revertResize')
        self.assertIn(uuid, self.guests(dest))
        # The revert stopped at the destination: the source still has
        # to take the instance back, and then the destination cleans up.
        self.assertEqual(1, self.cloud.manager(
            source).finish_pending_move_reverts(self.ctx))
        self.assertEqual(1, self.cloud.manager(
            dest).finish_pending_move_reverts(self.ctx))
        self.assertEqual([], self.guests(dest))
        self.assertEqual([uuid], self.guests(source))
        self.assertEqual(source, self.cloud.instance(uuid)['host'])
        self.assertEqual(0, self.db.compute_node_get_all_by_host(
            self.ctx, dest)[0]['memory_mb_used'])


def _stages():
    """Every stage before its flow's point of no return, of every flow a
    resize runs (generated: a new stage is covered without editing)."""
    return [(stage_id, {'stage_id': stage_id}) for flow in MOVE_FLOWS
            for stage_id in stage_ids(flow)
            if not helpers.past_point_of_no_return(stage_id)]


class TestResizeFailures(_ResizeBase):
    """A failure in any stage of the move, on whichever host runs it:
    the instance is back on its source as it was, the migration is
    'error', and nothing is left on the destination."""

    scenarios = _stages()

    def test_failure_is_reverted_on_every_host(self):
        instance = self.boot_active()
        uuid = instance['uuid']
        source = instance['host']
        self.useFixture(fixtures.EnvironmentVariable(
            'NOVA_FAULT_AT', f'{self.stage_id}:fail'))
        self.cloud.compute_api.resize(self.ctx, instance, '2')
        action = self.cloud.wait_for_action(uuid, 'resize')
        self.assertEqual('Error', action['message'])
        current = self.cloud.instance(uuid)
        self.assertEqual((vm_states.ACTIVE, source, '1'), (
            current['vm_state'], current['host'],
            current['flavor']['flavorid']))
        self.assertEqual([uuid], self.guests(source))
        self.assertEqual([], self.guests(self.other(source)))
        self.assertEqual(source, self.allocation_host(uuid))
        migrations = self.db.migration_get_all_by_filters(
            self.ctx, {'instance_uuid': uuid})
        # None when the move failed before its record was written.
        for migration in migrations:
            self.assertEqual('error', migration['status'])
            self.assertIsNone(self.allocation_host(migration['uuid']))
        dest_node = self.db.compute_node_get_all_by_host(
            self.ctx, self.other(source))[0]
        self.assertEqual(0, dest_node['memory_mb_used'])
        faults = self.db.instance_fault_get_by_instance_uuids(
            self.ctx, [uuid])[uuid]
        self.assertTrue([f for f in faults if 'injected failure in ' +
                         self.stage_id in f['message'] + (f['details'] or '')],
                        faults)
        self.assertIsNone(current['task_state'])
