"""The Block Storage v3 API through its paste pipeline (noauth2), on the
local volumes of a test database."""

from __future__ import annotations

import json
import os
from typing import Any

import fixtures
import webob
from oslo_config import fixture as config_fixture

import nova.conf
from nova.api.openstack import service_apis
from nova.policies import enforcer
from nova.tests.unit.db import base
from nova.volume import api as volume_api

CONF = nova.conf.CONF
SERVER = '7b5e3c0a-1f9e-4a51-9f0e-000000000001'


class VolumeAPITestCase(base.DBTestCase):

    scenarios = [('sqlite', {'backend': 'sqlite'})]

    def setUp(self) -> None:
        CONF([], project='nova', default_config_files=[])
        enforcer.reset()
        self.addCleanup(enforcer.reset)
        config = self.useFixture(config_fixture.Config(CONF))
        config.config(auth_strategy='noauth2', group='api')
        path = self.useFixture(fixtures.TempDir()).path
        config.config(volumes_path=os.path.join(path, 'vols'),
                      group='volume')
        super().setUp()
        self.app = service_apis.load_api(CONF, 'volume')

    def request(self, method: str, path: str, body: Any = None,
                token: str | None = 'u1:p1', version: str | None = None,
                ) -> webob.Response:
        req = webob.Request.blank(path, method=method,
                                  base_url='http://cloud:8776')
        if token:
            req.headers['X-Auth-Token'] = token
        if version:
            req.headers['OpenStack-API-Version'] = f'volume {version}'
        if body is not None:
            req.content_type = 'application/json'
            req.body = json.dumps(body).encode()
        return req.get_response(self.app)

    def create(self, token: str = 'u1:p1', **fields: Any) -> dict:
        resp = self.request('POST', '/v3/volumes',
                            {'volume': dict({'size': 1}, **fields)},
                            token=token)
        self.assertEqual(202, resp.status_int, resp.text)
        volume: dict = resp.json['volume']
        return volume

    def test_create_show_and_list_views(self):
        volume = self.create(name='v1')
        self.assertEqual(('v1', 1, 'available', 'false', [], '__DEFAULT__',
                          'nova', 'p1'),
                         (volume['name'], volume['size'], volume['status'],
                          volume['bootable'], volume['attachments'],
                          volume['volume_type'],
                          volume['availability_zone'],
                          volume['os-vol-tenant-attr:tenant_id']))
        shown = self.request('GET', f'/v3/volumes/{volume["id"]}').json
        self.assertEqual(volume['id'], shown['volume']['id'])
        self.assertEqual('http://cloud:8776/v3/volumes/' + volume['id'],
                         shown['volume']['links'][0]['href'])
        summary = self.request('GET', '/v3/volumes').json['volumes']
        self.assertEqual([{'id', 'name', 'links'}],
                         [set(v) for v in summary])
        # The project in the URL (before 3.67) must be the caller's.
        self.assertEqual(200, self.request(
            'GET', f'/v3/p1/volumes/{volume["id"]}').status_int)
        self.assertEqual(400, self.request(
            'GET', f'/v3/p2/volumes/{volume["id"]}').status_int)
        by_name = self.request('GET', '/v3/volumes/detail?name=v1').json
        self.assertEqual([volume['id']],
                         [v['id'] for v in by_name['volumes']])

    def test_projects_see_only_their_volumes(self):
        volume = self.create()
        resp = self.request('GET', f'/v3/volumes/{volume["id"]}',
                            token='u2:p2')
        self.assertEqual(404, resp.status_int)
        self.assertEqual(404, resp.json['itemNotFound']['code'])
        self.assertEqual(404, self.request(
            'DELETE', f'/v3/volumes/{volume["id"]}',
            token='u2:p2').status_int)
        self.assertEqual([], self.request(
            'GET', '/v3/volumes?all_tenants=1',
            token='u2:p2').json['volumes'])
        # An admin sees every project's only when asking.
        self.assertEqual([], self.request(
            'GET', '/v3/volumes', token='admin:admin').json['volumes'])
        self.assertEqual([volume['id']], [v['id'] for v in self.request(
            'GET', '/v3/volumes?all_tenants=1',
            token='admin:admin').json['volumes']])

    def test_microversions(self):
        volume = self.create()
        path = f'/v3/volumes/{volume["id"]}'
        resp = self.request('GET', path)
        self.assertEqual('volume 3.0',
                         resp.headers['OpenStack-API-Version'])
        self.assertNotIn('X-OpenStack-Nova-API-Version', resp.headers)
        self.assertNotIn('group_id', resp.json['volume'])
        resp = self.request('GET', path, version='latest')
        self.assertEqual('volume 3.71',
                         resp.headers['OpenStack-API-Version'])
        self.assertEqual((None, True), (resp.json['volume']['group_id'],
                                        resp.json['volume']['consumes_quota']))
        self.assertEqual(406, self.request('GET', path,
                                           version='3.72').status_int)
        self.assertEqual(400, self.request('GET', path,
                                           version='3.x').status_int)

    def test_bad_requests_lose_nothing(self):
        for fields in ({'size': 0}, {'size': 'big'},
                       {'description': 'would be dropped'},
                       {'metadata': {'k': 'v'}}, {'volume_type': 'ssd'},
                       {'imageRef': SERVER}, {'bogus': 1}):
            resp = self.request('POST', '/v3/volumes', {'volume': dict(
                {'size': 1}, **fields)})
            self.assertEqual(400, resp.status_int, fields)
            self.assertIn('badRequest', resp.json)
        self.assertEqual([], self.request('GET',
                                          '/v3/volumes').json['volumes'])
        self.assertEqual(405, self.request('PUT', '/v3/volumes').status_int)
        self.assertEqual(401, self.request('GET', '/v3/volumes',
                                           token=None).status_int)

    def test_form_post_without_boundary_is_415(self):
        # Routes once parsed the form for a "_method" override: a 500.
        req = webob.Request.blank('/v3/volumes', method='POST')
        req.headers['X-Auth-Token'] = 'u1:p1'
        req.body = b'x'
        req.content_type = 'multipart/form-data'
        resp = req.get_response(self.app)
        self.assertEqual(415, resp.status_int, resp.text)

    def test_extend_and_attachment_actions(self):
        volume = self.create()
        action = f'/v3/volumes/{volume["id"]}/action'
        self.assertEqual(202, self.request(
            'POST', action, {'os-extend': {'new_size': 2}}).status_int)
        self.assertEqual(400, self.request(
            'POST', action, {'os-extend': {'new_size': 2}}).status_int)
        self.assertEqual(202, self.request(
            'POST', action, {'os-reserve': {'instance_uuid': SERVER}},
        ).status_int)
        info = self.request('POST', action, {'os-initialize_connection': {
            'connector': {}}}).json['connection_info']
        self.assertEqual('local', info['driver_volume_type'])
        resp = self.request('POST', action, {'os-attach': {
            'instance_uuid': SERVER, 'mountpoint': '/dev/vdb'}})
        self.assertEqual(202, resp.status_int)
        shown = self.request('GET', f'/v3/volumes/{volume["id"]}').json[
            'volume']
        self.assertEqual(('in-use', 2), (shown['status'], shown['size']))
        self.assertEqual([(SERVER, '/dev/vdb')], [
            (a['server_id'], a['device']) for a in shown['attachments']])
        self.assertEqual(400, self.request(
            'POST', action, {'os-extend': {'new_size': 3}}).status_int)
        self.assertEqual(400, self.request(
            'DELETE', f'/v3/volumes/{volume["id"]}').status_int)
        for name in ('os-begin_detaching', 'os-roll_detaching',
                     'os-begin_detaching'):
            self.assertEqual(202, self.request('POST', action,
                                               {name: None}).status_int)
        self.assertEqual(202, self.request(
            'POST', action, {'os-detach': {'instance_uuid': SERVER}},
        ).status_int)
        self.assertEqual(400, self.request('POST', action,
                                           {'os-bogus': {}}).status_int)
        self.assertEqual(volume_api.AVAILABLE, self.request(
            'GET', f'/v3/volumes/{volume["id"]}').json['volume']['status'])
        self.assertEqual(202, self.request(
            'DELETE', f'/v3/volumes/{volume["id"]}').status_int)

    def test_v3_root_is_the_version_document_without_a_token(self):
        for path in ('/v3', '/v3/'):
            resp = self.request('GET', path, token=None)
            self.assertEqual(200, resp.status_int)
            (version,) = resp.json['versions']
            self.assertEqual(('v3.0', '3.71', '3.0',
                              'http://cloud:8776/v3/'),
                             (version['id'], version['version'],
                              version['min_version'],
                              version['links'][0]['href']))
