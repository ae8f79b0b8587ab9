"""Remote consoles through the REST API, on a whole cloud in-process.

The fake driver's console server (fakevncconsole.com:6969, as upstream's
fake); what is checked here is the API's contract - microversions, the
schema, policy, the errors of a server that cannot have a console - and
that the URL's token is stored, for the console proxy, as its hash.
"""

from __future__ import annotations

import os
import urllib.parse

import fixtures
from oslo_config import fixture as config_fixture

import nova.conf
from nova import context as nova_context
from nova.compute import vm_states
from nova.console import auth_tokens
from nova.policies import enforcer
from nova.tests.functional.api import base as api_base

CONF = nova.conf.CONF
USER = api_base.USER
ADMIN = api_base.ADMIN
BASE_URL = 'http://127.0.0.1:6080/vnc_lite.html'
VNC = {'remote_console': {'protocol': 'vnc', 'type': 'novnc'}}


class TestRemoteConsolesAPI(api_base.APITestCase):

    def setUp(self):
        super().setUp()
        self.server = self.cloud.wait_for_state(
            self.cloud.boot(self.cloud.user_context())['uuid'],
            vm_states.ACTIVE)
        self.uuid = self.server['uuid']

    def create(self, body=VNC, token=USER, version='2.6', uuid=None):
        return self.call('POST',
                         f'/servers/{uuid or self.uuid}/remote-consoles',
                         body, token, version)

    def token_of(self, url):
        self.assertTrue(url.startswith(BASE_URL + '?path='), url)
        path = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
        return urllib.parse.parse_qs(
            urllib.parse.urlsplit(path['path'][0]).query)['token'][0]

    def test_create_gives_a_novnc_url_with_a_stored_token(self):
        code, data = self.create()
        self.assertEqual(200, code, data)
        console = data['remote_console']
        self.assertEqual(['protocol', 'type', 'url'], sorted(console))
        self.assertEqual(('vnc', 'novnc'),
                         (console['protocol'], console['type']))
        token = self.token_of(console['url'])
        stored = auth_tokens.validate(nova_context.get_admin_context(),
                                      token, instance_uuid=self.uuid)
        self.assertEqual(('fakevncconsole.com', 6969, 'novnc'),
                         (stored['host'], stored['port'],
                          stored['console_type']))
        # Every request a token of its own.
        _, again = self.create(version='2.100')
        self.assertNotEqual(token,
                            self.token_of(again['remote_console']['url']))

    def test_the_url_base_is_the_compute_hosts_option(self):
        self.useFixture(config_fixture.Config(CONF)).config(
            group='vnc', novncproxy_base_url='https://console.example.org/')
        _, data = self.create()
        self.assertTrue(data['remote_console']['url'].startswith(
            'https://console.example.org/?path=%3Ftoken%3D'))

    def test_remote_consoles_is_2_6_and_later(self):
        code, data = self.create(version='2.5')
        self.assertEqual(404, code, data)
        self.assertEqual(['itemNotFound'], list(data))

    def test_get_vnc_console_action_before_2_6(self):
        path = f'/servers/{self.uuid}/action'
        code, data = self.call('POST', path,
                               {'os-getVNCConsole': {'type': 'novnc'}},
                               version='2.1')
        self.assertEqual(200, code, data)
        self.assertEqual('novnc', data['console']['type'])
        self.token_of(data['console']['url'])
        code, data = self.call('POST', path,
                               {'os-getVNCConsole': {'type': 'novnc'}},
                               version='2.6')
        self.assertEqual(404, code, data)
        code, data = self.call('POST', path,
                               {'os-getVNCConsole': {'type': 'spice-html5'}},
                               version='2.1')
        self.assertEqual(400, code, data)

    def test_schema_and_unsupported_consoles_are_400(self):
        for body, version in (
                ({'remote_console': {'protocol': 'vnc'}}, '2.6'),
                ({'remote_console': {'protocol': 'foo', 'type': 'novnc'}},
                 '2.6'),
                ({'remote_console': {'protocol': 'mks', 'type': 'webmks'}},
                 '2.7'),
                ({'remote_console': dict(VNC['remote_console'], x=1)},
                 '2.6')):
            code, data = self.create(body, version=version)
            self.assertEqual(400, code, (body, data))
            self.assertEqual(['badRequest'], list(data))
        for protocol, type_, message in (
                ('vnc', 'xvpvnc', 'Invalid console type xvpvnc'),
                ('spice', 'spice-html5',
                 'Unavailable console type spice-html5.'),
                ('serial', 'serial', 'Unavailable console type serial.'),
                ('mks', 'webmks', 'Unavailable console type webmks.')):
            code, data = self.create({'remote_console': {
                'protocol': protocol, 'type': type_}}, version='2.8')
            self.assertEqual(400, code, data)
            self.assertEqual(message, data['badRequest']['message'])

    def test_vnc_disabled_is_400(self):
        self.useFixture(config_fixture.Config(CONF)).config(
            group='vnc', enabled=False)
        code, data = self.create()
        self.assertEqual(400, code, data)
        self.assertEqual('Unavailable console type novnc.',
                         data['badRequest']['message'])

    def test_another_projects_or_a_missing_server_is_404(self):
        code, data = self.create(token='other:other')
        self.assertEqual(404, code, data)
        code, data = self.create(uuid='8e5a4a0c-1b1b-4bb1-9c8a-000000000000')
        self.assertEqual(404, code, data)
        # An admin may open any project's console.
        self.assertEqual(200, self.create(token=ADMIN)[0])

    def test_policy(self):
        path = os.path.join(self.useFixture(fixtures.TempDir()).path,
                            'policy.yaml')
        with open(path, 'w') as f:
            f.write('"os_compute_api:os-remote-consoles": "role:admin"\n')
        # The [oslo_policy] options exist once an enforcer was made: run
        # alone, no test made one before.
        enforcer.get_enforcer()
        self.useFixture(config_fixture.Config(CONF)).config(
            group='oslo_policy', policy_file=path)
        enforcer.reset()
        code, data = self.create()
        self.assertEqual(403, code, data)
        self.assertEqual(['forbidden'], list(data))
        self.assertEqual(200, self.create(token=ADMIN)[0])

    def test_a_server_without_a_running_guest_is_409(self):
        self.cloud.db.instance_update(self.cloud.ctx, self.uuid,
                                      {'vm_state': vm_states.STOPPED})
        code, data = self.create()
        self.assertEqual(409, code, data)
        self.assertEqual(f'Instance {self.uuid} is not ready',
                         data['conflictingRequest']['message'])
        self.cloud.db.instance_update(self.cloud.ctx, self.uuid,
                                      {'vm_state': vm_states.ACTIVE,
                                       'host': None})
        self.assertEqual(409, self.create()[0])
        self.cloud.db.instance_update(self.cloud.ctx, self.uuid,
                                      {'host': 'compute1',
                                       'task_state': 'deleting'})
        code, data = self.create()
        self.assertEqual(409, code, data)
        self.assertIn('task_state deleting',
                      data['conflictingRequest']['message'])
