"""[api] auth_strategy: keystone by default, and noauth2 only on a
loopback address (nova-api and nova-all refuse to start otherwise)."""

from __future__ import annotations

import os
import subprocess
import sys

import fixtures
from oslo_config import fixture as config_fixture

from nova import test
from nova.api import auth
from nova.cmd import all as nova_all
from nova.cmd import api as nova_api
from nova.cmd import common

CONF = common.CONF


class TestDefault(test.TestCase):

    def test_default_is_keystone(self):
        conf = self.useFixture(config_fixture.Config(CONF))
        conf.conf([], project='nova', default_config_files=[])
        self.assertEqual('keystone', CONF.api.auth_strategy)


class TestCheckAuthStrategy(test.TestCase):

    def setUp(self):
        super().setUp()
        self.conf = self.useFixture(config_fixture.Config(CONF))

    def check(self, strategy, listen):
        self.conf.config(auth_strategy=strategy, group='api')
        self.conf.config(osapi_compute_listen=listen)
        auth.check_auth_strategy(CONF)

    def test_noauth2_on_every_interface_refused(self):
        error = self.assertRaises(auth.InsecureAuthStrategy, self.check,
                                  'noauth2', '0.0.0.0')
        self.assertIn('[api] auth_strategy = noauth2', str(error))
        self.assertIn("[DEFAULT] osapi_compute_listen = '0.0.0.0'",
                      str(error))

    def test_noauth2_on_other_addresses_refused(self):
        for listen in ('::', '192.0.2.10', '2001:db8::1'):
            self.assertRaises(auth.InsecureAuthStrategy, self.check,
                              'noauth2', listen)

    def test_noauth2_on_loopback_allowed(self):
        for listen in ('127.0.0.1', '127.0.0.2', '::1', 'localhost'):
            self.check('noauth2', listen)

    def test_keystone_anywhere_allowed(self):
        self.check('keystone', '0.0.0.0')


class TestCommands(test.TestCase):
    """nova-api and nova-all refuse before starting any service."""

    def setUp(self):
        super().setUp()
        self.useFixture(config_fixture.Config(CONF))
        nova_all.rpc.register_opts(CONF)
        self.addCleanup(CONF.set_default, 'executor_thread_pool_size',
                        CONF.executor_thread_pool_size)
        self.tmp = self.useFixture(fixtures.TempDir()).path
        self.useFixture(fixtures.MockPatch(
            'nova.cmd.common.parse_args',
            lambda argv, binary, default_transport_url=None:
                CONF(list(argv[1:]), project='nova')))
        self.build = self.useFixture(fixtures.MockPatch(
            'nova.service.build_services', return_value=[])).mock
        self.api_server = self.useFixture(fixtures.MockPatch(
            'nova.service.make_api_server', return_value=None)).mock
        self.useFixture(fixtures.MockPatch('nova.cmd.common.serve',
                                           return_value=0))
        self.stderr = self.useFixture(fixtures.StringStream('stderr'))
        self.useFixture(fixtures.MonkeyPatch('sys.stderr',
                                             self.stderr.stream))

    def main(self, command, listen):
        path = os.path.join(self.tmp, 'nova.conf')
        with open(path, 'w') as f:
            f.write(f'[DEFAULT]\nosapi_compute_listen = {listen}\n'
                    '[api]\nauth_strategy = noauth2\n')
        return command.main(['nova', '--config-file', path])

    def test_nova_all_refuses_noauth2_on_0_0_0_0(self):
        self.assertEqual(2, self.main(nova_all, '0.0.0.0'))
        self.build.assert_not_called()
        self.stderr.stream.seek(0)
        message = self.stderr.stream.read()
        self.assertIn('configuration error: [api] auth_strategy', message)
        self.assertIn('[DEFAULT] osapi_compute_listen', message)

    def test_nova_api_refuses_noauth2_on_0_0_0_0(self):
        self.assertEqual(2, self.main(nova_api, '0.0.0.0'))
        self.api_server.assert_not_called()

    def test_noauth2_on_loopback_starts(self):
        self.assertEqual(0, self.main(nova_all, '127.0.0.1'))
        self.build.assert_called_once()
        self.assertEqual(0, self.main(nova_api, '::1'))
        self.api_server.assert_called_once()


class TestNovaApiProcess(test.TestCase):
    """The real nova-api command: exit status 2 and the message."""

    def test_refuses_noauth2_on_0_0_0_0(self):
        tmp = self.useFixture(fixtures.TempDir()).path
        path = os.path.join(tmp, 'nova.conf')
        with open(path, 'w') as f:
            f.write('[DEFAULT]\nosapi_compute_listen = 0.0.0.0\n'
                    'osapi_compute_listen_port = 0\n'
                    '[api]\nauth_strategy = noauth2\n')
        result = subprocess.run(
            [sys.executable, '-m', 'nova.cmd.api', '--config-file', path],
            capture_output=True, text=True, timeout=120)
        self.assertEqual(2, result.returncode, result.stderr)
        self.assertIn('[api] auth_strategy = noauth2', result.stderr)
        self.assertIn('[DEFAULT] osapi_compute_listen', result.stderr)
