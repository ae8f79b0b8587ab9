"""Console authorization tokens against the database (every backend)."""

import datetime

import sqlalchemy as sa
import testscenarios
from oslo_utils import fixture as utils_fixture
from oslo_utils import timeutils, uuidutils

from nova import exception
from nova.console import auth_tokens
from nova.db import api as db
from nova.db import models
from nova.tests.unit.db import base

load_tests = testscenarios.load_tests_apply_scenarios

BASE_URL = 'http://proxy.example.org:6080/vnc_lite.html'


class TestAuthTokens(base.DBTestCase):

    def setUp(self):
        super().setUp()
        self.time = self.useFixture(utils_fixture.TimeFixture(
            datetime.datetime(2026, 12, 10, 12, 0, 0)))
        self.uuid = uuidutils.generate_uuid()

    def authorize(self, uuid=None, ttl=None, console_type='novnc'):
        return auth_tokens.authorize(
            self.admin, instance_uuid=uuid or self.uuid,
            console_type=console_type, host='192.0.2.10', port=5901,
            access_url_base=BASE_URL, ttl=ttl)

    def stored(self):
        t = db.table_of(models.ConsoleAuthToken)
        with db.reader(self.admin) as session:
            return [dict(r._mapping) for r in session.execute(
                sa.select(t))]

    def test_authorize_stores_the_hash_and_gives_the_novnc_url(self):
        auth = self.authorize()
        self.assertEqual(
            f'{BASE_URL}?path=%3Ftoken%3D{auth.token}', auth.access_url)
        [row] = self.stored()
        self.assertEqual(auth_tokens.hash_token(auth.token),
                         row['token_hash'])
        self.assertNotIn(auth.token, repr(row))
        self.assertNotIn(auth.token, repr(auth))
        self.assertEqual(
            (self.uuid, 'novnc', '192.0.2.10', 5901, BASE_URL),
            (row['instance_uuid'], row['console_type'], row['host'],
             row['port'], row['access_url_base']))
        # [consoleauth] token_ttl (600 s by default) from now.
        self.assertEqual(int(timeutils.utcnow_ts()) + 600, row['expires'])

    def test_other_console_types_take_the_token_as_is(self):
        auth = self.authorize(console_type='spice-html5')
        self.assertEqual(f'{BASE_URL}?token={auth.token}', auth.access_url)

    def test_validate_finds_the_token_any_number_of_times(self):
        auth = self.authorize()
        for _ in range(2):  # not one-time: noVNC reconnects with it
            row = auth_tokens.validate(self.admin, auth.token)
            self.assertEqual((self.uuid, 5901),
                             (row['instance_uuid'], row['port']))
        self.assertEqual(self.uuid, auth_tokens.validate(
            self.admin, auth.token, instance_uuid=self.uuid)['instance_uuid'])

    def test_unknown_wrong_instance_and_empty_tokens_are_invalid(self):
        auth = self.authorize()
        for token, uuid in ((uuidutils.generate_uuid(), None),
                            (auth.token, uuidutils.generate_uuid()),
                            ('', None)):
            error = self.assertRaises(exception.InvalidToken,
                                      auth_tokens.validate, self.admin,
                                      token, uuid)
            # The message never shows a token.
            self.assertEqual("The token '***' is invalid or has expired",
                             str(error))

    def test_a_token_expires_after_its_ttl(self):
        auth = self.authorize(ttl=30)
        self.time.advance_time_seconds(29)
        auth_tokens.validate(self.admin, auth.token)
        self.time.advance_time_seconds(1)
        self.assertRaises(exception.InvalidToken, auth_tokens.validate,
                          self.admin, auth.token)

    def test_clean_expired_and_clean_for_instance(self):
        old = self.authorize(ttl=10)
        other = uuidutils.generate_uuid()
        fresh = self.authorize(ttl=100)
        mine = self.authorize(uuid=other, ttl=100)
        self.time.advance_time_seconds(10)
        self.assertEqual(1, auth_tokens.clean_expired(self.admin))
        self.assertEqual({auth_tokens.hash_token(fresh.token),
                          auth_tokens.hash_token(mine.token)},
                         {r['token_hash'] for r in self.stored()})
        self.assertNotIn(auth_tokens.hash_token(old.token),
                         [r['token_hash'] for r in self.stored()])
        self.assertEqual(1, auth_tokens.clean_for_instance(self.admin,
                                                           other))
        self.assertEqual([self.uuid],
                         [r['instance_uuid'] for r in self.stored()])
