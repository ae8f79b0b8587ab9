"""conductor.live_migrate_instance with the vendor kit, on two hosts.

Read next to nova/conductor/flows/live_migrate_instance.py: the stages
and their effect (the guest and the claim on the destination, the
migration completed), and for a failure at each stage before the point
of no return (update_instance_host) the reverts and the failure handlers
(record_fault, restore_instance): the server stays on its source.
"""

from __future__ import annotations

import testscenarios

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
