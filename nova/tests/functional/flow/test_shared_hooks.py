"""nova-all creates each enabled hook once, for all its services.

The conductor, compute and API services of one process run stages of
one hook object: a hook keeps one state (counters, connections, caches)
whichever service calls it.
"""

from __future__ import annotations

from unittest import mock

from nova_example_hooks import special_sauce

from nova import test
from nova.tests.functional import fixtures as func_fixtures

SAUCE = 'example_special_sauce'


class TestNovaAllSharesHooks(test.TestCase):

    def setUp(self):
        super().setUp()
        # The API server finds its paste file through the parsed options.
        func_fixtures.CONF([], project='nova', default_config_files=[])
        self.addCleanup(func_fixtures.CONF.reset)
        init = special_sauce.SpecialSauce.__init__
        self.created = []

        def counting_init(hook):
            self.created.append(hook)
            init(hook)
        patcher = mock.patch.object(special_sauce.SpecialSauce, '__init__',
                                    counting_init)
        patcher.start()
        self.addCleanup(patcher.stop)
        self.cloud = self.useFixture(func_fixtures.LocalCloud(
            with_api=True, osapi_compute_listen='127.0.0.1',
            osapi_compute_listen_port=0, flow__enabled_hooks=[SAUCE]))

    def test_one_hook_object_for_conductor_compute_and_api(self):
        self.assertEqual(1, len(self.created))
        (hook,) = self.created
        for binary in ('nova-conductor', 'nova-compute'):
            (service,) = [s for s in self.cloud.services
                          if s.binary == binary]
            self.assertEqual([hook], [h.obj for h in
                                      service.manager.flows.hooks])
