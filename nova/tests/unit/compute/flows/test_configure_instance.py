"""compute.configure_instance, stage by stage, with the vendor hook test
kit.

Read next to nova/compute/flows/configure_instance.py: the build's
stages up to the block devices, then the guest defined but not started;
each revert after a failure at each stage, and the build's failure
handlers (record_fault, reschedule_or_error).
"""

from __future__ import annotations

import testscenarios

from nova import exception
from nova.compute import power_state, task_states, vm_states
from nova.tests.unit.compute.flows import kit

load_tests = testscenarios.load_tests_apply_scenarios

FLOW = 'compute.configure_instance'
STAGES = ['check_instance_not_already_created', 'check_image_size',
          'notify_usage_start', 'update_building', 'claim_resources',
          'validate_instance_group_policy', 'allocate_network',
          'create_volumes', 'prep_block_device', 'update_spawning',
          'configure_guest']
#: The stages with a revert, in order.
REVERTING = ['claim_resources', 'validate_instance_group_policy',
             'allocate_network', 'create_volumes', 'prep_block_device',
             'configure_guest']


class TestConfigureSucceeds(kit.PhasesKitTestCase):

    def test_stages_and_their_effects(self):
        ctx, server = self.configured_server()
        uuid = server['uuid']
        self.cloud.assert_stages_ran(uuid, FLOW, STAGES)
        # update_building / update_spawning: on this host, configured.
        self.assertEqual(
            (vm_states.BUILDING, task_states.SPAWNING, 'compute1'),
            (server['vm_state'], server['task_state'], server['host']))
        self.assertIsNone(server['launched_at'])
        # claim_resources: the flavor's share of the node.
        self.assertEqual((512, 1, 1), self.node_usage())
        # allocate_network: an address for the server.
        self.assertTrue(self.cloud.manager().services.network
                        .get_instance_nw_info(self.cloud.ctx, uuid))
        # configure_guest: the guest is defined, not started.
        guest = self.cloud.manager().driver.instance_record(uuid)
        self.assertEqual(power_state.SHUTDOWN, guest['power_state'])
        # One step of the request: its create action stays open.
        (action,) = [a for a in self.cloud.db.actions_get(self.cloud.ctx,
                                                          uuid)
                     if a['action'] == 'create']
        self.assertIsNone(action['finish_time'])


class TestConfigureFailsAtEachStage(kit.PhasesKitTestCase):
    """A failure at any stage: the started stages with a revert are
    undone newest first, record_fault stores the error, the error goes
    back to the caller, and reschedule_or_error finds no other host:
    ERROR, nothing held."""

    scenarios = [(s, {'stage': s}) for s in STAGES]

    def test_reverts_and_failure_handlers(self):
        self.cloud.fail_at(f'{FLOW}.{self.stage}')
        ctx, server = self.unplaced_server()
        uuid = server['uuid']
        self.assertRaises(exception.NovaException, self.configure, ctx,
                          server)
        failed = self.cloud.wait_for_state(uuid, vm_states.ERROR)
        self.assert_reverted(uuid, FLOW, STAGES, REVERTING, self.stage)
        self.assert_nothing_held(uuid)
        faults = self.cloud.faults(uuid)
        self.assertEqual('InjectedFailure', faults[-1]['message'])
        self.assertEqual('No valid host was found. Last build failure: '
                         'InjectedFailure', faults[0]['message'])
        self.assertIsNone(failed['task_state'])


class TestConfigureFailureIsRescheduled(kit.PhasesKitTestCase):

    cloud_options = {'compute_hosts': ('compute1', 'compute2')}

    def test_host_failure_is_built_on_the_other_host(self):
        self.cloud.fail_at(f'{FLOW}.configure_guest', host='compute1')
        ctx, server = self.unplaced_server()
        self.assertRaises(exception.NovaException, self.configure, ctx,
                          server, 'compute1')
        built = self.cloud.wait_for_state(server['uuid'], vm_states.ACTIVE)
        self.assertEqual('compute2', built['host'])
        self.assert_nothing_held(server['uuid'], 'compute1',
                                 ports=False)
