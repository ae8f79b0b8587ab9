"""Quotas on a whole cloud in-process (real database): os-quota-sets
stored in the quotas tables, GET /limits, and POST /servers refused or
reduced by the instances quota."""

from __future__ import annotations

from unittest import mock

import fixtures

from nova.tests.functional.api import base as api_base

USER = api_base.USER
ADMIN = api_base.ADMIN


class TestQuotasAPI(api_base.APITestCase):

    def boot(self, **server):
        body = {'server': {'name': 'q', 'flavorRef': '1',
                           'imageRef': self.cloud.image['id'],
                           'networks': 'none', **server}}
        return self.call('POST', '/servers', body)

    def test_set_show_detail_and_revert_in_the_database(self):
        code, data = self.call('PUT', '/os-quota-sets/demo',
                               {'quota_set': {'instances': 2}},
                               token=ADMIN)
        self.assertEqual(200, code, data)
        code, data = self.call('PUT', '/os-quota-sets/demo?user_id=demo',
                               {'quota_set': {'instances': 1}},
                               token=ADMIN)
        self.assertEqual(200, code, data)
        _code, data = self.call('GET', '/os-quota-sets/demo')
        self.assertEqual(2, data['quota_set']['instances'])
        _code, data = self.call('GET', '/os-quota-sets/demo?user_id=demo')
        self.assertEqual(1, data['quota_set']['instances'])
        self.assertEqual(202, self.boot()[0])
        _code, data = self.call('GET', '/os-quota-sets/demo/detail')
        self.assertEqual({'limit': 2, 'in_use': 1, 'reserved': 0},
                         data['quota_set']['instances'])
        code, data = self.boot()
        self.assertEqual(403, code, data)
        self.assertEqual('Quota exceeded for instances: Requested 1, but '
                         'already used 1 of 1 instances',
                         data['forbidden']['message'])
        self.assertEqual(202, self.call('DELETE', '/os-quota-sets/demo',
                                        token=ADMIN)[0])
        _code, data = self.call('GET', '/os-quota-sets/demo?user_id=demo')
        self.assertEqual(10, data['quota_set']['instances'])

    def test_max_count_reduced_and_limits_show_usage(self):
        self.call('PUT', '/os-quota-sets/demo',
                  {'quota_set': {'instances': 3}}, token=ADMIN)
        code, data = self.boot(min_count=2, max_count=50,
                               return_reservation_id=True)
        self.assertEqual(202, code, data)
        _code, data = self.call('GET', '/servers')
        self.assertEqual(3, len(data['servers']))
        _code, data = self.call('GET', '/limits')
        absolute = data['limits']['absolute']
        self.assertEqual(3, absolute['maxTotalInstances'])
        self.assertEqual(3, absolute['totalInstancesUsed'])
        code, data = self.boot()
        self.assertEqual(403, code, data)

    def test_recheck_fails_a_request_that_raced_past_the_quota(self):
        # Another request's servers written after this one's check: the
        # recheck in compute_api.create sees usage over the limit.
        self.call('PUT', '/os-quota-sets/demo',
                  {'quota_set': {'instances': 1}}, token=ADMIN)
        self.cloud.boot(self.cloud.user_context())
        self.useFixture(fixtures.MockPatch(
            'nova.quota.QuotaEngine.check_num_instances',
            side_effect=lambda ctx, flavor, lo, hi, *a: hi))
        code, data = self.boot()
        self.assertEqual(403, code, data)
        self.assertIn('Quota exceeded for instances',
                      data['forbidden']['message'])
        _code, data = self.call('GET', '/servers')
        self.assertEqual(1, len(data['servers']))

    def _rechecks(self):
        return self.useFixture(fixtures.MockPatch(
            'nova.compute.api.API._recheck_quota', autospec=True,
            side_effect=lambda *a, **k: None)).mock

    def test_rechecked_where_a_limit_applies(self):
        rechecks = self._rechecks()
        self.assertEqual(202, self.boot()[0])  # the default quotas
        rechecks.assert_called_once_with(mock.ANY, mock.ANY, mock.ANY)

    def test_not_rechecked_without_any_limit(self):
        self.call('PUT', '/os-quota-sets/demo',
                  {'quota_set': {'instances': -1, 'cores': -1, 'ram': -1}},
                  token=ADMIN)
        rechecks = self._rechecks()
        self.assertEqual(202, self.boot()[0])
        rechecks.assert_not_called()
        # A user's own limit applies again.
        self.call('PUT', '/os-quota-sets/demo?user_id=demo',
                  {'quota_set': {'cores': 100}}, token=ADMIN)
        self.assertEqual(202, self.boot()[0])
        self.assertEqual(1, rechecks.call_count)
