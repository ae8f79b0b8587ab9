"""compute.prep_resize with the vendor kit, on two compute hosts.

Read next to nova/compute/flows/prep_resize.py: the destination's claim
of the new flavor (the source's share passes to the migration), the
revert of claim_resources, and what the conductor does with the error
(its own revert of prep_resize, record_fault, restore_instance).
"""

from __future__ import annotations

import testscenarios

from nova.compute import vm_states
from nova.tests.unit.compute.flows import kit

load_tests = testscenarios.load_tests_apply_scenarios

FLOW = 'compute.prep_resize'
CONDUCTOR = 'conductor.resize_instance'
STAGES = ['check_can_move_here', 'claim_resources']


class TestPrepResize(kit.MoveKitTestCase):

    def test_stages_and_effect(self):
        source, resized = self.resized_server()
        uuid, dest = resized['uuid'], resized['host']
        self.cloud.assert_stages_ran(uuid, FLOW, STAGES)
        self.assertEqual(self.cloud.other_host(source), dest)
        # claim_resources: the new flavor on the destination; the
        # source's share stays held (by the migration) until the confirm.
        self.assertEqual(kit.TO_USAGE, self.node_usage(dest))
        self.assertEqual(kit.FROM_USAGE, self.node_usage(source))


class TestPrepResizeFails(kit.MoveKitTestCase):
    """A failure at either stage: the claim (if made) is dropped here,
    the conductor reverts its prep_resize stage and puts the server back
    ACTIVE on its source with the error as its fault."""

    scenarios = [(s, {'stage': s}) for s in STAGES]

    def test_reverts_and_failure_handlers(self):
        server = self.active_server()
        uuid, source = server['uuid'], server['host']
        dest = self.cloud.other_host(source)
        self.cloud.fail_at(f'{FLOW}.{self.stage}')
        self.assertEqual('error', self.resize(server)['status'])
        run = self.cloud.wait_for_run(uuid, FLOW)
        self.assertEqual('error', run['status'])
        expected = ([f'{FLOW}.claim_resources']
                    if self.stage == 'claim_resources' else [])
        self.assertEqual(expected, self.cloud.reverted_stages(uuid, FLOW))
        self.assertEqual([f'{CONDUCTOR}.prep_resize'],
                         self.cloud.reverted_stages(uuid, CONDUCTOR))
        back = self.cloud.wait_for_state(uuid, vm_states.ACTIVE)
        self.assertEqual((source, kit.FROM_FLAVOR),
                         (back['host'], back['flavor']['flavorid']))
        self.assertEqual(kit.NO_USAGE, self.node_usage(dest))
        self.assertEqual(kit.FROM_USAGE, self.node_usage(source))
        self.assertEqual('error', self.newest_migration(uuid)['status'])
        self.assertIn('InjectedFailure',
                      self.cloud.faults(uuid)[0]['message'])


class TestMoveToTheSameHost(kit.MoveKitTestCase):
    """check_can_move_here: a resize onto the host the server is on
    needs the driver's supports_migrate_to_same_host (the fake driver
    has it)."""

    cloud_options = {'compute_hosts': ('compute1',),
                     'allow_resize_to_same_host': True}

    def test_resize_on_one_host(self):
        server = self.active_server()
        self.assertEqual('success', self.resize(server)['status'])
        resized = self.cloud.wait_for_state(server['uuid'],
                                            vm_states.RESIZED)
        self.assertEqual('compute1', resized['host'])
        self.cloud.assert_stages_ran(server['uuid'], FLOW, STAGES)

    def test_refused_without_the_driver_support(self):
        driver = self.cloud.manager().driver
        driver.capabilities = dict(driver.capabilities,
                                   supports_migrate_to_same_host=False)
        server = self.active_server()
        self.assertEqual('error', self.resize(server)['status'])
        self.assertEqual(['compute.prep_resize.check_can_move_here'],
                         self.cloud.stages_run(server['uuid'], FLOW))
        back = self.cloud.wait_for_state(server['uuid'], vm_states.ACTIVE)
        self.assertEqual(kit.FROM_FLAVOR, back['flavor']['flavorid'])
        self.assertIn('cannot move an instance to the host it is on',
                      self.cloud.faults(server['uuid'])[0]['message'])
