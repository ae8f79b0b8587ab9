"""Authorization of every route of the Compute API, route by route.

The routes come from the router itself (``routes.ROUTES``, and each
action key of an ``.../action`` route as a route of its own); EXPECTED
says, one line per route, which policy rule the route checks and what a
valid request to it looks like.  For each route (one test each):

* it is in EXPECTED: a new route without a line fails its test, naming
  the route, until its author adds one;
* the route checks the rule EXPECTED names: with the rule denied to
  everyone in a policy file, even an admin gets upstream's 403;
* a server-scoped route answers another project's server exactly as a
  missing one (404 ``itemNotFound``), whatever its rule;
* a route whose rule defaults to admin-only (read from nova/policies)
  refuses a project member with 403 ``forbidden``.

The bodies are valid, so a refusal comes from authorization and not from
validation (which upstream does first).
"""

from __future__ import annotations

import dataclasses
import json
import os
import uuid
from typing import Any

import testscenarios
from oslo_config import fixture as config_fixture

from nova import policies, test
from nova.api.openstack.compute import routes
from nova.policies import enforcer
from nova.tests.functional.api import base
from nova.tests.functional.api.base import ADMIN, CONF, USER

load_tests = testscenarios.load_tests_apply_scenarios

#: The project of the servers a member must not reach.
OTHER = 'other:other'
#: Admin-only defaults, as nova/policies/base.py spells them.
ADMIN_CHECKS = frozenset({'rule:context_is_admin', 'rule:admin_api',
                          'role:admin'})
#: Placeholders EXPECTED's paths and bodies may use.
IMAGE = '{image}'
#: A server group of the member's project.
GROUP = '{group}'
MISSING = str(uuid.UUID(int=1))


@dataclasses.dataclass(frozen=True)
class Route:
    """What a valid request to one route looks like."""

    #: The policy rule the route checks (its first refusal); None for
    #: the few routes upstream checks no rule on (the flavors anyone may
    #: list, the image proxy whose image service decides).
    rule: str | None
    #: A valid body (an action route's whole body, action key included).
    body: Any = None
    #: Values of the path's other arguments ({id}, {flavor_id} ...); a
    #: server-scoped route's server is filled in by the test.
    args: dict[str, str] = dataclasses.field(default_factory=dict)
    #: The microversion to call it at.
    version: str = '2.79'


S = 'os_compute_api:servers:%s'
_M = 'os_compute_api:os-migrate-server:%s'
_IA = 'os_compute_api:os-instance-actions:%s'
_VA = 'os_compute_api:os-volumes-attachments:%s'
_AI = 'os_compute_api:os-attach-interfaces:%s'
_SMG = 'os_compute_api:servers:migrations:%s'
_SM = 'os_compute_api:server-metadata:%s'
_ST = 'os_compute_api:os-server-tags:%s'
_FM = 'os_compute_api:os-flavor-manage:%s'
_FA = 'os_compute_api:os-flavor-access'
_ES = 'os_compute_api:os-flavor-extra-specs:%s'
_KP = 'os_compute_api:os-keypairs:%s'
_AZ = 'os_compute_api:os-availability-zone:%s'
_QS = 'os_compute_api:os-quota-sets:%s'
_SV = 'os_compute_api:os-services:%s'
_HV = 'os_compute_api:os-hypervisors:%s'
_TU = 'os_compute_api:os-simple-tenant-usage:%s'
_SG = 'os_compute_api:os-server-groups:%s'
_AG = 'os_compute_api:os-aggregates:%s'
_SEC = 'os_compute_api:os-security-groups:%s'
_PW = 'os_compute_api:os-server-password:%s'

_FLAVOR = {'flavor': {'name': 'matrix', 'ram': 64, 'vcpus': 1, 'disk': 1}}

#: Every route: (method, path template, action key or None) -> Route.
#: One line per route; add yours with the route.
EXPECTED: dict[tuple[str, str, str | None], Route] = {
    ('GET', '/servers', None): Route(S % 'index'),
    ('GET', '/servers/detail', None): Route(S % 'detail'),
    ('POST', '/servers', None): Route(S % 'create', {'server': {
        'name': 'matrix', 'flavorRef': '1', 'imageRef': IMAGE,
        'networks': 'none'}}),
    ('GET', '/servers/{id}', None): Route(S % 'show'),
    ('PUT', '/servers/{id}', None): Route(
        S % 'update', {'server': {'name': 'renamed'}}),
    ('DELETE', '/servers/{id}', None): Route(S % 'delete'),
    ('POST', '/servers/{id}/action', 'confirmResize'): Route(
        S % 'confirm_resize', {'confirmResize': None}),
    ('POST', '/servers/{id}/action', 'createImage'): Route(
        S % 'create_image', {'createImage': {'name': 'snap'}}),
    ('POST', '/servers/{id}/action', 'evacuate'): Route(
        'os_compute_api:os-evacuate', {'evacuate': {}}),
    ('POST', '/servers/{id}/action', 'lock'): Route(
        'os_compute_api:os-lock-server:lock', {'lock': None}),
    ('POST', '/servers/{id}/action', 'migrate'): Route(
        _M % 'migrate', {'migrate': None}),
    ('POST', '/servers/{id}/action', 'os-getConsoleOutput'): Route(
        'os_compute_api:os-console-output', {'os-getConsoleOutput': {}}),
    ('POST', '/servers/{id}/action', 'os-migrateLive'): Route(
        _M % 'migrate_live',
        {'os-migrateLive': {'host': None, 'block_migration': 'auto'}}),
    ('POST', '/servers/{id}/action', 'os-start'): Route(
        S % 'start', {'os-start': None}),
    ('POST', '/servers/{id}/action', 'os-stop'): Route(
        S % 'stop', {'os-stop': None}),
    ('POST', '/servers/{id}/action', 'pause'): Route(
        'os_compute_api:os-pause-server:pause', {'pause': None}),
    ('POST', '/servers/{id}/action', 'reboot'): Route(
        S % 'reboot', {'reboot': {'type': 'SOFT'}}),
    ('POST', '/servers/{id}/action', 'rebuild'): Route(
        S % 'rebuild', {'rebuild': {'imageRef': IMAGE}}),
    ('POST', '/servers/{id}/action', 'rescue'): Route(
        'os_compute_api:os-rescue', {'rescue': None}),
    ('POST', '/servers/{id}/action', 'resize'): Route(
        S % 'resize', {'resize': {'flavorRef': '2'}}),
    ('POST', '/servers/{id}/action', 'resume'): Route(
        'os_compute_api:os-suspend-server:resume', {'resume': None}),
    ('POST', '/servers/{id}/action', 'revertResize'): Route(
        S % 'revert_resize', {'revertResize': None}),
    ('POST', '/servers/{id}/action', 'shelve'): Route(
        'os_compute_api:os-shelve:shelve', {'shelve': None}),
    ('POST', '/servers/{id}/action', 'shelveOffload'): Route(
        'os_compute_api:os-shelve:shelve_offload', {'shelveOffload': None}),
    ('POST', '/servers/{id}/action', 'suspend'): Route(
        'os_compute_api:os-suspend-server:suspend', {'suspend': None}),
    ('POST', '/servers/{id}/action', 'unlock'): Route(
        'os_compute_api:os-lock-server:unlock', {'unlock': None}),
    ('POST', '/servers/{id}/action', 'unpause'): Route(
        'os_compute_api:os-pause-server:unpause', {'unpause': None}),
    ('POST', '/servers/{id}/action', 'unrescue'): Route(
        'os_compute_api:os-unrescue', {'unrescue': None}),
    ('POST', '/servers/{id}/action', 'unshelve'): Route(
        'os_compute_api:os-shelve:unshelve', {'unshelve': None}),
    ('POST', '/servers/{id}/action', 'trigger_crash_dump'): Route(
        S % 'trigger_crash_dump', {'trigger_crash_dump': None}),
    ('POST', '/servers/{id}/action', 'addSecurityGroup'): Route(
        _SEC % 'add', {'addSecurityGroup': {'name': 'default'}}),
    ('POST', '/servers/{id}/action', 'removeSecurityGroup'): Route(
        _SEC % 'remove', {'removeSecurityGroup': {'name': 'default'}}),
    ('POST', '/servers/{id}/action', 'os-getVNCConsole'): Route(
        'os_compute_api:os-remote-consoles',
        {'os-getVNCConsole': {'type': 'novnc'}}, version='2.5'),
    ('POST', '/servers/{server_id}/remote-consoles', None): Route(
        'os_compute_api:os-remote-consoles',
        {'remote_console': {'protocol': 'vnc', 'type': 'novnc'}}),
    ('GET', '/servers/{server_id}/os-security-groups', None): Route(
        _SEC % 'list'),
    ('GET', '/servers/{server_id}/diagnostics', None): Route(
        'os_compute_api:os-server-diagnostics'),
    ('GET', '/servers/{server_id}/os-server-password', None): Route(
        _PW % 'show'),
    ('DELETE', '/servers/{server_id}/os-server-password', None): Route(
        _PW % 'clear'),
    ('POST', '/os-server-external-events', None): Route(
        'os_compute_api:os-server-external-events:create',
        {'events': [{'name': 'network-changed', 'server_uuid': MISSING}]}),
    ('GET', '/servers/{server_id}/os-instance-actions', None): Route(
        _IA % 'list'),
    ('GET', '/servers/{server_id}/os-instance-actions/{id}', None): Route(
        _IA % 'show', args={'id': 'req-' + MISSING}),
    ('GET', '/servers/{server_id}/os-volume_attachments', None): Route(
        _VA % 'index'),
    ('POST', '/servers/{server_id}/os-volume_attachments', None): Route(
        _VA % 'create', {'volumeAttachment': {'volumeId': MISSING}}),
    ('GET', '/servers/{server_id}/os-volume_attachments/{id}', None):
        Route(_VA % 'show', args={'id': MISSING}),
    ('DELETE', '/servers/{server_id}/os-volume_attachments/{id}', None):
        Route(_VA % 'delete', args={'id': MISSING}),
    ('GET', '/servers/{server_id}/os-interface', None): Route(_AI % 'list'),
    ('POST', '/servers/{server_id}/os-interface', None): Route(
        _AI % 'create', {'interfaceAttachment': {}}),
    ('GET', '/servers/{server_id}/os-interface/{id}', None): Route(
        _AI % 'show', args={'id': MISSING}),
    ('DELETE', '/servers/{server_id}/os-interface/{id}', None): Route(
        _AI % 'delete', args={'id': MISSING}),
    ('GET', '/servers/{server_id}/migrations', None): Route(
        _SMG % 'index'),
    ('GET', '/servers/{server_id}/migrations/{id}', None): Route(
        _SMG % 'show', args={'id': '1'}),
    ('DELETE', '/servers/{server_id}/migrations/{id}', None): Route(
        _SMG % 'delete', args={'id': '1'}),
    ('POST', '/servers/{server_id}/migrations/{id}/action',
     'force_complete'): Route(
        _SMG % 'force_complete', {'force_complete': None}, {'id': '1'}),
    ('GET', '/servers/{server_id}/metadata', None): Route(_SM % 'index'),
    ('POST', '/servers/{server_id}/metadata', None): Route(
        _SM % 'create', {'metadata': {'a': 'b'}}),
    ('PUT', '/servers/{server_id}/metadata', None): Route(
        _SM % 'update_all', {'metadata': {'a': 'b'}}),
    ('GET', '/servers/{server_id}/metadata/{id}', None): Route(
        _SM % 'show', args={'id': 'a'}),
    ('PUT', '/servers/{server_id}/metadata/{id}', None): Route(
        _SM % 'update', {'meta': {'a': 'b'}}, {'id': 'a'}),
    ('DELETE', '/servers/{server_id}/metadata/{id}', None): Route(
        _SM % 'delete', args={'id': 'a'}),
    ('GET', '/servers/{server_id}/tags', None): Route(_ST % 'index'),
    ('PUT', '/servers/{server_id}/tags', None): Route(
        _ST % 'update_all', {'tags': ['a']}),
    ('DELETE', '/servers/{server_id}/tags', None): Route(
        _ST % 'delete_all'),
    ('GET', '/servers/{server_id}/tags/{id}', None): Route(
        _ST % 'show', args={'id': 'a'}),
    ('PUT', '/servers/{server_id}/tags/{id}', None): Route(
        _ST % 'update', args={'id': 'a'}),
    ('DELETE', '/servers/{server_id}/tags/{id}', None): Route(
        _ST % 'delete', args={'id': 'a'}),
    ('GET', '/flavors', None): Route(None),
    ('GET', '/flavors/detail', None): Route(None),
    ('POST', '/flavors', None): Route(_FM % 'create', _FLAVOR),
    ('GET', '/flavors/{id}', None): Route(
        None, args={'id': '1'}),
    ('PUT', '/flavors/{id}', None): Route(
        _FM % 'update', {'flavor': {'description': 'd'}}, {'id': '1'}),
    ('DELETE', '/flavors/{id}', None): Route(
        _FM % 'delete', args={'id': '1'}),
    ('POST', '/flavors/{id}/action', 'addTenantAccess'): Route(
        _FA + ':add_tenant_access',
        {'addTenantAccess': {'tenant': 'demo'}}, {'id': '1'}),
    ('POST', '/flavors/{id}/action', 'removeTenantAccess'): Route(
        _FA + ':remove_tenant_access',
        {'removeTenantAccess': {'tenant': 'demo'}}, {'id': '1'}),
    ('GET', '/flavors/{flavor_id}/os-flavor-access', None): Route(
        _FA, args={'flavor_id': '1'}),
    ('GET', '/flavors/{flavor_id}/os-extra_specs', None): Route(
        _ES % 'index', args={'flavor_id': '1'}),
    ('POST', '/flavors/{flavor_id}/os-extra_specs', None): Route(
        _ES % 'create', {'extra_specs': {'a': 'b'}}, {'flavor_id': '1'}),
    ('GET', '/flavors/{flavor_id}/os-extra_specs/{id}', None): Route(
        _ES % 'show', args={'flavor_id': '1', 'id': 'a'}),
    ('PUT', '/flavors/{flavor_id}/os-extra_specs/{id}', None): Route(
        _ES % 'update', {'a': 'b'}, {'flavor_id': '1', 'id': 'a'}),
    ('DELETE', '/flavors/{flavor_id}/os-extra_specs/{id}', None): Route(
        _ES % 'delete', args={'flavor_id': '1', 'id': 'a'}),
    ('GET', '/images', None): Route(None, version='2.1'),
    ('GET', '/images/detail', None): Route(
        None, version='2.1'),
    ('GET', '/images/{id}', None): Route(
        None, args={'id': IMAGE}, version='2.1'),
    ('DELETE', '/images/{id}', None): Route(
        None, args={'id': IMAGE}, version='2.1'),
    ('GET', '/os-keypairs', None): Route(_KP % 'index'),
    ('POST', '/os-keypairs', None): Route(
        _KP % 'create', {'keypair': {'name': 'kp'}}),
    ('GET', '/os-keypairs/{id}', None): Route(_KP % 'show', args={'id': 'kp'}),
    ('DELETE', '/os-keypairs/{id}', None): Route(
        _KP % 'delete', args={'id': 'kp'}),
    ('GET', '/os-availability-zone', None): Route(_AZ % 'list'),
    ('GET', '/os-availability-zone/detail', None): Route(_AZ % 'detail'),
    ('GET', '/limits', None): Route('os_compute_api:limits'),
    ('GET', '/flow-extensions', None): Route(
        'os_compute_api:flow-extensions:index'),
    ('GET', '/os-quota-sets/{id}/defaults', None): Route(
        _QS % 'defaults', args={'id': 'demo'}),
    ('GET', '/os-quota-sets/{id}/detail', None): Route(
        _QS % 'detail', args={'id': 'demo'}),
    ('GET', '/os-quota-sets/{id}', None): Route(
        _QS % 'show', args={'id': 'demo'}),
    ('PUT', '/os-quota-sets/{id}', None): Route(
        _QS % 'update', {'quota_set': {'instances': 20}}, {'id': 'demo'}),
    ('DELETE', '/os-quota-sets/{id}', None): Route(
        _QS % 'delete', args={'id': 'demo'}),
    ('GET', '/os-services', None): Route(_SV % 'list'),
    ('PUT', '/os-services/{id}', None): Route(
        _SV % 'update', {'status': 'disabled'}, {'id': MISSING}),
    ('DELETE', '/os-services/{id}', None): Route(
        _SV % 'delete', args={'id': MISSING}),
    ('GET', '/os-hypervisors', None): Route(_HV % 'list'),
    ('GET', '/os-hypervisors/detail', None): Route(_HV % 'list-detail'),
    ('GET', '/os-hypervisors/statistics', None): Route(
        _HV % 'statistics', version='2.87'),
    ('GET', '/os-hypervisors/{id}', None): Route(
        _HV % 'show', args={'id': MISSING}),
    ('GET', '/os-migrations', None): Route(
        'os_compute_api:os-migrations:index'),
    ('GET', '/os-simple-tenant-usage', None): Route(_TU % 'list'),
    ('GET', '/os-simple-tenant-usage/{id}', None): Route(
        _TU % 'show', args={'id': 'demo'}),
    ('GET', '/os-server-groups', None): Route(_SG % 'index'),
    ('POST', '/os-server-groups', None): Route(
        _SG % 'create',
        {'server_group': {'name': 'g', 'policy': 'affinity'}}),
    ('GET', '/os-server-groups/{id}', None): Route(
        _SG % 'show', args={'id': GROUP}),
    ('DELETE', '/os-server-groups/{id}', None): Route(
        _SG % 'delete', args={'id': GROUP}),
    ('GET', '/os-aggregates', None): Route(_AG % 'index'),
    ('POST', '/os-aggregates', None): Route(
        _AG % 'create', {'aggregate': {'name': 'agg'}}),
    ('GET', '/os-aggregates/{id}', None): Route(
        _AG % 'show', args={'id': '1'}),
    ('PUT', '/os-aggregates/{id}', None): Route(
        _AG % 'update', {'aggregate': {'name': 'agg2'}}, {'id': '1'}),
    ('DELETE', '/os-aggregates/{id}', None): Route(
        _AG % 'delete', args={'id': '1'}),
    ('POST', '/os-aggregates/{id}/action', 'add_host'): Route(
        _AG % 'add_host', {'add_host': {'host': 'compute1'}}, {'id': '1'}),
    ('POST', '/os-aggregates/{id}/action', 'remove_host'): Route(
        _AG % 'remove_host', {'remove_host': {'host': 'compute1'}},
        {'id': '1'}),
    ('POST', '/os-aggregates/{id}/action', 'set_metadata'): Route(
        _AG % 'set_metadata', {'set_metadata': {'metadata': {'a': 'b'}}},
        {'id': '1'}),
}


def served_routes() -> list[tuple[str, str, str | None]]:
    """Every route the router serves, each action key on its own."""
    # Only the routes are read: the controllers need no services.
    nothing: Any = object()
    router = routes.APIRouterV21(compute_api=nothing, db=nothing,
                                 image_api=nothing, flows=nothing)
    found: list[tuple[str, str, str | None]] = []
    for method, path, key, action in routes.ROUTES:
        if action == 'action':
            found.extend((method, path, name)
                         for name in sorted(router.resources[key].actions))
        else:
            found.append((method, path, None))
    return found


def _scenario_name(route: tuple[str, str, str | None]) -> str:
    method, path, action = route
    return f'{method} {path}' + (f' {action}' if action else '')


def _is_server_scoped(path: str) -> bool:
    return path.startswith(('/servers/{id}', '/servers/{server_id}'))


def _admin_only(rule: str) -> bool:
    defaults = {r.name: r.check_str for r in policies.list_rules()}
    return defaults[rule].strip() in ADMIN_CHECKS


class Placeholders:
    """Fills EXPECTED's placeholders in with the test cloud's objects."""

    cloud: Any
    group: str | None = None

    def fill(self, text: str) -> str:
        """``text`` with the placeholders replaced."""
        text = text.replace(IMAGE, self.cloud.image['id'])
        if GROUP in text:
            if self.group is None:
                self.group = self.cloud.db.instance_group_create(
                    self.cloud.ctx, {'name': 'g', 'policy': 'affinity',
                                     'project_id': 'demo',
                                     'user_id': 'demo'})['uuid']
            text = text.replace(GROUP, self.group)
        return text


class RouteAuthorizationTest(Placeholders, base.APITestCase):

    # No service runs: every refusal comes before the API casts to one,
    # and the servers need not be built to be refused.
    cloud_options = {'compute_hosts': ()}

    scenarios = [(_scenario_name(route), {'route': route})
                 for route in served_routes()]
    route: tuple[str, str, str | None]

    def setUp(self) -> None:
        super().setUp()
        method, path, action = self.route
        expected = EXPECTED.get(self.route)
        if expected is None:
            self.fail(f'route {_scenario_name(self.route)} has no line in '
                      f'{__name__}.EXPECTED: add one saying which policy '
                      f'rule it checks and a valid request to it')
        self.expected = expected
        self.method = method
        self.path = path
        self.server_scoped = _is_server_scoped(path)

    def request(self, token: str, server: str | None = None,
                ) -> tuple[int, Any]:
        args = dict(self.expected.args)
        if self.server_scoped:
            args['server_id' if '{server_id}' in self.path else 'id'] = \
                server or ''
        path = self.fill(self.path.format(**args))
        body = self.expected.body
        if body is not None:
            body = json.loads(self.fill(json.dumps(body)))
        return self.call(self.method, path, body, token=token,
                         version=self.expected.version)

    def server(self, token: str) -> str:
        user, project = token.split(':')
        return self.cloud.boot(self.cloud.user_context(user, project))['uuid']

    def assertFault(self, status: int, key: str, message: str,
                    result: tuple[int, Any]) -> None:
        self.assertEqual((status, {key: {'code': status,
                                         'message': message}}), result)

    def deny_everyone(self, rule: str) -> None:
        """Deny ``rule`` to everyone, as an operator's policy file does."""
        path = os.path.join(self.cloud.state_path, 'policy.json')
        with open(path, 'w') as policy_file:
            json.dump({rule: '!'}, policy_file)
        # The [oslo_policy] options exist once an enforcer was made.
        enforcer.get_enforcer()
        self.useFixture(config_fixture.Config(CONF)).config(
            group='oslo_policy', policy_file=path)
        enforcer.reset()

    def test_route(self) -> None:
        rule = self.expected.rule
        other = self.server(OTHER) if self.server_scoped else None
        if self.server_scoped:
            # (a) Another project's server is a missing one, for every
            # route on it.
            self.assertFault(404, 'itemNotFound',
                             f'Instance {other} could not be found.',
                             self.request(USER, other))
        if rule is None:
            return
        if _admin_only(rule):
            # (b) An admin-only route refuses a member, on their own
            # server too.
            own = self.server(USER) if self.server_scoped else None
            self.assertFault(
                403, 'forbidden',
                f"Policy doesn't allow {rule} to be performed.",
                self.request(USER, own))
        # The route checks the rule EXPECTED names: denied to everyone,
        # it refuses even an admin.
        self.deny_everyone(rule)
        self.assertFault(403, 'forbidden',
                         f"Policy doesn't allow {rule} to be performed.",
                         self.request(ADMIN, other))



class EveryLineIsARouteTest(test.TestCase):

    def test_no_line_for_a_route_that_is_gone(self):
        gone = set(EXPECTED) - set(served_routes())
        self.assertEqual(set(), gone, 'EXPECTED has lines for routes the '
                                      'router does not serve')

    def test_every_rule_is_registered(self):
        defaults = {r.name for r in policies.list_rules()}
        rules = {r.rule for r in EXPECTED.values() if r.rule}
        self.assertEqual(set(), rules - defaults)
