"""Secrets never reach logs, events, faults, tracebacks or notifications.

A server is created through the API with a marker admin password and
marker user data, rebuilt with another marker password, and a second
one is created with markers while its spawn fails (the failure path:
fault, Error event, traceback, reschedule).  Then every log line
captured (every logger, DEBUG included; notifications are sent with
oslo.messaging's ``log`` driver, so they are log lines too), every
instance action and event (tracebacks and details included) and every
fault (details included) is searched for the markers, as given and
base64-encoded: none may be found.

Not covered: a token marker.  Under noauth2 the token is the identity
("user:project", which actions record as the user and project by
design); keystonemiddleware's own token handling is not part of this
cloud.
"""

from __future__ import annotations

import base64
import logging
from typing import Any

import fixtures

import nova.conf
from nova import rpc
from nova.tests.functional.api import base

CONF = nova.conf.CONF

PASSWORD = 'pw-marker-6f1d0c'
REBUILD_PASSWORD = 'pw-marker-rebuild-93ab7e'
FAILED_PASSWORD = 'pw-marker-failed-2c55d1'
USER_DATA = 'ud-marker-0b7a41'
MARKERS = (PASSWORD, REBUILD_PASSWORD, FAILED_PASSWORD, USER_DATA)


def _forms(marker: str) -> list[str]:
    """The marker and its base64 form (how user data travels)."""
    return [marker, base64.b64encode(marker.encode()).decode()]


class TestSecretsGrep(base.APITestCase):

    cloud_options = {'oslo_messaging_notifications__driver': ['log'],
                     'compute_hosts': ('compute1', 'compute2')}

    def setUp(self) -> None:
        rpc.register_opts(CONF)
        self.logs = self.useFixture(fixtures.FakeLogger(
            level=logging.DEBUG, format='%(name)s %(message)s'))
        super().setUp()

    def create(self, password: str) -> str:
        status, body = self.call('POST', '/servers', {'server': {
            'name': 'secretive', 'flavorRef': '1',
            'imageRef': self.cloud.image['id'], 'networks': 'none',
            'adminPass': password,
            'user_data': base64.b64encode(USER_DATA.encode()).decode()}})
        self.assertEqual(202, status, body)
        return str(body['server']['id'])

    def records(self, uuid: str) -> list[Any]:
        db, ctx = self.cloud.db, self.cloud.ctx
        found: list[Any] = []
        for action in db.actions_get(ctx, uuid):
            found.append(action)
            found.extend(db.action_events_get(ctx, action['id']))
        found.extend(db.instance_fault_get_by_instance_uuids(
            ctx, [uuid]).get(uuid, []))
        return found

    def test_no_marker_anywhere(self) -> None:
        uuid = self.create(PASSWORD)
        self.cloud.wait_for_state(uuid, 'active')
        status, body = self.call('POST', f'/servers/{uuid}/action', {
            'rebuild': {'imageRef': self.cloud.image['id'],
                        'adminPass': REBUILD_PASSWORD}})
        self.assertEqual(202, status, body)
        self.cloud.wait_for_action(uuid, 'rebuild')
        self.cloud.wait_for_state(uuid, 'active')

        # The failure path: the spawn fails on both hosts (rescheduled,
        # then ERROR with a fault).
        for host in ('compute1', 'compute2'):
            self.cloud.manager(host).driver.inject_failure('spawn')
        failed = self.create(FAILED_PASSWORD)
        self.cloud.wait_for_state(failed, 'error')
        self.cloud.wait_for_action(failed, 'create')
        self.assertTrue(self.cloud.db.instance_fault_get_by_instance_uuids(
            self.cloud.ctx, [failed]).get(failed))

        places = {'log': self.logs.output}
        for server in (uuid, failed):
            places[f'records of {server}'] = repr(self.records(server))
        # The search sees what it should: the notifications, with the
        # server's (not secret) name in their payloads.
        self.assertIn('instance.create.end', self.logs.output,
                      'notifications are not in the captured log')
        self.assertIn('secretive', self.logs.output)
        hits = [(where, form) for where, text in places.items()
                for marker in MARKERS for form in _forms(marker)
                if form in text]
        self.assertEqual([], hits)
