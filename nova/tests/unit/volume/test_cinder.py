"""The REST client passes the local implementation's tests.

test_local's tests, with ``[volume] backend`` the Block Storage API client
(nova.volume.cinder) talking over real HTTP to the volume API (the
``volume_api`` paste composite, noauth2) served in this process by a
wsgiref server on a free loopback port, on the test's database and
volumes directory.  The caller's context carries its noauth2 token; the
admin context has none, so the client uses ``[cinder]``'s
``admin_token`` plugin, as periodic tasks do.
"""

from __future__ import annotations

import json
import threading
import wsgiref.simple_server
from typing import Any

from oslo_config import fixture as config_fixture

import nova.conf
from nova import context, exception, rpc
from nova.api.openstack import service_apis
from nova.policies import enforcer
from nova.tests.unit.volume import test_local
from nova.volume import cinder

CONF = nova.conf.CONF


class _QuietHandler(wsgiref.simple_server.WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Requests are not the test's output."""


class _ThreadingServer(wsgiref.simple_server.WSGIServer):
    """One thread per request, as the concurrency test needs."""

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(
            target=self._handle, args=(request, client_address),
            daemon=True)
        thread.start()

    def _handle(self, request: Any, client_address: Any) -> None:
        try:
            self.finish_request(request, client_address)
        finally:
            self.shutdown_request(request)


class CinderVolumeTestCase(test_local.LocalVolumeTestCase):

    scenarios = [('sqlite', {'backend': 'sqlite'})]
    implementation = cinder.CinderVolumeAPI
    shows_reserving_instance = False
    missing_image_error = exception.InvalidVolume

    def _context(self, user_id: str,
                 project_id: str) -> context.RequestContext:
        return context.RequestContext(user_id, project_id,
                                      auth_token=f'{user_id}:{project_id}')

    def setUp(self) -> None:
        # Parsed (no files) so the paste file is found as nova-api finds
        # it; the fixture's cleanup resets it.
        CONF([], project='nova', default_config_files=[])
        enforcer.reset()
        self.addCleanup(enforcer.reset)
        self.config = self.useFixture(config_fixture.Config(CONF))
        self.config.config(auth_strategy='noauth2', group='api')
        app = service_apis.load_api(CONF, 'volume')
        server = wsgiref.simple_server.make_server(
            '127.0.0.1', 0, app, server_class=_ThreadingServer,
            handler_class=_QuietHandler)
        thread = threading.Thread(target=server.serve_forever,
                                  kwargs={'poll_interval': 0.05},
                                  daemon=True)
        thread.start()
        self.addCleanup(thread.join, 10)
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        endpoint = f'http://127.0.0.1:{server.server_port}/v3'
        self.config.config(backend='nova.volume.cinder.CinderVolumeAPI',
                           group='volume')
        self.config.config(endpoint_override=endpoint, auth_type=
                           'admin_token', group='cinder')
        self.config.load_raw_values(group='cinder', endpoint=endpoint,
                                    token='admin:admin')
        super().setUp()

    def test_requests_carry_the_callers_token(self):
        other = self._context('u2', 'other-project')
        mine = self.volumes.create(other, 1, 'mine')
        self.assertEqual('other-project', mine['project_id'])
        self.assertEqual(['mine'], [
            v['display_name'] for v in self.volumes.get_all(other)])
        self.assertRaises(exception.VolumeNotFound, self.volumes.get,
                          other, self.volume['id'])

    def test_the_token_survives_rpc(self):
        """A compute host calls the volume API with the token of the
        request that cast to it."""
        serializer = rpc.RequestContextSerializer()
        wire = json.loads(json.dumps(serializer.serialize_context(
            self.ctx)))
        received = serializer.deserialize_context(wire)
        self.assertEqual('fake-user:fake-project', received.auth_token)
        self.assertEqual(self.volume['id'], self.volumes.get(
            received.elevated(), self.volume['id'])['id'])
