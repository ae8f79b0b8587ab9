"""Private flavors and os-flavor-access through the API.

A private flavor is invisible to a project it is not shared with (404 on
show, absent from the lists) and cannot boot there (400 "Invalid
flavorRef provided."); once shared (addTenantAccess) it is visible and
bootable by that project; removeTenantAccess takes that back.  The
access list and both actions are admin-only, with upstream's errors.
"""

from __future__ import annotations

from typing import Any

from nova.tests.functional.api import base

OTHER = 'other:other'


class TestFlavorAccess(base.APITestCase):

    def setUp(self) -> None:
        super().setUp()
        status, body = self.call('POST', '/flavors', {'flavor': {
            'name': 'secret', 'id': 'secret', 'ram': 128, 'vcpus': 1,
            'disk': 1, 'os-flavor-access:is_public': False}},
            token=base.ADMIN)
        self.assertEqual(200, status, body)
        self.assertFalse(body['flavor']['os-flavor-access:is_public'])

    def access(self, action: str, tenant: str,
               token: str = base.ADMIN) -> tuple[int, Any]:
        return self.call('POST', '/flavors/secret/action',
                         {action: {'tenant': tenant}}, token=token)

    def listed(self, token: str) -> set[str]:
        ids = set()
        for path in ('/flavors', '/flavors/detail'):
            status, body = self.call('GET', path, token=token)
            self.assertEqual(200, status, body)
            ids |= {f['id'] for f in body['flavors']}
        return ids

    def boot(self, token: str) -> tuple[int, Any]:
        return self.call('POST', '/servers', {'server': {
            'name': 's', 'flavorRef': 'secret',
            'imageRef': self.cloud.image['id'], 'networks': 'none'}},
            token=token)

    def test_private_flavor_is_invisible_and_unbootable(self) -> None:
        status, body = self.call('GET', '/flavors/secret')
        self.assertEqual(404, status, body)
        self.assertEqual('Flavor secret could not be found.',
                         body['itemNotFound']['message'])
        self.assertNotIn('secret', self.listed(base.USER))
        status, body = self.boot(base.USER)
        self.assertEqual(400, status, body)
        self.assertEqual('Invalid flavorRef provided.',
                         body['badRequest']['message'])
        self.assertIn('secret', self.listed(base.ADMIN))

    def test_shared_flavor_is_visible_and_bootable_by_that_project(
            self) -> None:
        status, body = self.access('addTenantAccess', 'demo')
        self.assertEqual(200, status, body)
        self.assertEqual(
            {'flavor_access': [{'flavor_id': 'secret', 'tenant_id': 'demo'}]},
            body)
        status, body = self.call('GET', '/flavors/secret')
        self.assertEqual(200, status, body)
        self.assertIn('secret', self.listed(base.USER))
        self.assertNotIn('secret', self.listed(OTHER))
        self.assertEqual(404, self.call('GET', '/flavors/secret',
                                        token=OTHER)[0])
        status, body = self.boot(base.USER)
        self.assertEqual(202, status, body)
        self.cloud.wait_for_state(body['server']['id'], 'active')

        status, body = self.access('removeTenantAccess', 'demo')
        self.assertEqual(200, status, body)
        self.assertEqual({'flavor_access': []}, body)
        self.assertEqual(404, self.call('GET', '/flavors/secret')[0])
        self.assertEqual(400, self.boot(base.USER)[0])

    def test_access_list_and_upstream_errors(self) -> None:
        self.access('addTenantAccess', 'demo')
        status, body = self.call('GET', '/flavors/secret/os-flavor-access',
                                 token=base.ADMIN)
        self.assertEqual(200, status, body)
        self.assertEqual([{'flavor_id': 'secret', 'tenant_id': 'demo'}],
                         body['flavor_access'])
        status, body = self.access('addTenantAccess', 'demo')
        self.assertEqual(409, status, body)
        self.assertIn('Flavor access already exists',
                      body['conflictingRequest']['message'])
        status, body = self.access('removeTenantAccess', 'nobody')
        self.assertEqual(404, status, body)
        self.assertIn('Flavor access not found',
                      body['itemNotFound']['message'])
        self.assertEqual(404, self.call(
            'POST', '/flavors/missing/action',
            {'addTenantAccess': {'tenant': 'demo'}}, token=base.ADMIN)[0])
        status, body = self.call('GET', '/flavors/1/os-flavor-access',
                                 token=base.ADMIN)
        self.assertEqual(404, status, body)
        self.assertEqual('Access list not available for public flavors.',
                         body['itemNotFound']['message'])
        status, body = self.call('POST', '/flavors/1/action',
                                 {'addTenantAccess': {'tenant': 'demo'}},
                                 token=base.ADMIN)
        self.assertEqual(409, status, body)
        self.assertEqual(400, self.call(
            'POST', '/flavors/secret/action',
            {'addTenantAccess': {'project': 'demo'}}, token=base.ADMIN)[0])

    def test_member_may_not_manage_access(self) -> None:
        self.assertEqual(403, self.access('addTenantAccess', 'demo',
                                          token=base.USER)[0])
        self.assertEqual(403, self.access('removeTenantAccess', 'demo',
                                          token=base.USER)[0])
        self.assertEqual(403, self.call(
            'GET', '/flavors/secret/os-flavor-access')[0])
