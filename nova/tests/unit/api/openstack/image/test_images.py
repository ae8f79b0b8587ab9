"""The Image API v2 (/image/v2) through the real paste pipeline (noauth2)
over the local image store on SQLite."""

from __future__ import annotations

import hashlib
import io
import json
import os
from typing import Any

import fixtures
import webob

import nova.conf
from nova.api.openstack import service_apis
from nova.image import local
from nova.policies import enforcer
from nova.tests.unit.db import base

CONF = nova.conf.CONF
PATCH = 'application/openstack-images-v2.1-json-patch'
DATA = bytes(range(256)) * 1000


class ImageAPITestCase(base.DBTestCase):

    def setUp(self) -> None:
        # Parsed (no files) so the paste file is found; before the
        # database fixture, whose overrides the reset would drop.
        CONF([], project='nova', default_config_files=[])
        self.addCleanup(CONF.reset)
        super().setUp()
        tmp = self.useFixture(fixtures.TempDir()).path
        CONF.set_override('images_path', os.path.join(tmp, 'images'),
                          group='image')
        self.addCleanup(CONF.clear_override, 'images_path', group='image')
        # The tests' tokens are noauth2's "user:project".
        CONF.set_override('auth_strategy', 'noauth2', group='api')
        self.addCleanup(CONF.clear_override, 'auth_strategy', group='api')
        enforcer.reset()
        self.addCleanup(enforcer.reset)
        self.app = service_apis.load_apis(CONF, ['image'])
        self.store = local.LocalImageAPI()

    def request(self, method: str, path: str, body: Any = None, *,
                token: str = 'u1:p1', content_type: str | None = None,
                raw: bytes | None = None) -> webob.Response:
        req = webob.Request.blank('/image/v2' + path, method=method,
                                  base_url='http://cloud:8774')
        req.headers['X-Auth-Token'] = token
        req.headers['Accept'] = 'application/json'
        if body is not None:
            req.body = json.dumps(body).encode()
            req.content_type = content_type or 'application/json'
        elif raw is not None:
            req.body = raw
            req.content_type = content_type or 'application/octet-stream'
        return req.get_response(self.app)

    def create(self, token: str = 'u1:p1', data: bytes | None = DATA,
               **attributes: Any) -> dict[str, Any]:
        attributes.setdefault('name', 'img')
        attributes.setdefault('disk_format', 'raw')
        attributes.setdefault('container_format', 'bare')
        resp = self.request('POST', '/images', attributes, token=token)
        self.assertEqual(201, resp.status_int, resp.text)
        image = resp.json
        if data is not None:
            resp = self.request('PUT', f'/images/{image["id"]}/file',
                                raw=data, token=token)
            self.assertEqual(204, resp.status_int, resp.text)
            image = self.request('GET', f'/images/{image["id"]}',
                                 token=token).json
        return image


class CreateUploadDownloadTestCase(ImageAPITestCase):

    def test_create_is_queued_then_upload_makes_it_active(self):
        resp = self.request('POST', '/images', {
            'name': 'cirros', 'disk_format': 'raw',
            'container_format': 'bare', 'hw_disk_bus': 'virtio'})
        self.assertEqual(201, resp.status_int)
        image = resp.json
        self.assertEqual(
            f'http://cloud:8774/image/v2/images/{image["id"]}',
            resp.location)
        self.assertEqual(('queued', 'cirros', 'virtio', 'p1', None),
                         (image['status'], image['name'],
                          image['hw_disk_bus'], image['owner'],
                          image['size']))
        self.assertEqual(f'/v2/images/{image["id"]}/file', image['file'])
        self.assertNotIn('path', image)

        self.assertEqual(204, self.request(
            'PUT', f'/images/{image["id"]}/file', raw=DATA).status_int)
        shown = self.request('GET', f'/images/{image["id"]}').json
        self.assertEqual(('active', len(DATA),
                          hashlib.md5(DATA).hexdigest(),
                          hashlib.sha256(DATA).hexdigest()),
                         (shown['status'], shown['size'], shown['checksum'],
                          shown['os_hash_value']))

        resp = self.request('GET', f'/images/{image["id"]}/file')
        self.assertEqual(200, resp.status_int)
        self.assertEqual(DATA, resp.body)
        self.assertEqual(hashlib.md5(DATA).hexdigest(),
                         resp.headers['Content-MD5'])

        # A second upload: the image is no longer queued.
        self.assertEqual(409, self.request(
            'PUT', f'/images/{image["id"]}/file', raw=b'x').status_int)

    def test_chunked_upload_to_a_snapshot_record(self):
        # nova's snapshot records wait in "saving" for the compute host,
        # which streams the data (chunked, size unknown).
        snapshot = self.store.create_snapshot(
            self.ctx.__class__('u1', 'p1'), 'snap')
        req = webob.Request.blank(
            f'/image/v2/images/{snapshot["id"]}/file', method='PUT',
            base_url='http://cloud:8774')
        req.headers['X-Auth-Token'] = 'u1:p1'
        req.content_type = 'application/octet-stream'
        req.headers['Transfer-Encoding'] = 'chunked'
        req.environ['wsgi.input'] = io.BytesIO(DATA)
        req.environ.pop('CONTENT_LENGTH', None)
        self.assertEqual(204, req.get_response(self.app).status_int)
        shown = self.request('GET', f'/images/{snapshot["id"]}').json
        self.assertEqual(('active', len(DATA)),
                         (shown['status'], shown['size']))

    def test_upload_needs_octet_stream(self):
        image = self.create(data=None)
        resp = self.request('PUT', f'/images/{image["id"]}/file', raw=DATA,
                            content_type='text/plain')
        self.assertEqual(415, resp.status_int)
        self.assertEqual('queued', self.request(
            'GET', f'/images/{image["id"]}').json['status'])

    def test_download_of_queued_image_is_no_content(self):
        image = self.create(data=None)
        self.assertEqual(204, self.request(
            'GET', f'/images/{image["id"]}/file').status_int)

    def test_bad_create_bodies(self):
        resp = self.request('POST', '/images', {'name': 'x',
                                                'status': 'active'})
        self.assertEqual(403, resp.status_int)
        self.assertIn("Attribute 'status' is read-only.",
                      resp.json['message'])
        for body in ({'min_ram': -1}, {'protected': 'yes'},
                     {'visibility': 'everyone'}, {'colour': 5},
                     {'disk_format': 'floppy'}):
            self.assertEqual(400, self.request(
                'POST', '/images', body).status_int, body)
        req = webob.Request.blank('/image/v2/images', method='POST',
                                  base_url='http://cloud:8774')
        req.headers['X-Auth-Token'] = 'u1:p1'
        req.body = b'{"name": '
        req.content_type = 'application/json'
        self.assertEqual(400, req.get_response(self.app).status_int)
        self.assertEqual([], self.store.get_all(self.admin))

    def test_delete(self):
        image = self.create()
        self.assertEqual(204, self.request(
            'DELETE', f'/images/{image["id"]}').status_int)
        self.assertEqual(404, self.request(
            'GET', f'/images/{image["id"]}').status_int)
        self.assertEqual(404, self.request(
            'DELETE', f'/images/{image["id"]}').status_int)

    def test_protected_image_is_not_deleted(self):
        image = self.create(protected=True)
        self.assertEqual(403, self.request(
            'DELETE', f'/images/{image["id"]}').status_int)
        self.assertEqual('active', self.request(
            'GET', f'/images/{image["id"]}').json['status'])

    def test_unknown_path_and_method(self):
        self.assertEqual(404, self.request('GET', '/nothing').status_int)
        resp = self.request('POST', '/images/x/file')
        self.assertEqual(405, resp.status_int)
        self.assertEqual('GET, PUT', resp.headers['Allow'])

    def test_error_body_carries_the_message_whatever_the_accept(self):
        # The pipeline replaced a body that was not JSON with the compute
        # API's {"forbidden": {"message": "Forbidden"}}, losing the
        # message for clients that do not send Accept: application/json.
        for accept in (None, '*/*', 'text/html', 'text/plain',
                       'application/json'):
            req = webob.Request.blank('/image/v2/images', method='POST',
                                      base_url='http://cloud:8774')
            req.headers['X-Auth-Token'] = 'u1:p1'
            if accept:
                req.headers['Accept'] = accept
            req.body = b'{"name": "x", "status": "active"}'
            req.content_type = 'application/json'
            resp = req.get_response(self.app)
            self.assertEqual(403, resp.status_int, accept)
            self.assertEqual('application/json', resp.content_type)
            self.assertEqual({'message': "Attribute 'status' is read-only.",
                              'code': '403 Forbidden', 'title': 'Forbidden'},
                             resp.json, accept)
        missing = '00000000-0000-0000-0000-000000000001'
        req = webob.Request.blank(f'/image/v2/images/{missing}',
                                  base_url='http://cloud:8774')
        req.headers['X-Auth-Token'] = 'u1:p1'
        resp = req.get_response(self.app)
        self.assertEqual(404, resp.status_int)
        self.assertIn(missing, resp.json['message'])

    def test_form_post_without_boundary_is_400(self):
        # Routes once parsed the form for a "_method" override: a 500.
        resp = self.request('POST', '/images', raw=b'x',
                            content_type='multipart/form-data')
        self.assertEqual(400, resp.status_int, resp.text)


class ListTestCase(ImageAPITestCase):

    def test_filters(self):
        a = self.create(name='a', disk_format='qcow2')
        b = self.create(name='b', data=None, os_distro='cirros')
        self.create(name='c', token='u2:p2', visibility='private')

        def names(query: str) -> list[str]:
            resp = self.request('GET', '/images' + query)
            self.assertEqual(200, resp.status_int, resp.text)
            return sorted(i['name'] for i in resp.json['images'])

        self.assertEqual(['a', 'b'], names(''))
        self.assertEqual(['a'], names('?name=a'))
        self.assertEqual(['b'], names('?status=queued'))
        self.assertEqual(['a'], names('?disk_format=qcow2'))
        self.assertEqual(['b'], names('?os_distro=cirros'))
        self.assertEqual(['a'], names(f'?id=in:{a["id"]},nope'))
        self.assertEqual(['a', 'b'], names('?owner=p1'))
        self.assertEqual(['a'], names(f'?size_min={len(DATA)}'))
        self.assertEqual([], names('?tag=x'))
        self.assertEqual(['b'], names('?visibility=shared&status=queued'))
        del b

    def test_paging_follows_next_links(self):
        ids = [self.create(name=f'i{n}', data=None)['id'] for n in range(5)]
        seen: list[str] = []
        path = '/images?limit=2&sort_key=name&sort_dir=asc'
        pages = 0
        while path:
            body = self.request('GET', path).json
            self.assertEqual('/v2/schemas/images', body['schema'])
            seen += [i['name'] for i in body['images']]
            path = body.get('next', '').removeprefix('/v2')
            pages += 1
        self.assertEqual([f'i{n}' for n in range(5)], seen)
        self.assertEqual(3, pages)
        body = self.request('GET', '/images?sort=name:desc&limit=1').json
        self.assertEqual(['i4'], [i['name'] for i in body['images']])
        # Glance's answer to a marker of no image, with or without a
        # filter applied over the store's matches.
        for query in ('marker=nope', 'marker=nope&hw_disk_bus=virtio'):
            response = self.request('GET', f'/images?{query}')
            self.assertEqual(400, response.status_int)
            self.assertIn('No image found with ID nope', response.text)
        self.assertEqual(400, self.request(
            'GET', '/images?sort_key=bogus').status_int)
        self.assertEqual(400, self.request(
            'GET', '/images?limit=-1').status_int)
        del ids

    def test_snapshot_records_appear_with_lowercase_status(self):
        snapshot = self.store.create_snapshot(
            self.ctx.__class__('u1', 'p1'), 'snap',
            properties={'image_type': 'snapshot', 'hw_vcpus': 2})
        shown = self.request('GET', f'/images/{snapshot["id"]}').json
        # Custom properties are strings in Image API v2.
        self.assertEqual(('saving', 'private', 'snapshot', '2'),
                         (shown['status'], shown['visibility'],
                          shown['image_type'], shown['hw_vcpus']))
        self.assertEqual(['snap'], [i['name'] for i in self.request(
            'GET', '/images').json['images']])


class PatchTestCase(ImageAPITestCase):

    def patch_image(self, image_id: str, operations: Any,
              content_type: str = PATCH, token: str = 'u1:p1',
              ) -> webob.Response:
        return self.request('PATCH', f'/images/{image_id}', operations,
                            content_type=content_type, token=token)

    def test_replace_add_remove(self):
        image = self.create(name='old', os_distro='cirros', extra='1')
        resp = self.patch_image(image['id'], [
            {'op': 'replace', 'path': '/name', 'value': 'new'},
            {'op': 'add', 'path': '/visibility', 'value': 'private'},
            {'op': 'add', 'path': '/hw_disk_bus', 'value': 'scsi'},
            {'op': 'replace', 'path': '/os_distro', 'value': 'ubuntu'},
            {'op': 'remove', 'path': '/extra'},
            {'op': 'replace', 'path': '/min_ram', 'value': 512}])
        self.assertEqual(200, resp.status_int, resp.text)
        shown = self.request('GET', f'/images/{image["id"]}').json
        self.assertEqual(('new', 'private', 'scsi', 'ubuntu', 512),
                         (shown['name'], shown['visibility'],
                          shown['hw_disk_bus'], shown['os_distro'],
                          shown['min_ram']))
        self.assertNotIn('extra', shown)
        self.assertEqual(resp.json, shown)

    def test_bad_patches_change_nothing(self):
        image = self.create(name='keep')
        cases = [
            ([{'op': 'replace', 'path': '/status', 'value': 'x'}], 403),
            ([{'op': 'remove', 'path': '/name'}], 403),
            ([{'op': 'remove', 'path': '/missing'}], 409),
            ([{'op': 'replace', 'path': '/missing', 'value': 'x'}], 409),
            ([{'op': 'move', 'path': '/name', 'from': '/x'}], 400),
            ([{'op': 'replace', 'path': '/name'}], 400),
            ([{'op': 'replace', 'path': '/min_ram', 'value': 'lots'}], 400),
            ({'name': 'x'}, 400),
        ]
        for operations, code in cases:
            resp = self.patch_image(image['id'], [
                {'op': 'replace', 'path': '/name', 'value': 'changed'},
                *operations] if isinstance(operations, list)
                else operations)
            self.assertEqual(code, resp.status_int, operations)
        self.assertEqual(415, self.patch_image(
            image['id'], [], content_type='application/json').status_int)
        self.assertEqual('keep', self.request(
            'GET', f'/images/{image["id"]}').json['name'])


class PolicyTestCase(ImageAPITestCase):

    def test_project_scope(self):
        private = self.create(name='mine', visibility='private')
        public = self.create(name='pub', token='admin:admin',
                             visibility='public')
        # Another project neither sees nor touches the private image.
        self.assertEqual(404, self.request(
            'GET', f'/images/{private["id"]}', token='u2:p2').status_int)
        self.assertEqual(404, self.request(
            'GET', f'/images/{private["id"]}/file',
            token='u2:p2').status_int)
        self.assertEqual(['pub'], [i['name'] for i in self.request(
            'GET', '/images', token='u2:p2').json['images']])
        # It reads the public image, but may not change or delete it.
        self.assertEqual(DATA, self.request(
            'GET', f'/images/{public["id"]}/file', token='u2:p2').body)
        self.assertEqual(403, self.request(
            'DELETE', f'/images/{public["id"]}', token='u2:p2').status_int)
        self.assertEqual(403, self.request(
            'PATCH', f'/images/{public["id"]}',
            [{'op': 'replace', 'path': '/name', 'value': 'x'}],
            content_type=PATCH, token='u2:p2').status_int)
        # Only admins publish.
        self.assertEqual(403, self.request(
            'POST', '/images', {'name': 'x', 'visibility': 'public'}
        ).status_int)
        self.assertEqual(403, self.request(
            'PATCH', f'/images/{private["id"]}',
            [{'op': 'replace', 'path': '/visibility', 'value': 'public'}],
            content_type=PATCH).status_int)
        self.assertEqual(403, self.request(
            'POST', '/images', {'name': 'x', 'owner': 'p2'}).status_int)
        # Admins act everywhere.
        self.assertEqual(204, self.request(
            'DELETE', f'/images/{private["id"]}',
            token='admin:admin').status_int)

    def test_no_token_is_401(self):
        req = webob.Request.blank('/image/v2/images',
                                  base_url='http://cloud:8774')
        self.assertEqual(401, req.get_response(self.app).status_int)


class SchemasTestCase(ImageAPITestCase):

    def test_schema_documents(self):
        image = self.request('GET', '/schemas/image').json
        self.assertEqual('image', image['name'])
        self.assertIn('status', image['properties'])
        self.assertEqual({'type': 'string'}, image['additionalProperties'])
        images = self.request('GET', '/schemas/images').json
        self.assertEqual('images', images['name'])
        self.assertEqual(image, images['properties']['images']['items'])
