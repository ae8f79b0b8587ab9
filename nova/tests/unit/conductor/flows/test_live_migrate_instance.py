"""conductor.live_migrate_instance with the vendor kit, on two hosts.

Read next to nova/conductor/flows/live_migrate_instance.py: the stages
and their effect (the guest and the claim on the destination, the
migration completed), and for a failure at each stage before the point
of no return (update_instance_host) the reverts and the failure handlers
(record_fault, restore_instance): the server stays on its source.
"""

from __future__ import annotations

import fixtures
import oslo_messaging as messaging
import testscenarios

from nova.compute import rpcapi as compute_rpcapi
from nova.compute import vm_states
from nova.tests.unit.compute.flows import kit

load_tests = testscenarios.load_tests_apply_scenarios

FLOW = 'conductor.live_migrate_instance'
STAGES = ['select_destination', 'create_migration', 'check_can_live_migrate',
          'pre_live_migration', 'live_migration', 'update_instance_host',
          'post_live_migration', 'post_live_migration_at_destination',
          'finish_migration']


class _LiveTestCase(kit.FlowKitTestCase):

    cloud_options = {'compute_hosts': ('compute1', 'compute2')}

    def guests(self, host):
        return self.cloud.manager(host).driver.list_instance_uuids()

    def migrations(self, uuid):
        return self.cloud.db.migration_get_all_by_filters(
            self.cloud.ctx, {'instance_uuid': uuid})

    def live_migrate(self, server):
        self.cloud.compute_api.live_migrate(self.cloud.ctx, server, None,
                                            'auto')
        return self.cloud.wait_for_run(server['uuid'], FLOW)


class TestLiveMigrate(_LiveTestCase):

    def test_stages_and_effects(self):
        server = self.active_server()
        uuid, source = server['uuid'], server['host']
        dest = 'compute2' if source == 'compute1' else 'compute1'
        self.assertEqual('success', self.live_migrate(server)['status'])
        self.cloud.assert_stages_ran(uuid, FLOW, STAGES)
        moved = self.cloud.wait_for_state(uuid, vm_states.ACTIVE)
        self.assertEqual(dest, moved['host'])
        self.assertEqual(([uuid], []), (self.guests(dest),
                                        self.guests(source)))
        (migration,) = self.migrations(uuid)
        self.assertEqual('completed', migration['status'])


class TestLiveMigrateFails(_LiveTestCase):

    scenarios = [(s, {'stage': s}) for s in STAGES[:STAGES.index(
        'update_instance_host')]]

    def test_reverts_and_failure_handlers(self):
        server = self.active_server()
        uuid, source = server['uuid'], server['host']
        self.cloud.fail_at(f'{FLOW}.{self.stage}')
        self.assertEqual('error', self.live_migrate(server)['status'])
        expected = [f'{FLOW}.pre_live_migration'] if STAGES.index(
            self.stage) >= STAGES.index('pre_live_migration') else []
        self.assertEqual(expected, self.cloud.reverted_stages(uuid, FLOW))
        back = self.cloud.wait_for_state(uuid, vm_states.ACTIVE)
        self.assertEqual(source, back['host'])
        self.assertEqual([uuid], self.guests(source))
        self.assertEqual('InjectedFailure',
                         self.cloud.faults(uuid)[0]['message'])


class TestRollbackUnanswered(_LiveTestCase):
    """A destination that does not answer its rollback (it died in it)
    is asked again, the call waiting until it is back: the instance runs
    on its source, ACTIVE, the migration 'error' - not ERROR and
    'failed', as when the revert failed."""

    def test_rollback_is_asked_again(self):
        server = self.active_server()
        uuid, source = server['uuid'], server['host']
        dest = 'compute2' if source == 'compute1' else 'compute1'
        real = compute_rpcapi.ComputeAPI.rollback_live_migration_at_destination
        waited = []

        def rollback(rpcapi, ctx, instance, migration, migrate_data,
                     wait_for_host=False):
            waited.append(wait_for_host)
            if not wait_for_host:
                raise messaging.MessagingTimeout('no heartbeat')
            real(rpcapi, ctx, instance, migration, migrate_data,
                 wait_for_host=True)

        self.useFixture(fixtures.MockPatchObject(
            compute_rpcapi.ComputeAPI,
            'rollback_live_migration_at_destination', rollback))
        self.cloud.fail_at(f'{FLOW}.live_migration')
        self.assertEqual('error', self.live_migrate(server)['status'])
        self.assertEqual([False, True], waited)
        back = self.cloud.wait_for_state(uuid, vm_states.ACTIVE)
        self.assertEqual((source, None), (back['host'], back['task_state']))
        self.assertEqual(([uuid], []), (self.guests(source),
                                        self.guests(dest)))
        (migration,) = self.migrations(uuid)
        self.assertEqual('error', migration['status'])
