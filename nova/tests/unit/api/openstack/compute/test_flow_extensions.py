"""GET /v2.1/flow-extensions: what the enabled hooks add, discoverable."""

import os
import tempfile

from nova.flow import hooks
from nova.policies import enforcer, list_rules
from nova.tests.unit.api import fakes


class Tier(hooks.Hook):
    supports = {'api.server_create': '1.0', 'api.server_view': '1.0'}
    microversions = {'api.server_create': '2.10'}
    schema_fragments = {'api.server_create': {'properties': {
        'acme:tier': {'type': 'string', 'enum': ['gold', 'tin']}}}}
    view_fields = {'api.server_view': {
        'acme:tier': {'type': ['string', 'null']}}}

    @hooks.after('api.server_create.metadata')
    def store(self, ctx, state):
        pass

    @hooks.after('api.server_view.basic', min_version='2.60')
    def show(self, ctx, state):
        state.server['acme:tier'] = None

    @hooks.around('api.server_view.flavor', min_version='2.50')
    def timed(self, ctx, state, proceed):
        return proceed()


class TestWithoutHooks(fakes.APITestCase):

    def test_empty_list(self):
        code, body, _ = self.call('GET', '/flow-extensions')
        self.assertEqual(200, code)
        self.assertEqual({'flow_extensions': []}, body)

    def test_also_below_the_project_id(self):
        code, body, _ = self.call('GET', '/p1/flow-extensions')
        self.assertEqual(200, code)
        self.assertEqual({'flow_extensions': []}, body)

    def test_read_only(self):
        code, _body, _ = self.call('POST', '/flow-extensions', {})
        self.assertEqual(405, code)


class TestWithAHook(fakes.APITestCase):

    hook_objects = (Tier,)

    def test_lists_flows_fields_and_microversions(self):
        code, body, _ = self.call('GET', '/flow-extensions',
                                  version='2.1')
        self.assertEqual(200, code)
        [entry] = body['flow_extensions']
        self.assertEqual(Tier.name or f'{__name__}.Tier', entry['name'])
        flows = {f['flow']: f for f in entry['flows']}
        self.assertEqual(['api.server_create', 'api.server_view'],
                         sorted(flows))
        create = flows['api.server_create']
        self.assertEqual('1.0', create['contract'])
        self.assertEqual('2.10', create['min_version'])
        self.assertEqual([{'name': 'acme:tier', 'min_version': '2.10',
                           'schema': {'type': 'string',
                                      'enum': ['gold', 'tin']}}],
                         create['request_fields'])
        self.assertEqual([], create['response_fields'])
        view = flows['api.server_view']
        # The lowest of the hook's view contributions: the around at 2.50.
        self.assertEqual('2.50', view['min_version'])
        self.assertEqual([{'name': 'acme:tier', 'min_version': '2.50',
                           'schema': {'type': ['string', 'null']}}],
                         view['response_fields'])
        self.assertEqual([], view['request_fields'])

    def test_any_authenticated_user_by_default(self):
        code, _body, _ = self.call('GET', '/flow-extensions',
                                   token='u2:p2')
        self.assertEqual(200, code)

    def test_unauthenticated_is_401(self):
        code, _body, _ = self.call('GET', '/flow-extensions', token=None)
        self.assertEqual(401, code)


class TestPolicy(fakes.APITestCase):

    def test_rule_is_registered_and_documented(self):
        rules = {rule.name: rule for rule in list_rules()}
        rule = rules['os_compute_api:flow-extensions:index']
        self.assertEqual('@', rule.check_str)
        self.assertEqual([{'method': 'GET', 'path': '/flow-extensions'}],
                         rule.operations)

    def test_policy_file_can_restrict_it(self):
        with tempfile.NamedTemporaryFile('w', suffix='.yaml',
                                         delete=False) as f:
            f.write('"os_compute_api:flow-extensions:index": '
                    '"rule:context_is_admin"\n')
        self.addCleanup(os.unlink, f.name)
        # The [oslo_policy] options exist once an enforcer was made.
        enforcer.get_enforcer()
        fakes.CONF.set_override('policy_file', f.name,
                                group='oslo_policy')
        self.addCleanup(fakes.CONF.clear_override, 'policy_file',
                        group='oslo_policy')
        enforcer.reset()
        self.assertFault(403, 'forbidden',
                         self.call('GET', '/flow-extensions'))
        code, _body, _ = self.admin('GET', '/flow-extensions')
        self.assertEqual(200, code)
