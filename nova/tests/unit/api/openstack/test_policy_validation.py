"""Policy defaults and overrides, schema validation messages and routing
helpers."""

import os
import tempfile

from nova import context, exception, test
from nova.api.openstack import urlmap
from nova.api.validation import validators
from nova.policies import enforcer, list_rules
from nova.tests.unit.api import fakes


class TestPolicy(fakes.APITestCase):

    def test_every_rule_is_documented_and_unique(self):
        names = [rule.name for rule in list_rules()]
        self.assertEqual(len(names), len(set(names)))
        self.assertIn('os_compute_api:servers:create', names)

    def test_member_of_project_allowed_admin_rule_refused(self):
        ctx = context.RequestContext('u', 'p', roles=['member', 'reader'])
        self.assertTrue(enforcer.authorize(
            ctx, 'os_compute_api:servers:show',
            {'project_id': 'p', 'user_id': 'u'}))
        self.assertFalse(enforcer.authorize(
            ctx, 'os_compute_api:servers:show',
            {'project_id': 'other', 'user_id': 'x'}, fatal=False))
        self.assertRaises(exception.PolicyNotAuthorized, enforcer.authorize,
                          ctx, 'os_compute_api:os-services:list')

    def test_admin_passes_admin_rules(self):
        ctx = context.RequestContext('admin', 'admin', roles=['admin'])
        self.assertTrue(enforcer.authorize(
            ctx, 'os_compute_api:os-evacuate', {'project_id': 'x'}))

    def test_policy_file_overrides_a_default(self):
        with tempfile.NamedTemporaryFile('w', suffix='.yaml',
                                         delete=False) as f:
            f.write('"os_compute_api:servers:index": "!"\n')
        self.addCleanup(os.unlink, f.name)
        fakes.CONF.set_override('policy_file', f.name,
                                group='oslo_policy')
        self.addCleanup(fakes.CONF.clear_override, 'policy_file',
                        group='oslo_policy')
        enforcer.reset()
        self.assertFault(403, 'forbidden', self.call('GET', '/servers'))


class TestValidators(test.TestCase):

    def test_additional_property_named(self):
        schema = {'type': 'object', 'properties': {'a': {}},
                  'additionalProperties': False}
        error = self.assertRaises(exception.ValidationError,
                                  validators.validate, schema, {'b': 1})
        self.assertIn("'b'", error.format_message())
        self.assertEqual(400, error.code)

    def test_wrong_type_names_the_field(self):
        schema = {'type': 'object', 'properties': {'server': {
            'type': 'object', 'properties': {'name': {'type': 'string'}}}}}
        error = self.assertRaises(exception.ValidationError,
                                  validators.validate, schema,
                                  {'server': {'name': 5}})
        self.assertIn('server/name', error.format_message())

    def test_uuid_format(self):
        schema = {'type': 'string', 'format': 'uuid'}
        validators.validate(schema, '155d900f-4e14-4e4c-a73d-069cbf4541e6')
        self.assertRaises(exception.ValidationError, validators.validate,
                          schema, '155d900f')

    def test_missing_required(self):
        schema = {'type': 'object', 'required': ['x']}
        error = self.assertRaises(exception.ValidationError,
                                  validators.validate, schema, {})
        self.assertIn("'x'", error.format_message())


class TestURLMap(test.TestCase):

    def _app(self, name):
        def app(environ, start_response):
            start_response('200 OK', [])
            return [f"{name} {environ['SCRIPT_NAME']} "
                    f"{environ['PATH_INFO']}".encode()]
        return app

    def _get(self, mapper, path):
        import webob
        return webob.Request.blank(path).get_response(mapper).text

    def test_exact_and_prefix(self):
        mapper = urlmap.URLMap({'/': self._app('root'),
                                '/v2.1': self._app('doc')},
                               [('/v2.1', self._app('api'))])
        self.assertEqual('root  /', self._get(mapper, '/'))
        self.assertEqual('doc  /v2.1', self._get(mapper, '/v2.1'))
        self.assertEqual('doc  /v2.1/', self._get(mapper, '/v2.1/'))
        self.assertEqual('api /v2.1 /servers',
                         self._get(mapper, '/v2.1/servers'))
        self.assertIn('itemNotFound', self._get(mapper, '/v3/servers'))


class TestWSGIApp(test.TestCase):

    def test_finds_the_paste_file_of_the_tree(self):
        from nova.api.openstack.compute import wsgi_app
        self.useFixture(fakes.APIFixture())
        path = wsgi_app.find_paste_config(fakes.CONF)
        self.assertTrue(path.endswith(os.path.join('etc', 'nova',
                                                   'api-paste.ini')))

    def test_missing_paste_file_names_the_option(self):
        from nova.api.openstack.compute import wsgi_app
        self.useFixture(fakes.APIFixture())
        fakes.CONF.set_override('api_paste_config', '/nonexistent.ini',
                                group='wsgi')
        error = self.assertRaises(RuntimeError, wsgi_app.find_paste_config,
                                  fakes.CONF)
        self.assertIn('api_paste_config', str(error))
