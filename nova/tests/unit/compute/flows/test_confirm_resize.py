"""compute.confirm_resize with the vendor kit, on two compute hosts.

Read next to nova/compute/flows/confirm_resize.py: the source deletes
the guest the move left there and gives back what the migration held,
the instance is ACTIVE (or STOPPED, as it was) on its new host and the
migration 'confirmed'.  No stage reverts; the conductor's failure
handlers (record_fault, set_error, set_migration_error) take the error.
"""

from __future__ import annotations

import testscenarios

from nova.compute import power_state, vm_states
from nova.tests.unit.compute.flows import kit

load_tests = testscenarios.load_tests_apply_scenarios

FLOW = 'compute.confirm_resize'
CONDUCTOR = 'conductor.confirm_resize'
STAGES = ['update_migration_confirming', 'load_network_info',
          'confirm_migration', 'release_source_claim', 'update_confirmed']


class TestConfirmResize(kit.MoveKitTestCase):

    watching = (FLOW, '1.0', ['update_migration_confirming'],
                kit.migration_status)

    def confirm(self, resized):
        self.cloud.compute_api.confirm_resize(self.cloud.ctx, resized)
        return self.cloud.wait_for_run(resized['uuid'], CONDUCTOR)

    def test_stages_and_effects(self):
        move = self.resized_move()
        uuid, source, dest = move.uuid, move.source, move.dest
        self.assertEqual('success', self.confirm(move.server)['status'])
        self.cloud.assert_stages_ran(uuid, FLOW, STAGES)
        self.assertEqual({'update_migration_confirming': 'confirming'},
                         self.seen)
        confirmed = self.cloud.wait_for_state(uuid, vm_states.ACTIVE)
        self.assertEqual((dest, power_state.RUNNING),
                         (confirmed['host'], confirmed['power_state']))
        # confirm_migration: the source's guest is gone;
        # release_source_claim: the source's share is free again.
        self.assertEqual(([], [uuid]), (self.cloud.guests(source),
                                        self.cloud.guests(dest)))
        self.assertEqual((kit.NO_USAGE, kit.TO_USAGE),
                         (self.node_usage(source), self.node_usage(dest)))
        self.assertEqual('confirmed', self.newest_migration(uuid)['status'])

    def test_stopped_server_stays_stopped(self):
        server = self.active_server()
        self.cloud.compute_api.stop(self.cloud.ctx, server)
        stopped = self.cloud.wait_for_state(server['uuid'],
                                            vm_states.STOPPED)
        self.assertEqual('success', self.resize(stopped)['status'])
        resized = self.cloud.wait_for_state(server['uuid'],
                                            vm_states.RESIZED)
        self.confirm(resized)
        confirmed = self.cloud.wait_for_state(server['uuid'],
                                              vm_states.STOPPED)
        self.assertEqual(power_state.SHUTDOWN, confirmed['power_state'])


class TestConfirmResizeFails(kit.MoveKitTestCase):
    """A failure at any stage: nothing is reverted (a deleted guest
    cannot come back); the instance goes to ERROR on its new host and
    the migration to 'error', with the fault."""

    scenarios = [(s, {'stage': s}) for s in STAGES]

    def test_failure_handlers(self):
        move = self.resized_move()
        self.cloud.fail_at(f'{FLOW}.{self.stage}')
        self.cloud.compute_api.confirm_resize(self.cloud.ctx, move.server)
        self.assertEqual('error', self.cloud.wait_for_run(
            move.uuid, CONDUCTOR)['status'])
        self.assertEqual('error',
                         self.cloud.wait_for_run(move.uuid, FLOW)['status'])
        failed = self.assert_failed_to_error(move, FLOW, CONDUCTOR)
        self.assertEqual(move.dest, failed['host'])
        self.assertEqual([move.uuid], self.cloud.guests(move.dest))
