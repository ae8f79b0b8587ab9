"""The example API hook's own tests, written with nova's hook test kit.

Run from this directory with the hook installed into nova's environment::

    python -m unittest discover -s tests -t .

The kit's cloud with its REST API (``with_api=True``) and the hook
enabled by its entry point name; requests go through the API's paste
pipeline as a client's would.
"""

import unittest

import testtools

from nova.flow import testing

HOOK = 'example_api_vendor_field'
FIELD = 'example:tier'


class TestServiceTier(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.cloud = self.useFixture(testing.FlowTestCloud(
            hooks=[HOOK], with_api=True))

    def create(self, version, **fields):
        server = {'name': 'tiered', 'flavorRef': '1',
                  'imageRef': self.cloud.image['id'], 'networks': 'none',
                  **fields}
        return self.cloud.api('POST', '/servers', {'server': server},
                              version=version)

    def test_tier_is_accepted_stored_and_shown_from_2_47(self):
        code, body = self.create('2.47', **{FIELD: 'gold'})
        self.assertEqual(202, code, body)
        uuid = body['server']['id']
        self.cloud.wait_for_state(uuid, 'active')
        code, body = self.cloud.api('GET', f'/servers/{uuid}',
                                    version='2.47')
        self.assertEqual('gold', body['server'][FIELD])
        self.assertEqual('gold', body['server']['metadata'][FIELD])

    def test_older_microversions_get_upstreams_shape(self):
        code, body = self.create('2.47', **{FIELD: 'silver'})
        uuid = body['server']['id']
        self.cloud.wait_for_state(uuid, 'active')
        code, body = self.cloud.api('GET', f'/servers/{uuid}',
                                    version='2.46')
        self.assertEqual(200, code)
        self.assertNotIn(FIELD, body['server'])

    def test_a_value_outside_the_schema_is_a_400(self):
        code, body = self.create('2.47', **{FIELD: 'platinum'})
        self.assertEqual(400, code, body)
        self.assertIn('badRequest', body)

    def test_the_fields_are_discoverable(self):
        code, body = self.cloud.api('GET', '/flow-extensions')
        self.assertEqual(200, code, body)
        [entry] = [e for e in body['flow_extensions'] if e['name'] == HOOK]
        flows = {f['flow']: f for f in entry['flows']}
        self.assertEqual(
            [FIELD], [f['name'] for f in
                      flows['api.server_create']['request_fields']])
        view = flows['api.server_view']['response_fields']
        self.assertEqual([(FIELD, '2.47')],
                         [(f['name'], f['min_version']) for f in view])

    def test_the_build_runs_the_hooks_api_stage(self):
        code, body = self.create('2.47', **{FIELD: 'bronze'})
        uuid = body['server']['id']
        self.cloud.wait_for_state(uuid, 'active')
        self.assertIn(('compute.build_instance.spawn.driver_spawn',
                       'Success'), self.cloud.events(uuid, 'create'))


if __name__ == '__main__':
    unittest.main()
