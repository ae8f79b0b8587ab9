"""The API flows: their stages, and hooks extending them."""

import logging
import os
import subprocess

import fixtures
import webob.exc

import nova
from nova import test
from nova.api.openstack import api_version_request as avr
from nova.api.openstack.compute.flows import (
    API_FLOWS,
    ApiFlows,
    server_create,
    server_remote_console,
    server_view,
)
from nova.flow import FlowConfigError, hooks
from nova.tests.unit.api import fakes

V = avr.APIVersionRequest


class _Ctx:
    user_id = 'u1'
    project_id = 'p1'
    is_admin = False
    roles = ['member', 'reader']

    def to_policy_values(self):
        return {'user_id': self.user_id, 'project_id': self.project_id,
                'roles': self.roles, 'is_admin_project': True}


class TestFlowShapes(test.TestCase):

    def test_api_flows_and_their_stage_lists(self):
        flows = {f.name: f for f in API_FLOWS}
        self.assertEqual({'api.server_create', 'api.server_update',
                          'api.server_rebuild', 'api.server_resize',
                          'api.server_view', 'api.server_add_security_group',
                          'api.server_remove_security_group',
                          'api.server_diagnostics',
                          'api.server_show_password',
                          'api.server_clear_password',
                          'api.server_remote_console',
                          'api.server_external_events'}, set(flows))
        engine = ApiFlows.load().engine
        create = [leaf.name for leaf in
                  engine.plan('api.server_create').leaves.values()]
        self.assertEqual(
            ['parse', 'flavor', 'networks', 'multiple_create',
             'validate_networks', 'key_name', 'user_data',
             'availability_zone', 'block_device_mapping',
             'config_drive', 'scheduler_hints', 'server_group',
             'security_groups', 'metadata', 'description', 'tags',
             'hostname', 'check_quota', 'create', 'response'], create)
        stages = {name: [leaf.name for leaf in
                         engine.plan(name).leaves.values()]
                  for name in ('api.server_diagnostics',
                               'api.server_show_password',
                               'api.server_clear_password',
                               'api.server_remote_console',
                               'api.server_external_events')}
        self.assertEqual({
            'api.server_diagnostics': ['authorize', 'get_diagnostics',
                                       'view'],
            'api.server_show_password': ['authorize', 'get_password',
                                         'view'],
            'api.server_clear_password': ['authorize', 'clear_password'],
            'api.server_remote_console': ['authorize', 'get_console',
                                          'view'],
            'api.server_external_events': ['authorize', 'load_instances',
                                           'check_events',
                                           'dispatch_events', 'view'],
        }, stages)

    def test_no_extension_loaded_checks_anywhere_in_nova(self):
        root = os.path.dirname(nova.__file__)
        result = subprocess.run(
            ['grep', '-rl', '--include=*.py', 'is_' + 'loaded', root],
            capture_output=True, text=True)
        self.assertEqual('', result.stdout)


class TestCreateStages(test.TestCase):
    """Each create stage on its own, on a hand-made state."""

    def _state(self, server, version='2.100', **kw):
        db = fakes.FakeDB()
        return server_create.ServerCreateState(
            req=None, version=V(version), compute_api=None, db=db,
            body={'server': server, **kw}, server=server)

    def test_networks_list(self):
        state = self._state({'networks': [{'uuid': 'n1', 'fixed_ip': None}]})
        server_create.networks(None, state)
        self.assertEqual([{'uuid': 'n1'}],
                         state.create_kwargs['requested_networks'])

    def test_networks_port_twice_is_400(self):
        state = self._state({'networks': [{'port': 'p'}, {'port': 'p'}]})
        self.assertRaises(webob.exc.HTTPBadRequest, server_create.networks,
                          None, state)

    def test_multiple_create_defaults(self):
        state = self._state({})
        server_create.multiple_create(None, state)
        self.assertEqual((1, 1), (state.create_kwargs['min_count'],
                                  state.create_kwargs['max_count']))
        self.assertFalse(state.return_reservation_id)

    def test_max_count_defaults_to_min_count(self):
        state = self._state({'min_count': '3'})
        server_create.multiple_create(None, state)
        self.assertEqual(3, state.create_kwargs['max_count'])

    def test_scheduler_hints_from_either_key(self):
        for key in ('os:scheduler_hints', 'OS-SCH-HNT:scheduler_hints'):
            state = self._state({}, **{key: {'a': 'b'}})
            server_create.scheduler_hints(None, state)
            self.assertEqual({'a': 'b'},
                             state.create_kwargs['scheduler_hints'])

    def test_config_drive_string(self):
        state = self._state({'config_drive': 'true'})
        server_create.config_drive(None, state)
        self.assertIs(True, state.create_kwargs['config_drive'])

    def test_hostname_with_multiple_servers_is_400(self):
        state = self._state({'hostname': 'h'}, version='2.94')
        state.create_kwargs['max_count'] = 2
        self.assertRaises(webob.exc.HTTPBadRequest, server_create.hostname,
                          None, state)
        state = self._state({'hostname': 'h'}, version='2.94')
        server_create.hostname(None, state)
        self.assertEqual('h', state.create_kwargs['hostname'])

    def test_features_add_nothing_when_absent(self):
        state = self._state({})
        for stage in ('key_name', 'user_data', 'config_drive',
                      'security_groups', 'metadata', 'description', 'tags',
                      'hostname', 'networks'):
            getattr(server_create, stage)(None, state)
        self.assertEqual({}, state.create_kwargs)

    def test_schema_grows_with_microversions(self):
        props_219 = server_create.schema(V('2.19'))['properties'][
            'server']['properties']
        props_218 = server_create.schema(V('2.18'))['properties'][
            'server']['properties']
        self.assertIn('description', props_219)
        self.assertNotIn('description', props_218)


class TestViewStages(test.TestCase):

    def _state(self, version, **instance):
        import webob
        req = webob.Request.blank('/v2.1/servers')
        from nova.api.openstack import wsgi
        req = wsgi.Request(req.environ)
        base = {'uuid': 'u', 'display_name': 'n', 'vm_state': 'active',
                'task_state': None, 'flavor': fakes.flavor()}
        base.update(instance)
        return server_view.ServerViewState(req=req, version=V(version),
                                           instance=base)

    def test_status_from_states(self):
        state = self._state('2.1', task_state='rebooting_hard')
        server_view.basic(None, state)
        self.assertEqual('HARD_REBOOT', state.server['status'])

    def test_flavor_extra_specs_follow_policy(self):
        state = self._state('2.47')
        state.options = server_view.ViewOptions(flavor_extra_specs=False)
        server_view.flavor(None, state)
        self.assertNotIn('extra_specs', state.server['flavor'])

    def test_security_groups_omitted_when_none(self):
        state = self._state('2.1', security_groups=[])
        server_view.security_groups(None, state)
        self.assertNotIn('security_groups', state.server)

    def test_addresses_from_network_info(self):
        state = self._state('2.1', network_info=[{
            'address': 'fa:16:3e:00:00:01',
            'network': {'label': 'private', 'subnets': [{'ips': [{
                'address': '10.0.0.5', 'version': 4, 'type': 'fixed',
                'floating_ips': [{'address': '172.24.4.9',
                                  'type': 'floating'}]}]}]}}])
        state.server['status'] = 'ACTIVE'
        server_view.addresses(None, state)
        private = state.server['addresses']['private']
        self.assertEqual(['10.0.0.5', '172.24.4.9'],
                         [a['addr'] for a in private])
        self.assertEqual('floating', private[1]['OS-EXT-IPS:type'])


# -- hooks ----------------------------------------------------------------

class Badge(hooks.Hook):
    """Adds request field 'x:badge' and shows it from 2.60."""

    supports = {'api.server_create': '1.0', 'api.server_view': '1.0'}
    microversions = {'api.server_view': '2.60'}
    schema_fragments = {'api.server_create': {'properties': {
        'x:badge': {'type': 'string', 'maxLength': 5}}}}
    view_fields = {'api.server_view': {
        'x:badge': {'type': ['string', 'null']},
        'x:wrapped': {'type': 'boolean'}}}

    @hooks.after('api.server_create.metadata')
    def badge(self, ctx, state):
        if 'x:badge' in state.server:
            state.create_kwargs.setdefault('metadata', {})['badge'] = \
                state.server['x:badge']

    @hooks.after('api.server_view.basic')
    def show(self, ctx, state):
        state.server['x:badge'] = (state.instance.get('metadata') or
                                   {}).get('badge')

    @hooks.around('api.server_view.flavor')
    def wrap(self, ctx, state, proceed):
        proceed()
        state.server['x:wrapped'] = True


class TestHookedAPI(fakes.APITestCase):

    hook_objects = (Badge,)

    def _create(self, server, version='2.100'):
        body = {'server': dict({'name': 'vm', 'flavorRef': '1',
                                'imageRef': fakes.IMAGE_ID,
                                'networks': 'none'}, **server)}
        return self.call('POST', '/servers', body, version=version)

    def test_hook_request_field_is_accepted_and_used(self):
        code, data, _ = self._create({'x:badge': 'gold'})
        self.assertEqual(202, code, data)
        self.assertEqual({'badge': 'gold'},
                         self.compute.calls[-1][2]['metadata'])

    def test_hook_fragment_is_still_validated(self):
        self.assertFault(400, 'badRequest',
                         self._create({'x:badge': 'platinum'}))

    def test_other_unknown_fields_still_rejected(self):
        self.assertFault(400, 'badRequest', self._create({'x:other': 1}))

    def test_view_field_only_from_declared_microversion(self):
        server = self.compute.add_instance(metadata={'badge': 'b'})
        path = f"/servers/{server['uuid']}"
        _code, old, _ = self.call('GET', path, version='2.59')
        self.assertNotIn('x:badge', old['server'])
        self.assertNotIn('x:wrapped', old['server'])
        _code, new, _ = self.call('GET', path, version='2.60')
        self.assertEqual('b', new['server']['x:badge'])
        self.assertTrue(new['server']['x:wrapped'])


class Extensions(hooks.Hook):
    """A vendor's hooks at the stages of upstream's extensions."""

    supports = {'api.server_diagnostics': '1.0',
                'api.server_show_password': '1.0',
                'api.server_clear_password': '1.0',
                'api.server_remote_console': '1.0',
                'api.server_external_events': '1.0'}

    @hooks.after('api.server_diagnostics.view')
    def firmware(self, ctx, state):
        state.body['x:firmware'] = 'uefi'

    @hooks.replace('api.server_show_password.get_password')
    def from_vault(self, ctx, state):
        state.password = 'vault:' + state.instance['uuid']

    @hooks.before('api.server_clear_password.clear_password')
    def escrowed(self, ctx, state):
        raise webob.exc.HTTPConflict(explanation='The password is held '
                                     'in escrow.')

    @hooks.replace('api.server_remote_console.get_console')
    def spice(self, ctx, state):
        if state.protocol != 'spice':
            return server_remote_console.get_console(ctx, state)
        state.url = 'https://spice.example/?token=t1'

    @hooks.after('api.server_external_events.check_events')
    def no_vif_deleted(self, ctx, state):
        for result in state.results:
            if result['name'] == 'network-vif-deleted':
                result.update(code=403, status='failed')
        state.accepted = [event for event in state.accepted
                          if event['name'] != 'network-vif-deleted']


class TestHookedExtensions(fakes.APITestCase):
    """Each extension's flow answers what a hook at its stage says."""

    hook_objects = (Extensions,)

    def setUp(self):
        super().setUp()
        self.server = self.compute.add_instance()
        self.path = f"/servers/{self.server['uuid']}"

    def test_diagnostics_view_hook_adds_a_field(self):
        self.compute.get_diagnostics = lambda ctx, instance: {
            'state': 'running', 'driver': 'fake'}
        code, data, _ = self.admin('GET', self.path + '/diagnostics',
                                   version='2.48')
        self.assertEqual(200, code, data)
        self.assertEqual('uefi', data.get('x:firmware'))
        self.assertEqual('running', data['state'])

    def test_show_password_from_a_replaced_stage(self):
        code, data, _ = self.call('GET', self.path + '/os-server-password')
        self.assertEqual(200, code, data)
        self.assertEqual({'password': 'vault:' + self.server['uuid']},
                         data)

    def test_clear_password_refused_before_the_write(self):
        fault = self.assertFault(409, 'conflictingRequest', self.call(
            'DELETE', self.path + '/os-server-password'))
        self.assertIn('escrow', fault['message'])
        self.assertNotIn('clear_password',
                         [call[0] for call in self.compute.calls])

    def test_remote_console_of_a_protocol_a_hook_serves(self):
        body = {'remote_console': {'protocol': 'spice',
                                   'type': 'spice-html5'}}
        code, data, _ = self.call('POST', self.path + '/remote-consoles',
                                  body, version='2.6')
        self.assertEqual(200, code, data)
        self.assertEqual({'remote_console': {
            'protocol': 'spice', 'type': 'spice-html5',
            'url': 'https://spice.example/?token=t1'}}, data)

    def test_external_event_refused_by_a_hook(self):
        self.compute.get_instances_by_uuids = lambda ctx, uuids: {
            self.server['uuid']: self.server}
        delivered = []
        self.compute.external_instance_event = \
            lambda ctx, instances, events: delivered.append(events)
        events = [{'server_uuid': self.server['uuid'], 'name': name,
                   'tag': 'tag'} for name in ('network-changed',
                                              'network-vif-deleted')]
        code, data, _ = self.admin('POST', '/os-server-external-events',
                                   {'events': events})
        self.assertEqual(207, code, data)
        self.assertEqual([200, 403],
                         [event['code'] for event in data['events']])
        self.assertEqual([['network-changed']],
                         [[e['name'] for e in events]
                          for events in delivered])


class TestGatingLeavesTheHookAlone(test.TestCase):

    def test_the_hook_object_is_not_modified(self):
        hook = Badge()
        methods = {name: vars(Badge)[name] for name in ('show', 'wrap')}
        flows = ApiFlows.load(hook_objects=[hook])
        api = self.useFixture(fakes.APIFixture(flows=flows))
        server = api.compute.add_instance(metadata={'badge': 'b'})
        for version in ('2.59', '2.60'):
            resp = api.request('GET', f"/v2.1/servers/{server['uuid']}",
                               version=version)
            self.assertEqual(200, resp.status_int)
        # The engine gates the contributions; the only attribute on the
        # hook is the name every loaded hook gets.
        self.assertEqual({'name'}, set(vars(hook)))
        self.assertEqual(methods, {name: vars(Badge)[name]
                                   for name in ('show', 'wrap')})


class Sneaky(hooks.Hook):
    """Adds a declared field, and keys it does not declare."""

    supports = {'api.server_view': '1.0'}
    microversions = {'api.server_view': '2.60'}
    view_fields = {'api.server_view': {'x:ok': {'type': 'boolean'}}}
    extra = 'x:undeclared'

    @hooks.after('api.server_view.basic')
    def show(self, ctx, state):
        state.server['x:ok'] = True
        if self.extra:
            state.server[self.extra] = 1


class TestViewFieldsEnforced(test.TestCase):

    def _get(self, hook, version='2.60'):
        flows = ApiFlows.load(hook_objects=[hook])
        api = self.useFixture(fakes.APIFixture(flows=flows))
        server = api.compute.add_instance()
        resp = api.request('GET', f"/v2.1/servers/{server['uuid']}",
                           version=version)
        return resp.status_int, resp.json

    def test_declared_field_is_added(self):
        class Fine(Sneaky):
            extra = None
        code, body = self._get(Fine())
        self.assertEqual(200, code)
        self.assertIs(True, body['server']['x:ok'])

    def test_undeclared_key_fails_the_stage(self):
        for key in ('x:undeclared', 'plain'):
            class Bad(Sneaky):
                extra = key
            code, body = self._get(Bad())
            self.assertEqual(500, code, body)
            self.assertNotIn('server', body)

    def test_below_the_version_nothing_is_checked_or_added(self):
        code, body = self._get(Sneaky(), version='2.59')
        self.assertEqual(200, code)
        self.assertNotIn('x:ok', body['server'])

    def _guarded(self, fn, wraps=False, view_fields=None):
        class Obj:
            pass
        obj = Obj()
        obj.view_fields = {'api.server_view': view_fields or {}}

        class Loaded:
            name = 'vendor'
        Loaded.obj = obj
        return server_view.guard_hook(fn, Loaded, 'api.server_view.x',
                                      wraps)

    def test_error_names_hook_stage_and_key(self):
        def add(ctx, state):
            state.server['v:new'] = 1
        state = server_view.ServerViewState(req=None, version=V('2.60'),
                                            instance={})
        error = self.assertRaises(server_view.ViewFieldError,
                                  self._guarded(add), None, state)
        self.assertEqual(('vendor', 'api.server_view.x', 'v:new'),
                         (error.hook, error.stage_id, error.key))
        self.assertIn("hook vendor added the server field 'v:new'",
                      str(error))
        self.assertIn('at stage api.server_view.x', str(error))

    def test_removing_a_key_fails_the_stage(self):
        def drop(ctx, state):
            del state.server['id']
        state = server_view.ServerViewState(
            req=None, version=V('2.60'), instance={}, server={'id': 'u'})
        error = self.assertRaises(server_view.ViewFieldError,
                                  self._guarded(drop), None, state)
        self.assertIn("removed the server field 'id'", str(error))

    def test_around_is_held_to_its_own_code_only(self):
        def around(ctx, state, proceed):
            proceed()
            state.server['v:mine'] = 1

        def stage():
            state.server['flavor'] = {}
        state = server_view.ServerViewState(req=None, version=V('2.60'),
                                            instance={})
        self._guarded(around, wraps=True,
                      view_fields={'v:mine': {}})(None, state, stage)
        self.assertEqual({'flavor': {}, 'v:mine': 1}, state.server)


class TestHookLoadChecks(test.TestCase):

    def _problems(self, *hook_classes):
        error = self.assertRaises(FlowConfigError, ApiFlows.load,
                                  hook_objects=hook_classes)
        return '\n'.join(str(p) for p in error.problems)

    def test_view_hook_without_microversion_is_refused(self):
        class NoVersion(hooks.Hook):
            supports = {'api.server_view': '1.0'}

            @hooks.after('api.server_view.basic')
            def add(self, ctx, state):
                pass
        self.assertIn("declares no microversions['api.server_view']",
                      self._problems(NoVersion))

    def test_replacing_a_view_stage_is_refused(self):
        class Replace(hooks.Hook):
            supports = {'api.server_view': '1.0'}
            microversions = {'api.server_view': '2.50'}

            @hooks.replace('api.server_view.flavor')
            def mine(self, ctx, state):
                pass
        self.assertIn('replaces a stage of api.server_view',
                      self._problems(Replace))

    def test_fragment_may_not_redefine_api_fields(self):
        class Redefine(hooks.Hook):
            supports = {'api.server_create': '1.0'}
            schema_fragments = {'api.server_create': {'properties': {
                'name': {'type': 'integer'}}}}
        self.assertIn("redefines API field 'name'",
                      self._problems(Redefine))

    def test_fragment_must_be_valid_schema(self):
        class Broken(hooks.Hook):
            supports = {'api.server_create': '1.0'}
            schema_fragments = {'api.server_create': {'properties': {
                'x:y': {'type': 'no-such-type'}}}}
        self.assertIn('not a valid JSON schema', self._problems(Broken))

    def test_fragment_needs_supports(self):
        class Undeclared(hooks.Hook):
            schema_fragments = {'api.server_create': {'properties': {
                'x:y': {'type': 'string'}}}}
        self.assertIn("does not declare in 'supports'",
                      self._problems(Undeclared))

    def test_two_hooks_may_not_define_one_field(self):
        class One(hooks.Hook):
            supports = {'api.server_create': '1.0'}
            schema_fragments = {'api.server_create': {'properties': {
                'x:y': {'type': 'string'}}}}

        class Two(One):
            pass
        self.assertIn('also defined by hook', self._problems(One, Two))

    def test_microversion_out_of_range(self):
        class TooNew(hooks.Hook):
            supports = {'api.server_view': '1.0'}
            microversions = {'api.server_view': '2.999'}
        self.assertIn('outside', self._problems(TooNew))

    def test_fragment_fields_must_be_namespaced(self):
        class Plain(hooks.Hook):
            supports = {'api.server_create': '1.0'}
            schema_fragments = {'api.server_create': {'properties': {
                'tier': {'type': 'string'}}}}
        text = self._problems(Plain)
        self.assertIn("field 'tier' is not namespaced", text)
        self.assertIn("stage 'api.server_create'", text)
        # The problem names the hook that declared the field.
        self.assertRegex(text, r"^hook '[\w.<>]*\.Plain', ")

    def test_upstream_namespaces_are_refused(self):
        class Upstream(hooks.Hook):
            supports = {'api.server_create': '1.0'}
            schema_fragments = {'api.server_create': {'properties': {
                'OS-EXT-SRV-ATTR:tier': {'type': 'string'}}}}
        self.assertIn('uses an upstream namespace',
                      self._problems(Upstream))

    def test_view_fields_must_be_namespaced_and_valid(self):
        class View(hooks.Hook):
            supports = {'api.server_view': '1.0'}
            view_fields = {'api.server_view': {
                'tier': {'type': 'string'},
                'x:bad': {'type': 'no-such-type'}}}
        text = self._problems(View)
        self.assertIn("view_fields field 'tier' is not namespaced", text)
        self.assertIn("view field 'x:bad' is not a valid JSON schema", text)

    def test_view_fields_only_for_the_view(self):
        class Elsewhere(hooks.Hook):
            supports = {'api.server_create': '1.0'}
            view_fields = {'api.server_create': {'x:y': {}}}
        self.assertIn("view_fields names 'api.server_create'",
                      self._problems(Elsewhere))

    def test_two_hooks_may_not_add_one_view_field(self):
        class One(hooks.Hook):
            supports = {'api.server_view': '1.0'}
            view_fields = {'api.server_view': {'x:y': {}}}

        class Two(One):
            pass
        self.assertIn("view field 'x:y' is also added by hook",
                      self._problems(One, Two))

    def test_fragment_only_for_request_flows(self):
        class ViewFragment(hooks.Hook):
            supports = {'api.server_view': '1.0'}
            schema_fragments = {'api.server_view': {'properties': {}}}
        self.assertIn('flow without a request body',
                      self._problems(ViewFragment))

    def test_all_problems_reported_together(self):
        class A(hooks.Hook):
            supports = {'api.server_view': '1.0'}
            microversions = {'api.server_view': 'x'}

        class B(hooks.Hook):
            schema_fragments = {'api.server_create': 'nope'}
        text = self._problems(A, B)
        self.assertIn("'x' is not a microversion", text)
        self.assertIn("does not declare in 'supports'", text)


class TestVendorPackage(test.TestCase):
    """contrib/nova-example-api-hooks, loaded by name from
    [flow] enabled_hooks like a vendor's installed package."""

    def setUp(self):
        super().setUp()
        try:
            import nova_example_api_hooks  # noqa: F401
        except ImportError:
            self.skipTest('pip install --no-deps '
                          'contrib/nova-example-api-hooks first')
        fakes.CONF([], project='nova', default_config_files=[])
        self.addCleanup(fakes.CONF.reset)
        fakes.CONF.set_override('enabled_hooks',
                                ['example_api_vendor_field'], group='flow')
        self.addCleanup(fakes.CONF.clear_override, 'enabled_hooks',
                        group='flow')
        # What nova-api does: the installed flows plus the API flows,
        # with the hooks [flow] enabled_hooks names.
        flows = ApiFlows.from_conf(fakes.CONF)
        self.api = self.useFixture(fakes.APIFixture(flows=flows))
        self.api.flows = flows

    def _call(self, method, path, body=None, version='2.100'):
        resp = self.api.request(method, '/v2.1' + path, body,
                                version=version)
        return resp.status_int, resp.json if resp.body else None

    def test_create_with_vendor_field_and_view_it(self):
        code, data = self._call('POST', '/servers', {'server': {
            'name': 'vm', 'flavorRef': '1', 'imageRef': fakes.IMAGE_ID,
            'networks': 'none', 'example:tier': 'gold'}})
        self.assertEqual(202, code, data)
        server_id = data['server']['id']
        _code, shown = self._call('GET', f'/servers/{server_id}')
        self.assertEqual('gold', shown['server']['example:tier'])
        _code, old = self._call('GET', f'/servers/{server_id}',
                                version='2.46')
        self.assertNotIn('example:tier', old['server'])

    def test_vendor_field_value_validated(self):
        code, data = self._call('POST', '/servers', {'server': {
            'name': 'vm', 'flavorRef': '1', 'imageRef': fakes.IMAGE_ID,
            'networks': 'none', 'example:tier': 'tin'}})
        self.assertEqual(400, code)
        self.assertIn('badRequest', data)

    def test_a_missing_hook_stops_the_load_naming_it(self):
        fakes.CONF.set_override('enabled_hooks', ['no_such_vendor_hook'],
                                group='flow')
        error = self.assertRaises(FlowConfigError, ApiFlows.from_conf,
                                  fakes.CONF)
        self.assertIn('no_such_vendor_hook', str(error))

    def test_hook_stage_in_the_effective_stage_list(self):
        plan = self.api.flows.engine.plan('api.server_create')
        names = [leaf.id for leaf in plan.leaves.values()]
        self.assertIn('api.server_create.tier_to_metadata', names)


class TestCallCompute(test.TestCase):

    def test_unknown_keyword_is_409_naming_it(self):
        from nova import exception
        from nova.api.openstack.compute.flows import base

        def create(ctx, flavor, *, name):
            return name
        self.assertEqual('vm', base.call_compute(create, None, {},
                                                 name='vm'))
        error = self.assertRaises(
            exception.ActionNotSupported, base.call_compute, create, None,
            {}, name='vm', requested_host='h1')
        self.assertEqual(409, error.code)
        self.assertIn('requested_host', error.format_message())


class TestDisabledFeatureStages(fakes.APITestCase):
    """[flow] disabled_stages switches a create feature off: its fields
    stay accepted (the standard API is the same on every cloud), the
    feature is not applied and the request is logged at INFO."""

    def setUp(self):
        super().setUp()
        flows = ApiFlows.load(disabled_stages=[
            'api.server_create.scheduler_hints', 'api.server_create.tags'])
        self.flows = flows
        self.api = self.useFixture(fakes.APIFixture(flows=flows))
        self.compute = self.api.compute

    def _create(self, **extra):
        body = {'server': {'name': 'vm', 'flavorRef': '1',
                           'imageRef': fakes.IMAGE_ID, 'networks': 'none'}}
        body.update(extra.pop('top', {}))
        body['server'].update(extra)
        return self.call('POST', '/servers', body, version='2.100')

    def test_disabled_feature_fields_are_accepted_and_ignored(self):
        log = self.useFixture(fixtures.FakeLogger(level=logging.INFO))
        code, data, _ = self._create(
            tags=['a'], top={'os:scheduler_hints': {'same_host': [
                fakes.IMAGE_ID]}})
        self.assertEqual(202, code, data)
        kwargs = self.compute.calls[-1][2]
        self.assertNotIn('tags', kwargs)
        self.assertNotIn('scheduler_hints', kwargs)
        self.assertIn('Ignoring tags of the request: stage '
                      'api.server_create.tags is disabled', log.output)
        self.assertIn('Ignoring os:scheduler_hints of the request: stage '
                      'api.server_create.scheduler_hints is disabled',
                      log.output)

    def test_disabled_fields_are_still_validated(self):
        self.assertFault(400, 'badRequest', self._create(tags='not-a-list'))

    def test_schema_is_the_same_whatever_is_disabled(self):
        flows = ApiFlows.load()
        for version in ('2.1', '2.52', '2.100'):
            self.assertEqual(
                flows.schema('api.server_create', V(version)),
                self.flows.schema('api.server_create', V(version)))

    def test_nothing_logged_without_the_fields(self):
        log = self.useFixture(fixtures.FakeLogger(level=logging.INFO))
        code, data, _ = self._create(metadata={'a': 'b'})
        self.assertEqual(202, code, data)
        self.assertNotIn('Ignoring', log.output)

    def test_other_features_still_work(self):
        code, data, _ = self._create(metadata={'a': 'b'})
        self.assertEqual(202, code, data)

    def test_mandatory_stages_cannot_be_disabled(self):
        self.assertRaises(FlowConfigError, ApiFlows.load,
                          disabled_stages=['api.server_create.create'])


class TestIgnoredFields(test.TestCase):

    def test_fields_of_disabled_stages_a_request_sent(self):
        body = {'server': {'tags': ['a'], 'metadata': {}},
                'os:scheduler_hints': {'group': fakes.IMAGE_ID}}
        self.assertEqual(
            [('server_group', ['os:scheduler_hints.group']),
             ('tags', ['tags'])],
            server_create.ignored_fields(['server_group', 'tags'],
                                         V('2.100'), body))
        # tags are a field from 2.52 on: before, nothing is ignored.
        self.assertEqual([], server_create.ignored_fields(
            ['tags'], V('2.51'), body))
        self.assertEqual([], server_create.ignored_fields(
            ['server_group'], V('2.100'), {'server': {}}))


class TestEngineProblemsKeepHookNames(test.TestCase):

    def test_unknown_stage_problem_names_the_hook(self):
        class Lost(hooks.Hook):
            supports = {'api.server_create': '1.0'}

            @hooks.before('api.server_create.no_such_stage')
            def add(self, ctx, state):
                pass
        error = self.assertRaises(FlowConfigError, ApiFlows.load,
                                  hook_objects=[Lost])
        self.assertIn('Lost', str(error))
        self.assertIn('no_such_stage', str(error))


class TestGeneratePassword(test.TestCase):

    def test_length_and_alphabet(self):
        for length in (1, 12, 40):
            password = server_create.generate_password(length)
            self.assertEqual(length, len(password))
            self.assertTrue(password.isalnum() and password.isascii())

    def test_every_symbol_occurs(self):
        seen = set(''.join(server_create.generate_password(40)
                           for _ in range(200)))
        self.assertEqual(62, len(seen))
