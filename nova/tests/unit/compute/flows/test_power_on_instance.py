"""compute.power_on_instance, stage by stage, with the vendor hook test
kit.

Read next to nova/compute/flows/power_on_instance.py: a configured
instance started and ACTIVE; a failure before update_active undoes the
whole configured instance and follows the build's reschedule rules; an
instance not configured on the host is left alone.
"""

from __future__ import annotations

import testscenarios

from nova import exception
from nova.compute import power_state, vm_states
from nova.tests.unit.compute.flows import kit

load_tests = testscenarios.load_tests_apply_scenarios

FLOW = 'compute.power_on_instance'
STAGES = ['check_configured', 'load_network_info', 'driver_power_on',
          'update_active', 'notify_usage_end']


class TestPowerOnSucceeds(kit.PhasesKitTestCase):

    def test_stages_and_their_effects(self):
        ctx, server = self.configured_server()
        uuid = server['uuid']
        self.power_on(ctx, server)
        self.cloud.assert_stages_ran(uuid, FLOW, STAGES)
        active = self.cloud.instance(uuid)
        # update_active: as the build sets it.
        self.assertEqual((vm_states.ACTIVE, None, power_state.RUNNING),
                         (active['vm_state'], active['task_state'],
                          active['power_state']))
        self.assertIsNotNone(active['launched_at'])
        # driver_power_on: the configured guest runs.
        self.assertEqual(power_state.RUNNING, self.cloud.manager()
                         .driver.instance_record(uuid)['power_state'])
        self.assertEqual((512, 1, 1), self.node_usage())
        # The create action is finished, holding both phases' events.
        (action,) = [a for a in self.cloud.db.actions_get(self.cloud.ctx,
                                                          uuid)
                     if a['action'] == 'create']
        self.assertIsNotNone(action['finish_time'])
        events = [e for e, _ in self.cloud.events(uuid, 'create')]
        self.assertIn('compute.configure_instance.configure_guest', events)
        self.assertIn(f'{FLOW}.driver_power_on', events)


class TestPowerOnFailsAtEachStage(kit.PhasesKitTestCase):
    """A failure before update_active: the configured instance is undone
    (check_configured's revert), the fault recorded, the error goes back
    to the caller, and no other host is left: ERROR, nothing held."""

    scenarios = [(s, {'stage': s}) for s in STAGES[1:STAGES.index(
        'update_active')]]

    def test_undone_and_failure_handlers(self):
        ctx, server = self.configured_server()
        uuid = server['uuid']
        self.cloud.fail_at(f'{FLOW}.{self.stage}')
        self.assertRaises(exception.NovaException, self.power_on, ctx,
                          server)
        failed = self.cloud.wait_for_state(uuid, vm_states.ERROR)
        self.assertEqual([f'{FLOW}.check_configured'],
                         self.cloud.reverted_stages(uuid, FLOW))
        self.assert_nothing_held(uuid)
        self.assertEqual('No valid host was found. Last build failure: '
                         'InjectedFailure',
                         self.cloud.faults(uuid)[0]['message'])
        self.assertIsNone(failed['task_state'])


class TestPowerOnFailureIsRescheduled(kit.PhasesKitTestCase):

    cloud_options = {'compute_hosts': ('compute1', 'compute2')}

    def test_host_failure_is_built_on_the_other_host(self):
        ctx, server = self.configured_server('compute1')
        self.cloud.fail_at(f'{FLOW}.driver_power_on', host='compute1')
        self.assertRaises(exception.NovaException, self.power_on, ctx,
                          server, 'compute1')
        built = self.cloud.wait_for_state(server['uuid'], vm_states.ACTIVE)
        self.assertEqual('compute2', built['host'])
        self.assert_nothing_held(server['uuid'], 'compute1',
                                 ports=False)


class TestPowerOnAfterThePointOfNoReturn(kit.PhasesKitTestCase):

    def test_failing_closing_stage_leaves_the_server_active(self):
        ctx, server = self.configured_server()
        self.cloud.fail_at(f'{FLOW}.notify_usage_end')
        self.power_on(ctx, server)
        self.cloud.wait_for_state(server['uuid'], vm_states.ACTIVE)
        self.assertEqual([], self.cloud.reverted_stages(server['uuid'],
                                                        FLOW))


class TestPowerOnOfAnInstanceNotConfiguredHere(kit.PhasesKitTestCase):

    def test_refused_and_left_alone(self):
        # Never configured: still waiting for a host.
        ctx, server = self.unplaced_server()
        self.assertRaises(exception.NovaException, self.power_on, ctx,
                          server)
        left = self.cloud.instance(server['uuid'])
        self.assertEqual((vm_states.BUILDING, None),
                         (left['vm_state'], left['host']))
        self.assertEqual([], self.cloud.faults(server['uuid']))
        self.assertFalse(self.cloud.manager().driver.instance_exists(
            {'uuid': server['uuid']}))
