"""api.server_update with the vendor kit.

Read next to nova/api/openstack/compute/flows/server_update.py: parse
(policy; name and access IPs), description (2.19+), hostname (2.90+)
each add their instance fields to ``state.values``; update writes them
through the compute API; response renders the server. One write, last
but the rendering: nothing reverts.
"""

from __future__ import annotations

from typing import Any

from nova.flow import hooks
from nova.tests.unit.api.openstack.compute.flows import kit

FLOW = 'api.server_update'
STAGES = ['parse', 'description', 'hostname', 'update', 'response']


class NoUpperCase(hooks.Hook):
    """Refuses a new name with capitals, before the write."""

    supports = {FLOW: '1.1'}

    @hooks.before(f'{FLOW}.update')
    def lower_case_only(self, ctx: Any, state: Any) -> None:
        name = state.values.get('display_name') or ''
        if name != name.lower():
            raise hooks.RunRefused('Server names are lower case here.')


class _UpdateTestCase(kit.ApiKitTestCase):

    def update(self, uuid: str, version: str, **server: Any,
               ) -> tuple[int, Any]:
        return self.cloud.api('PUT', f'/servers/{uuid}',
                              {'server': server}, version=version)

    def stored(self, uuid: str) -> tuple[Any, Any, Any]:
        instance = self.cloud.instance(uuid)
        assert instance is not None
        return (instance['display_name'], instance['display_description'],
                instance['hostname'])


class TestUpdate(_UpdateTestCase):

    watching = (FLOW, '1.1', STAGES,
                lambda state: dict(state.values))

    def test_stages_and_effect(self):
        uuid = self.server()['uuid']
        code, body = self.update(uuid, '2.94', name='web-2',
                                 description='the second',
                                 hostname='web-2.example')
        self.assertEqual(200, code, body)
        self.assertEqual(STAGES, list(self.seen))
        self.assertEqual({'display_name': 'web-2'}, self.seen['parse'])
        self.assertEqual({'display_name': 'web-2',
                          'display_description': 'the second'},
                         self.seen['description'])
        written = {'display_name': 'web-2',
                   'display_description': 'the second',
                   'hostname': 'web-2.example'}
        self.assertEqual(written, self.seen['hostname'])
        self.assertEqual(('web-2', 'the second', 'web-2.example'),
                         self.stored(uuid))
        self.assertEqual(('web-2', 'the second'),
                         (body['server']['name'],
                          body['server']['description']))

    def test_a_field_of_a_later_microversion_is_400_before_the_flow(self):
        uuid = self.server()['uuid']
        code, body = self.update(uuid, '2.18', description='too early')
        self.assertEqual(400, code, body)
        self.assertEqual({}, self.seen)

    def test_nothing_to_write_still_answers_the_server(self):
        uuid = self.server()['uuid']
        before = self.stored(uuid)
        code, body = self.update(uuid, '2.1')
        self.assertEqual(200, code, body)
        self.assertEqual({}, self.seen['update'])
        self.assertEqual(before, self.stored(uuid))
        self.assertEqual(uuid, body['server']['id'])


class TestUpdateHooked(_UpdateTestCase):

    hooks = (NoUpperCase,)

    def test_a_hook_refuses_before_the_write(self):
        uuid = self.server()['uuid']
        before = self.stored(uuid)
        code, body = self.update(uuid, '2.1', name='Web')
        self.assertEqual(400, code, body)
        self.assertEqual('Server names are lower case here.',
                         body['badRequest']['message'])
        self.assertEqual(before, self.stored(uuid))
        self.assertEqual(200, self.update(uuid, '2.1', name='web')[0])
