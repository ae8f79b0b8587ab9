"""compute.post_live_migration_at_source with the vendor kit, on two
compute hosts.

Read next to nova/compute/flows/post_live_migration_at_source.py: the
source's driver removes what the guest left there once it runs on the
destination.  No stage reverts: it runs past the conductor's point of
no return (update_instance_host), so a failure is recorded and the
conductor still finishes the move.
"""

from __future__ import annotations

import testscenarios

from nova.compute import vm_states
from nova.tests.unit.compute.flows import kit

load_tests = testscenarios.load_tests_apply_scenarios

FLOW = 'compute.post_live_migration_at_source'
CONDUCTOR = 'conductor.live_migrate_instance'
STAGES = ['load_block_device_info', 'post_live_migration']


class TestPostLiveMigrationAtSource(kit.MoveKitTestCase):

    def test_stages_and_effects(self):
        server = self.active_server()
        uuid, source = server['uuid'], server['host']
        self.assertEqual('success', self.live_migrate(server)['status'])
        self.cloud.assert_stages_ran(uuid, FLOW, STAGES)
        # post_live_migration: nothing of the guest is left here.
        self.assertFalse(self.cloud.has_guest(source, uuid))
        self.assertEqual([], self.cloud.guests(source))
        events = self.cloud.events(uuid, 'live-migration')
        self.assertEqual([(f'{FLOW}.{s}', 'Success') for s in STAGES],
                         [e for e in events if e[0].startswith(FLOW + '.')])


class TestPostLiveMigrationAtSourceFails(kit.MoveKitTestCase):
    """A failure at any stage: nothing is reverted; the conductor
    records the failed stage and finishes the move on the destination."""

    scenarios = [(s, {'stage': s}) for s in STAGES]

    def test_failure_is_recorded_and_the_move_finished(self):
        move, run = self.failed_move(self.live_migrate,
                                     f'{FLOW}.{self.stage}')
        uuid, dest = move.uuid, move.dest
        self.assertEqual(('success', 'error'), (
            run['status'], self.cloud.wait_for_run(uuid, FLOW)['status']))
        self.assertEqual([], self.cloud.reverted_stages(uuid, FLOW))
        self.assertEqual([], self.cloud.reverted_stages(uuid, CONDUCTOR))
        self.assertIn((f'{CONDUCTOR}.post_live_migration', 'Error'),
                      self.cloud.events(uuid, 'live-migration'))
        moved = self.cloud.wait_for_state(uuid, vm_states.ACTIVE)
        self.assertEqual(dest, moved['host'])
        self.assertEqual([uuid], self.cloud.guests(dest))
        self.assertEqual('completed', self.newest_migration(uuid)['status'])
