"""nova-all: its own default for the RPC executor's workers."""

from __future__ import annotations

import os

import fixtures
from oslo_config import fixture as config_fixture

from nova import test
from nova.cmd import all as nova_all


class TestExecutorThreads(test.TestCase):

    def setUp(self):
        super().setUp()
        self.conf = self.useFixture(config_fixture.Config(nova_all.CONF))
        # main() changes the option's default; give oslo's back.
        nova_all.rpc.register_opts(nova_all.CONF)
        self.addCleanup(nova_all.CONF.set_default,
                        'executor_thread_pool_size',
                        nova_all.CONF.executor_thread_pool_size)
        self.tmp = self.useFixture(fixtures.TempDir()).path
        self.useFixture(fixtures.MockPatch(
            'nova.cmd.common.parse_args',
            lambda argv, binary, default_transport_url=None:
                nova_all.CONF(list(argv[1:]), project='nova')))
        self.useFixture(fixtures.MockPatch(
            'nova.service.build_services', return_value=[]))
        self.useFixture(fixtures.MockPatch('nova.cmd.common.serve',
                                           return_value=0))

    def run_with(self, text):
        path = os.path.join(self.tmp, 'nova.conf')
        with open(path, 'w') as f:
            f.write(text)
        self.assertEqual(0, nova_all.main(['nova-all', '--config-file',
                                           path]))
        return nova_all.CONF.executor_thread_pool_size

    def test_nova_all_default(self):
        self.assertEqual(nova_all.EXECUTOR_THREADS, self.run_with(''))

    def test_operator_setting_wins(self):
        self.assertEqual(
            40, self.run_with('[DEFAULT]\nexecutor_thread_pool_size = 40\n'))
