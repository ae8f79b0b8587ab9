"""Evacuation between two compute hosts, in one process
(conductor.evacuate_instance and the destination's
compute.evacuate_instance), and the source's cleanup when its
nova-compute comes back (compute.destroy_evacuated_instance).

A host is down as an operator sees it: its nova-compute stopped and
forced down (os-services, 2.11: no waiting for service_down_time), and
its fake hypervisor down too (every driver call fails), with its guests
still there for its return.
"""

from __future__ import annotations

import time
import uuid as uuidlib

import fixtures
import testscenarios
from nova_fault_injection_hooks import stage_ids

from nova import exception, test
from nova.compute import vm_states
from nova.flow.records import RunInfo
from nova.tests.functional import fixtures as func_fixtures
from nova.tests.functional.compute import action_helpers as helpers
from nova.tests.functional.compute import move_helpers

load_tests = testscenarios.load_tests_apply_scenarios

EVACUATE_FLOWS = ('conductor.evacuate_instance', 'compute.evacuate_instance')
CLEANUP_FLOW = 'compute.destroy_evacuated_instance'


class _EvacuateBase(move_helpers.MoveHelpers, test.TestCase):

    def setUp(self):
        super().setUp()
        self.cloud = self.useFixture(func_fixtures.LocalCloud(
            compute_hosts=('compute1', 'compute2'),
            flow__enabled_hooks=['fault_injection']))
        self.ctx = self.cloud.ctx
        self.db = self.cloud.db

    # -- hosts -----------------------------------------------------------

    def service(self, host):
        for service in self.cloud.services:
            if service.binary == 'nova-compute' and service.host == host:
                return service
        raise KeyError(host)

    def force_down(self, host, down=True):
        row = self.db.service_get_by_host_and_binary(self.ctx, host,
                                                     'nova-compute')
        self.db.service_update(self.ctx, row['id'], {'forced_down': down})

    def host_down(self, host):
        """The host dies: its hypervisor and nova-compute stop, and the
        operator forces its service down."""
        self.cloud.manager(host).driver.set_host_down(True)
        self.service(host).stop()
        self.force_down(host)

    def host_up(self, host):
        """The host comes back: hypervisor, then nova-compute (whose
        start cleans up after the evacuations away from it)."""
        self.cloud.manager(host).driver.set_host_down(False)
        self.force_down(host, False)
        self.service(host).start()
        self.service(host).wait_for_recovery()

    # -- what there is ---------------------------------------------------

    def boot_active(self):
        instance = self.cloud.boot()
        return self.cloud.wait_for_state(instance['uuid'], vm_states.ACTIVE)

    def guests(self, host):
        return self.cloud.manager(host).driver.list_instance_uuids()

    def has_guest(self, host, uuid):
        """Also while the host is down."""
        driver = self.cloud.manager(host).driver
        return driver.instance_record(uuid) is not None

    def faults(self, uuid):
        return self.db.instance_fault_get_by_instance_uuids(
            self.ctx, [uuid])[uuid]

    # -- acting ----------------------------------------------------------

    def evacuate(self, instance, **kwargs):
        self.cloud.compute_api.evacuate(
            self.ctx, self.cloud.instance(instance['uuid']), None, **kwargs)
        return self.cloud.wait_for_action(instance['uuid'], 'evacuate')

    def evacuated(self):
        """A server evacuated from its (now down) host: (source, dest)."""
        instance = self.boot_active()
        self.uuid = instance['uuid']
        source = instance['host']
        self.host_down(source)
        action = self.evacuate(instance)
        self.assertIsNone(action['message'])
        self.wait_for_migration(self.uuid, 'done')
        return source, self.other(source)


class TestEvacuate(_EvacuateBase):

    def test_evacuate_to_the_other_host(self):
        source, dest = self.evacuated()
        current = self.cloud.instance(self.uuid)
        self.assertEqual((vm_states.ACTIVE, None, dest, dest), (
            current['vm_state'], current['task_state'], current['host'],
            current['node']))
        self.assertEqual([self.uuid], self.guests(dest))
        self.assertEqual([dest], self.port_hosts(self.uuid))
        # The source's guest is still there: its host is down.
        self.assertTrue(self.has_guest(source, self.uuid))
        [migration] = self.migrations(self.uuid)
        self.assertEqual(('evacuation', source, dest), (
            migration['migration_type'], migration['source_compute'],
            migration['dest_compute']))
        # The destination holds the instance's claim; the migration holds
        # the source's share until the source gives it back.
        self.assertEqual(dest, self.allocation_host(self.uuid))
        self.assertEqual(source, self.allocation_host(migration['uuid']))
        self.assertEqual([], self.faults(self.uuid))

    def test_events_of_conductor_and_destination_under_one_action(self):
        source, dest = self.evacuated()
        action = self.cloud.wait_for_action(self.uuid, 'evacuate')
        events = self.db.action_events_get(self.ctx, action['id'])
        by_name = {e['event']: e for e in events}
        for stage in ('conductor.evacuate_instance.select_destination',
                      'conductor.evacuate_instance.rebuild_on_destination',
                      'compute.evacuate_instance.claim_resources',
                      'compute.evacuate_instance.driver_spawn',
                      'compute.evacuate_instance.update_evacuated'):
            self.assertIn(stage, by_name)
            self.assertEqual('Success', by_name[stage]['result'])
        self.assertEqual(
            dest, by_name['compute.evacuate_instance.driver_spawn']['host'])
        self.assertNotIn(source, {e['host'] for e in events
                                  if e['event'].startswith('compute.')})

    def test_refused_while_the_source_is_up(self):
        instance = self.boot_active()
        error = self.assertRaises(exception.ComputeServiceInUse,
                                  self.cloud.compute_api.evacuate, self.ctx,
                                  instance, None)
        self.assertEqual(409, error.code)
        self.assertIn(f'Compute service of {instance["host"]} is still in '
                      f'use.', str(error))
        current = self.cloud.instance(instance['uuid'])
        self.assertIsNone(current['task_state'])
        self.assertEqual([], self.migrations(instance['uuid']))

    def test_refused_to_its_own_host_or_an_unknown_one(self):
        instance = self.boot_active()
        self.host_down(instance['host'])
        self.assertRaises(exception.Invalid, self.cloud.compute_api.evacuate,
                          self.ctx, instance, instance['host'])
        self.assertRaises(exception.ComputeHostNotFound,
                          self.cloud.compute_api.evacuate, self.ctx,
                          instance, 'nowhere')
        self.assertRaises(exception.Invalid, self.cloud.compute_api.evacuate,
                          self.ctx, instance, None, force=True)

    def test_requested_host_and_forced_host(self):
        for force in (False, True):
            instance = self.boot_active()
            source = instance['host']
            self.host_down(source)
            dest = self.other(source)
            self.cloud.compute_api.evacuate(self.ctx, instance, dest,
                                            force=force)
            self.cloud.wait_for_action(instance['uuid'], 'evacuate')
            current = self.cloud.wait_for_state(instance['uuid'],
                                                vm_states.ACTIVE)
            self.assertEqual(dest, current['host'])
            self.host_up(source)

    def test_stopped_instance_stays_stopped(self):
        instance = self.boot_active()
        self.cloud.compute_api.stop(self.ctx, instance)
        self.cloud.wait_for_state(instance['uuid'], vm_states.STOPPED)
        self.host_down(instance['host'])
        self.evacuate(instance)
        current = self.cloud.wait_for_state(instance['uuid'],
                                            vm_states.STOPPED)
        self.assertEqual(self.other(instance['host']), current['host'])

    def test_target_state_stopped(self):
        instance = self.boot_active()
        self.host_down(instance['host'])
        self.evacuate(instance, target_state='stopped')
        current = self.cloud.wait_for_state(instance['uuid'],
                                            vm_states.STOPPED)
        record = self.cloud.manager(current['host']).driver.instance_record(
            instance['uuid'])
        self.assertEqual(current['power_state'], record['power_state'])

    def test_no_valid_host_keeps_the_vm_state(self):
        instance = self.boot_active()
        uuid = instance['uuid']
        self.host_down(instance['host'])
        self.force_down(self.other(instance['host']))
        action = self.evacuate(instance)
        self.assertEqual('Error', action['message'])
        current = self.cloud.instance(uuid)
        self.assertEqual((vm_states.ACTIVE, None, instance['host']), (
            current['vm_state'], current['task_state'], current['host']))
        self.assertIn('No valid host', self.faults(uuid)[0]['message'])


class TestSourceCleanup(_EvacuateBase):

    def test_returning_source_destroys_what_the_evacuation_left(self):
        source, dest = self.evacuated()
        migration = self.migrations(self.uuid)[0]
        self.host_up(source)
        self.assertEqual([], self.guests(source))
        self.assertEqual([self.uuid], self.guests(dest))
        self.assertEqual('completed',
                         self.migrations(self.uuid)[0]['status'])
        self.assertIsNone(self.allocation_host(migration['uuid']))
        self.assertEqual(dest, self.allocation_host(self.uuid))
        self.assertEqual(0, self.used_memory(source))
        # A recorded run on the source, for the instance.
        runs = [r for r in self.db.flow_runs_get_by_instance(self.ctx,
                                                             self.uuid)
                if r['flow'] == CLEANUP_FLOW]
        self.assertEqual([(source, 'success')],
                         [(r['host'], r['status']) for r in runs])
        # The instance is untouched on its new host.
        current = self.cloud.instance(self.uuid)
        self.assertEqual((vm_states.ACTIVE, None, dest), (
            current['vm_state'], current['task_state'], current['host']))

    def test_returning_source_keeps_the_disks_on_shared_storage(self):
        instance = self.boot_active()
        self.uuid = instance['uuid']
        source = instance['host']
        dest = self.other(source)
        self.cloud.manager(source).driver.share_instance_storage(
            self.cloud.manager(dest).driver)
        self.host_down(source)
        self.assertIsNone(self.evacuate(instance)['message'])
        self.wait_for_migration(self.uuid, 'done')
        self.host_up(source)
        self.assertEqual('completed',
                         self.migrations(self.uuid)[0]['status'])
        self.assertEqual(([], [self.uuid]),
                         (self.guests(source), self.guests(dest)))
        # The guest on the destination runs on the disks the source
        # had: its cleanup kept them.
        self.assertTrue(self.cloud.manager(dest).driver.has_disk(self.uuid))

    def test_cleanup_runs_once(self):
        source, _dest = self.evacuated()
        self.host_up(source)
        self.cloud.manager(source).init_host()
        self.cloud.manager(source).wait_for_recovery()
        runs = [r for r in self.db.flow_runs_get_by_instance(self.ctx,
                                                             self.uuid)
                if r['flow'] == CLEANUP_FLOW]
        self.assertEqual(1, len(runs))

    def test_runs_the_dead_source_left_are_closed_not_recovered(self):
        instance = self.boot_active()
        self.uuid = instance['uuid']
        source = instance['host']
        # The host died inside a stop of the instance.
        cut = RunInfo(run_id=str(uuidlib.uuid4()),
                      flow='compute.stop_instance', version='1.0',
                      request_id=None, user_id=None, project_id=None,
                      subject=self.uuid, host=source,
                      started_at=time.time())
        self.cloud.manager(source).recorder.run_started(cut)
        self.host_down(source)
        self.evacuate(instance)
        dest = self.other(source)
        self.host_up(source)
        run = self.db.flow_run_get(self.ctx, cut.run_id)
        self.assertEqual('error', run['status'])
        self.assertIn('evacuated', run['message'])
        current = self.cloud.instance(self.uuid)
        self.assertEqual((vm_states.ACTIVE, None, dest), (
            current['vm_state'], current['task_state'], current['host']))
        self.assertEqual([self.uuid], self.guests(dest))

    def test_cleanup_of_a_deleted_instance(self):
        source, dest = self.evacuated()
        migration = self.migrations(self.uuid)[0]
        self.cloud.compute_api.delete(self.ctx,
                                      self.cloud.instance(self.uuid))
        self.cloud.wait_for_deleted(self.uuid)
        self.host_up(source)
        self.assertEqual([], self.guests(source))
        self.assertEqual([], self.guests(dest))
        self.assertIsNone(self.allocation_host(migration['uuid']))
        self.assertEqual(0, self.used_memory(source))
        self.assertEqual(0, self.used_memory(dest))

    def test_source_keeps_the_guest_of_a_failed_evacuation(self):
        instance = self.boot_active()
        self.uuid = instance['uuid']
        source = instance['host']
        self.host_down(source)
        self.useFixture(fixtures.EnvironmentVariable(
            'NOVA_FAULT_AT', 'compute.evacuate_instance.driver_spawn:fail'))
        self.evacuate(instance)
        self.host_up(source)
        self.assertEqual([self.uuid], self.guests(source))
        self.assertEqual(source, self.allocation_host(self.uuid))
        self.assertEqual('failed', self.migrations(self.uuid)[0]['status'])


def _stages(flows):
    """Every stage before its flow's point of no return (generated: a new
    stage is covered without editing)."""
    return [(stage_id, {'stage_id': stage_id}) for flow in flows
            for stage_id in stage_ids(flow)
            if not helpers.past_point_of_no_return(stage_id)]


class TestEvacuateFailures(_EvacuateBase):
    """A failure in any stage of the evacuation: the instance is ERROR
    with the fault, the migration 'failed', and nothing is left on the
    destination."""

    scenarios = _stages(EVACUATE_FLOWS)

    def test_failure_leaves_nothing_on_the_destination(self):
        instance = self.boot_active()
        self.uuid = uuid = instance['uuid']
        source = instance['host']
        dest = self.other(source)
        self.host_down(source)
        self.useFixture(fixtures.EnvironmentVariable(
            'NOVA_FAULT_AT', f'{self.stage_id}:fail'))
        action = self.evacuate(instance)
        self.assertEqual('Error', action['message'])
        current = self.cloud.instance(uuid)
        self.assertEqual((vm_states.ERROR, None, source), (
            current['vm_state'], current['task_state'], current['host']))
        self.assertEqual([], self.guests(dest))
        self.assertEqual(0, self.used_memory(dest))
        self.assertEqual(source, self.allocation_host(uuid))
        # None when the evacuation failed before its record was written.
        for migration in self.migrations(uuid):
            self.assertEqual('failed', migration['status'])
            self.assertIsNone(self.allocation_host(migration['uuid']))
        self.assertTrue([f for f in self.faults(uuid)
                         if 'injected failure in ' + self.stage_id in
                         f['message'] + (f['details'] or '')],
                        self.faults(uuid))


class TestSourceCleanupFailures(_EvacuateBase):
    """A failure in any stage of the source's cleanup: the run is
    recorded as failed, the migration is left as it was, and the next
    start of nova-compute finishes the cleanup."""

    scenarios = [(stage_id, {'stage_id': stage_id})
                 for stage_id in stage_ids(CLEANUP_FLOW)]

    def test_next_start_finishes_the_cleanup(self):
        source, _dest = self.evacuated()
        migration = self.migrations(self.uuid)[0]
        self.useFixture(fixtures.EnvironmentVariable(
            'NOVA_FAULT_AT', f'{self.stage_id}:fail'))
        self.host_up(source)
        runs = [r for r in self.db.flow_runs_get_by_instance(self.ctx,
                                                             self.uuid)
                if r['flow'] == CLEANUP_FLOW]
        self.assertEqual(['error'], [r['status'] for r in runs])
        self.assertEqual('done', self.migrations(self.uuid)[0]['status'])

        self.useFixture(fixtures.EnvironmentVariable('NOVA_FAULT_AT'))
        self.cloud.manager(source).init_host()
        self.cloud.manager(source).wait_for_recovery()
        self.assertEqual('completed',
                         self.migrations(self.uuid)[0]['status'])
        self.assertEqual([], self.guests(source))
        self.assertIsNone(self.allocation_host(migration['uuid']))
        self.assertEqual(0, self.used_memory(source))
