"""compute.build_instance, stage by stage, with the vendor hook test kit.

Read next to nova/compute/flows/build_instance.py: each stage's effect,
each revert after a failure at that stage, and the failure handlers
(record_fault, reschedule_or_error).
"""

from __future__ import annotations

import testscenarios

from nova import exception
from nova.compute import power_state, vm_states
from nova.flow import hooks
from nova.tests.unit.compute.flows import kit

load_tests = testscenarios.load_tests_apply_scenarios

FLOW = 'compute.build_instance'
STAGES = ['check_instance_not_already_created', 'check_image_size',
          'notify_usage_start', 'update_building', 'claim_resources',
          'validate_instance_group_policy', 'allocate_network',
          'prep_block_device', 'spawn.update_spawning',
          'spawn.driver_spawn', 'spawn.update_active', 'notify_usage_end']
#: The stages with a revert, in order.
REVERTING = ['claim_resources', 'validate_instance_group_policy',
             'allocate_network', 'prep_block_device', 'spawn.driver_spawn']


class TestBuildSucceeds(kit.FlowKitTestCase):

    def test_stages_and_their_effects(self):
        server = self.active_server()
        uuid = server['uuid']
        self.cloud.assert_stages_ran(uuid, FLOW, STAGES)
        # update_building / update_active: host, node, launched, running.
        self.assertEqual(('compute1', power_state.RUNNING),
                         (server['host'], server['power_state']))
        self.assertIsNotNone(server['launched_at'])
        # claim_resources: the flavor's share of the node.
        self.assertEqual((512, 1, 1), self.node_usage())
        # allocate_network: an address for the server.
        self.assertTrue(self.cloud.manager().services.network
                        .get_instance_nw_info(self.cloud.ctx, uuid))
        # driver_spawn: the guest exists.
        self.assertTrue(self.cloud.manager().driver.instance_exists(
            {'uuid': uuid}))
        # The create action also holds conductor.build_instances' events.
        self.assertEqual([(f'{FLOW}.{s}', 'Success') for s in STAGES],
                         [e for e in self.cloud.events(uuid, 'create')
                          if e[0].startswith(FLOW + '.')])


class TestBuildFailsAtEachStage(kit.FlowKitTestCase):
    """A failure at any stage before the point of no return: the started
    stages with a revert are undone newest first, record_fault stores the
    error, and reschedule_or_error finds no other host: ERROR."""

    scenarios = [(s, {'stage': s}) for s in STAGES[:STAGES.index(
        'spawn.update_active')]]

    def test_reverts_and_failure_handlers(self):
        self.cloud.fail_at(f'{FLOW}.{self.stage}')
        uuid = self.cloud.boot()['uuid']
        server = self.cloud.wait_for_state(uuid, vm_states.ERROR)
        position = STAGES.index(self.stage)
        expected = [f'{FLOW}.{s}' for s in reversed(REVERTING)
                    if STAGES.index(s) <= position]
        self.assertEqual(expected, self.cloud.reverted_stages(uuid, FLOW))
        self.assertEqual((0, 0, 0), self.node_usage())
        self.assertFalse(self.cloud.manager().driver.instance_exists(
            {'uuid': uuid}))
        self.assertEqual([], self.cloud.manager().services.network
                         .get_instance_nw_info(self.cloud.ctx, uuid))
        faults = self.cloud.faults(uuid)
        # record_fault, then the conductor's NoValidHost (no host left)
        # keeping the cause.
        self.assertEqual('InjectedFailure', faults[-1]['message'])
        self.assertEqual('No valid host was found. Last build failure: '
                         'InjectedFailure', faults[0]['message'])
        self.assertIsNone(server['task_state'])


class TestBuildAfterThePointOfNoReturn(kit.FlowKitTestCase):

    def test_failing_closing_stage_leaves_the_server_active(self):
        self.cloud.fail_at(f'{FLOW}.notify_usage_end')
        uuid = self.cloud.boot()['uuid']
        self.cloud.wait_for_state(uuid, vm_states.ACTIVE)
        run = self.cloud.wait_for_run(uuid, FLOW)
        self.assertEqual('success', run['status'])
        self.assertEqual([], self.cloud.reverted_stages(uuid, FLOW))
        self.assertIn((f'{FLOW}.notify_usage_end', 'Error'),
                      self.cloud.events(uuid, 'create'))


class Refuse(hooks.Hook):
    supports = {FLOW: '1.0'}

    @hooks.replace(f'{FLOW}.check_image_size')
    def refuse(self, ctx, state):
        raise hooks.RunRefused('Refused by policy.')


class TestRescheduleOrError(kit.FlowKitTestCase):

    cloud_options = {'compute_hosts': ('compute1', 'compute2')}

    def test_host_failure_is_rescheduled_to_the_other_host(self):
        self.cloud.fail_at(f'{FLOW}.spawn.driver_spawn', host='compute2')
        uuid = self.cloud.boot()['uuid']
        server = self.cloud.wait_for_state(uuid, vm_states.ACTIVE)
        self.assertEqual('compute1', server['host'])
        self.cloud.wait_for_run(uuid, FLOW)
        self.assertEqual(['error', 'success'],
                         [r['status'] for r in self.cloud.runs(uuid, FLOW)])

    def test_image_too_big_is_not_rescheduled(self):
        self.cloud.fail_at(f'{FLOW}.check_image_size',
                           exc=exception.FlavorDiskSmallerThanImage(
                               flavor_size=1, image_size=2))
        uuid = self.cloud.boot()['uuid']
        self.cloud.wait_for_state(uuid, vm_states.ERROR)
        self.assertEqual(1, len(self.cloud.runs(uuid, FLOW)))


class TestRefusalIsNotRescheduled(kit.FlowKitTestCase):

    cloud_options = {'compute_hosts': ('compute1', 'compute2'),
                     'hook_objects': [Refuse()]}

    def test_refusal(self):
        uuid = self.cloud.boot()['uuid']
        self.cloud.wait_for_state(uuid, vm_states.ERROR)
        self.assertEqual(1, len(self.cloud.runs(uuid, FLOW)))
        self.assertEqual('Refused by policy.',
                         self.cloud.faults(uuid)[0]['message'])
