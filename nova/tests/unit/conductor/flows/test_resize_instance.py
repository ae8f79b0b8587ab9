"""conductor.resize_instance with the vendor kit, on two compute hosts.

Read next to nova/conductor/flows/resize_instance.py: each stage's
effect (the destination, the migration record, each host's part), the
reverts after a failure at each stage, and the failure handlers
(record_fault, restore_instance).  The user's confirm and revert:
test_confirm_resize.py, test_revert_resize.py.
"""

from __future__ import annotations

import testscenarios

from nova.compute import vm_states
from nova.tests.unit.compute.flows import kit

load_tests = testscenarios.load_tests_apply_scenarios

FLOW = 'conductor.resize_instance'
STAGES = ['select_destination', 'create_migration', 'prep_resize',
          'resize_instance', 'finish_resize']
REVERTING = ['prep_resize', 'resize_instance', 'finish_resize']


class _ResizeTestCase(kit.FlowKitTestCase):

    cloud_options = {'compute_hosts': ('compute1', 'compute2')}

    def migrations(self, uuid):
        return self.cloud.db.migration_get_all_by_filters(
            self.cloud.ctx, {'instance_uuid': uuid})

    def guests(self, host):
        return self.cloud.manager(host).driver.list_instance_uuids()


class TestResize(_ResizeTestCase):

    def test_stages_and_effects(self):
        server = self.active_server()
        uuid, source = server['uuid'], server['host']
        self.cloud.compute_api.resize(self.cloud.ctx, server, '2')
        resized = self.cloud.wait_for_state(uuid, vm_states.RESIZED)
        self.cloud.wait_for_run(uuid, FLOW)
        self.cloud.assert_stages_ran(uuid, FLOW, STAGES)
        # select_destination: never the source; finish_resize: the new
        # flavor on the destination, waiting for a confirm.
        self.assertNotEqual(source, resized['host'])
        self.assertEqual('2', resized['flavor']['flavorid'])
        self.assertIn(uuid, self.guests(resized['host']))
        (migration,) = self.migrations(uuid)
        self.assertEqual((source, resized['host'], 'resize'),
                         (migration['source_compute'],
                          migration['dest_compute'],
                          migration['migration_type']))


class TestResizeFails(_ResizeTestCase):
    """A failure at any stage: each completed host part is reverted on its
    host, newest first, and the server is back ACTIVE on its source."""

    scenarios = [(s, {'stage': s}) for s in STAGES]

    def test_reverts_and_failure_handlers(self):
        server = self.active_server()
        uuid, source = server['uuid'], server['host']
        self.cloud.fail_at(f'{FLOW}.{self.stage}')
        self.cloud.compute_api.resize(self.cloud.ctx, server, '2')
        run = self.cloud.wait_for_run(uuid, FLOW)
        self.assertEqual('error', run['status'])
        back = self.cloud.wait_for_state(uuid, vm_states.ACTIVE)
        position = STAGES.index(self.stage)
        expected = [f'{FLOW}.{s}' for s in reversed(REVERTING)
                    if STAGES.index(s) <= position]
        self.assertEqual(expected, self.cloud.reverted_stages(uuid, FLOW))
        self.assertEqual((source, '1'),
                         (back['host'], back['flavor']['flavorid']))
        self.assertEqual([uuid], self.guests(source))
        self.assertEqual([], self.guests(
            'compute2' if source == 'compute1' else 'compute1'))
        self.assertEqual('InjectedFailure',
                         self.cloud.faults(uuid)[0]['message'])
        for migration in self.migrations(uuid):
            self.assertEqual('error', migration['status'])
