"""api.server_rebuild with the vendor kit.

Read next to nova/api/openstack/compute/flows/server_rebuild.py: parse
(policy; image, password, the base fields), one stage per field a
microversion added (description, key_name, user_data,
trusted_image_certificates, hostname) each adding its argument to
``state.kwargs``, check_quota (metadata items, 403), rebuild (the
compute API, then the server read back), response (the server with
adminPass). Nothing is written before rebuild: nothing reverts here;
compute.rebuild_instance does the rebuild itself.
"""

from __future__ import annotations

import base64
from typing import Any

from nova.compute import vm_states
from nova.tests.unit.api.openstack.compute.flows import kit

FLOW = 'api.server_rebuild'
STAGES = ['parse', 'description', 'key_name', 'user_data',
          'trusted_image_certificates', 'hostname', 'check_quota',
          'rebuild', 'response']


class TestRebuild(kit.ApiKitTestCase):

    watching = (FLOW, '1.2', STAGES, lambda state: sorted(state.kwargs))

    def rebuild(self, uuid: str, version: str = '2.1',
                **rebuild: Any) -> tuple[int, Any]:
        rebuild.setdefault('imageRef', self.cloud.image['id'])
        return self.cloud.api('POST', f'/servers/{uuid}/action',
                              {'rebuild': rebuild}, version=version)

    def test_stages_and_effect(self):
        uuid = self.server()['uuid']
        user_data = base64.b64encode(b'#!/bin/sh\n').decode()
        code, body = self.rebuild(
            uuid, '2.94', name='rebuilt', adminPass='s3cret-pass',
            description='again', user_data=user_data,
            hostname='rebuilt.example', metadata={'role': 'web'})
        self.assertEqual(202, code, body)
        self.assertEqual(STAGES, list(self.seen))
        self.assertEqual(['display_name', 'metadata'], self.seen['parse'])
        self.assertEqual(['display_description', 'display_name',
                          'metadata'], self.seen['description'])
        self.assertEqual(['display_description', 'display_name',
                          'hostname', 'metadata', 'user_data'],
                         self.seen['hostname'])
        self.assertEqual('s3cret-pass', body['server']['adminPass'])
        self.assertEqual('rebuilt', body['server']['name'])
        rebuilt = self.cloud.wait_for_state(uuid, vm_states.ACTIVE)
        self.assertEqual(('rebuilt', 'again', 'rebuilt.example'),
                         (rebuilt['display_name'],
                          rebuilt['display_description'],
                          rebuilt['hostname']))

    def test_a_password_is_generated_when_none_is_given(self):
        uuid = self.server()['uuid']
        code, body = self.rebuild(uuid)
        self.assertEqual(202, code, body)
        self.assertTrue(body['server']['adminPass'])

    def test_user_data_that_is_not_base64_is_400_at_its_stage(self):
        uuid = self.server()['uuid']
        code, body = self.rebuild(uuid, '2.57', user_data='not base64!')
        self.assertEqual(400, code, body)
        self.assertEqual(STAGES[:STAGES.index('user_data')],
                         list(self.seen))
        self.assertEqual(vm_states.ACTIVE,
                         self.cloud.instance(uuid)['vm_state'])

    def test_too_many_metadata_items_is_403_at_check_quota(self):
        uuid = self.server()['uuid']
        code, body = self.cloud.api(
            'PUT', '/os-quota-sets/demo',
            {'quota_set': {'metadata_items': 1}}, token=kit.ADMIN)
        self.assertEqual(200, code, body)
        code, body = self.rebuild(uuid, metadata={'a': '1', 'b': '2'})
        self.assertEqual(403, code, body)
        self.assertEqual(STAGES[:STAGES.index('check_quota')],
                         list(self.seen))

    def test_an_unknown_image_is_400_at_rebuild(self):
        uuid = self.server()['uuid']
        code, body = self.rebuild(
            uuid, imageRef='00000000-0000-4000-8000-000000000000')
        self.assertEqual(400, code, body)
        self.assertEqual('Cannot find image for rebuild',
                         body['badRequest']['message'])
        self.assertEqual(STAGES[:STAGES.index('rebuild')], list(self.seen))
