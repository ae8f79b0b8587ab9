"""compute.trigger_crash_dump with the vendor kit.

Read next to nova/compute/flows/trigger_crash_dump.py: the stages with
their effect on the guest (one interrupt, no state change), a driver
without the feature, and the failure handler (record_fault) for a
failure at each stage.
"""

from __future__ import annotations

from unittest import mock

import testscenarios

from nova import exception
from nova.compute import power_state, vm_states
from nova.tests.unit.compute.flows import kit
from nova.virt import driver as virt_driver

load_tests = testscenarios.load_tests_apply_scenarios

DUMP = 'compute.trigger_crash_dump'
DUMP_STAGES = ['notify_usage_start', 'driver_trigger_crash_dump',
               'notify_usage_end']


class _DumpTestCase(kit.FlowKitTestCase):

    def setUp(self):
        super().setUp()
        self.server = self.active_server()
        self.uuid = self.server['uuid']

    def crash_dumps(self):
        guest = self.cloud.manager().driver.instance_record(self.uuid)
        return guest.get('crash_dumps', 0)


class TestTriggerCrashDump(_DumpTestCase):

    def test_stages_and_effect(self):
        self.cloud.compute_api.trigger_crash_dump(self.cloud.ctx,
                                                  self.server)
        self.assertEqual('success', self.cloud.wait_for_run(
            self.uuid, DUMP)['status'])
        self.cloud.assert_stages_ran(self.uuid, DUMP, DUMP_STAGES)
        # driver_trigger_crash_dump: one interrupt; upstream changes no
        # state (what the guest does with it is its own configuration).
        self.assertEqual(1, self.crash_dumps())
        after = self.cloud.instance(self.uuid)
        self.assertEqual((vm_states.ACTIVE, None, power_state.RUNNING),
                         (after['vm_state'], after['task_state'],
                          after['power_state']))
        self.assertEqual([], self.cloud.faults(self.uuid))

    def test_recorded_as_the_upstream_action(self):
        self.cloud.compute_api.trigger_crash_dump(self.cloud.ctx,
                                                  self.server)
        actions = self.cloud.db.actions_get(self.cloud.ctx, self.uuid)
        self.assertEqual('trigger_crash_dump', actions[0]['action'])

    def test_driver_without_the_feature_is_reported_to_the_caller(self):
        driver = self.cloud.manager().driver
        base = virt_driver.ComputeDriver.trigger_crash_dump
        with mock.patch.object(type(driver), 'trigger_crash_dump', base):
            self.assertRaises(exception.TriggerCrashDumpNotSupported,
                              self.cloud.compute_api.trigger_crash_dump,
                              self.cloud.ctx, self.server)
        self.assertEqual('error', self.cloud.wait_for_run(
            self.uuid, DUMP)['status'])
        self.assertEqual(0, self.crash_dumps())
        self.assertEqual(vm_states.ACTIVE,
                         self.cloud.instance(self.uuid)['vm_state'])

    def test_guest_not_running_is_refused(self):
        self.cloud.manager().driver.power_off(self.server)
        self.assertRaises(exception.InstanceNotRunning,
                          self.cloud.compute_api.trigger_crash_dump,
                          self.cloud.ctx, self.server)
        self.assertEqual(0, self.crash_dumps())


class TestTriggerCrashDumpFails(_DumpTestCase):
    """Nothing to revert: a failure leaves the server as it was, with a
    fault, and the error goes back to the caller."""

    scenarios = [(s, {'stage': s}) for s in DUMP_STAGES]

    def test_failure_handler(self):
        self.cloud.fail_at(f'{DUMP}.{self.stage}')
        self.assertRaises(exception.NovaException,
                          self.cloud.compute_api.trigger_crash_dump,
                          self.cloud.ctx, self.server)
        self.assertEqual('error', self.cloud.wait_for_run(
            self.uuid, DUMP)['status'])
        self.assertEqual([], self.cloud.reverted_stages(self.uuid, DUMP))
        self.assertEqual('InjectedFailure',
                         self.cloud.faults(self.uuid)[0]['message'])
        after = self.cloud.instance(self.uuid)
        self.assertEqual((vm_states.ACTIVE, None),
                         (after['vm_state'], after['task_state']))
