"""/servers/{id}/metadata on a whole cloud in-process: merge, replace,
items, upstream's errors, the metadata_items quota and the policy."""

from __future__ import annotations

from nova.compute import vm_states
from nova.tests.functional.api import base as api_base

ADMIN = api_base.ADMIN


class TestServerMetadataAPI(api_base.APITestCase):

    def setUp(self):
        super().setUp()
        server = self.cloud.boot(self.cloud.user_context(),
                                 metadata={'a': '1'})
        self.cloud.wait_for_state(server['uuid'], vm_states.ACTIVE)
        self.path = f'/servers/{server["uuid"]}/metadata'

    def test_merge_replace_and_items(self):
        self.assertEqual((200, {'metadata': {'a': '1'}}),
                         self.call('GET', self.path))
        self.assertEqual((200, {'metadata': {'a': '1', 'b': '2'}}),
                         self.call('POST', self.path,
                                   {'metadata': {'b': '2'}}))
        self.assertEqual((200, {'meta': {'c': '3'}}),
                         self.call('PUT', self.path + '/c',
                                   {'meta': {'c': '3'}}))
        self.assertEqual((200, {'meta': {'b': '2'}}),
                         self.call('GET', self.path + '/b'))
        self.assertEqual(204, self.call('DELETE', self.path + '/b')[0])
        self.assertEqual((200, {'metadata': {'a': '1', 'c': '3'}}),
                         self.call('GET', self.path))
        self.assertEqual((200, {'metadata': {'z': '9'}}),
                         self.call('PUT', self.path,
                                   {'metadata': {'z': '9'}}))
        code, data = self.call('GET', self.path.rsplit('/', 1)[0])
        self.assertEqual({'z': '9'}, data['server']['metadata'])

    def test_errors(self):
        code, data = self.call('GET', self.path + '/nope')
        self.assertEqual(404, code)
        self.assertEqual('Metadata item was not found',
                         data['itemNotFound']['message'])
        self.assertEqual(404, self.call('DELETE', self.path + '/nope')[0])
        code, data = self.call('PUT', self.path + '/x',
                               {'meta': {'y': '1'}})
        self.assertEqual(400, code)
        self.assertEqual('Request body and URI mismatch',
                         data['badRequest']['message'])
        for body in ({'meta': {'x': '1', 'y': '2'}}, {'meta': {}},
                     {'meta': {'x': 'v' * 256}}):
            self.assertEqual(400, self.call('PUT', self.path + '/x',
                                            body)[0])
        self.assertEqual(400, self.call('POST', self.path,
                                        {'metadata': {'': 'x'}})[0])
        self.assertEqual(404, self.call(
            'GET', '/servers/00000000-0000-0000-0000-000000000000'
                   '/metadata')[0])

    def test_quota_and_another_project(self):
        self.call('PUT', '/os-quota-sets/demo',
                  {'quota_set': {'metadata_items': 2}}, token=ADMIN)
        self.assertEqual(200, self.call('POST', self.path,
                                        {'metadata': {'b': '2'}})[0])
        code, data = self.call('POST', self.path, {'metadata': {'c': '3'}})
        self.assertEqual(403, code)
        self.assertEqual('Maximum number of metadata items exceeds 2',
                         data['forbidden']['message'])
        self.assertEqual(404, self.call('GET', self.path,
                                        token='other:other')[0])
