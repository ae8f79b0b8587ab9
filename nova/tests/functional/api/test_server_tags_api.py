"""/servers/{id}/tags (2.26+) on a whole cloud in-process: replace, add,
check, delete, the 50-tag limit, validation, the list filters and tags
on create (2.52)."""

from __future__ import annotations

from nova.compute import vm_states
from nova.tests.functional.api import base as api_base

V = '2.26'


class TestServerTagsAPI(api_base.APITestCase):

    def setUp(self):
        super().setUp()
        server = self.cloud.boot(self.cloud.user_context())
        self.cloud.wait_for_state(server['uuid'], vm_states.ACTIVE)
        self.uuid = server['uuid']
        self.path = f'/servers/{self.uuid}/tags'

    def test_replace_add_check_delete(self):
        self.assertEqual((200, {'tags': ['a', 'b']}),
                         self.call('PUT', self.path, {'tags': ['a', 'b']},
                                   version=V))
        self.assertEqual(201, self.call('PUT', self.path + '/c',
                                        version=V)[0])
        self.assertEqual(204, self.call('PUT', self.path + '/c',
                                        version=V)[0])
        self.assertEqual(204, self.call('GET', self.path + '/c',
                                        version=V)[0])
        code, data = self.call('GET', self.path + '/zz', version=V)
        self.assertEqual(404, code)
        self.assertEqual(f"Instance {self.uuid} has no tag 'zz'",
                         data['itemNotFound']['message'])
        self.assertEqual(204, self.call('DELETE', self.path + '/a',
                                        version=V)[0])
        self.assertEqual((200, {'tags': ['b', 'c']}),
                         self.call('GET', self.path, version=V))
        _code, data = self.call('GET', f'/servers/{self.uuid}', version=V)
        self.assertEqual(['b', 'c'], data['server']['tags'])
        self.assertEqual(204, self.call('DELETE', self.path,
                                        version=V)[0])
        self.assertEqual((200, {'tags': []}),
                         self.call('GET', self.path, version=V))

    def test_limits_validation_and_microversion(self):
        self.assertEqual(404, self.call('GET', self.path,
                                        version='2.25')[0])
        code, _ = self.call('PUT', self.path,
                            {'tags': [f't{i}' for i in range(51)]},
                            version=V)
        self.assertEqual(400, code)
        self.call('PUT', self.path, {'tags': [f't{i}' for i in range(50)]},
                  version=V)
        code, data = self.call('PUT', self.path + '/one-more', version=V)
        self.assertEqual(400, code)
        self.assertEqual('The number of tags exceeded the per-server '
                         'limit 50', data['badRequest']['message'])
        self.assertEqual(400, self.call('PUT', self.path + '/' + 'x' * 61,
                                        version=V)[0])
        self.assertEqual(400, self.call('PUT', self.path,
                                        {'tags': ['a,b']}, version=V)[0])
        self.assertEqual(404, self.call('GET', self.path, version=V,
                                        token='other:other')[0])

    def test_list_filters_and_tags_on_create(self):
        self.call('PUT', self.path, {'tags': ['red', 'big']}, version=V)
        code, data = self.call('POST', '/servers', {'server': {
            'name': 'tagged', 'flavorRef': '1',
            'imageRef': self.cloud.image['id'], 'networks': 'none',
            'tags': ['red']}}, version='2.52')
        self.assertEqual(202, code, data)
        other = data['server']['id']

        def ids(query):
            _code, data = self.call('GET', '/servers?' + query, version=V)
            return sorted(s['id'] for s in data['servers'])

        self.assertEqual(sorted([self.uuid, other]), ids('tags=red'))
        self.assertEqual([self.uuid], ids('tags=red,big'))
        self.assertEqual(sorted([self.uuid, other]),
                         ids('tags-any=big,red'))
        self.assertEqual([other], ids('not-tags=big'))
        self.assertEqual([], ids('not-tags-any=red'))
