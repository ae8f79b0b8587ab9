"""Flavors and flavor extra specs."""

from nova.tests.unit.api import fakes


class TestFlavors(fakes.APITestCase):

    def test_index_has_id_name_links(self):
        code, data, _ = self.call('GET', '/flavors')
        self.assertEqual(200, code)
        self.assertEqual(['1', '2'], [f['id'] for f in data['flavors']])
        self.assertEqual({'id', 'name', 'links'}, set(data['flavors'][0]))

    def test_description_from_255(self):
        _code, data, _ = self.call('GET', '/flavors', version='2.55')
        self.assertIn('description', data['flavors'][0])

    def test_detail_shape(self):
        _code, data, _ = self.call('GET', '/flavors/detail')
        flavor = data['flavors'][0]
        self.assertEqual(512, flavor['ram'])
        self.assertEqual('', flavor['swap'])
        self.assertTrue(flavor['os-flavor-access:is_public'])
        self.assertNotIn('extra_specs', flavor)

    def test_swap_is_zero_from_275(self):
        _code, data, _ = self.call('GET', '/flavors/1', version='2.75')
        self.assertEqual(0, data['flavor']['swap'])

    def test_extra_specs_from_261(self):
        _code, data, _ = self.call('GET', '/flavors/1', version='2.61')
        self.assertEqual({'hw:cpu': 'shared'}, data['flavor']['extra_specs'])

    def test_openstackclient_detail_query(self):
        code, data, _ = self.call('GET', '/flavors/detail?is_public=None')
        self.assertEqual(200, code)
        self.assertEqual(2, len(data['flavors']))

    def test_private_flavors_hidden_from_users(self):
        self.db.flavors['2']['is_public'] = False
        _code, data, _ = self.call('GET', '/flavors')
        self.assertEqual(['1'], [f['id'] for f in data['flavors']])
        _code, data, _ = self.admin('GET', '/flavors')
        self.assertEqual(['1', '2'], [f['id'] for f in data['flavors']])

    def test_min_ram_filter(self):
        _code, data, _ = self.call('GET', '/flavors?minRam=1024')
        self.assertEqual(['2'], [f['id'] for f in data['flavors']])
        self.assertFault(400, 'badRequest',
                         self.call('GET', '/flavors?minRam=lots'))

    def test_limit_and_bad_marker(self):
        _code, data, _ = self.call('GET', '/flavors?limit=1')
        self.assertEqual(1, len(data['flavors']))
        self.assertIn('flavors_links', data)
        self.assertFault(400, 'badRequest',
                         self.call('GET', '/flavors?marker=nope'))

    def test_show_missing_is_404(self):
        self.assertFault(404, 'itemNotFound', self.call('GET', '/flavors/9'))

    def test_create_and_delete_are_admin_only(self):
        body = {'flavor': {'name': 'big', 'ram': 4096, 'vcpus': 4,
                           'disk': 40, 'id': 'big'}}
        self.assertFault(403, 'forbidden', self.call('POST', '/flavors',
                                                     body))
        code, data, _ = self.admin('POST', '/flavors', body)
        self.assertEqual(200, code, data)
        self.assertEqual('big', data['flavor']['id'])
        self.assertFault(403, 'forbidden',
                         self.call('DELETE', '/flavors/big'))
        code, _data, _ = self.admin('DELETE', '/flavors/big')
        self.assertEqual(202, code)
        self.assertNotIn('big', self.db.flavors)

    def test_create_duplicate_is_409(self):
        body = {'flavor': {'name': 'x', 'ram': 1, 'vcpus': 1, 'disk': 0,
                           'id': '1'}}
        self.assertFault(409, 'conflictingRequest',
                         self.admin('POST', '/flavors', body))

    def test_create_bad_body_is_400(self):
        self.assertFault(400, 'badRequest', self.admin(
            'POST', '/flavors', {'flavor': {'name': 'x', 'ram': -1,
                                            'vcpus': 1, 'disk': 0}}))

    def test_update_description_from_255(self):
        body = {'flavor': {'description': 'words'}}
        self.assertFault(404, 'itemNotFound',
                         self.admin('PUT', '/flavors/1', body))
        code, data, _ = self.admin('PUT', '/flavors/1', body,
                                   version='2.55')
        self.assertEqual(200, code, data)
        self.assertEqual('words', self.db.flavors['1']['description'])


class TestExtraSpecs(fakes.APITestCase):

    def test_index_and_show(self):
        _code, data, _ = self.call('GET', '/flavors/1/os-extra_specs')
        self.assertEqual({'extra_specs': {'hw:cpu': 'shared'}}, data)
        _code, data, _ = self.call('GET', '/flavors/1/os-extra_specs/hw:cpu')
        self.assertEqual({'hw:cpu': 'shared'}, data)
        self.assertFault(404, 'itemNotFound', self.call(
            'GET', '/flavors/1/os-extra_specs/nope'))

    def test_create_update_delete_admin_only(self):
        body = {'extra_specs': {'a': 'b'}}
        self.assertFault(403, 'forbidden', self.call(
            'POST', '/flavors/1/os-extra_specs', body))
        code, data, _ = self.admin('POST', '/flavors/1/os-extra_specs', body)
        self.assertEqual(200, code)
        self.assertEqual('b', self.db.flavors['1']['extra_specs']['a'])
        code, _data, _ = self.admin('PUT', '/flavors/1/os-extra_specs/a',
                                    {'a': 'c'})
        self.assertEqual('c', self.db.flavors['1']['extra_specs']['a'])
        self.assertFault(400, 'badRequest', self.admin(
            'PUT', '/flavors/1/os-extra_specs/a', {'b': 'c'}))
        code, _data, _ = self.admin('DELETE', '/flavors/1/os-extra_specs/a')
        self.assertEqual(200, code)
        self.assertNotIn('a', self.db.flavors['1']['extra_specs'])
