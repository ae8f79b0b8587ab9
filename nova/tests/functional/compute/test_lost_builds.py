"""A create request no service took does not leave its server in BUILD.

nova-api writes the server and its create action, then casts to
nova-conductor; if nova-api stops in between (or a conductor stops after
taking the cast, or the message is lost), no flow run is ever linked to
the action. nova-conductor finds such requests older than ``[conductor]
lost_build_timeout`` and sets their servers to ERROR with a fault; a late
build of one is then refused by the compute host.
"""

from __future__ import annotations

import datetime
from unittest import mock

from oslo_utils import timeutils

from nova import test
from nova.compute import vm_states
from nova.tests.functional import fixtures as func_fixtures


class TestLostBuilds(test.TestCase):

    def setUp(self):
        super().setUp()
        self.cloud = self.useFixture(func_fixtures.LocalCloud(
            conductor__lost_build_timeout=300))
        self.conductor = next(s.manager for s in self.cloud.services
                              if s.binary == 'nova-conductor')

    def lost_boot(self):
        """What nova-api leaves when it stops right after the write."""
        api = self.cloud.compute_api
        with mock.patch.object(api.conductor_api, 'build_instances') as cast:
            uuid = self.cloud.boot()['uuid']
        cast.assert_called_once()
        return uuid, cast.call_args

    def later(self, seconds):
        timeutils.set_time_override(
            timeutils.utcnow() + datetime.timedelta(seconds=seconds))
        self.addCleanup(timeutils.clear_time_override)

    def test_lost_request_ends_in_error_with_a_fault(self):
        uuid, _ = self.lost_boot()
        active = self.cloud.boot()['uuid']
        self.cloud.wait_for_state(active, vm_states.ACTIVE)
        self.later(301)

        self.assertEqual(1, self.conductor.fail_lost_builds(self.cloud.ctx))

        server = self.cloud.instance(uuid)
        self.assertEqual((vm_states.ERROR, None),
                         (server['vm_state'], server['task_state']))
        (fault,) = self.cloud.db.instance_fault_get_by_instance_uuids(
            self.cloud.ctx, [uuid])[uuid]
        self.assertIn('was lost', fault['message'])
        action = self.cloud.wait_for_action(uuid, 'create')
        self.assertEqual('Error', action['message'])
        # A build that was taken is not a lost one.
        self.assertEqual(vm_states.ACTIVE,
                         self.cloud.instance(active)['vm_state'])
        # Done once: a second look finds nothing.
        self.assertEqual(0, self.conductor.fail_lost_builds(self.cloud.ctx))

    def test_young_request_is_left_alone(self):
        uuid, _ = self.lost_boot()
        self.later(299)
        self.assertEqual(0, self.conductor.fail_lost_builds(self.cloud.ctx))
        self.assertEqual(vm_states.BUILDING,
                         self.cloud.instance(uuid)['vm_state'])

    def test_late_build_of_a_lost_request_is_refused(self):
        uuid, call = self.lost_boot()
        self.later(301)
        self.conductor.fail_lost_builds(self.cloud.ctx)
        # The message turns up after all (while compute1 is up).
        timeutils.clear_time_override()
        self.conductor.build_instances(*call.args, **call.kwargs)
        runs = self.cloud.wait_for_runs(uuid, 1, prefix='compute.')
        self.assertEqual(['error'], [r['status'] for r in runs])
        server = self.cloud.instance(uuid)
        self.assertEqual((vm_states.ERROR, None),
                         (server['vm_state'], server['task_state']))
        self.assertIsNone(server['host'])
        self.assertFalse(self.cloud.manager('compute1').driver.instance_exists(
            {'uuid': uuid}))
