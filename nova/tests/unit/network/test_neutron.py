"""nova.network.neutron.NeutronNetworkAPI passes the local flat
network's behaviour tests, talking over real HTTP to the Networking API
(nova.api.openstack.network) served by a local service on the test's
database."""

from __future__ import annotations

import threading
import wsgiref.simple_server
from typing import Any

import testscenarios
from keystoneauth1 import loading as ks_loading

import nova.conf
from nova.api import auth
from nova.api.openstack import urlmap
from nova.api.openstack.network import router
from nova.network import local, neutron
from nova.policies import enforcer
from nova.tests.unit.network import test_local

load_tests = testscenarios.load_tests_apply_scenarios
CONF = nova.conf.CONF


class _QuietHandler(wsgiref.simple_server.WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class NeutronClientTestCase(test_local.FlatNetworkTestCase):
    """Every FlatNetworkTestCase test, through the REST client."""

    def setUp(self) -> None:
        super().setUp()
        # The API's policy enforcer reads [oslo_policy]: parse (no files).
        CONF([], project='nova', default_config_files=[])
        self.addCleanup(CONF.reset)
        enforcer.reset()
        self.addCleanup(enforcer.reset)
        assert isinstance(self.network, local.FlatNetworkAPI)
        self.service = self.network
        # As api-paste.ini's network_api: the router below /v2.0.
        app = urlmap.URLMap({}, [('/v2.0', auth.NoAuthMiddleware(
            router.APIRouter(self.service)))])
        server = wsgiref.simple_server.make_server(
            '127.0.0.1', 0, app, handler_class=_QuietHandler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        self.addCleanup(thread.join, 10)
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        url = f'http://127.0.0.1:{server.server_port}'
        CONF.register_opts(ks_loading.get_auth_plugin_conf_options(
            'admin_token'), group='neutron')
        for name, value in (('auth_type', 'admin_token'), ('endpoint', url),
                            ('token', 'admin:admin'),
                            ('endpoint_override', url)):
            CONF.set_override(name, value, group='neutron')
            self.addCleanup(CONF.clear_override, name, group='neutron')
        self.network = neutron.NeutronNetworkAPI(CONF)

    def _local_only(self) -> None:
        self.skipTest('a property of the local service, not of the '
                      'interface (its own test case covers it)')

    def test_api_loads_the_configured_backend(self):
        self._local_only()

    def test_common_case_allocation_is_two_inserts_in_one_commit(self):
        self._local_only()

    def test_concurrent_allocations_from_two_services_are_unique(self):
        self._local_only()

    def test_network_in_use_is_not_deleted(self):
        self._local_only()

    def test_network_without_subnet_cannot_take_servers(self):
        self._local_only()

    def test_another_projects_network_is_not_found(self):
        self._local_only()

    def test_concurrent_allocations_on_a_user_subnet_are_unique(self):
        self._local_only()
