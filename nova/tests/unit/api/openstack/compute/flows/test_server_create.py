"""api.server_create with the vendor kit.

Read next to nova/api/openstack/compute/flows/server_create.py: parse
and flavor, then one stage per optional feature, each adding its
arguments of ``compute_api.create`` to ``state.create_kwargs``;
check_quota; create (the compute API: the build's own flows); response.
No stage writes before create, so a refusal at any stage leaves nothing
behind and nothing reverts.  A disabled feature stage keeps its fields
in the API: accepted, and not applied.
"""

from __future__ import annotations

import base64
from typing import Any

from nova.compute import vm_states
from nova.flow import hooks
from nova.tests.unit.api.openstack.compute.flows import kit

FLOW = 'api.server_create'
#: Each stage and the create arguments it adds for the request of
#: TestCreate.test_each_stage_adds_its_arguments.
ADDS = {
    'parse': ['admin_password'],
    'flavor': [],
    'networks': ['requested_networks'],
    'multiple_create': ['max_count', 'min_count'],
    'validate_networks': [],
    'key_name': [],
    'user_data': ['user_data'],
    'availability_zone': ['availability_zone'],
    'block_device_mapping': [],
    'config_drive': ['config_drive'],
    'scheduler_hints': ['scheduler_hints'],
    'server_group': [],
    'security_groups': ['security_groups'],
    'metadata': ['metadata'],
    'description': ['description'],
    'tags': ['tags'],
    'hostname': ['hostname'],
    'check_quota': ['recheck_quota'],
    'create': [],
    'response': [],
}
STAGES = list(ADDS)


class NotOnFridays(hooks.Hook):
    """Refuses every create, right before it."""

    supports = {FLOW: '1.0'}

    @hooks.before(f'{FLOW}.create')
    def refuse(self, ctx: Any, state: Any) -> None:
        raise hooks.RunRefused('No new servers today.', code=409)


class _CreateTestCase(kit.ApiKitTestCase):

    def create(self, version: str = '2.37', top: Any = None,
               **fields: Any) -> tuple[int, Any]:
        server = {'name': 'created', 'flavorRef': '1',
                  'imageRef': self.cloud.image['id'], 'networks': 'none',
                  **fields}
        return self.cloud.api('POST', '/servers',
                              {'server': server, **(top or {})},
                              version=version)

    def servers(self) -> list[dict[str, Any]]:
        code, body = self.cloud.api('GET', '/servers')
        self.assertEqual(200, code, body)
        return body['servers']


class TestCreate(_CreateTestCase):

    watching = (FLOW, '1.0', STAGES,
                lambda state: sorted(state.create_kwargs))

    def test_each_stage_adds_its_arguments(self):
        code, body = self.create(
            '2.100', networks='auto', min_count=1, max_count=1,
            user_data=base64.b64encode(b'#!/bin/sh\n').decode(),
            availability_zone='nova', config_drive=True,
            security_groups=[{'name': 'default'}], metadata={'a': 'b'},
            description='made by the kit', tags=['kit'], hostname='made-1',
            top={'os:scheduler_hints': {'same_host': []}})
        self.assertEqual(202, code, body)
        self.assertEqual(ADDS, self.added())
        self.assertTrue(body['server']['adminPass'])
        server = self.cloud.wait_for_state(body['server']['id'],
                                           vm_states.ACTIVE)
        self.assertEqual(('made by the kit', 'made-1'),
                         (server['display_description'], server['hostname']))

    def test_an_unknown_flavor_is_400_at_flavor_and_leaves_nothing(self):
        code, body = self.create(flavorRef='no-such-flavor')
        self.assertEqual(400, code, body)
        self.assertEqual(['parse'], list(self.seen))
        self.assertEqual([], self.servers())

    def test_over_the_instances_quota_is_403_at_check_quota(self):
        code, body = self.cloud.api(
            'PUT', '/os-quota-sets/demo', {'quota_set': {'instances': 0}},
            token=kit.ADMIN)
        self.assertEqual(200, code, body)
        code, body = self.create()
        self.assertEqual(403, code, body)
        self.assertEqual(STAGES[:STAGES.index('check_quota')],
                         list(self.seen))
        self.assertEqual([], self.servers())


class TestCreateTagsDisabled(_CreateTestCase):

    cloud_options = {'flow__disabled_stages': [f'{FLOW}.tags']}

    def test_the_field_is_accepted_and_not_applied(self):
        code, body = self.create('2.52', tags=['kit'])
        self.assertEqual(202, code, body)
        uuid = body['server']['id']
        self.cloud.wait_for_state(uuid, vm_states.ACTIVE)
        self.assertEqual((200, {'tags': []}), self.cloud.api(
            'GET', f'/servers/{uuid}/tags', version='2.52'))

    def test_the_field_is_still_validated(self):
        code, body = self.create('2.52', tags='not-a-list')
        self.assertEqual(400, code, body)


class TestCreateHooked(_CreateTestCase):

    hooks = (NotOnFridays,)

    def test_a_hook_refuses_before_create_and_nothing_is_left(self):
        code, body = self.create()
        self.assertEqual(409, code, body)
        self.assertEqual('No new servers today.',
                         body['conflictingRequest']['message'])
        self.assertEqual([], self.servers())
