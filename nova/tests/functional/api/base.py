"""A whole cloud in-process behind the API's paste pipeline (noauth2),
for tests that talk to it as a REST client does."""

from __future__ import annotations

import json
from typing import Any

import webob

import nova.conf
from nova import test
from nova.api.openstack.compute import wsgi_app
from nova.policies import enforcer
from nova.tests.functional import fixtures as func_fixtures

CONF = nova.conf.CONF
USER = 'demo:demo'
ADMIN = 'admin:admin'


class APITestCase(test.TestCase):
    """``self.cloud`` (a LocalCloud) and ``self.call`` to its API."""

    #: Keyword arguments of the LocalCloud (its option overrides).
    cloud_options: dict[str, Any] = {}

    def setUp(self) -> None:
        super().setUp()
        # Parsed (with no files) before the cloud sets its options: the
        # paste file lookup reads [DEFAULT] config_file.
        CONF([], project='nova', default_config_files=[])
        self.addCleanup(CONF.reset)
        self.cloud = self.useFixture(func_fixtures.LocalCloud(
            **self.cloud_options))
        enforcer.reset()
        self.addCleanup(enforcer.reset)
        self.app = wsgi_app.load_app(CONF)

    def call(self, method: str, path: str, body: Any = None,
             token: str = USER, version: str = '2.79') -> tuple[int, Any]:
        """``(status, decoded body)`` of ``method /v2.1<path>``."""
        req = webob.Request.blank('/v2.1' + path, method=method)
        req.headers['X-Auth-Token'] = token
        req.headers['OpenStack-API-Version'] = f'compute {version}'
        if body is not None:
            req.body = json.dumps(body).encode()
            req.content_type = 'application/json'
        resp = req.get_response(self.app)
        return resp.status_int, json.loads(resp.body) if resp.body else None
