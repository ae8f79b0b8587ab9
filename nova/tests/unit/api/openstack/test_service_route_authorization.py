"""Authorization of every route of the image, volume and network service
APIs (Image v2, Block Storage v3, Networking v2.0), route by route.

As test_route_authorization does for the Compute API: the routes come
from each router's ``ROUTES`` (each volume action key a route of its
own); EXPECTED says, one line per route, which policy rule the route
checks, the least role that may call it and a valid request.  For each
route (one test each), on fresh resources of project ``demo``:

* it is in EXPECTED (a new route without a line fails, naming it);
* an admin, a member and a reader of ``demo`` are each allowed or
  refused (403, the message naming the rule) by the least role;
* a member of another project gets the service's 404 for ``demo``'s
  resource, and does not see it in a listing;
* with the rule denied to everyone in a policy file, even an admin is
  refused: 403, or the 404 (hidden) or filtered listing the service
  answers for what one may not see;
* every error is in the body format of THAT service: Glance's
  ``{"message", "code", "title"}``, Cinder's ``{"<fault>": {"code",
  "message"}}``, Neutron's ``{"NeutronError": {"type", "message",
  "detail"}}``.

The routers are called directly, behind a test middleware that gives the
caller the roles it names (noauth2 gives every user member and reader),
as keystonemiddleware would.
"""

from __future__ import annotations

import dataclasses
import json
import os
import uuid
from collections.abc import Callable
from typing import Any

import fixtures
import testscenarios
import webob
from oslo_config import fixture as config_fixture

import nova.conf
from nova import context, policies, test
from nova.api.openstack.image import images as image_views
from nova.api.openstack.image import router as image_router
from nova.api.openstack.network import router as network_router
from nova.api.openstack.volume import routes as volume_routes
from nova.network import local as local_network
from nova.policies import enforcer
from nova.tests.unit.db import base
from nova.volume import local as local_volume

load_tests = testscenarios.load_tests_apply_scenarios
CONF = nova.conf.CONF

#: Callers: (user, project, roles).
ADMIN = ('admin', 'admin', 'admin,member,reader')
MEMBER = ('demo', 'demo', 'member,reader')
READER = ('viewer', 'demo', 'reader')
OTHER = ('other', 'other', 'member,reader')
RANK = {'reader': 0, 'member': 1, 'admin': 2}
SERVER = str(uuid.UUID(int=7))
#: Placeholders a path or body may hold: a fresh resource of ``demo``.
KINDS = ('image', 'active_image', 'volume', 'reserved_volume',
         'in_use_volume', 'detaching_volume', 'network', 'subnet', 'port',
         'sg', 'sgr')
PATCH = image_views.PATCH_TYPES[0]


@dataclasses.dataclass(frozen=True)
class Route:
    """What a valid request to one route looks like and who may send it."""

    #: The policy rule the route checks; None when it checks none.
    rule: str | None
    #: The least role of the resource's project allowed ('reader',
    #: 'member' or 'admin').
    who: str = 'reader'
    #: The status of an allowed request.
    ok: int = 200
    #: A valid body (placeholders filled in), or raw bytes.
    body: Any = None
    #: The kind of resource the path's {id} is (None: no resource).
    resource: str | None = None
    #: What an admin gets with the rule denied to everyone: 403, 404
    #: (hidden) or 'filtered' (a listing without the resource).
    denied: int | str = 403
    content_type: str = 'application/json'


_IMG = '/images/{image_id}'
_VOL = '/volumes/{id}'


def _va(rule: str, body: Any, resource: str = 'volume',
        ok: int = 202) -> Route:
    return Route(f'volume_extension:volume_actions:{rule}', 'member', ok,
                 body, resource)


#: (service, method, path, action key or None) -> Route.  One line per
#: route; add yours with the route.
EXPECTED: dict[tuple[str, str, str, str | None], Route] = {
    # Image API v2 (Glance's rules: a hidden image is a 404).
    ('image', 'GET', '/images', None): Route(
        'get_images', resource='image'),
    ('image', 'POST', '/images', None): Route(
        'add_image', 'member', 201, {'name': 'new'}),
    ('image', 'GET', _IMG, None): Route(
        'get_image', resource='image', denied=404),
    ('image', 'PATCH', _IMG, None): Route(
        'modify_image', 'member', 200,
        [{'op': 'replace', 'path': '/name', 'value': 'renamed'}],
        'image', content_type=PATCH),
    ('image', 'DELETE', _IMG, None): Route(
        'delete_image', 'member', 204, resource='image'),
    ('image', 'PUT', _IMG + '/file', None): Route(
        'upload_image', 'member', 204, b'data', 'image',
        content_type='application/octet-stream'),
    ('image', 'GET', _IMG + '/file', None): Route(
        'download_image', resource='active_image'),
    ('image', 'GET', '/schemas/image', None): Route(None),
    ('image', 'GET', '/schemas/images', None): Route(None),
    # Block Storage v3 (Cinder's rules).
    ('volume', 'GET', '/volumes', None): Route(
        'volume:get_all', resource='volume'),
    ('volume', 'GET', '/volumes/detail', None): Route(
        'volume:get_all', resource='volume'),
    ('volume', 'POST', '/volumes', None): Route(
        'volume:create', 'member', 202, {'volume': {'size': 1}}),
    ('volume', 'GET', _VOL, None): Route('volume:get', resource='volume'),
    ('volume', 'DELETE', _VOL, None): Route(
        'volume:delete', 'member', 202, resource='volume'),
    ('volume', 'POST', _VOL + '/action', 'os-extend'): Route(
        'volume:extend', 'member', 202, {'os-extend': {'new_size': 2}},
        'volume'),
    ('volume', 'POST', _VOL + '/action', 'os-reserve'): _va(
        'reserve', {'os-reserve': {'instance_uuid': SERVER}}),
    ('volume', 'POST', _VOL + '/action', 'os-unreserve'): _va(
        'unreserve', {'os-unreserve': None}, 'reserved_volume'),
    ('volume', 'POST', _VOL + '/action', 'os-initialize_connection'): _va(
        'initialize_connection',
        {'os-initialize_connection': {'connector': {}}}, 'reserved_volume',
        ok=200),
    ('volume', 'POST', _VOL + '/action', 'os-terminate_connection'): _va(
        'terminate_connection',
        {'os-terminate_connection': {'connector': {}}}),
    ('volume', 'POST', _VOL + '/action', 'os-attach'): _va(
        'attach', {'os-attach': {'instance_uuid': SERVER,
                                 'mountpoint': '/dev/vdb'}},
        'reserved_volume'),
    ('volume', 'POST', _VOL + '/action', 'os-begin_detaching'): _va(
        'begin_detaching', {'os-begin_detaching': None}, 'in_use_volume'),
    ('volume', 'POST', _VOL + '/action', 'os-roll_detaching'): _va(
        'roll_detaching', {'os-roll_detaching': None}, 'detaching_volume'),
    ('volume', 'POST', _VOL + '/action', 'os-detach'): _va(
        'detach', {'os-detach': {}}, 'detaching_volume'),
    # Networking v2.0 (Neutron's rules: what one may not see is a 404,
    # and missing from listings).
    ('network', 'GET', '/networks', None): Route(
        'get_network', resource='network', denied='filtered'),
    ('network', 'POST', '/networks', None): Route(
        'create_network', 'member', 201, {'network': {'name': 'n2'}}),
    ('network', 'GET', '/networks/{id}', None): Route(
        'get_network', resource='network', denied=404),
    ('network', 'PUT', '/networks/{id}', None): Route(
        'update_network', 'member', 200, {'network': {'name': 'n3'}},
        'network'),
    ('network', 'DELETE', '/networks/{id}', None): Route(
        'delete_network', 'member', 204, resource='network'),
    ('network', 'GET', '/subnets', None): Route(
        'get_subnet', resource='subnet', denied='filtered'),
    ('network', 'POST', '/subnets', None): Route(
        'create_subnet', 'member', 201, {'subnet': {
            'network_id': '{network}', 'cidr': '10.30.0.0/24',
            'ip_version': 4}}),
    ('network', 'GET', '/subnets/{id}', None): Route(
        'get_subnet', resource='subnet', denied=404),
    ('network', 'DELETE', '/subnets/{id}', None): Route(
        'delete_subnet', 'member', 204, resource='subnet'),
    ('network', 'GET', '/ports', None): Route(
        'get_port', resource='port', denied='filtered'),
    ('network', 'POST', '/ports', None): Route(
        'create_port', 'member', 201, {'port': {'network_id': '{subnet}'}}),
    ('network', 'GET', '/ports/{id}', None): Route(
        'get_port', resource='port', denied=404),
    ('network', 'PUT', '/ports/{id}', None): Route(
        'update_port', 'member', 200, {'port': {'name': 'p2'}}, 'port'),
    ('network', 'DELETE', '/ports/{id}', None): Route(
        'delete_port', 'member', 204, resource='port'),
    ('network', 'GET', '/security-groups', None): Route(
        'get_security_group', resource='sg', denied='filtered'),
    ('network', 'POST', '/security-groups', None): Route(
        'create_security_group', 'member', 201,
        {'security_group': {'name': 'g2'}}),
    ('network', 'GET', '/security-groups/{id}', None): Route(
        'get_security_group', resource='sg', denied=404),
    ('network', 'PUT', '/security-groups/{id}', None): Route(
        'update_security_group', 'member', 200,
        {'security_group': {'name': 'g3'}}, 'sg'),
    ('network', 'DELETE', '/security-groups/{id}', None): Route(
        'delete_security_group', 'member', 204, resource='sg'),
    ('network', 'GET', '/security-group-rules', None): Route(
        'get_security_group_rule', resource='sgr', denied='filtered'),
    ('network', 'POST', '/security-group-rules', None): Route(
        'create_security_group_rule', 'member', 201,
        {'security_group_rule': {'security_group_id': '{sg}',
                                 'direction': 'ingress',
                                 'ethertype': 'IPv4', 'protocol': 'tcp',
                                 'port_range_min': 22,
                                 'port_range_max': 22}}),
    ('network', 'GET', '/security-group-rules/{id}', None): Route(
        'get_security_group_rule', resource='sgr', denied=404),
    ('network', 'DELETE', '/security-group-rules/{id}', None): Route(
        'delete_security_group_rule', 'member', 204, resource='sgr'),
    ('network', 'GET', '/extensions', None): Route(None),
    ('network', 'GET', '/extensions/{id}', None): Route(None),
}


def served_routes() -> list[tuple[str, str, str, str | None]]:
    """Every route the three routers serve, each action key on its own."""
    found: list[tuple[str, str, str, str | None]] = [
        ('image', method, path, None)
        for method, path, _op in image_router.ROUTES]
    nothing: Any = object()
    resource = volume_routes.APIRouterV3(nothing).resource
    for method, path, action in volume_routes.ROUTES:
        if action == 'action':
            found.extend(('volume', method, path, key)
                         for key in sorted(resource.actions))
        else:
            found.append(('volume', method, path, None))
    found.extend(('network', method, path, None)
                 for method, path, _name, _action in network_router.ROUTES)
    return found


def _name(route: tuple[str, str, str, str | None]) -> str:
    service, method, path, action = route
    return f'{service} {method} {path}' + (f' {action}' if action else '')


class _Caller:
    """Gives the request the context of the X-Test-Caller it names."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any],
                 start_response: Callable[..., Any]) -> Any:
        user, project, roles = environ['HTTP_X_TEST_CALLER'].split(':')
        environ['nova.context'] = context.RequestContext(
            user_id=user, project_id=project, roles=roles.split(','))
        return self.app(environ, start_response)


class ServiceRouteAuthorizationTest(base.DBTestCase):

    scenarios = [(_name(route), {'route': route})  # type: ignore[dict-item]
                 for route in served_routes()]
    route: tuple[str, str, str, str | None]

    def setUp(self) -> None:
        CONF([], project='nova', default_config_files=[])
        self.addCleanup(CONF.reset)
        self.config = self.useFixture(config_fixture.Config(CONF))
        tmp = self.useFixture(fixtures.TempDir()).path
        self.config.config(images_path=os.path.join(tmp, 'images'),
                           group='image')
        self.config.config(volumes_path=os.path.join(tmp, 'vols'),
                           group='volume')
        self.config.config(flat_network_cidr='10.1.0.0/28',
                           group='network')
        self.tmp = tmp
        enforcer.reset()
        self.addCleanup(enforcer.reset)
        super().setUp()
        self.service, self.method, self.path, self.action = self.route
        expected = EXPECTED.get(self.route)
        if expected is None:
            self.fail(f'route {_name(self.route)} has no line in '
                      f'{__name__}.EXPECTED: add one saying which policy '
                      f'rule it checks, who may call it and a valid '
                      f'request to it')
        self.expected = expected
        self.apps = {
            'image': _Caller(image_router.APIRouterV2()),
            'volume': _Caller(volume_routes.APIRouterV3()),
            'network': _Caller(network_router.APIRouter(
                local_network.FlatNetworkAPI(CONF)))}
        self.volumes = local_volume.LocalVolumeAPI()

    # -- requests ------------------------------------------------------------

    def call(self, service: str, method: str, path: str, body: Any,
             caller: tuple[str, str, str],
             content_type: str = 'application/json') -> webob.Response:
        req = webob.Request.blank(path, method=method)
        req.headers['X-Test-Caller'] = ':'.join(caller)
        if body is not None:
            req.body = body if isinstance(body, bytes) else \
                json.dumps(body).encode()
            req.content_type = content_type
        return req.get_response(self.apps[service])

    def created(self, service: str, path: str, body: Any,
                key: str) -> str:
        resp = self.call(service, 'POST', path, body, MEMBER)
        self.assertIn(resp.status_int, (201, 202), resp.text)
        return str(resp.json[key]['id'] if key else resp.json['id'])

    def make(self, kind: str) -> str:
        """A fresh resource of ``kind`` of project demo."""
        if kind in ('image', 'active_image'):
            image = self.created('image', '/images', {'name': 'i'}, '')
            if kind == 'active_image':
                resp = self.call('image', 'PUT', f'/images/{image}/file',
                                 b'data', MEMBER,
                                 'application/octet-stream')
                self.assertEqual(204, resp.status_int, resp.text)
            return image
        if kind.endswith('volume'):
            volume = self.created('volume', '/volumes',
                                  {'volume': {'size': 1}}, 'volume')
            admin = context.get_admin_context()
            if kind != 'volume':
                self.volumes.reserve(admin, volume, SERVER)
            if kind in ('in_use_volume', 'detaching_volume'):
                self.volumes.attach(admin, volume, SERVER, '/dev/vdb')
            if kind == 'detaching_volume':
                self.volumes.begin_detaching(admin, volume)
            return volume
        if kind == 'network':
            return self.created('network', '/networks',
                                {'network': {'name': 'n1'}}, 'network')
        if kind == 'subnet':
            return self.created('network', '/subnets', {'subnet': {
                'network_id': self.make('network'), 'cidr': '10.20.0.0/24',
                'ip_version': 4}}, 'subnet')
        if kind == 'port':
            network = self.subnet_network()
            return self.created('network', '/ports', {'port': {
                'network_id': network}}, 'port')
        if kind == 'sg':
            return self.created('network', '/security-groups',
                                {'security_group': {'name': 'g1'}},
                                'security_group')
        assert kind == 'sgr', kind
        return self.created('network', '/security-group-rules', {
            'security_group_rule': {
                'security_group_id': self.make('sg'),
                'direction': 'ingress', 'ethertype': 'IPv4',
                'protocol': 'udp', 'port_range_min': 53,
                'port_range_max': 53}}, 'security_group_rule')

    def subnet_network(self) -> str:
        """A network of demo's with a subnet (somewhere for a port)."""
        network = self.make('network')
        self.created('network', '/subnets', {'subnet': {
            'network_id': network, 'cidr': '10.20.0.0/24',
            'ip_version': 4}}, 'subnet')
        return network

    def request(self, caller: tuple[str, str, str]
                ) -> tuple[webob.Response, str | None]:
        """The route's valid request from ``caller``, on fresh resources
        of demo; returns the response and the path's resource."""
        resource = (self.make(self.expected.resource)
                    if self.expected.resource else None)
        path = self.path
        if resource and '{' in path:
            path = path.replace('{image_id}', resource).replace(
                '{id}', resource)
        elif '{id}' in path:
            path = path.replace('{id}', 'security-group')  # extensions
        body = self.expected.body
        if body is not None and not isinstance(body, bytes):
            text = json.dumps(body)
            if '"{subnet}"' in text:
                text = text.replace('{subnet}', self.subnet_network())
            for kind in KINDS:
                if f'"{{{kind}}}"' in text:
                    text = text.replace(f'{{{kind}}}', self.make(kind))
            body = json.loads(text)
        return self.call(self.service, self.method, path, body, caller,
                         self.expected.content_type), resource

    # -- the service's error body --------------------------------------------

    def assertError(self, status: int, resp: webob.Response) -> str:
        """The error's message, once checked to be ``status`` in the
        service's own error body."""
        self.assertEqual(status, resp.status_int, resp.text)
        self.assertEqual('application/json', resp.content_type, resp.text)
        body = resp.json
        if self.service == 'image':
            self.assertEqual({'message', 'code', 'title'}, set(body), body)
            self.assertEqual(resp.status, body['code'])
            return str(body['message'])
        if self.service == 'volume':
            self.assertEqual(1, len(body), body)
            (fault,) = body.values()
            self.assertEqual({'code', 'message'}, set(fault), body)
            self.assertEqual(status, fault['code'])
            return str(fault['message'])
        self.assertEqual(['NeutronError'], list(body), body)
        self.assertEqual({'type', 'message', 'detail'},
                         set(body['NeutronError']), body)
        return str(body['NeutronError']['message'])

    def assertRefused(self, resp: webob.Response) -> None:
        message = self.assertError(403, resp)
        self.assertIn(str(self.expected.rule), message)

    def deny_everyone(self, rule: str) -> None:
        path = os.path.join(self.tmp, 'policy.json')
        with open(path, 'w') as policy_file:
            json.dump({rule: '!'}, policy_file)
        enforcer.get_enforcer()
        self.config.config(group='oslo_policy', policy_file=path)
        enforcer.reset()

    # -- the test ------------------------------------------------------------

    def test_route(self) -> None:
        expected = self.expected
        listing = self.method == 'GET' and expected.resource and \
            '{' not in self.path
        # Each role of demo (and an admin) allowed or refused by the
        # least role the route needs.
        for caller, role in ((ADMIN, 'admin'), (MEMBER, 'member'),
                             (READER, 'reader')):
            resp, resource = self.request(caller)
            if RANK[role] >= RANK[expected.who]:
                self.assertEqual(expected.ok, resp.status_int,
                                 f'{role}: {resp.text}')
                if listing and role != 'admin':
                    self.assertIn(str(resource), resp.text, role)
            else:
                self.assertRefused(resp)
        # Another project: demo's resource is a missing one.
        resp, resource = self.request(OTHER)
        if listing:
            self.assertEqual(expected.ok, resp.status_int, resp.text)
            self.assertNotIn(str(resource), resp.text)
        elif expected.resource or (
                isinstance(expected.body, dict) and
                '"{' in json.dumps(expected.body)):
            self.assertError(404, resp)
        if expected.rule is None:
            return
        # The route checks the rule named: denied to everyone, even an
        # admin is refused.
        self.deny_everyone(expected.rule)
        resp, resource = self.request(ADMIN)
        if expected.denied == 403:
            self.assertRefused(resp)
        elif expected.denied == 404:
            self.assertError(404, resp)
        else:
            self.assertEqual(expected.ok, resp.status_int, resp.text)
            self.assertNotIn(str(resource), resp.text)


class EveryLineIsARouteTest(test.TestCase):

    def test_no_line_for_a_route_that_is_gone(self):
        gone = set(EXPECTED) - set(served_routes())
        self.assertEqual(set(), gone, 'EXPECTED has lines for routes the '
                                      'routers do not serve')

    def test_every_rule_is_registered(self):
        defaults = {r.name for r in policies.list_rules()}
        rules = {r.rule for r in EXPECTED.values() if r.rule}
        self.assertEqual(set(), rules - defaults)
