"""conductor.evacuate_instance with the vendor kit, on two compute hosts.

Read next to nova/conductor/flows/evacuate_instance.py: a host down
(the kit's host_down), the scheduler's choice of the other host, the
evacuation's migration record, the destination's part
(compute.evacuate_instance); the revert of rebuild_on_destination and
the failure handler (set_error: ERROR on the source, the migration
'failed' - or, when no host was found, the vm_state kept).
"""

from __future__ import annotations

import testscenarios

from nova import exception
from nova.compute import vm_states
from nova.tests.unit.compute.flows import kit

load_tests = testscenarios.load_tests_apply_scenarios

FLOW = 'conductor.evacuate_instance'
STAGES = ['select_destination', 'create_migration',
          'rebuild_on_destination']


class TestEvacuate(kit.MoveKitTestCase):

    def test_stages_and_effects(self):
        server = self.active_server()
        uuid, source = server['uuid'], server['host']
        dest = self.cloud.other_host(source)
        self.assertEqual('success', self.evacuate(server)['status'])
        self.cloud.assert_stages_ran(uuid, FLOW, STAGES)
        # select_destination: never the source; create_migration: an
        # evacuation; rebuild_on_destination: the server there.
        moved = self.cloud.wait_for_state(uuid, vm_states.ACTIVE)
        self.assertEqual(dest, moved['host'])
        (migration,) = self.cloud.migrations(uuid)
        self.assertEqual(('evacuation', source, dest, 'done'),
                         (migration['migration_type'],
                          migration['source_compute'],
                          migration['dest_compute'], migration['status']))
        self.assertEqual([uuid], self.cloud.guests(dest))
        events = self.cloud.events(uuid, 'evacuate')
        self.assertEqual([(f'{FLOW}.{s}', 'Success') for s in STAGES],
                         [e for e in events if e[0].startswith(FLOW + '.')])


class TestEvacuateFails(kit.MoveKitTestCase):
    """A failure at any stage: the destination's claim is made sure of
    (rebuild_on_destination's revert), the instance is ERROR, still on
    its down source, and its migration (if made) 'failed'."""

    scenarios = [(s, {'stage': s}) for s in STAGES]

    def test_reverts_and_failure_handler(self):
        server = self.active_server()
        uuid, source = server['uuid'], server['host']
        dest = self.cloud.other_host(source)
        self.cloud.fail_at(f'{FLOW}.{self.stage}')
        self.assertEqual('error', self.evacuate(server)['status'])
        self.assertEqual(
            [f'{FLOW}.rebuild_on_destination']
            if self.stage == 'rebuild_on_destination' else [],
            self.cloud.reverted_stages(uuid, FLOW))
        failed = self.cloud.wait_for_state(uuid, vm_states.ERROR)
        self.assertEqual(source, failed['host'])
        self.assertEqual([], self.cloud.guests(dest))
        self.assertEqual((kit.FROM_USAGE, kit.NO_USAGE),
                         (self.node_usage(source), self.node_usage(dest)))
        migrations = self.cloud.migrations(uuid)
        if STAGES.index(self.stage) > STAGES.index('create_migration'):
            self.assertEqual(['failed'], [m['status'] for m in migrations])
        self.assertIn('InjectedFailure',
                      self.cloud.faults(uuid)[0]['message'])


class TestNoValidHost(kit.MoveKitTestCase):

    def test_vm_state_is_kept(self):
        server = self.active_server()
        uuid = server['uuid']
        self.cloud.fail_at(f'{FLOW}.select_destination',
                           exc=exception.NoValidHost(reason='none left'))
        self.assertEqual('error', self.evacuate(server)['status'])
        self.assertEqual(server['host'], self.cloud.wait_for_state(
            uuid, vm_states.ACTIVE)['host'])
        self.assertEqual([], self.cloud.migrations(uuid))
        self.assertIn('No valid host',
                      self.cloud.faults(uuid)[0]['message'])
