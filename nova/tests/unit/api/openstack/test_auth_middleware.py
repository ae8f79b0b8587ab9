"""Authentication, request IDs, the body size limit, version documents."""

import json

import webob

from nova import context, test
from nova.api import auth
from nova.api.openstack import middleware, wsgi
from nova.tests.unit.api import fakes


def _app(req_env):
    @webob.dec.wsgify
    def app(req):
        req_env.update(req.environ)
        return webob.Response(body=b'ok')
    return app


class TestNoAuth(fakes.APITestCase):

    def test_no_token_is_401(self):
        self.assertFault(401, 'unauthorized',
                         self.call('GET', '/flavors', token=None))

    def test_user_project_token(self):
        seen = {}
        middleware = auth.NoAuthMiddleware(_app(seen))
        req = webob.Request.blank('/', headers={'X-Auth-Token': 'bob:proj'})
        req.get_response(middleware)
        ctx = seen['nova.context']
        self.assertEqual(('bob', 'proj'), (ctx.user_id, ctx.project_id))
        self.assertFalse(ctx.is_admin)
        self.assertIn('member', ctx.roles)

    def test_admin_user_is_admin(self):
        seen = {}
        middleware = auth.NoAuthMiddleware(_app(seen))
        req = webob.Request.blank('/',
                                  headers={'X-Auth-Token': 'admin:admin'})
        req.get_response(middleware)
        self.assertTrue(seen['nova.context'].is_admin)
        self.assertIn('admin', seen['nova.context'].roles)

    def test_token_without_project_uses_user_as_project(self):
        seen = {}
        middleware = auth.NoAuthMiddleware(_app(seen))
        req = webob.Request.blank('/', headers={'X-Auth-Token': 'solo'})
        req.get_response(middleware)
        self.assertEqual('solo', seen['nova.context'].project_id)


class TestKeystoneContext(test.TestCase):

    def test_context_from_authtoken_headers(self):
        seen = {}
        middleware = auth.KeystoneContext(_app(seen))
        req = webob.Request.blank('/', headers={
            'X-Identity-Status': 'Confirmed', 'X-User-Id': 'u',
            'X-Project-Id': 'p', 'X-Roles': 'reader, member'})
        resp = req.get_response(middleware)
        self.assertEqual(200, resp.status_int)
        ctx = seen['nova.context']
        self.assertEqual(('u', 'p'), (ctx.user_id, ctx.project_id))
        self.assertEqual(['reader', 'member'], ctx.roles)
        self.assertFalse(ctx.is_admin)

    def test_invalid_token_is_401(self):
        middleware = auth.KeystoneContext(_app({}))
        req = webob.Request.blank('/', headers={
            'X-Identity-Status': 'Invalid'})
        resp = req.get_response(middleware)
        self.assertEqual(401, resp.status_int)
        self.assertIn('unauthorized', resp.json)

    def test_pipeline_factory_follows_auth_strategy(self):
        class Loader:
            def get_filter(self, name):
                return lambda app: (name, app)

            def get_app(self, name):
                return name
        fixture = self.useFixture(fakes.APIFixture())
        del fixture
        fakes.CONF.set_override('auth_strategy', 'keystone', group='api')
        self.addCleanup(fakes.CONF.clear_override, 'auth_strategy',
                        group='api')
        app = auth.pipeline_factory(Loader(), {}, noauth2='a noauth2 app',
                                    keystone='a authtoken ctx app')
        self.assertEqual(('a', ('authtoken', ('ctx', 'app'))), app)


class TestMiddleware(fakes.APITestCase):

    def test_request_id_headers(self):
        _code, _data, resp = self.call('GET', '/flavors')
        request_id = resp.headers['X-OpenStack-Request-ID']
        self.assertTrue(request_id.startswith('req-'))
        self.assertEqual(request_id, resp.headers['X-Compute-Request-ID'])

    def test_each_request_gets_its_own_id_in_the_context(self):
        seen = {}
        app = middleware.ComputeRequestId(auth.NoAuthMiddleware(_app(seen)))
        ids = []
        for _ in range(2):
            resp = webob.Request.blank(
                '/', headers={'X-Auth-Token': 'bob:proj'}).get_response(app)
            ids.append(resp.headers['X-OpenStack-Request-ID'])
            self.assertEqual(ids[-1], seen['nova.context'].request_id)
        self.assertNotEqual(ids[0], ids[1])

    def test_callers_request_id_becomes_the_global_request_id(self):
        seen = {}
        app = middleware.ComputeRequestId(auth.NoAuthMiddleware(_app(seen)))
        caller = 'req-12345678-1234-1234-1234-123456789abc'
        resp = webob.Request.blank('/', headers={
            'X-Auth-Token': 'bob:proj',
            'X-OpenStack-Request-ID': caller}).get_response(app)
        ctx = seen['nova.context']
        self.assertEqual(caller, ctx.global_request_id)
        # The request still has an ID of its own.
        self.assertNotEqual(caller, resp.headers['X-OpenStack-Request-ID'])
        self.assertEqual(ctx.request_id,
                         resp.headers['X-OpenStack-Request-ID'])

    def test_malformed_callers_request_id_is_ignored(self):
        seen = {}
        app = middleware.ComputeRequestId(auth.NoAuthMiddleware(_app(seen)))
        webob.Request.blank('/', headers={
            'X-Auth-Token': 'bob:proj',
            'X-OpenStack-Request-ID': 'req-<script>'}).get_response(app)
        self.assertIsNone(seen['nova.context'].global_request_id)

    def test_headers_the_application_set_are_kept(self):
        @webob.dec.wsgify
        def app(req):
            return webob.Response(
                body=b'ok', headers={'X-OpenStack-Request-ID': 'mine'})
        resp = webob.Request.blank('/').get_response(
            middleware.ComputeRequestId(app))
        self.assertEqual(['mine'],
                         resp.headers.getall('X-OpenStack-Request-ID'))
        self.assertTrue(
            resp.headers['X-Compute-Request-ID'].startswith('req-'))

    def test_healthcheck_answers_without_a_token(self):
        resp = webob.Request.blank('/healthcheck').get_response(
            self.api.app)
        self.assertEqual(200, resp.status_int)
        self.assertEqual(b'OK', resp.body)

    def test_errors_carry_the_request_id(self):
        _code, _data, resp = self.call('GET', '/nothing')
        self.assertIn('X-OpenStack-Request-ID', resp.headers)

    def limit_body(self, size):
        # oslo.middleware's sizelimit ([oslo_middleware]
        # max_request_body_size, registered when the module is imported).
        from oslo_middleware import sizelimit  # noqa: F401
        fakes.CONF.set_override('max_request_body_size', size,
                                group='oslo_middleware')
        self.addCleanup(fakes.CONF.clear_override, 'max_request_body_size',
                        group='oslo_middleware')

    def test_body_over_the_limit_is_413(self):
        self.limit_body(100)
        req = webob.Request.blank('/v2.1/servers', method='POST')
        req.headers['X-Auth-Token'] = 'u1:p1'
        req.headers['Accept'] = 'application/json'
        req.content_type = 'application/json'
        req.body = json.dumps(
            {'server': {'name': 'x' * 200, 'flavorRef': '1'}}).encode()
        resp = req.get_response(self.api.app)
        self.assertEqual(413, resp.status_int)
        self.assertIn('message', resp.json)
        self.assertIn('X-OpenStack-Request-ID', resp.headers)

    def test_chunked_body_over_the_limit_is_413(self):
        self.limit_body(10)
        req = webob.Request.blank('/v2.1/os-keypairs', method='POST')
        req.headers['X-Auth-Token'] = 'u1:p1'
        req.content_type = 'application/json'
        req.body_file = _Stream(b'{"keypair": {"name": "aaaaaaaaaaaa"}}')
        req.content_length = None
        req.is_body_readable = True
        resp = req.get_response(self.api.app)
        self.assertEqual(413, resp.status_int)


class _Stream:
    def __init__(self, data):
        self.data = data

    def read(self, size=-1):
        chunk, self.data = (self.data, b'') if size < 0 else (
            self.data[:size], self.data[size:])
        return chunk


class TestVersions(fakes.APITestCase):

    def _get(self, path):
        resp = self.api.request('GET', path, token=None)
        self.assertEqual(200, resp.status_int, path)
        return resp.json

    def test_root_lists_v21_without_a_token(self):
        versions = self._get('/')['versions']
        self.assertEqual(1, len(versions))
        v21 = versions[0]
        self.assertEqual('v2.1', v21['id'])
        self.assertEqual('CURRENT', v21['status'])
        self.assertEqual('2.100', v21['version'])
        self.assertEqual('2.1', v21['min_version'])
        self.assertEqual([{'rel': 'self',
                           'href': 'http://localhost/v2.1/'}],
                         v21['links'])

    def test_v21_with_and_without_slash(self):
        for path in ('/v2.1', '/v2.1/'):
            version = self._get(path)['version']
            self.assertEqual('v2.1', version['id'])
            self.assertEqual('2.100', version['version'])
            self.assertIn('media-types', version)
            self.assertIn({'rel': 'self', 'href': 'http://localhost/v2.1/'},
                          version['links'])

    def test_api_below_v21_still_needs_a_token(self):
        resp = self.api.request('GET', '/v2.1/servers', token=None)
        self.assertEqual(401, resp.status_int)


class TestRequest(test.TestCase):

    def test_context_property(self):
        req = wsgi.Request.blank('/')
        ctx = context.RequestContext('u', 'p')
        req.environ['nova.context'] = ctx
        self.assertIs(ctx, req.context)


class TestKeystonePipeline(test.TestCase):
    """[api] auth_strategy = keystone puts keystonemiddleware's authtoken
    in the paste pipeline; version documents stay open."""

    def test_authtoken_guards_the_api(self):
        import keystonemiddleware.auth_token  # noqa: F401 (registers opts)

        from nova.api.openstack.compute import wsgi_app
        self.useFixture(fakes.APIFixture())
        fakes.CONF.set_override('auth_strategy', 'keystone', group='api')
        fakes.CONF.set_override('www_authenticate_uri',
                                'http://127.0.0.1:5000/v3',
                                group='keystone_authtoken')
        app = wsgi_app.load_app(fakes.CONF)
        resp = webob.Request.blank('/v2.1/servers').get_response(app)
        self.assertEqual(401, resp.status_int)
        self.assertIn('127.0.0.1:5000', resp.headers['WWW-Authenticate'])
        resp = webob.Request.blank('/v2.1/').get_response(app)
        self.assertEqual(200, resp.status_int)
