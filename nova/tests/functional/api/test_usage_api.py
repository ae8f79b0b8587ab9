"""os-simple-tenant-usage on a whole cloud in-process: usage of live and
deleted servers in a period, detailed, paging (2.40) and the policy."""

from __future__ import annotations

import datetime

from oslo_utils import timeutils

from nova.compute import vm_states
from nova.tests.functional.api import base as api_base

ADMIN = api_base.ADMIN
FMT = '%Y-%m-%dT%H:%M:%S'


class TestUsageAPI(api_base.APITestCase):

    def setUp(self):
        super().setUp()
        self.uuids = []
        for _ in range(2):
            server = self.cloud.boot(self.cloud.user_context())
            self.cloud.wait_for_state(server['uuid'], vm_states.ACTIVE)
            self.uuids.append(server['uuid'])
        now = timeutils.utcnow()
        self.query = (f'start={(now - datetime.timedelta(hours=1)):{FMT}}'
                      f'&end={(now + datetime.timedelta(hours=1)):{FMT}}')

    def test_index_and_show(self):
        code, data = self.call('GET', '/os-simple-tenant-usage?'
                               + self.query + '&detailed=1', token=ADMIN)
        self.assertEqual(200, code, data)
        usage, = data['tenant_usages']
        self.assertEqual('demo', usage['tenant_id'])
        self.assertEqual(sorted(self.uuids), sorted(
            s['instance_id'] for s in usage['server_usages']))
        self.assertGreater(usage['total_hours'], 0)
        self.assertEqual(usage['total_hours'] * 512,
                         usage['total_memory_mb_usage'])
        code, data = self.call('GET', '/os-simple-tenant-usage/demo?'
                               + self.query)
        self.assertEqual(200, code, data)
        self.assertEqual(2, len(data['tenant_usage']['server_usages']))
        _code, data = self.call('GET', '/os-simple-tenant-usage?'
                                + self.query, token=ADMIN)
        self.assertNotIn('server_usages', data['tenant_usages'][0])

    def test_paging_errors_and_policy(self):
        code, data = self.call('GET', '/os-simple-tenant-usage/demo?'
                               + self.query + '&limit=1', version='2.40')
        self.assertEqual(1, len(data['tenant_usage']['server_usages']))
        self.assertEqual('next', data['tenant_usage_links'][0]['rel'])
        self.assertEqual(403, self.call('GET', '/os-simple-tenant-usage')[0])
        self.assertEqual(403, self.call('GET',
                                        '/os-simple-tenant-usage/other')[0])
        code, data = self.call('GET', '/os-simple-tenant-usage/demo?'
                               'start=2030-01-01T00:00:00'
                               '&end=2020-01-01T00:00:00')
        self.assertEqual(400, code)
        self.assertEqual(400, self.call('GET', '/os-simple-tenant-usage/demo'
                                        '?start=yesterday')[0])
