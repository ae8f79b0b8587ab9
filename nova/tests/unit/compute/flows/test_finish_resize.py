"""compute.finish_resize with the vendor kit, on two compute hosts.

Read next to nova/compute/flows/finish_resize.py: the destination takes
the instance (host, node, new flavor), starts the moved guest and leaves
it RESIZED (VERIFY_RESIZE) with the migration 'finished'; the revert of
finish_migration (the new guest destroyed), and what the conductor does
with the error (revert on both hosts, record_fault, restore_instance).
"""

from __future__ import annotations

import testscenarios

from nova.compute import power_state, task_states, vm_states
from nova.tests.unit.compute.flows import kit

load_tests = testscenarios.load_tests_apply_scenarios

FLOW = 'compute.finish_resize'
CONDUCTOR = 'conductor.resize_instance'
STAGES = ['update_resize_finish', 'setup_networks_on_host',
          'load_network_info',
          'load_block_device_info', 'finish_migration', 'update_resized']
REVERTING = ['setup_networks_on_host', 'finish_migration']


class TestFinishResize(kit.MoveKitTestCase):

    watching = (FLOW, '1.0', ['update_resize_finish'], kit.host_and_flavor)

    def test_stages_and_effects(self):
        move = self.resized_move()
        uuid, dest, resized = move.uuid, move.dest, move.server
        self.cloud.assert_stages_ran(uuid, FLOW, STAGES)
        # update_resize_finish: the instance is the destination's, with
        # the new flavor, before its guest starts there.
        self.assertEqual({'update_resize_finish': (
            dest, kit.TO_FLAVOR, task_states.RESIZE_FINISH)}, self.seen)
        # setup_networks_on_host: the ports follow the instance.
        self.assertEqual([dest], self.port_hosts(uuid))
        # finish_migration: the guest runs here with the new sizes.
        guest = self.guest(dest, uuid)
        self.assertEqual((power_state.RUNNING, None, 2048),
                         (guest['power_state'], guest['migration'],
                          guest['memory_mb']))
        # update_resized: VERIFY_RESIZE, the migration 'finished'.
        self.assertEqual((vm_states.RESIZED, None, power_state.RUNNING,
                          kit.TO_FLAVOR, 2048),
                         (resized['vm_state'], resized['task_state'],
                          resized['power_state'],
                          resized['flavor']['flavorid'],
                          resized['memory_mb']))
        self.assertEqual('finished', self.newest_migration(uuid)['status'])


class TestFinishResizeFails(kit.MoveKitTestCase):
    """A failure at any stage up to the point of no return: a guest
    started here is destroyed, then the conductor reverts its three host
    stages: the server runs on its source with its old flavor again."""

    scenarios = [(s, {'stage': s}) for s in STAGES]

    def test_reverts_and_failure_handlers(self):
        move, run = self.failed_move(self.resize, f'{FLOW}.{self.stage}')
        self.assertEqual(('error', 'error'), (
            run['status'],
            self.cloud.wait_for_run(move.uuid, FLOW)['status']))
        self.assert_reverted(move.uuid, FLOW, STAGES, REVERTING, self.stage)
        self.assertEqual([f'{CONDUCTOR}.finish_resize',
                          f'{CONDUCTOR}.resize_instance',
                          f'{CONDUCTOR}.prep_resize'],
                         self.cloud.reverted_stages(move.uuid, CONDUCTOR))
        back = self.assert_back_on_source(move)
        self.assertEqual((kit.FROM_FLAVOR, 512),
                         (back['flavor']['flavorid'], back['memory_mb']))
        self.assertEqual([move.source], self.port_hosts(move.uuid))
