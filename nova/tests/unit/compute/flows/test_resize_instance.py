"""compute.resize_instance with the vendor kit, on two compute hosts.

Read next to nova/compute/flows/resize_instance.py: the source's part of
a resize (task and migration status, the guest powered off and handed
over), the revert of migrate_disk_and_power_off (the guest back as it
was), and what the conductor does with the error (the source takes the
instance back: compute.finish_revert_resize; record_fault,
restore_instance).
"""

from __future__ import annotations

import testscenarios

from nova.compute import power_state, task_states
from nova.tests.unit.compute.flows import kit

load_tests = testscenarios.load_tests_apply_scenarios

FLOW = 'compute.resize_instance'
CONDUCTOR = 'conductor.resize_instance'
STAGES = ['update_resize_migrating', 'load_network_info',
          'load_block_device_info', 'migrate_disk_and_power_off',
          'update_resize_migrated']


def _status(state):
    return (state.instance['task_state'], state.migration['status'])


class TestResizeInstance(kit.MoveKitTestCase):

    watching = (FLOW, '1.0', ['update_resize_migrating',
                              'migrate_disk_and_power_off',
                              'update_resize_migrated'], _status)

    def test_stages_and_effects(self):
        source, resized = self.resized_server()
        uuid = resized['uuid']
        self.cloud.assert_stages_ran(uuid, FLOW, STAGES)
        self.assertEqual({
            'update_resize_migrating': (task_states.RESIZE_MIGRATING,
                                        'migrating'),
            'migrate_disk_and_power_off': (task_states.RESIZE_MIGRATING,
                                           'migrating'),
            'update_resize_migrated': (task_states.RESIZE_MIGRATED,
                                       'post-migrating')}, self.seen)
        # migrate_disk_and_power_off: the source's guest is kept, off,
        # until the user confirms (or reverts) the move.
        guest = self.guest(source, uuid)
        self.assertEqual((power_state.SHUTDOWN, 'source'),
                         (guest['power_state'], guest['migration']))


class TestResizeInstanceFails(kit.MoveKitTestCase):
    """A failure at any stage: the guest is restored here if it was
    handed over, the conductor reverts resize_instance (the source takes
    the instance back) and prep_resize: the server runs on its source
    with its old flavor, nothing is held on the destination."""

    scenarios = [(s, {'stage': s}) for s in STAGES]

    def test_reverts_and_failure_handlers(self):
        move, run = self.failed_move(self.resize, f'{FLOW}.{self.stage}')
        self.assertEqual(('error', 'error'), (
            run['status'],
            self.cloud.wait_for_run(move.uuid, FLOW)['status']))
        self.assert_reverted(move.uuid, FLOW, STAGES,
                             ['migrate_disk_and_power_off'], self.stage)
        self.assertEqual([f'{CONDUCTOR}.resize_instance',
                          f'{CONDUCTOR}.prep_resize'],
                         self.cloud.reverted_stages(move.uuid, CONDUCTOR))
        back = self.assert_back_on_source(move)
        self.assertEqual((kit.FROM_FLAVOR, power_state.RUNNING),
                         (back['flavor']['flavorid'], back['power_state']))
        guest = self.guest(move.source, move.uuid)
        self.assertEqual((power_state.RUNNING, None),
                         (guest['power_state'], guest['migration']))
