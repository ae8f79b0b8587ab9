"""A build that fails in any stage leaves nothing behind.

Each scenario fails one stage of compute.build_instance through the
fault-injection hook package (installed, enabled by [flow] enabled_hooks,
as a vendor hook would be), then checks what the user and the operator
see: the instance in ERROR with a fault, an Error event for that stage,
and no claim, IP address or guest left on the host.
"""

import fixtures
import testscenarios
from nova_fault_injection_hooks import stage_ids

from nova import test
from nova.compute import vm_states
from nova.tests.functional import fixtures as func_fixtures
from nova.tests.functional.compute import action_helpers as helpers

load_tests = testscenarios.load_tests_apply_scenarios


class _FaultMixin:

    def inject(self, stage_id, kind='fail', host=None):
        self.useFixture(fixtures.EnvironmentVariable(
            'NOVA_FAULT_AT', f'{stage_id}:{kind}'))
        if host:
            self.useFixture(fixtures.EnvironmentVariable(
                'NOVA_FAULT_HOST', host))

    def assert_nothing_left_on(self, host, instance_uuid):
        cloud = self.cloud
        manager = cloud.manager(host)
        node = cloud.db.compute_node_get_all_by_host(cloud.ctx, host)[0]
        allocation = cloud.db.allocation_get_by_instance(cloud.ctx,
                                                         instance_uuid)
        self.assertNotEqual(node['id'], (allocation or {}).get(
            'compute_node_id'))
        self.assertEqual((0, 0, 0), (node['memory_mb_used'],
                                     node['vcpus_used'],
                                     node['local_gb_used']))
        self.assertFalse(manager.driver.instance_exists(
            {'uuid': instance_uuid}))


class TestBuildFailsAfterPointOfNoReturn(_FaultMixin, test.TestCase):
    """A failure once the server is ACTIVE is recorded on its stage; the
    build is done and nothing is undone."""

    scenarios = helpers.failure_scenarios('compute.build_instance',
                                          committed=True)

    def setUp(self):
        super().setUp()
        self.cloud = self.useFixture(func_fixtures.LocalCloud(
            flow__enabled_hooks=['fault_injection']))

    def test_failure_is_recorded_and_the_server_stays_active(self):
        self.inject(self.stage_id)
        uuid = self.cloud.boot()['uuid']
        action = self.cloud.wait_for_action(uuid, 'create')
        server = self.cloud.instance(uuid)
        self.assertEqual((vm_states.ACTIVE, None),
                         (server['vm_state'], server['task_state']))
        events = {e['event']: e for e in self.cloud.db.action_events_get(
            self.cloud.ctx, action['id'])}
        self.assertEqual('Error', events[self.stage_id]['result'])
        self.assertFalse([e for e in events.values()
                          if e['revert_result']])
        self.assertEqual({uuid: []},
                         self.cloud.db.instance_fault_get_by_instance_uuids(
                             self.cloud.ctx, [uuid]))


class TestBuildFailsInEachStage(_FaultMixin, test.TestCase):

    scenarios = helpers.failure_scenarios('compute.build_instance')

    def setUp(self):
        super().setUp()
        self.cloud = self.useFixture(func_fixtures.LocalCloud(
            flow__enabled_hooks=['fault_injection']))

    def test_failure_reverts_and_ends_in_error(self):
        self.inject(self.stage_id)
        instance = self.cloud.boot()
        uuid = instance['uuid']
        errored = self.cloud.wait_for_state(uuid, vm_states.ERROR)
        self.assertIsNone(errored['host'])

        action = self.cloud.wait_for_action(uuid, 'create')
        events = {e['event']: e for e in self.cloud.db.action_events_get(
            self.cloud.ctx, action['id'])}
        self.assertEqual('Error', events[self.stage_id]['result'])
        self.assertIn('InjectedFault', events[self.stage_id]['traceback'])

        faults = self.cloud.db.instance_fault_get_by_instance_uuids(
            self.cloud.ctx, [uuid])[uuid]
        # The stage's own error, then the conductor's NoValidHost: the
        # only host was tried (max_attempts allows another, none is left).
        self.assertEqual('InjectedFault', faults[-1]['message'])
        self.assertIn('injected failure in ' + self.stage_id,
                      faults[-1]['details'])
        self.assertIn('No valid host', faults[0]['message'])
        self.assert_nothing_left_on('compute1', uuid)
        self.assertEqual([], self.cloud.manager('compute1').services
                         .network.get_instance_nw_info(self.cloud.ctx, uuid))


class TestRescheduleToAnotherHost(_FaultMixin, test.TestCase):

    def setUp(self):
        super().setUp()
        self.cloud = self.useFixture(func_fixtures.LocalCloud(
            compute_hosts=('compute1', 'compute2'),
            flow__enabled_hooks=['fault_injection']))

    def test_build_failing_on_one_host_becomes_active_on_the_other(self):
        # Both hosts are empty and alike; the weigher breaks the tie by
        # host name, so compute2 is tried first - and fails.
        self.inject('compute.build_instance.spawn.driver_spawn',
                    host='compute2')
        instance = self.cloud.boot()
        uuid = instance['uuid']
        active = self.cloud.wait_for_state(uuid, vm_states.ACTIVE)
        self.assertEqual('compute1', active['host'])
        # Two builds, each placed and reserved by a conductor run.
        runs = self.cloud.wait_for_runs(uuid, 4)
        self.assertEqual([('compute1', 'success'), ('compute2', 'error')],
                         sorted((r['host'], r['status']) for r in runs
                                if r['flow'] == 'compute.build_instance'))
        self.assertEqual(2, len([r for r in runs if r['flow'] ==
                                 'conductor.build_instances']))
        self.assert_nothing_left_on('compute2', uuid)


class TestHookRefusesTheBuild(_FaultMixin, test.TestCase):
    """A hook raising RunRefused fails the build with its own message:
    no reschedule, ERROR, and the message is the fault users see."""

    def setUp(self):
        super().setUp()
        self.cloud = self.useFixture(func_fixtures.LocalCloud(
            compute_hosts=('compute1', 'compute2'),
            flow__enabled_hooks=['fault_injection']))

    def test_refusal_is_not_rescheduled_and_is_the_fault(self):
        stage_id = 'compute.build_instance.claim_resources'
        self.inject(stage_id, kind='refuse')
        uuid = self.cloud.boot()['uuid']
        errored = self.cloud.wait_for_state(uuid, vm_states.ERROR)
        runs = self.cloud.wait_for_runs(uuid, 1,
                                        prefix='compute.build_instance')
        self.assertEqual(['error'], [r['status'] for r in runs])
        faults = self.cloud.db.instance_fault_get_by_instance_uuids(
            self.cloud.ctx, [uuid])[uuid]
        self.assertEqual([(400, f'injected refusal in {stage_id}')],
                         [(f['code'], f['message']) for f in faults])
        # One host tried (the first by name), none after it.
        self.assertEqual('compute2', errored['host'])
        self.assertEqual(1, len([
            r for r in self.cloud.db.flow_runs_get_by_instance(
                self.cloud.ctx, uuid)
            if r['flow'] == 'compute.build_instance']))
        self.assert_nothing_left_on('compute2', uuid)

    def test_no_valid_host_after_reschedules_keeps_the_cause(self):
        # Fails on every host: the last reschedule finds none left.
        self.inject('compute.build_instance.spawn.driver_spawn')
        uuid = self.cloud.boot()['uuid']
        self.cloud.wait_for_state(uuid, vm_states.ERROR)
        self.cloud.wait_for_runs(uuid, 2, prefix='compute.build_instance')
        faults = self.cloud.db.instance_fault_get_by_instance_uuids(
            self.cloud.ctx, [uuid], latest=True)[uuid]
        self.assertEqual('No valid host was found. Last build failure: '
                         'InjectedFault', faults[0]['message'])
        self.assertIn('RetryFilter', faults[0]['details'])


class TestTerminateFailsInEachStage(_FaultMixin, test.TestCase):
    """A delete that fails leaves the instance in ERROR with a fault; the
    user deletes it again and the delete completes."""

    scenarios = [(stage_id.removeprefix('compute.terminate_instance.'),
                  {'stage_id': stage_id})
                 for stage_id in stage_ids('compute.terminate_instance')]

    def setUp(self):
        super().setUp()
        self.cloud = self.useFixture(func_fixtures.LocalCloud(
            flow__enabled_hooks=['fault_injection']))

    def test_failed_delete_errors_and_a_second_delete_completes(self):
        uuid = self.cloud.boot()['uuid']
        active = self.cloud.wait_for_state(uuid, vm_states.ACTIVE)
        self.inject(self.stage_id)
        self.cloud.compute_api.delete(self.cloud.ctx, active)
        action = self.cloud.wait_for_action(uuid, 'delete')
        events = {e['event']: e for e in self.cloud.db.action_events_get(
            self.cloud.ctx, action['id'])}
        self.assertEqual('Error', events[self.stage_id]['result'])
        faults = self.cloud.db.instance_fault_get_by_instance_uuids(
            self.cloud.ctx, [uuid])[uuid]
        self.assertEqual('InjectedFault', faults[0]['message'])

        if self.stage_id in self.after_mark_deleted():
            # Only the closing notification failed: the instance is gone.
            self.cloud.wait_for_deleted(uuid)
        else:
            errored = self.cloud.wait_for_state(uuid, vm_states.ERROR)
            self.useFixture(fixtures.EnvironmentVariable('NOVA_FAULT_AT'))
            self.cloud.compute_api.delete(self.cloud.ctx, errored)
            self.cloud.wait_for_deleted(uuid)
        self.assert_nothing_left_on('compute1', uuid)

    @staticmethod
    def after_mark_deleted():
        ids = stage_ids('compute.terminate_instance')
        return ids[ids.index('compute.terminate_instance.mark_deleted') + 1:]
