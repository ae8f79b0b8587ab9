"""compute.unshelve_instance with the vendor kit.

Read next to nova/compute/flows/unshelve_instance.py: a shelved server
brought back through the conductor - an offloaded one built again from
its snapshot on the host the scheduler picked (claim, guest spawned),
a SHELVED one powered on where its guest stayed - ACTIVE, and last the
snapshot and the ``shelved_*`` keys deleted.  For a failure at each
stage the reverts (the record back to shelved with no host, the claim
released, the spawned guest destroyed or the kept one powered off) and
the failure handlers (record_fault, clear_task_state); the snapshot is
kept for another unshelve.
"""

from __future__ import annotations

import testscenarios

from nova import exception
from nova.compute import power_state, vm_states
from nova.compute.flows import shared
from nova.tests.unit.compute.flows import kit

load_tests = testscenarios.load_tests_apply_scenarios

FLOW = 'compute.unshelve_instance'
STAGES = ['notify_usage_start', 'update_spawning', 'claim_resources',
          'get_network_info', 'prep_block_device', 'driver_spawn',
          'driver_power_on', 'update_active', 'notify_usage_end',
          'delete_shelved_image']
REVERTING = ['update_spawning', 'claim_resources', 'prep_block_device',
             'driver_spawn', 'driver_power_on', 'update_active']


class _UnshelveTestCase(kit.FlowKitTestCase):

    def failed_unshelve(self, shelved):
        """Unshelve ``shelved`` with a failure at ``self.stage``: its
        run ended in error, with the reverts of the stages up to it."""
        self.cloud.fail_at(f'{FLOW}.{self.stage}')
        self.assertEqual('error', self.unshelve(shelved)['status'])
        self.assert_reverted(shelved['uuid'], FLOW, STAGES, REVERTING,
                             self.stage)

    def unshelve(self, shelved):
        self.cloud.compute_api.unshelve(self.cloud.ctx, shelved)
        return self.cloud.wait_for_run(shelved['uuid'], FLOW)

    def snapshot(self, instance):
        """The shelve's snapshot image, or None once it is deleted."""
        image_id = instance['system_metadata']['shelved_image_id']
        try:
            return self.cloud.manager().services.image.get(self.cloud.ctx,
                                                           image_id)
        except exception.ImageNotFound:
            return None

    def guest_power(self, uuid):
        guest = self.cloud.manager().driver.instance_record(uuid)
        return None if guest is None else guest['power_state']

    def assert_unshelved(self, shelved):
        """update_active: ACTIVE, running; delete_shelved_image: the
        snapshot and the shelved_* keys gone."""
        uuid = shelved['uuid']
        active = self.cloud.wait_for_state(uuid, vm_states.ACTIVE)
        self.assertEqual(('compute1', power_state.RUNNING),
                         (active['host'], active['power_state']))
        self.assertEqual(power_state.RUNNING, self.guest_power(uuid))
        self.assertEqual(kit.FROM_USAGE, self.node_usage())
        self.assertEqual(
            [], [k for k in active['system_metadata'] or {}
                 if k in shared.SHELVED_KEYS])
        self.assertIsNone(self.snapshot(shelved))


class TestUnshelve(_UnshelveTestCase):

    def test_offloaded_server_is_built_again(self):
        shelved = self.shelved_server()
        self.assertIsNotNone(self.snapshot(shelved))
        self.assertEqual('success', self.unshelve(shelved)['status'])
        self.cloud.assert_stages_ran(shelved['uuid'], FLOW, STAGES)
        # update_spawning took the host, claim_resources claimed it,
        # driver_spawn made the guest from the snapshot.
        self.assert_unshelved(shelved)

    def test_shelved_server_is_powered_on_where_it_is(self):
        shelved = self.shelved_server(offload=False)
        uuid = shelved['uuid']
        self.assertEqual(power_state.SHUTDOWN, self.guest_power(uuid))
        self.assertEqual('success', self.unshelve(shelved)['status'])
        self.cloud.assert_stages_ran(uuid, FLOW, STAGES)
        # driver_power_on: the kept guest runs again; the shelve's claim
        # was kept, not claimed twice.
        self.assert_unshelved(shelved)


class TestUnshelveOffloadedFails(_UnshelveTestCase):
    """A failure at any stage of the unshelve of an offloaded server:
    what was done is undone newest first; the server is
    SHELVED_OFFLOADED again, with no host, guest or claim, with a fault,
    and its snapshot is kept."""

    scenarios = [(s, {'stage': s}) for s in STAGES]

    def test_reverts_and_failure_handlers(self):
        shelved = self.shelved_server()
        uuid = shelved['uuid']
        self.failed_unshelve(shelved)
        after = self.cloud.wait_for_state(uuid, vm_states.SHELVED_OFFLOADED)
        self.assertEqual((None, None, power_state.SHUTDOWN),
                         (after['host'], after['node'],
                          after['power_state']))
        self.assertIsNone(self.guest_power(uuid))
        self.assertEqual(kit.NO_USAGE, self.node_usage())
        self.assertIsNotNone(self.snapshot(after))
        self.assertEqual('InjectedFailure',
                         self.cloud.faults(uuid)[0]['message'])


class TestUnshelveShelvedFails(_UnshelveTestCase):
    """The same for a SHELVED server: it stays SHELVED on its host, its
    guest off again, its claim kept."""

    scenarios = [(s, {'stage': s}) for s in
                 ('driver_power_on', 'update_active', 'notify_usage_end')]

    def test_reverts_and_failure_handlers(self):
        shelved = self.shelved_server(offload=False)
        uuid = shelved['uuid']
        self.failed_unshelve(shelved)
        after = self.cloud.wait_for_state(uuid, vm_states.SHELVED)
        self.assertEqual(('compute1', power_state.SHUTDOWN),
                         (after['host'], after['power_state']))
        self.assertEqual(power_state.SHUTDOWN, self.guest_power(uuid))
        self.assertEqual(kit.FROM_USAGE, self.node_usage())
        self.assertIsNotNone(self.snapshot(after))
        # The fault of this run, after the offload's that kept the guest.
        self.assertEqual(['InjectedFailure'] * 2,
                         [f['message'] for f in self.cloud.faults(uuid)])
