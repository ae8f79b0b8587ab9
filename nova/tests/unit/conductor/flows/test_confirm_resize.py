"""conductor.confirm_resize with the vendor kit, on two compute hosts.

Read next to nova/conductor/flows/confirm_resize.py: one stage, the
source's part (compute.confirm_resize); a confirm cannot be undone, so
nothing reverts and the failure handlers (record_fault, set_error,
set_migration_error) leave the server ERROR on its new host with the
migration 'error'.
"""

from __future__ import annotations

from nova.compute import vm_states
from nova.tests.unit.compute.flows import kit

FLOW = 'conductor.confirm_resize'


class TestConfirmResize(kit.MoveKitTestCase):

    def test_stage_and_effect(self):
        source, resized = self.resized_server()
        uuid, dest = resized['uuid'], resized['host']
        self.cloud.compute_api.confirm_resize(self.cloud.ctx, resized)
        self.assertEqual('success',
                         self.cloud.wait_for_run(uuid, FLOW)['status'])
        self.cloud.assert_stages_ran(uuid, FLOW, ['confirm_on_source'])
        confirmed = self.cloud.wait_for_state(uuid, vm_states.ACTIVE)
        self.assertEqual((dest, kit.TO_FLAVOR),
                         (confirmed['host'], confirmed['flavor']['flavorid']))
        self.assertEqual([], self.cloud.guests(source))
        self.assertEqual((kit.NO_USAGE, kit.TO_USAGE),
                         (self.node_usage(source), self.node_usage(dest)))
        self.assertEqual('confirmed', self.newest_migration(uuid)['status'])


class TestConfirmResizeFails(kit.MoveKitTestCase):

    def test_failure_handlers(self):
        _, resized = self.resized_server()
        uuid, dest = resized['uuid'], resized['host']
        self.cloud.fail_at(f'{FLOW}.confirm_on_source')
        self.cloud.compute_api.confirm_resize(self.cloud.ctx, resized)
        self.assertEqual('error',
                         self.cloud.wait_for_run(uuid, FLOW)['status'])
        self.assertEqual([], self.cloud.reverted_stages(uuid, FLOW))
        failed = self.cloud.wait_for_state(uuid, vm_states.ERROR)
        self.assertEqual(dest, failed['host'])
        self.assertEqual('error', self.newest_migration(uuid)['status'])
        self.assertEqual('InjectedFailure',
                         self.cloud.faults(uuid)[0]['message'])
