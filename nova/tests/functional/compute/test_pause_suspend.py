"""pause / unpause / suspend / resume: one state change each.

Success: the hypervisor and the record agree on the new state and every
stage is an event of the action.  Failure in any stage: the server is
back as it was (record and guest), with the fault and the Error event.
Invalid transitions are refused by the compute API before anything runs.
"""

from unittest import mock

import testscenarios

from nova import exception
from nova.compute import power_state, task_states, vm_states
from nova.db import recorder as db_recorder
from nova.tests.functional.compute import action_helpers as helpers

load_tests = testscenarios.load_tests_apply_scenarios

PAUSE = 'compute.pause_instance'
UNPAUSE = 'compute.unpause_instance'
SUSPEND = 'compute.suspend_instance'
RESUME = 'compute.resume_instance'


class TestPauseSuspend(helpers.ActionTestCase):

    def test_pause_and_unpause(self):
        uuid = self.boot_active()['uuid']
        self.act('pause', uuid)
        paused = self.wait_for(uuid, vm_states.PAUSED)
        self.assertEqual(power_state.PAUSED, paused['power_state'])
        self.assertEqual(power_state.PAUSED,
                         self.power_state_on_hypervisor(uuid))
        self.assert_all_succeeded(uuid, 'pause', PAUSE)

        self.act('unpause', uuid)
        active = self.wait_for(uuid, vm_states.ACTIVE)
        self.assertEqual(power_state.RUNNING, active['power_state'])
        self.assertEqual(power_state.RUNNING,
                         self.power_state_on_hypervisor(uuid))
        self.assert_all_succeeded(uuid, 'unpause', UNPAUSE)

    def test_suspend_and_resume(self):
        uuid = self.boot_active()['uuid']
        self.act('suspend', uuid)
        suspended = self.wait_for(uuid, vm_states.SUSPENDED)
        self.assertEqual(power_state.SUSPENDED, suspended['power_state'])
        self.assertEqual(power_state.SUSPENDED,
                         self.power_state_on_hypervisor(uuid))
        self.assert_all_succeeded(uuid, 'suspend', SUSPEND)

        self.act('resume', uuid)
        self.wait_for(uuid, vm_states.ACTIVE)
        self.assertEqual(power_state.RUNNING,
                         self.power_state_on_hypervisor(uuid))
        self.assert_all_succeeded(uuid, 'resume', RESUME)

    def test_invalid_transitions_are_refused_before_anything_runs(self):
        uuid = self.boot_active()['uuid']
        for method in ('unpause', 'resume', 'unrescue', 'unshelve',
                       'shelve_offload', 'start'):
            error = self.assertRaises(exception.InstanceInvalidState,
                                      self.act, method, uuid)
            self.assertIn(vm_states.ACTIVE, str(error))
        self.act('stop', uuid)
        self.wait_for(uuid, vm_states.STOPPED)
        for method in ('pause', 'suspend', 'unpause', 'resume', 'stop'):
            self.assertRaises(exception.InstanceInvalidState, self.act,
                              method, uuid)
        self.act('start', uuid)
        self.wait_for(uuid, vm_states.ACTIVE)
        self.act('pause', uuid)
        self.wait_for(uuid, vm_states.PAUSED)
        for method in ('pause', 'suspend', 'resume', 'rescue', 'stop'):
            self.assertRaises(exception.InstanceInvalidState, self.act,
                              method, uuid)
        # Nothing was recorded for the refused requests.
        actions = [a['action'] for a in
                   self.cloud.db.actions_get(self.cloud.ctx, uuid)]
        self.assertEqual(['pause', 'start', 'stop', 'create'], actions)

    def test_a_second_request_while_one_runs_is_refused(self):
        uuid = self.boot_active()['uuid']
        self.driver.block('pause', when='before')
        self.addCleanup(self.driver.unblock, 'pause')
        self.act('pause', uuid)
        self.driver.wait_blocked('pause', 30)
        self.assertEqual(task_states.PAUSING,
                         self.server(uuid)['task_state'])
        self.assertRaises(exception.InstanceInvalidState, self.act,
                          'suspend', uuid)
        self.driver.unblock('pause')
        self.wait_for(uuid, vm_states.PAUSED)


class TestStateUpdateStart(helpers.ActionTestCase):
    """update_paused (transactional, with a revert) writes its start with
    its completion in its own transaction: no write of its own before
    it runs."""

    def test_pause_writes_no_start_before_the_state_update(self):
        uuid = self.boot_active()['uuid']
        written = []
        original = db_recorder.DBRecorder.stage_started

        def spy(recorder, run, stage_id, at, *, reverts=True):
            if reverts and stage_id.startswith(PAUSE):
                written.append(stage_id.removeprefix(PAUSE + '.'))
            return original(recorder, run, stage_id, at, reverts=reverts)
        with mock.patch.object(db_recorder.DBRecorder, 'stage_started',
                               spy):
            self.act('pause', uuid)
            self.wait_for(uuid, vm_states.PAUSED)
        self.assertNotIn('update_paused', written)
        self.assert_all_succeeded(uuid, 'pause', PAUSE)


class _FailureScenario(helpers.ActionTestCase):
    """Boot, bring the server to ``start_state``, inject a failure in
    ``stage_id`` and run ``action``: the server is back as it was."""

    def check(self, action, start_state, start_power, prepare=()):
        uuid = self.boot_active()['uuid']
        for method, state in prepare:
            self.act(method, uuid)
            self.wait_for(uuid, state)
        self.inject(self.stage_id)
        self.act(action, uuid)
        server = self.wait_done(uuid, action)
        self.assertIsNone(server['task_state'])
        self.assertEqual(start_state, server['vm_state'])
        self.assertEqual(start_power, server['power_state'])
        self.assertEqual(start_power, self.power_state_on_hypervisor(uuid))
        self.assert_failed_in(uuid, action, self.stage_id)


class TestPauseFails(_FailureScenario):
    scenarios = helpers.failure_scenarios(PAUSE)

    def test_failure_leaves_it_active(self):
        self.check('pause', vm_states.ACTIVE, power_state.RUNNING)


class TestUnpauseFails(_FailureScenario):
    scenarios = helpers.failure_scenarios(UNPAUSE)

    def test_failure_leaves_it_paused(self):
        self.check('unpause', vm_states.PAUSED, power_state.PAUSED,
                   [('pause', vm_states.PAUSED)])


class TestSuspendFails(_FailureScenario):
    scenarios = helpers.failure_scenarios(SUSPEND)

    def test_failure_leaves_it_active(self):
        self.check('suspend', vm_states.ACTIVE, power_state.RUNNING)


class TestResumeFails(_FailureScenario):
    scenarios = helpers.failure_scenarios(RESUME)

    def test_failure_leaves_it_suspended(self):
        self.check('resume', vm_states.SUSPENDED, power_state.SUSPENDED,
                   [('suspend', vm_states.SUSPENDED)])
