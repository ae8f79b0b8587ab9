"""compute.unconfigure_instance, stage by stage, with the vendor hook
test kit.

Read next to nova/compute/flows/unconfigure_instance.py: a configured
instance whose power-on will not come is undone (guest, volumes, ports,
claim) and set to ERROR with the reason as its fault - asked by
nova-conductor or by the host's periodic check after ``[compute]
configured_instance_timeout``; an instance not configured on the host is
left alone.
"""

from __future__ import annotations

import datetime

from oslo_utils import timeutils

from nova.compute import power_state, vm_states
from nova.tests.unit.compute.flows import kit

FLOW = 'compute.unconfigure_instance'
STAGES = ['check_configured', 'driver_unconfigure', 'detach_block_devices',
          'delete_created_volumes', 'forget_group_check',
          'deallocate_network', 'release_claim', 'update_error']


class TestUnconfigure(kit.PhasesKitTestCase):

    def test_stages_and_their_effects(self):
        ctx, server = self.configured_server()
        uuid = server['uuid']
        self.cloud.manager().unconfigure_instance(
            ctx, server, 'The request was reverted.')
        self.cloud.assert_stages_ran(uuid, FLOW, STAGES)
        self.assert_nothing_held(uuid)
        failed = self.cloud.instance(uuid)
        self.assertEqual((vm_states.ERROR, None),
                         (failed['vm_state'], failed['task_state']))
        self.assertEqual('The request was reverted.',
                         self.cloud.faults(uuid)[0]['message'])
        (action,) = [a for a in self.cloud.db.actions_get(self.cloud.ctx,
                                                          uuid)
                     if a['action'] == 'create']
        self.assertEqual('Error', action['message'])
        self.assertIsNotNone(action['finish_time'])

    def test_an_active_instance_is_left_alone(self):
        ctx, server = self.configured_server()
        self.power_on(ctx, server)
        self.cloud.manager().unconfigure_instance(ctx, server, 'Too late.')
        uuid = server['uuid']
        active = self.cloud.instance(uuid)
        self.assertEqual(vm_states.ACTIVE, active['vm_state'])
        self.assertEqual(power_state.RUNNING, self.cloud.manager()
                         .driver.instance_record(uuid)['power_state'])
        self.assertEqual((512, 1, 1), self.node_usage())
        self.assertEqual([], self.cloud.faults(uuid))

    def test_failure_sets_error_with_the_fault(self):
        ctx, server = self.configured_server()
        self.cloud.fail_at(f'{FLOW}.release_claim')
        self.cloud.manager().unconfigure_instance(ctx, server, 'Reverted.')
        uuid = server['uuid']
        self.assertEqual(vm_states.ERROR,
                         self.cloud.instance(uuid)['vm_state'])
        self.assertEqual('InjectedFailure',
                         self.cloud.faults(uuid)[0]['message'])


class TestConfiguredInstanceTimeout(kit.PhasesKitTestCase):
    """The periodic check undoes a configured instance whose power-on
    has not come within [compute] configured_instance_timeout, and no
    other."""

    def test_stale_configured_instance_is_undone(self):
        self.cloud.config(group='compute', configured_instance_timeout=60)
        _, stale = self.configured_server()
        _, fresh = self.configured_server()
        self.cloud.db.instance_update(
            self.cloud.ctx, stale['uuid'], {
                'updated_at': timeutils.utcnow() - datetime.timedelta(
                    seconds=61)})
        undone = self.cloud.manager().unconfigure_stale_instances(
            self.cloud.ctx)
        self.assertEqual(1, undone)
        self.assertEqual(vm_states.ERROR,
                         self.cloud.instance(stale['uuid'])['vm_state'])
        self.assertIn('did not come within 60 seconds',
                      self.cloud.faults(stale['uuid'])[0]['message'])
        self.assertFalse(self.cloud.manager().driver.instance_exists(
            {'uuid': stale['uuid']}))
        # The fresh one is still configured, with its share of the node.
        self.assertEqual(vm_states.BUILDING,
                         self.cloud.instance(fresh['uuid'])['vm_state'])
        self.assertEqual((512, 1, 1), self.node_usage())
