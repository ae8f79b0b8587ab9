"""Generated requests to every body route of the image, volume and network
service APIs, through their paste pipelines (noauth2).

test_generated_input does this for the Compute API; here the routes and
a valid request to each come from test_service_route_authorization's
table, and the bodies from the JSON schema each route validates with
(SCHEMAS: a body route without an entry fails).  ``hypothesis``
generates valid bodies and bodies broken at one place, bodies that are
not a JSON object, other media types and hostile path IDs.

Every answer must be below 500 and, when an error, in THAT service's
body format: Glance's ``{"message", "code", "title"}``, Cinder's
``{"<fault>": {"code", "message"}}``, Neutron's ``{"NeutronError":
{"type", "message", "detail"}}``; a body its route's schema refuses is a
400, and (volume and network, which have a size limit) a body past
``[oslo_middleware] max_request_body_size`` a 413.

Derandomized and bounded by ``max_examples``, as the Compute API's.
"""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

import hypothesis
import jsonschema
import testscenarios
import webob
from hypothesis import strategies as st

from nova.api.openstack import service_apis, wsgi
from nova.api.openstack.image import schemas as image_schemas
from nova.api.openstack.network import router as network_router
from nova.api.openstack.volume import volumes
from nova.tests.functional.api import test_generated_input as generated
from nova.tests.unit.api.openstack import (
    test_service_route_authorization as matrix,
)

load_tests = testscenarios.load_tests_apply_scenarios

#: Fewer examples than the Compute API's: three services, many routes.
SETTINGS = hypothesis.settings(
    max_examples=15, deadline=None, derandomize=True, database=None,
    print_blob=False, suppress_health_check=list(hypothesis.HealthCheck))

PREFIX = {'image': '/image/v2', 'volume': '/volume/v3',
          'network': '/networking/v2.0'}
ANSWERS = frozenset({200, 201, 202, 204, 400, 403, 404, 409, 413, 415})
_V = '/volumes/{id}/action'
_N = network_router

#: The JSON schema of each body route (None: the route takes no body
#: but the action key, or a raw one).
SCHEMAS: dict[tuple[str, str, str, str | None], Any] = {
    ('image', 'POST', '/images', None): image_schemas.create_schema(),
    ('image', 'PATCH', '/images/{image_id}', None): None,
    ('image', 'PUT', '/images/{image_id}/file', None): None,
    ('volume', 'POST', '/volumes', None): volumes.CREATE_SCHEMA,
    ('volume', 'POST', _V, 'os-extend'): volumes.EXTEND_SCHEMA,
    ('volume', 'POST', _V, 'os-reserve'): volumes.RESERVE_SCHEMA,
    ('volume', 'POST', _V, 'os-attach'): volumes.ATTACH_SCHEMA,
    ('volume', 'POST', _V, 'os-detach'): volumes.DETACH_SCHEMA,
    ('volume', 'POST', _V, 'os-initialize_connection'):
        volumes.CONNECTION_SCHEMA['os-initialize_connection'],
    ('volume', 'POST', _V, 'os-terminate_connection'):
        volumes.CONNECTION_SCHEMA['os-terminate_connection'],
    ('volume', 'POST', _V, 'os-unreserve'): None,
    ('volume', 'POST', _V, 'os-begin_detaching'): None,
    ('volume', 'POST', _V, 'os-roll_detaching'): None,
    ('network', 'POST', '/networks', None): _N.NETWORK_CREATE,
    ('network', 'PUT', '/networks/{id}', None): _N.NETWORK_UPDATE,
    ('network', 'POST', '/subnets', None): _N.SUBNET_CREATE,
    ('network', 'POST', '/ports', None): _N.PORT_CREATE,
    ('network', 'PUT', '/ports/{id}', None): _N.PORT_UPDATE,
    ('network', 'POST', '/security-groups', None):
        _N.SECURITY_GROUP_CREATE,
    ('network', 'PUT', '/security-groups/{id}', None):
        _N.SECURITY_GROUP_UPDATE,
    ('network', 'POST', '/security-group-rules', None):
        _N.SECURITY_GROUP_RULE_CREATE,
}


def body_routes() -> list[tuple[str, str, str, str | None]]:
    return [route for route in matrix.served_routes()
            if route[1] in ('POST', 'PUT', 'PATCH')]


class ServiceGeneratedInputTest(matrix.ServiceRouteAuthorizationTest):

    scenarios = [(matrix._name(route), {'route': route})  # type: ignore[dict-item]
                 for route in body_routes()]

    def setUp(self) -> None:
        super().setUp()
        if self.route not in SCHEMAS:
            self.fail(f'body route {matrix._name(self.route)} has no line '
                      f'in {__name__}.SCHEMAS')
        self.config.config(auth_strategy='noauth2', group='api')
        self.app = service_apis.load_apis(matrix.CONF,
                                          ['image', 'volume', 'network'])
        self.schema = SCHEMAS[self.route]
        # demo's resources, made once: the examples act on the same ones.
        self.resource = (self.make(self.expected.resource)
                         if self.expected.resource else None)
        body = self.expected.body
        if body is not None and not isinstance(body, bytes):
            text = json.dumps(body)
            if '"{subnet}"' in text:
                text = text.replace('{subnet}', self.subnet_network())
            for kind in matrix.KINDS:
                if f'"{{{kind}}}"' in text:
                    text = text.replace(f'{{{kind}}}', self.make(kind))
            body = json.loads(text)
        self.valid = body

    test_route = None  # type: ignore[assignment]

    def send(self, body: bytes | None, *, resource: str | None = None,
             content_type: str | None = None) -> tuple[int, Any]:
        """``(status, decoded body)`` of the route's request as an admin,
        once checked: below 500, an error in the service's body."""
        path = self.path
        resource = resource if resource is not None else self.resource
        if resource is not None:
            quoted = urllib.parse.quote(resource, safe='')
            path = path.replace('{image_id}', quoted).replace('{id}', quoted)
        req = webob.Request.blank(PREFIX[self.service] + path,
                                  method=self.method)
        req.headers['X-Auth-Token'] = 'admin:admin'
        if body is not None:
            req.body = body
            req.content_type = content_type or self.expected.content_type
        resp = req.get_response(self.app)
        why = f'{body!r:.300} -> {resp.status} {resp.body!r:.300}'
        self.assertLess(resp.status_int, 500, why)
        if resp.status_int >= 400:
            self.assertServiceError(resp, why)
        return resp.status_int, (resp.json if resp.body and
                                 resp.content_type == 'application/json'
                                 else None)

    def assertServiceError(self, resp: webob.Response, why: str) -> None:
        self.assertEqual('application/json', resp.content_type, why)
        status, body = resp.status_int, resp.json
        if self.service == 'image':
            self.assertEqual({'message', 'code', 'title'}, set(body), why)
            self.assertEqual(resp.status, body['code'], why)
        elif self.service == 'volume':
            key = wsgi.FAULT_NAMES.get(status, 'computeFault')
            self.assertEqual([key], list(body), why)
            self.assertEqual(status, body[key]['code'], why)
            self.assertIsInstance(body[key]['message'], str, why)
        else:
            self.assertEqual(['NeutronError'], list(body), why)
            self.assertEqual({'type', 'message', 'detail'},
                             set(body['NeutronError']), why)

    def test_schema_bodies(self) -> None:
        if self.schema is None:
            self.skipTest('the route validates no body schema')
        valid = generated.from_schema(self.schema)

        @SETTINGS
        @hypothesis.given(body=st.one_of(valid, generated.broken(valid)))
        def check(body: Any) -> None:
            status, result = self.send(json.dumps(body).encode())
            self.assertIn(status, ANSWERS, f'{body!r} -> {result!r}')
            try:
                jsonschema.validate(body, self.schema)
            except jsonschema.ValidationError:
                self.assertEqual(400, status, f'{body!r} -> {result!r}')
            except RecursionError:
                pass

        check()

    def test_malformed_requests(self) -> None:
        if self.expected.content_type == 'application/octet-stream':
            self.skipTest('the route takes raw data')
        valid = json.dumps(self.valid).encode()

        @SETTINGS
        @hypothesis.given(raw=generated.NOT_AN_OBJECT)
        def not_an_object(raw: bytes) -> None:
            status, result = self.send(raw)
            self.assertIn(status, ANSWERS, f'{raw!r} -> {result!r}')

        @SETTINGS
        @hypothesis.given(resource=generated.IDS)
        def ids(resource: str) -> None:
            if '{' not in self.path:
                return
            status, result = self.send(valid, resource=resource)
            self.assertIn(status, ANSWERS, f'{resource!r} -> {result!r}')

        @SETTINGS
        @hypothesis.given(content_type=st.sampled_from([
            'text/html', 'application/xml', 'multipart/form-data',
            'application/json; charset=latin-1', 'application/octet-stream',
            '']))
        def media_types(content_type: str) -> None:
            status, result = self.send(valid, content_type=content_type)
            self.assertIn(status, ANSWERS, f'{content_type!r} -> {result!r}')

        for check in (not_an_object, ids, media_types):
            check()
        # Past the JSON parser's recursion limit.
        deep = b'{"a": ' + b'[' * 50000 + b']' * 50000 + b'}'
        self.assertEqual(400, self.send(deep)[0])

    def test_body_over_size_limit(self) -> None:
        if self.expected.content_type == 'application/octet-stream':
            self.skipTest('the route takes raw data, streamed')
        limit = matrix.CONF.oslo_middleware.max_request_body_size
        body = json.dumps(self.valid or {}).encode()
        padded = body[:-1] + b', "padding": "' + b'x' * limit + b'"}' \
            if body.endswith(b'}') else b'[' + b'0,' * limit + b'0]'
        status, _result = self.send(padded)
        if self.service == 'image':
            # Glance has no body size limit (image data is streamed).
            self.assertIn(status, ANSWERS)
        else:
            self.assertEqual(413, status)
