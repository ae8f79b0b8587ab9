"""The image proxy and key pairs."""

from nova.api.openstack.compute import keypairs
from nova.tests.unit.api import fakes

PUBLIC_KEY = ('ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDx8nkQv/zgGgB4rMYmIf+6A4'
              'l6Rr+o/6lHBQdW5aYd44bd8JttDCE/F/pNRr0lRE+PiqSPO8nDPHw0010JeMH9'
              'gYgnnFlyY3/OcJ02RhIPyyxYpv9FhY+2YiUkpwFOcLImyrxEsYXpD/0d3ac30b'
              'NH6Sw9JD9UZHYcpSxsIbECHw== Generated-by-Nova')


class TestImages(fakes.APITestCase):

    def test_show_and_lists(self):
        code, data, _ = self.call('GET', f'/images/{fakes.IMAGE_ID}')
        self.assertEqual(200, code)
        self.assertEqual('ACTIVE', data['image']['status'])
        self.assertEqual('cirros', data['image']['name'])
        _code, data, _ = self.call('GET', '/images')
        self.assertEqual({'id', 'name', 'links'}, set(data['images'][0]))
        _code, data, _ = self.call('GET', '/images/detail')
        self.assertEqual(100, data['images'][0]['progress'])

    def test_lookup_by_name_falls_back_like_openstackclient(self):
        self.assertFault(404, 'itemNotFound',
                         self.call('GET', '/images/cirros'))
        _code, data, _ = self.call('GET', '/images?name=cirros')
        self.assertEqual([fakes.IMAGE_ID], [i['id'] for i in data['images']])
        _code, data, _ = self.call('GET', '/images?name=other')
        self.assertEqual([], data['images'])

    def test_id_in_filter(self):
        _code, data, _ = self.call('GET',
                                   f'/images?id=in:{fakes.IMAGE_ID},x')
        self.assertEqual(1, len(data['images']))
        _code, data, _ = self.call('GET', '/images?id=in:x,y')
        self.assertEqual([], data['images'])

    def test_gone_from_236(self):
        self.assertFault(404, 'itemNotFound', self.call(
            'GET', f'/images/{fakes.IMAGE_ID}', version='2.36'))
        self.assertFault(404, 'itemNotFound',
                         self.call('GET', '/images', version='2.36'))

    def test_delete(self):
        code, _data, _ = self.call('DELETE', f'/images/{fakes.IMAGE_ID}')
        self.assertEqual(204, code)
        self.assertEqual({}, self.api.images.images)


class TestKeypairs(fakes.APITestCase):

    def test_fingerprint_is_md5_of_the_key_blob(self):
        self.assertEqual(47, len(keypairs.fingerprint(PUBLIC_KEY)))

    def test_import_list_show_delete(self):
        code, data, _ = self.call('POST', '/os-keypairs', {'keypair': {
            'name': 'k', 'public_key': PUBLIC_KEY}}, version='2.2')
        self.assertEqual(201, code, data)
        self.assertEqual('ssh', data['keypair']['type'])
        self.assertNotIn('private_key', data['keypair'])
        _code, data, _ = self.call('GET', '/os-keypairs')
        self.assertEqual(['k'], [k['keypair']['name']
                                 for k in data['keypairs']])
        _code, data, _ = self.call('GET', '/os-keypairs/k')
        self.assertEqual('u1', data['keypair']['user_id'])
        code, _data, _ = self.call('DELETE', '/os-keypairs/k', version='2.2')
        self.assertEqual(204, code)
        self.assertFault(404, 'itemNotFound',
                         self.call('GET', '/os-keypairs/k'))

    def test_codes_before_22(self):
        code, _data, _ = self.call('POST', '/os-keypairs', {'keypair': {
            'name': 'k', 'public_key': PUBLIC_KEY}})
        self.assertEqual(200, code)
        code, _data, _ = self.call('DELETE', '/os-keypairs/k')
        self.assertEqual(202, code)

    def test_generated_before_292_only(self):
        code, data, _ = self.call('POST', '/os-keypairs',
                                  {'keypair': {'name': 'gen'}},
                                  version='2.91')
        self.assertEqual(201, code)
        self.assertIn('PRIVATE KEY', data['keypair']['private_key'])
        self.assertFault(400, 'badRequest', self.call(
            'POST', '/os-keypairs', {'keypair': {'name': 'gen2'}},
            version='2.92'))

    def test_duplicate_is_409_and_bad_key_is_400(self):
        body = {'keypair': {'name': 'k', 'public_key': PUBLIC_KEY}}
        self.call('POST', '/os-keypairs', body)
        self.assertFault(409, 'conflictingRequest',
                         self.call('POST', '/os-keypairs', body))
        self.assertFault(400, 'badRequest', self.call(
            'POST', '/os-keypairs', {'keypair': {
                'name': 'bad', 'public_key': 'garbage'}}))

    def test_name_rules_change_at_292(self):
        body = {'keypair': {'name': 'a.b@c', 'public_key': PUBLIC_KEY}}
        self.assertFault(400, 'badRequest',
                         self.call('POST', '/os-keypairs', body))
        code, _data, _ = self.call('POST', '/os-keypairs', body,
                                   version='2.92')
        self.assertEqual(201, code)

    def test_keypairs_are_per_user(self):
        self.call('POST', '/os-keypairs', {'keypair': {
            'name': 'k', 'public_key': PUBLIC_KEY}})
        _code, data, _ = self.call('GET', '/os-keypairs', token='u2:p1')
        self.assertEqual([], data['keypairs'])

    def test_admin_may_list_another_users_from_210(self):
        self.call('POST', '/os-keypairs', {'keypair': {
            'name': 'k', 'public_key': PUBLIC_KEY}})
        _code, data, _ = self.admin('GET', '/os-keypairs?user_id=u1',
                                    version='2.10')
        self.assertEqual(1, len(data['keypairs']))
        self.assertFault(403, 'forbidden', self.call(
            'GET', '/os-keypairs?user_id=u1', token='u2:p1',
            version='2.10'))
