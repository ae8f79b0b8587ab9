"""conductor.build_instances with the vendor kit.

Read next to nova/conductor/flows/build_instances.py: a create request
placed, reserved and handed to its hosts all or nothing - each stage's
effect (hosts chosen, the claims of a multi-create made before any
build, one build per reserved instance, the instances beyond what fits
deleted with a fault), the revert of claim_resources and the failure
handler (set_error: every instance no host took is ERROR with the
fault, nothing held).
"""

from __future__ import annotations

import testscenarios

from nova.compute import vm_states
from nova.tests.unit.compute.flows import kit

load_tests = testscenarios.load_tests_apply_scenarios

FLOW = 'conductor.build_instances'
STAGES = ['select_destinations', 'claim_resources', 'build_on_hosts',
          'delete_unreserved']


class _BuildTestCase(kit.FlowKitTestCase):

    def boot_many(self, min_count, max_count):
        """The instances of one create request, in launch order."""
        ctx = self.cloud.user_context()
        flavor = self.cloud.db.flavor_get_by_flavor_id(ctx, '1')
        instances, _ = self.cloud.compute_api.create(
            ctx, flavor, self.cloud.image['id'], name='many',
            min_count=min_count, max_count=max_count)
        return [i['uuid'] for i in instances]


class TestBuildInstances(_BuildTestCase):

    def test_stages_and_effects(self):
        uuids = self.boot_many(2, 2)
        run = self.cloud.wait_for_run(uuids[0], FLOW)
        self.assertEqual('success', run['status'])
        self.cloud.assert_stages_ran(uuids[0], FLOW, STAGES)
        # build_on_hosts: both built on the host chosen and claimed.
        for uuid in uuids:
            server = self.cloud.wait_for_state(uuid, vm_states.ACTIVE)
            self.assertEqual('compute1', server['host'])
        self.assertEqual(sorted(uuids),
                         sorted(self.cloud.guests('compute1')))
        self.assertEqual((1024, 2, 2), self.node_usage())


class TestFewerFit(_BuildTestCase):
    """delete_unreserved: room for two of three (min_count 1): two are
    built, the third is deleted with a fault saying why."""

    cloud_options = {'fake_driver__memory_mb': 1024,
                     'ram_allocation_ratio': 1.0}

    def test_instances_beyond_the_room_are_deleted(self):
        uuids = self.boot_many(1, 3)
        self.assertEqual('success',
                         self.cloud.wait_for_run(uuids[0], FLOW)['status'])
        for uuid in uuids[:2]:
            self.cloud.wait_for_state(uuid, vm_states.ACTIVE)
        deleted = self.cloud.instance(uuids[2])
        self.assertTrue(deleted['deleted'])
        self.assertIn('min_count 1',
                      self.cloud.faults(uuids[2])[0]['message']
                      + str(self.cloud.faults(uuids[2])[0]['details']))


class TestBuildInstancesFails(_BuildTestCase):
    """A failure at any stage before the casts: the claims are released
    (claim_resources' revert) and every instance of the request is ERROR
    with the fault (set_error); nothing is held, no guest made."""

    scenarios = [(s, {'stage': s}) for s in STAGES[:STAGES.index(
        'delete_unreserved')]]

    def test_reverts_and_failure_handler(self):
        self.cloud.fail_at(f'{FLOW}.{self.stage}')
        uuids = self.boot_many(2, 2)
        run = self.cloud.wait_for_run(uuids[0], FLOW)
        self.assertEqual('error', run['status'])
        position = STAGES.index(self.stage)
        self.assertEqual(
            [f'{FLOW}.claim_resources']
            if position >= STAGES.index('claim_resources') else [],
            self.cloud.reverted_stages(uuids[0], FLOW))
        for uuid in uuids:
            failed = self.cloud.wait_for_state(uuid, vm_states.ERROR)
            self.assertIsNone(failed['host'])
            self.assertIn('InjectedFailure',
                          self.cloud.faults(uuid)[0]['message'])
        self.assertEqual(kit.NO_USAGE, self.node_usage())
        self.assertEqual([], self.cloud.guests('compute1'))
