"""What a server's fault tells a member and an admin.

Upstream names no scheduler filter in a NoValidHost fault: members see
"No valid host was found. There are not enough hosts available." and
nothing else; admins see the details too (here: the filter that removed
the last host).
"""

from __future__ import annotations

from nova.tests.functional.api import base

NO_HOST = ('No valid host was found. There are not enough hosts '
           'available.')


class TestNoValidHostFault(base.APITestCase):

    # A host too small for the flavor (and the flavor within quota).
    cloud_options = {'fake_driver__memory_mb': 1024}

    def setUp(self) -> None:
        super().setUp()
        status, body = self.call('POST', '/flavors', {'flavor': {
            'name': 'huge', 'id': 'huge', 'ram': 4096,
            'vcpus': 1, 'disk': 1}}, token=base.ADMIN)
        self.assertEqual(200, status, body)
        status, body = self.call('POST', '/servers', {'server': {
            'name': 'nowhere', 'flavorRef': 'huge',
            'imageRef': self.cloud.image['id'], 'networks': 'none'}})
        self.assertEqual(202, status, body)
        self.uuid = body['server']['id']
        self.cloud.wait_for_state(self.uuid, 'error')

    def test_member_sees_no_filter_names(self) -> None:
        status, body = self.call('GET', f'/servers/{self.uuid}')
        self.assertEqual(200, status, body)
        fault = body['server']['fault']
        self.assertEqual(NO_HOST, fault['message'])
        self.assertNotIn('details', fault)
        self.assertNotIn('Filter', str(body))

    def test_admin_sees_the_filter_in_the_details(self) -> None:
        status, body = self.call('GET', f'/servers/{self.uuid}',
                                 token=base.ADMIN)
        self.assertEqual(200, status, body)
        fault = body['server']['fault']
        self.assertEqual(NO_HOST, fault['message'])
        self.assertIn('RamFilter', fault['details'])
