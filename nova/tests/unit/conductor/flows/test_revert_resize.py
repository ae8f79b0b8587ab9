"""conductor.revert_resize with the vendor kit, on two compute hosts.

Read next to nova/conductor/flows/revert_resize.py: the destination
destroys the guest the move made (compute.revert_resize), then the
source takes the instance back with its old flavor
(compute.finish_revert_resize).  Nothing of a revert is undone: the
failure handlers (record_fault, set_error, set_migration_error) leave
the server ERROR with the migration 'error', and each host finishes its
missed part when its nova-compute starts again.  A destination that
does not answer (MessagingTimeout) is called once more, waiting for it
up to ``[DEFAULT] long_rpc_timeout``.
"""

from __future__ import annotations

import fixtures
import oslo_messaging as messaging
import testscenarios

from nova.compute import power_state, vm_states
from nova.tests.unit.compute.flows import kit

load_tests = testscenarios.load_tests_apply_scenarios

FLOW = 'conductor.revert_resize'
STAGES = ['revert_on_destination', 'finish_revert_on_source']


def assert_reverted(test, uuid, source, dest):
    """ACTIVE on the source with its old flavor, its guest and
    usage there only, the migration 'reverted'."""
    back = test.cloud.wait_for_state(uuid, vm_states.ACTIVE)
    test.assertEqual((source, kit.FROM_FLAVOR),
                     (back['host'], back['flavor']['flavorid']))
    test.assertEqual(([uuid], []), (test.cloud.guests(source),
                                    test.cloud.guests(dest)))
    test.assertEqual((kit.FROM_USAGE, kit.NO_USAGE),
                     (test.node_usage(source), test.node_usage(dest)))
    test.assertEqual('reverted', test.newest_migration(uuid)['status'])


class TestRevertResize(kit.MoveKitTestCase):

    def test_stages_and_effects(self):
        source, resized = self.resized_server()
        uuid, dest = resized['uuid'], resized['host']
        self.cloud.compute_api.revert_resize(self.cloud.ctx, resized)
        self.assertEqual('success',
                         self.cloud.wait_for_run(uuid, FLOW)['status'])
        self.cloud.assert_stages_ran(uuid, FLOW, STAGES)
        # revert_on_destination / finish_revert_on_source.
        assert_reverted(self, uuid, source, dest)



class TestRevertResizeFails(kit.MoveKitTestCase):
    """A failure at either stage: nothing reverts; ERROR, the migration
    'error', the fault; the stages after it did not run."""

    scenarios = [(s, {'stage': s}) for s in STAGES]

    def test_failure_handlers(self):
        source, resized = self.resized_server()
        uuid, dest = resized['uuid'], resized['host']
        self.cloud.fail_at(f'{FLOW}.{self.stage}')
        self.cloud.compute_api.revert_resize(self.cloud.ctx, resized)
        self.assertEqual('error',
                         self.cloud.wait_for_run(uuid, FLOW)['status'])
        self.assertEqual([], self.cloud.reverted_stages(uuid, FLOW))
        self.cloud.wait_for_state(uuid, vm_states.ERROR)
        self.assertEqual('error', self.newest_migration(uuid)['status'])
        self.assertEqual('InjectedFailure',
                         self.cloud.faults(uuid)[0]['message'])
        destination_done = self.stage == 'finish_revert_on_source'
        self.assertEqual([] if destination_done else [uuid],
                         self.cloud.guests(dest))
        # The source's guest is still off, handed over.
        self.assertEqual(power_state.SHUTDOWN,
                         self.guest(source, uuid)['power_state'])


class TestRevertResizeDestinationSilent(kit.MoveKitTestCase):
    """A destination whose heartbeats stop (its nova-compute down, or
    killed in its part): its call fails with MessagingTimeout, and the
    conductor calls it again instead of failing the revert."""

    def silent_destination(self, times):
        """The conductor's call to the destination times out ``times``
        times (None: always) before it goes through; each call's
        ``wait_for_host``."""
        rpcapi = self.cloud.conductor().compute_rpcapi
        real = rpcapi.revert_resize
        calls = []

        def revert_resize(ctx, instance, migration, wait_for_host=False):
            calls.append(wait_for_host)
            if times is None or len(calls) <= times:
                raise messaging.MessagingTimeout('no heartbeat')
            return real(ctx, instance, migration)

        self.useFixture(fixtures.MockPatchObject(rpcapi, 'revert_resize',
                                                 revert_resize))
        return calls

    def test_called_again_and_the_revert_ends(self):
        calls = self.silent_destination(times=1)
        source, resized = self.resized_server()
        uuid, dest = resized['uuid'], resized['host']
        self.cloud.compute_api.revert_resize(self.cloud.ctx, resized)
        self.assertEqual('success',
                         self.cloud.wait_for_run(uuid, FLOW)['status'])
        # The second call waits for the destination to be back.
        self.assertEqual([False, True], calls)
        assert_reverted(self, uuid, source, dest)
        self.assertEqual([], self.cloud.faults(uuid))

    def test_silent_past_long_rpc_timeout_fails(self):
        # The waiting call times out too: [DEFAULT] long_rpc_timeout went
        # by without the destination.
        calls = self.silent_destination(times=None)
        source, resized = self.resized_server()
        uuid = resized['uuid']
        self.cloud.compute_api.revert_resize(self.cloud.ctx, resized)
        self.assertEqual('error',
                         self.cloud.wait_for_run(uuid, FLOW)['status'])
        self.assertEqual([False, True], calls)
        self.cloud.wait_for_state(uuid, vm_states.ERROR)
        self.assertEqual('error', self.newest_migration(uuid)['status'])
        self.assertEqual('MessagingTimeout',
                         self.cloud.faults(uuid)[0]['message'])
        # The source's part did not run: its guest is still off.
        self.assertEqual(power_state.SHUTDOWN,
                         self.guest(source, uuid)['power_state'])
