"""Instance notifications sent by the compute flows, through
oslo.messaging's notifier (the ``test`` driver records what is sent)."""

from oslo_messaging.notify import _impl_test as test_notifier

import nova.conf
from nova import rpc, test
from nova.compute import vm_states
from nova.tests.functional import fixtures as func_fixtures

CONF = nova.conf.CONF
SECRET = 'marker-secret-d41d8cd9'


class NotificationsTestCase(test.TestCase):

    notification_format = 'both'

    def setUp(self):
        super().setUp()
        test_notifier.reset()
        self.addCleanup(test_notifier.reset)
        # oslo.messaging's notification options (registered by nova.rpc
        # before a transport exists), to override the driver.
        rpc.register_opts(CONF)
        self.cloud = self.useFixture(func_fixtures.LocalCloud(
            oslo_messaging_notifications__driver=['test'],
            notifications__notification_format=self.notification_format))

    def sent(self):
        return [(message['event_type'], message['publisher_id'], priority,
                 message['payload'])
                for _, message, priority, _ in test_notifier.NOTIFICATIONS]

    def boot_and_delete(self):
        instance = self.cloud.boot(user_data=SECRET)
        self.cloud.wait_for_state(instance['uuid'], vm_states.ACTIVE)
        self.cloud.wait_for_action(instance['uuid'], 'create')
        active = self.cloud.db.instance_get_by_uuid(self.cloud.ctx,
                                                    instance['uuid'])
        self.cloud.compute_api.delete(self.cloud.ctx, active)
        self.cloud.wait_for_deleted(instance['uuid'])
        # The instance is gone before the terminate flow's last stage
        # (notify_usage_end) runs: wait for both runs to end.
        self.cloud.wait_for_runs(instance['uuid'], 2, prefix='compute.')
        return instance['uuid']


class TestBothFormats(NotificationsTestCase):

    def test_boot_and_delete_send_upstreams_event_types(self):
        uuid = self.boot_and_delete()
        versioned = [(event, publisher) for event, publisher, _, _ in
                     self.sent() if not event.startswith('compute.')]
        self.assertEqual(
            [('instance.create.start', 'nova-compute:compute1'),
             ('instance.create.end', 'nova-compute:compute1'),
             ('instance.delete.start', 'nova-compute:compute1'),
             ('instance.delete.end', 'nova-compute:compute1')],
            versioned)
        legacy = [(event, publisher) for event, publisher, _, _ in
                  self.sent() if event.startswith('compute.')]
        self.assertEqual(
            [('compute.instance.create.start', 'compute.compute1'),
             ('compute.instance.create.end', 'compute.compute1'),
             ('compute.instance.delete.start', 'compute.compute1'),
             ('compute.instance.delete.end', 'compute.compute1')],
            legacy)
        for event, _, priority, payload in self.sent():
            self.assertEqual('INFO', priority)
            if event.startswith('instance.'):
                self.assertEqual(uuid, payload['nova_object.data']['uuid'])
            else:
                self.assertEqual(uuid, payload['instance_id'])

    def test_create_end_payload_is_upstreams_versioned_envelope(self):
        self.boot_and_delete()
        [payload] = [p for event, _, _, p in self.sent()
                     if event == 'instance.create.end']
        self.assertEqual('InstanceCreatePayload',
                         payload['nova_object.name'])
        self.assertEqual('nova', payload['nova_object.namespace'])
        data = payload['nova_object.data']
        self.assertEqual('active', data['state'])
        self.assertEqual('running', data['power_state'])
        self.assertEqual('compute1', data['host'])
        self.assertIsNotNone(data['launched_at'])
        self.assertEqual('FlavorPayload',
                         data['flavor']['nova_object.name'])
        [ip] = data['ip_addresses']
        self.assertTrue(ip['nova_object.data']['address'].startswith('10.'))
        [delete_end] = [p for event, _, _, p in self.sent()
                        if event == 'instance.delete.end']
        self.assertEqual('InstanceActionPayload',
                         delete_end['nova_object.name'])
        self.assertEqual('deleted', delete_end['nova_object.data']['state'])

    def test_user_data_is_in_no_notification(self):
        self.boot_and_delete()
        self.assertNotIn(SECRET, repr(test_notifier.NOTIFICATIONS))


class TestVersionedOnly(NotificationsTestCase):

    notification_format = 'versioned'

    def test_no_legacy_notification_is_sent(self):
        self.boot_and_delete()
        events = [event for event, _, _, _ in self.sent()]
        self.assertEqual(4, len(events))
        self.assertFalse([e for e in events if e.startswith('compute.')])


class TestDisabled(test.TestCase):

    def test_no_driver_builds_no_payload(self):
        self.cloud = self.useFixture(func_fixtures.LocalCloud())
        from unittest import mock
        with mock.patch('nova.notifications.payloads.instance_data') as data, \
                mock.patch('nova.notifications.payloads.legacy_payload') as \
                legacy:
            instance = self.cloud.boot()
            self.cloud.wait_for_action(instance['uuid'], 'create')
        data.assert_not_called()
        legacy.assert_not_called()
