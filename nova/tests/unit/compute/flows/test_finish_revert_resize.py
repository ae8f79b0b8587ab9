"""compute.finish_revert_resize with the vendor kit, on two compute
hosts.

Read next to nova/compute/flows/finish_revert_resize.py: the source's
part of a revert - the destination's claim dropped, the instance back
on this host with its old flavor, the original guest started, ACTIVE
and the migration 'reverted'.  No stage reverts; the conductor's failure
handlers (record_fault, set_error, set_migration_error) take the error,
and the source finishes its missed part when its nova-compute starts
again (ComputeManager.finish_pending_move_reverts).
"""

from __future__ import annotations

import testscenarios

from nova.compute import power_state, task_states, vm_states
from nova.tests.unit.compute.flows import kit

load_tests = testscenarios.load_tests_apply_scenarios

FLOW = 'compute.finish_revert_resize'
CONDUCTOR = 'conductor.revert_resize'
STAGES = ['drop_move_claim', 'update_reverted_host',
          'setup_networks_on_host', 'load_network_info',
          'load_block_device_info', 'finish_revert_migration',
          'update_reverted']


class TestFinishRevertResize(kit.MoveKitTestCase):

    watching = (FLOW, '1.0', ['update_reverted_host'], kit.host_and_flavor)

    def test_stages_and_effects(self):
        move = self.resized_move()
        uuid, source, dest = move.uuid, move.source, move.dest
        self.cloud.compute_api.revert_resize(self.cloud.ctx, move.server)
        self.assertEqual('success',
                         self.cloud.wait_for_run(uuid, CONDUCTOR)['status'])
        self.cloud.assert_stages_ran(uuid, FLOW, STAGES)
        # update_reverted_host: the source's again, with the old flavor.
        self.assertEqual({'update_reverted_host': (
            source, kit.FROM_FLAVOR, task_states.RESIZE_REVERTING)},
            self.seen)
        # setup_networks_on_host: the ports, which followed the
        # instance to the destination, are back on the source.
        self.assertEqual([source], self.port_hosts(uuid))
        # drop_move_claim: only the source's share is held.
        self.assertEqual((kit.FROM_USAGE, kit.NO_USAGE),
                         (self.node_usage(source), self.node_usage(dest)))
        # finish_revert_migration: the original guest runs again.
        guest = self.guest(source, uuid)
        self.assertEqual((power_state.RUNNING, None, 512),
                         (guest['power_state'], guest['migration'],
                          guest['memory_mb']))
        # update_reverted: ACTIVE, the migration 'reverted'.
        back = self.cloud.wait_for_state(uuid, vm_states.ACTIVE)
        self.assertEqual((source, kit.FROM_FLAVOR, 512),
                         (back['host'], back['flavor']['flavorid'],
                          back['memory_mb']))
        self.assertEqual('reverted', self.newest_migration(uuid)['status'])


class TestFinishRevertResizeFails(kit.MoveKitTestCase):
    """A failure at any stage: nothing is reverted, the instance goes to
    ERROR and the migration to 'error', with the fault; the source's
    nova-compute, restarted, takes the instance back."""

    scenarios = [(s, {'stage': s}) for s in STAGES]

    def test_failure_handlers_and_finish_at_restart(self):
        move = self.resized_move()
        uuid, source, dest = move.uuid, move.source, move.dest
        self.cloud.fail_at(f'{FLOW}.{self.stage}')
        self.cloud.compute_api.revert_resize(self.cloud.ctx, move.server)
        self.assertEqual('error',
                         self.cloud.wait_for_run(uuid, CONDUCTOR)['status'])
        self.assertEqual('error',
                         self.cloud.wait_for_run(uuid, FLOW)['status'])
        self.assert_failed_to_error(move, FLOW, CONDUCTOR)
        # The destination's part was done: its guest is gone.
        self.assertEqual([], self.cloud.guests(dest))

        self.cloud.clear_failures()
        service = self.cloud.compute_service(source)
        service.stop()
        service.start()
        back = self.cloud.wait_for_state(uuid, vm_states.ACTIVE)
        self.assertEqual('success',
                         self.cloud.wait_for_run(uuid, FLOW)['status'])
        self.assertEqual((source, kit.FROM_FLAVOR),
                         (back['host'], back['flavor']['flavorid']))
        self.assertEqual([source], self.port_hosts(uuid))
        self.assertEqual(power_state.RUNNING,
                         self.guest(source, uuid)['power_state'])
        self.assertEqual((kit.FROM_USAGE, kit.NO_USAGE),
                         (self.node_usage(source), self.node_usage(dest)))
