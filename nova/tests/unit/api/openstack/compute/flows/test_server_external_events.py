"""api.server_external_events with the vendor kit.

Read next to nova/api/openstack/compute/flows/server_external_events.py:
authorize, load_instances, check_events (each event's code: 200, 404 no
such server, 400 no tag where one is needed, 422 no host), dispatch_events
(the accepted ones cast to their servers' hosts), view (200 when every
event was accepted, 207 otherwise); a refused event fails only itself.
"""

from __future__ import annotations

import uuid as uuidlib
from typing import Any

from nova.flow import hooks
from nova.tests.unit.api.openstack.compute.flows import kit

FLOW = 'api.server_external_events'
STAGES = ['authorize', 'load_instances', 'check_events', 'dispatch_events',
          'view']


def names(events: list[dict[str, Any]]) -> list[str]:
    return [event['name'] for event in events]


class NoVifDeleted(hooks.Hook):
    """A vendor refusing one kind of event after the checks."""

    supports = {FLOW: '1.0'}

    @hooks.after(f'{FLOW}.check_events')
    def no_vif_deleted(self, ctx: Any, state: Any) -> None:
        for result in state.results:
            if result['name'] == 'network-vif-deleted':
                result.update(code=403, status='failed')
        state.accepted = [event for event in state.accepted
                          if event['name'] != 'network-vif-deleted']


class _EventsTestCase(kit.ApiKitTestCase):

    def send(self, *events: dict[str, Any],
             token: str = kit.ADMIN) -> tuple[int, Any]:
        """At 2.76: every event name (power-update is the newest)."""
        return self.cloud.api('POST', '/os-server-external-events',
                              {'events': list(events)}, token=token,
                              version='2.76')


class TestExternalEvents(_EventsTestCase):

    watching = (FLOW, '1.0', STAGES, lambda state: (
        sorted(state.instances), names(state.accepted), state.status))

    def test_stages_and_every_event_accepted(self):
        uuid = self.server()['uuid']
        code, body = self.send(
            {'server_uuid': uuid, 'name': 'network-changed'},
            {'server_uuid': uuid, 'name': 'power-update', 'tag': 'POWER_OFF'})
        self.assertEqual(200, code, body)
        self.assertEqual(STAGES, list(self.seen))
        self.assertEqual(([uuid], [], 200), self.seen['load_instances'])
        self.assertEqual(([uuid], ['network-changed', 'power-update'], 200),
                         self.seen['check_events'])
        self.assertEqual([200, 200],
                         [event['code'] for event in body['events']])
        self.assertEqual(['completed', 'completed'],
                         [event['status'] for event in body['events']])

    def test_refused_events_fail_only_themselves(self):
        uuid = self.server()['uuid']
        unknown = str(uuidlib.uuid4())
        code, body = self.send(
            {'server_uuid': uuid, 'name': 'network-changed'},
            {'server_uuid': unknown, 'name': 'network-changed'},
            {'server_uuid': uuid, 'name': 'volume-extended'})
        self.assertEqual(207, code, body)
        self.assertEqual([200, 404, 400],
                         [event['code'] for event in body['events']])
        self.assertEqual(['network-changed'], self.seen['check_events'][1])
        self.assertEqual(207, self.seen['view'][2])

    def test_a_server_without_a_host_is_422(self):
        server = self.server()
        self.cloud.db.instance_update(self.cloud.ctx, server['uuid'],
                                      {'host': None})
        code, body = self.send(
            {'server_uuid': server['uuid'], 'name': 'network-changed'})
        self.assertEqual(207, code, body)
        self.assertEqual([422], [event['code'] for event in body['events']])

    def test_not_an_admin_is_403_at_authorize(self):
        uuid = self.server()['uuid']
        code, body = self.send(
            {'server_uuid': uuid, 'name': 'network-changed'},
            token='demo:demo')
        self.assertEqual(403, code, body)
        self.assertEqual({}, self.seen)


class TestExternalEventsHooked(_EventsTestCase):

    hooks = (NoVifDeleted,)
    watching = (FLOW, '1.0', ['dispatch_events'],
                lambda state: names(state.accepted))

    def test_a_hook_after_the_checks_refuses_an_event(self):
        uuid = self.server()['uuid']
        code, body = self.send(
            {'server_uuid': uuid, 'name': 'network-changed'},
            {'server_uuid': uuid, 'name': 'network-vif-deleted',
             'tag': 'port-1'})
        self.assertEqual(207, code, body)
        self.assertEqual([200, 403],
                         [event['code'] for event in body['events']])
        self.assertEqual(['network-changed'],
                         self.seen['dispatch_events'])
