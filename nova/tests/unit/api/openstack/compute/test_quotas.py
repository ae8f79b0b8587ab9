"""os-quota-sets and the quota checks of server create, resize and key
pair create, over the API fakes."""

from nova.tests.unit.api import fakes

NET = {'networks': 'none'}


def _server(**kw):
    server = {'name': 'vm', 'flavorRef': '1', 'imageRef': fakes.IMAGE_ID,
              **NET}
    server.update(kw)
    return {'server': server}


class TestQuotaSets(fakes.APITestCase):

    def test_show_defaults_with_id(self):
        code, data, _ = self.call('GET', '/os-quota-sets/p1',
                                  version='2.56')
        self.assertEqual(200, code)
        quota_set = data['quota_set']
        self.assertEqual('p1', quota_set['id'])
        self.assertEqual(10, quota_set['instances'])
        self.assertEqual(20, quota_set['cores'])
        self.assertEqual(51200, quota_set['ram'])
        self.assertEqual(128, quota_set['metadata_items'])
        self.assertEqual(100, quota_set['key_pairs'])
        self.assertEqual(10, quota_set['server_groups'])
        self.assertEqual(10, quota_set['server_group_members'])
        self.assertIn('injected_files', quota_set)
        self.assertNotIn('floating_ips', quota_set)

    def test_fields_by_microversion(self):
        _code, data, _ = self.call('GET', '/os-quota-sets/p1',
                                   version='2.35')
        self.assertEqual(10, data['quota_set']['floating_ips'])
        _code, data, _ = self.call('GET', '/os-quota-sets/p1',
                                   version='2.57')
        self.assertNotIn('injected_files', data['quota_set'])

    def test_member_may_not_see_another_project(self):
        self.assertFault(403, 'forbidden',
                         self.call('GET', '/os-quota-sets/other'))

    def test_update_is_admin_only(self):
        self.assertFault(403, 'forbidden', self.call(
            'PUT', '/os-quota-sets/p1', {'quota_set': {'instances': 5}}))

    def test_update_show_and_revert(self):
        code, data, _ = self.admin('PUT', '/os-quota-sets/p1',
                                   {'quota_set': {'instances': 5,
                                                  'cores': '7'}})
        self.assertEqual(200, code, data)
        self.assertNotIn('id', data['quota_set'])
        self.assertEqual(5, data['quota_set']['instances'])
        self.assertEqual(7, data['quota_set']['cores'])
        _code, data, _ = self.call('GET', '/os-quota-sets/p1')
        self.assertEqual(5, data['quota_set']['instances'])
        code, _data, _ = self.admin('DELETE', '/os-quota-sets/p1')
        self.assertEqual(202, code)
        _code, data, _ = self.call('GET', '/os-quota-sets/p1')
        self.assertEqual(10, data['quota_set']['instances'])

    def test_user_quota_defaults_to_project_and_is_separate(self):
        self.admin('PUT', '/os-quota-sets/p1', {'quota_set': {'ram': 4096}})
        self.admin('PUT', '/os-quota-sets/p1?user_id=u1',
                   {'quota_set': {'ram': 1024}})
        _code, data, _ = self.call('GET', '/os-quota-sets/p1?user_id=u1')
        self.assertEqual(1024, data['quota_set']['ram'])
        _code, data, _ = self.call('GET', '/os-quota-sets/p1?user_id=u2')
        self.assertEqual(4096, data['quota_set']['ram'])
        self.admin('DELETE', '/os-quota-sets/p1?user_id=u1')
        _code, data, _ = self.call('GET', '/os-quota-sets/p1?user_id=u1')
        self.assertEqual(4096, data['quota_set']['ram'])

    def test_user_quota_above_project_is_400(self):
        self.admin('PUT', '/os-quota-sets/p1', {'quota_set': {'cores': 4}})
        fault = self.assertFault(400, 'badRequest', self.admin(
            'PUT', '/os-quota-sets/p1?user_id=u1',
            {'quota_set': {'cores': 8}}))
        self.assertEqual('Quota limit 8 for cores must be less than or '
                         'equal to 4.', fault['message'])

    def test_below_usage_is_400_unless_forced(self):
        self.compute.add_instance()
        self.compute.add_instance()
        fault = self.assertFault(400, 'badRequest', self.admin(
            'PUT', '/os-quota-sets/p1', {'quota_set': {'instances': 1}}))
        self.assertEqual('Quota limit 1 for instances must be greater than '
                         'or equal to already used and reserved 2.',
                         fault['message'])
        code, data, _ = self.admin(
            'PUT', '/os-quota-sets/p1',
            {'quota_set': {'instances': 1, 'force': True}})
        self.assertEqual(200, code, data)

    def test_bad_values_are_400(self):
        for quota_set in ({'instances': -2}, {'instances': 'x'},
                          {'bogus': 1}, {'instances': 2 ** 31}):
            self.assertFault(400, 'badRequest', self.admin(
                'PUT', '/os-quota-sets/p1', {'quota_set': quota_set}))

    def test_detail_has_usage(self):
        self.compute.add_instance()
        _code, data, _ = self.call('GET', '/os-quota-sets/p1/detail')
        self.assertEqual({'limit': 10, 'in_use': 1, 'reserved': 0},
                         data['quota_set']['instances'])
        self.assertEqual({'limit': 51200, 'in_use': 512, 'reserved': 0},
                         data['quota_set']['ram'])

    def test_defaults_for_any_user(self):
        code, data, _ = self.call('GET', '/os-quota-sets/other/defaults')
        self.assertEqual(200, code)
        self.assertEqual('other', data['quota_set']['id'])
        self.assertEqual(10, data['quota_set']['instances'])


class TestCreateQuota(fakes.APITestCase):

    def _create(self, body, version='2.79'):
        return self.call('POST', '/servers', body, version=version)

    def _max_count(self):
        name, _args, kwargs = self.compute.calls[-1]
        self.assertEqual('create', name)
        return kwargs['max_count']

    def test_max_count_reduced_to_what_fits(self):
        self.db.quota_set(None, 'p1', {'instances': 3})
        self.compute.add_instance()
        code, data, _ = self._create(_server(min_count=1, max_count=5))
        self.assertEqual(202, code, data)
        self.assertEqual(2, self._max_count())

    def test_cores_limit_the_count(self):
        self.db.quota_set(None, 'p1', {'cores': 2})
        code, data, _ = self._create(_server(max_count=5))
        self.assertEqual(202, code, data)
        self.assertEqual(2, self._max_count())

    def test_over_quota_is_403_with_upstream_message(self):
        self.db.quota_set(None, 'p1', {'instances': 10})
        for _ in range(8):
            self.compute.add_instance()
        fault = self.assertFault(403, 'forbidden', self._create(
            _server(min_count=5, max_count=5)))
        self.assertEqual('Quota exceeded for instances: Requested 5, but '
                         'already used 8 of 10 instances', fault['message'])
        self.assertEqual([], self.compute.calls)

    def test_user_quota_applies(self):
        self.db.quota_set(None, 'p1', {'instances': 1}, user_id='u1')
        self.compute.add_instance()
        fault = self.assertFault(403, 'forbidden', self._create(_server()))
        self.assertIn('Quota exceeded for instances', fault['message'])

    def test_unlimited_still_capped_per_request(self):
        self.db.quota_set(None, 'p1', {'instances': -1, 'cores': -1,
                                       'ram': -1})
        code, data, _ = self._create(_server(max_count=100000))
        self.assertEqual(202, code, data)
        self.assertEqual(1000, self._max_count())
        self.assertFault(403, 'forbidden',
                         self._create(_server(min_count=1001,
                                              max_count=1001)))

    def test_metadata_items_quota(self):
        self.db.quota_set(None, 'p1', {'metadata_items': 2})
        fault = self.assertFault(403, 'forbidden', self._create(_server(
            metadata={'a': '1', 'b': '2', 'c': '3'})))
        self.assertEqual('Maximum number of metadata items exceeds 2',
                         fault['message'])


class TestResizeAndKeypairQuota(fakes.APITestCase):

    def test_resize_up_beyond_ram_quota_is_403(self):
        server = self.compute.add_instance(vcpus=1, memory_mb=512)
        self.db.quota_set(None, 'p1', {'ram': 1024})
        fault = self.assertFault(403, 'forbidden', self.call(
            'POST', f'/servers/{server["uuid"]}/action',
            {'resize': {'flavorRef': '2'}}))
        self.assertEqual('Quota exceeded for ram: Requested 1536, but '
                         'already used 512 of 1024 ram', fault['message'])

    def test_keypair_quota(self):
        self.db.quota_set(None, 'p1', {'key_pairs': 0})
        fault = self.assertFault(403, 'forbidden', self.call(
            'POST', '/os-keypairs', {'keypair': {
                'name': 'k', 'public_key': 'ssh-rsa AAAA x'}}))
        self.assertEqual('Quota exceeded, too many key pairs.',
                         fault['message'])

    def test_rebuild_metadata_quota(self):
        server = self.compute.add_instance()
        self.db.quota_set(None, 'p1', {'metadata_items': 1})
        fault = self.assertFault(403, 'forbidden', self.call(
            'POST', f'/servers/{server["uuid"]}/action',
            {'rebuild': {'imageRef': fakes.IMAGE_ID,
                         'metadata': {'a': '1', 'b': '2'}}}))
        self.assertEqual('Maximum number of metadata items exceeds 1',
                         fault['message'])
