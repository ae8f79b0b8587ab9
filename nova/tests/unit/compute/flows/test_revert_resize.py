"""compute.revert_resize with the vendor kit, on two compute hosts.

Read next to nova/compute/flows/revert_resize.py: the destination's part
of a revert - the migration 'reverting', the guest the move made there
destroyed - before the source's compute.finish_revert_resize.  No stage
reverts; the conductor's failure handlers (record_fault, set_error,
set_migration_error) take the error and the source's part is not run.
"""

from __future__ import annotations

import testscenarios

from nova.compute import power_state, vm_states
from nova.tests.unit.compute.flows import kit

load_tests = testscenarios.load_tests_apply_scenarios

FLOW = 'compute.revert_resize'
CONDUCTOR = 'conductor.revert_resize'
STAGES = ['update_migration_reverting', 'load_network_info',
          'load_block_device_info', 'destroy_guest']


class TestRevertResize(kit.MoveKitTestCase):

    watching = (FLOW, '1.0', ['update_migration_reverting'],
                kit.migration_status)

    def test_stages_and_effects(self):
        move = self.resized_move()
        uuid, dest = move.uuid, move.dest
        self.cloud.compute_api.revert_resize(self.cloud.ctx, move.server)
        self.assertEqual('success',
                         self.cloud.wait_for_run(uuid, CONDUCTOR)['status'])
        self.cloud.assert_stages_ran(uuid, FLOW, STAGES)
        self.assertEqual({'update_migration_reverting': 'reverting'},
                         self.seen)
        # destroy_guest: nothing of the move is left on the destination.
        self.assertEqual([], self.cloud.guests(dest))
        self.assertEqual(kit.NO_USAGE, self.node_usage(dest))
        self.cloud.wait_for_state(uuid, vm_states.ACTIVE)


class TestRevertResizeFails(kit.MoveKitTestCase):
    """A failure at any stage: nothing is reverted, the source's part
    does not run (its guest stays off, handed over); the instance goes
    to ERROR and the migration to 'error', with the fault."""

    scenarios = [(s, {'stage': s}) for s in STAGES]

    def test_failure_handlers(self):
        move = self.resized_move()
        uuid = move.uuid
        self.cloud.fail_at(f'{FLOW}.{self.stage}')
        self.cloud.compute_api.revert_resize(self.cloud.ctx, move.server)
        self.assertEqual('error',
                         self.cloud.wait_for_run(uuid, CONDUCTOR)['status'])
        self.assertEqual('error',
                         self.cloud.wait_for_run(uuid, FLOW)['status'])
        self.assert_failed_to_error(move, FLOW, CONDUCTOR)
        self.cloud.assert_stages_ran(uuid, CONDUCTOR,
                                     ['revert_on_destination'])
        self.assertEqual(power_state.SHUTDOWN,
                         self.guest(move.source, uuid)['power_state'])
