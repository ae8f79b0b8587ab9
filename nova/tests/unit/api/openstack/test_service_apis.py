"""nova-api serves the APIs of [DEFAULT] enabled_apis under their
prefixes; each service API alone serves its version document at its
root."""

from __future__ import annotations

import json

import webob

from nova import test
from nova.api.openstack import service_apis
from nova.tests.unit.api import fakes


def _get(app, path):
    resp = webob.Request.blank(path, base_url='http://cloud:8774').\
        get_response(app)
    return resp.status_int, json.loads(resp.body or b'null')


class TestEnabledApis(test.TestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(fakes.APIFixture())

    def test_every_api_under_its_prefix_by_default(self):
        app = service_apis.load_apis(fakes.CONF, fakes.CONF.enabled_apis)
        status, body = _get(app, '/image/')
        self.assertEqual(300, status)
        self.assertEqual('http://cloud:8774/image/v2/',
                         body['versions'][0]['links'][0]['href'])
        status, body = _get(app, '/image/versions')
        self.assertEqual(300, status)
        status, body = _get(app, '/volume')
        self.assertEqual(300, status)
        self.assertEqual(('v3.0', 'http://cloud:8774/volume/v3/'),
                         (body['versions'][0]['id'],
                          body['versions'][0]['links'][0]['href']))
        status, body = _get(app, '/networking/')
        self.assertEqual(200, status)
        self.assertEqual('http://cloud:8774/networking/v2.0/',
                         body['versions'][0]['links'][0]['href'])
        # The compute API keeps the root.
        status, body = _get(app, '/v2.1/')
        self.assertEqual((200, 'v2.1'), (status, body['version']['id']))
        status, body = _get(app, '/')
        self.assertEqual('v2.1', body['versions'][0]['id'])

    def test_compute_alone(self):
        app = service_apis.load_apis(fakes.CONF, ['osapi_compute'])
        self.assertEqual(404, _get(app, '/image/')[0])
        self.assertEqual(200, _get(app, '/v2.1/')[0])

    def test_one_service_at_its_own_root(self):
        app = service_apis.load_api(fakes.CONF, 'network')
        status, body = _get(app, '/')
        self.assertEqual(200, status)
        self.assertEqual('http://cloud:8774/v2.0/',
                         body['versions'][0]['links'][0]['href'])

    def test_nothing_enabled_is_refused(self):
        self.assertRaisesRegex(ValueError, 'enabled_apis',
                               service_apis.load_apis, fakes.CONF, [])
