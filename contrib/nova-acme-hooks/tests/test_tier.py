import testtools

from nova.flow import testing

CREATE = 'api.server_create'
VIEW = 'api.server_view'


class TestAcmeTier(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.cloud = self.useFixture(
            testing.FlowTestCloud(hooks=['acme_tier'], with_api=True))
        status, body = self.cloud.api('GET', '/images')
        self.assertEqual(200, status, body)
        self.image = body['images'][0]['id']

    def _create(self, version, **extra):
        server = {'name': 'tiered', 'imageRef': self.image,
                  'flavorRef': '1', 'networks': 'none'}
        server.update(extra)
        return self.cloud.api('POST', '/servers', {'server': server},
                              version=version)

    def _show(self, uuid, version):
        status, body = self.cloud.api('GET', f'/servers/{uuid}',
                                      version=version)
        self.assertEqual(200, status, body)
        return body['server']

    def test_tier_is_stored_and_shown(self):
        status, body = self._create('2.47', **{'acme:tier': 'gold'})
        self.assertEqual(202, status, body)
        uuid = body['server']['id']
        self.cloud.wait_for_state(uuid, 'active')
        server = self._show(uuid, '2.47')
        self.assertEqual('gold', server['acme:tier'])
        self.assertEqual('gold', server['metadata']['acme:tier'])

    def test_default_tier_from_the_option(self):
        self.cloud.config(group='hook:acme_tier', default_tier='silver')
        status, body = self._create('2.47')
        self.assertEqual(202, status, body)
        uuid = body['server']['id']
        self.assertEqual('silver', self._show(uuid, '2.47')['acme:tier'])

    def test_unknown_tier_is_refused_by_the_schema(self):
        status, body = self._create('2.47', **{'acme:tier': 'platinum'})
        self.assertEqual(400, status, body)

    def test_older_clients_get_upstream_shapes(self):
        # Below 2.47 the field is not accepted (schema) and not shown.
        status, body = self._create('2.46', **{'acme:tier': 'gold'})
        self.assertEqual(400, status, body)
        status, body = self._create('2.46')
        self.assertEqual(202, status, body)
        uuid = body['server']['id']
        self.assertNotIn('acme:tier', self._show(uuid, '2.46'))
        self.assertNotIn('acme:tier', self._show(uuid, '2.1'))
        self.assertNotIn('acme:tier', self._show(uuid, '2.46')['metadata'])
        # The hook did not act on that create: no tier to show.
        self.assertIsNone(self._show(uuid, '2.47')['acme:tier'])
