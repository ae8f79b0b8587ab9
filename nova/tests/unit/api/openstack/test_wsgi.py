"""Microversion handling, body parsing, action dispatch and faults."""

import json
from unittest import mock

import webob

from nova import exception, test
from nova.api.openstack import api_version_request as avr
from nova.api.openstack import wsgi
from nova.flow import hooks
from nova.tests.unit.api import fakes


class TestAPIVersionRequest(test.TestCase):

    def test_compares_numerically_not_as_text(self):
        self.assertLess(avr.APIVersionRequest('2.9'),
                        avr.APIVersionRequest('2.10'))
        self.assertGreater(avr.APIVersionRequest('2.100'), '2.99')
        self.assertEqual(avr.APIVersionRequest('2.47'), '2.47')

    def test_matches_range(self):
        version = avr.APIVersionRequest('2.30')
        self.assertTrue(version.matches('2.29', '2.67'))
        self.assertFalse(version.matches('2.31'))
        self.assertFalse(version.matches(max_version='2.29'))

    def test_malformed_version_raises_invalid(self):
        for text in ('2', '2.', 'two.one', '2.01', '', '2.1.1'):
            self.assertRaises(exception.InvalidAPIVersionString,
                              avr.APIVersionRequest, text)


class TestMicroversionHeaders(fakes.APITestCase):

    def _version_of(self, headers):
        _code, _data, resp = self.call('GET', '/flavors', headers=headers)
        return resp.headers['X-OpenStack-Nova-API-Version']

    def test_no_header_means_minimum(self):
        self.assertEqual('2.1', self._version_of({}))

    def test_new_header(self):
        self.assertEqual('2.47', self._version_of(
            {'OpenStack-API-Version': 'compute 2.47'}))

    def test_legacy_header(self):
        self.assertEqual('2.30', self._version_of(
            {'X-OpenStack-Nova-API-Version': '2.30'}))

    def test_new_header_wins_over_legacy(self):
        self.assertEqual('2.60', self._version_of(
            {'OpenStack-API-Version': 'compute 2.60',
             'X-OpenStack-Nova-API-Version': '2.10'}))

    def test_new_header_for_other_service_is_ignored(self):
        self.assertEqual('2.1', self._version_of(
            {'OpenStack-API-Version': 'volume 3.40'}))

    def test_new_header_in_a_list(self):
        self.assertEqual('2.61', self._version_of(
            {'OpenStack-API-Version': 'volume 3.4, compute 2.61'}))

    def test_latest_is_the_maximum(self):
        self.assertEqual(avr.MAX_VERSION, self._version_of(
            {'OpenStack-API-Version': 'compute latest'}))

    def test_response_carries_both_headers_and_vary(self):
        _code, _data, resp = self.call('GET', '/flavors', version='2.61')
        self.assertEqual('compute 2.61',
                         resp.headers['OpenStack-API-Version'])
        self.assertEqual('2.61', resp.headers['X-OpenStack-Nova-API-Version'])
        self.assertIn('OpenStack-API-Version', resp.headers['Vary'])

    def test_unsupported_version_is_406(self):
        fault = self.assertFault(406, 'computeFault', self.call(
            'GET', '/flavors', version='2.101'))
        self.assertIn('2.101', fault['message'])
        self.assertFault(406, 'computeFault', self.call(
            'GET', '/flavors', version='3.0'))

    def test_malformed_version_is_400(self):
        self.assertFault(400, 'badRequest', self.call(
            'GET', '/flavors', version='2.x'))

    def test_max_api_version_option_caps_the_maximum(self):
        self.api.useFixture(_Conf(max_api_version='2.79'))
        self.assertEqual('2.79', self._version_of(
            {'OpenStack-API-Version': 'compute latest'}))
        self.assertFault(406, 'computeFault', self.call(
            'GET', '/flavors', version='2.80'))


class _Conf(fakes.fixtures.Fixture):
    def __init__(self, **values):
        super().__init__()
        self.values = values

    def _setUp(self):
        for key, value in self.values.items():
            fakes.CONF.set_override(key, value, group='api')
            self.addCleanup(fakes.CONF.clear_override, key, group='api')


class TestBodies(fakes.APITestCase):

    def test_malformed_json_is_400(self):
        fault = self.assertFault(400, 'badRequest', self.call(
            'POST', '/servers', raw=b'{"server": '))
        self.assertIn('JSON', fault['message'])

    def test_non_object_body_is_400(self):
        self.assertFault(400, 'badRequest', self.call(
            'POST', '/servers', raw=b'[1, 2]'))

    def test_unsupported_content_type_is_415(self):
        self.assertFault(415, 'badMediaType', self.call(
            'POST', '/os-keypairs', raw=b'<xml/>',
            headers={'Content-Type': 'application/xml'}))

    def test_empty_body_is_validated_as_empty_object(self):
        fault = self.assertFault(400, 'badRequest', self.call(
            'POST', '/servers'))
        self.assertIn('server', fault['message'])

    def test_unknown_action_is_400(self):
        server = self.compute.add_instance()
        fault = self.assertFault(400, 'badRequest', self.call(
            'POST', f"/servers/{server['uuid']}/action", {'fly': None}))
        self.assertIn('fly', fault['message'])

    def test_action_with_two_keys_is_400(self):
        server = self.compute.add_instance()
        self.assertFault(400, 'badRequest', self.call(
            'POST', f"/servers/{server['uuid']}/action",
            {'os-stop': None, 'os-start': None}))

    def test_unknown_path_is_404(self):
        self.assertFault(404, 'itemNotFound', self.call('GET', '/nothing'))

    def test_wrong_method_is_405(self):
        self.assertFault(405, 'badMethod', self.call('PATCH', '/servers'))

    def test_project_id_in_url_must_match_the_token(self):
        code, _data, _resp = self.call('GET', '/p1/flavors')
        self.assertEqual(200, code)
        fault = self.assertFault(400, 'badRequest',
                                 self.call('GET', '/p2/flavors'))
        self.assertIn("doesn't match", fault['message'])


class TestFaults(test.TestCase):

    def _request(self):
        return wsgi.Request.blank('/v2.1/servers')

    def test_nova_exception_code_and_message(self):
        resp = wsgi.exception_to_response(
            self._request(), exception.InstanceNotFound(instance_id='x'))
        self.assertEqual(404, resp.status_int)
        self.assertEqual(
            {'itemNotFound': {'code': 404,
                              'message': 'Instance x could not be found.'}},
            resp.json)

    def test_conflict_is_conflicting_request(self):
        resp = wsgi.exception_to_response(
            self._request(), exception.ActionNotSupported(action='pause'))
        self.assertEqual(409, resp.status_int)
        self.assertIn('conflictingRequest', resp.json)

    def test_unexpected_error_hides_the_exception(self):
        req = self._request()
        req.environ['openstack.request_id'] = 'req-1'
        with mock.patch.object(wsgi.LOG, 'error'):
            resp = wsgi.exception_to_response(
                req, RuntimeError('secret database password'))
        self.assertEqual(500, resp.status_int)
        message = resp.json['computeFault']['message']
        self.assertNotIn('secret', message)
        self.assertNotIn('Traceback', resp.text)
        self.assertIn('req-1', message)

    def test_webob_errors_keep_their_code(self):
        resp = wsgi.exception_to_response(
            self._request(),
            webob.exc.HTTPForbidden(explanation='no'))
        self.assertEqual({'forbidden': {'code': 403, 'message': 'no'}},
                         resp.json)

    def test_hook_refusal_is_its_code_and_message(self):
        resp = wsgi.exception_to_response(
            self._request(), hooks.RunRefused('Held in escrow.', code=409))
        self.assertEqual(
            {'conflictingRequest': {'code': 409,
                                    'message': 'Held in escrow.'}},
            resp.json)
        resp = wsgi.exception_to_response(
            self._request(), hooks.RunRefused('No licence left.'))
        self.assertEqual(
            {'badRequest': {'code': 400, 'message': 'No licence left.'}},
            resp.json)

    def test_hook_refusal_with_a_code_that_is_no_error_is_400(self):
        resp = wsgi.exception_to_response(
            self._request(), hooks.RunRefused('Not now.', code=200))
        self.assertEqual(400, resp.status_int)

    def test_fault_names(self):
        for code, name in ((400, 'badRequest'), (401, 'unauthorized'),
                           (403, 'forbidden'), (404, 'itemNotFound'),
                           (409, 'conflictingRequest'), (413, 'overLimit'),
                           (500, 'computeFault')):
            self.assertEqual([name], list(wsgi.fault_body(code, 'm')))

    def test_controller_crash_is_500_without_traceback(self):
        class Boom:
            def index(self, req):
                raise KeyError('internal detail')
        resource = wsgi.Resource(Boom())
        req = wsgi.Request.blank('/')
        req.environ['wsgiorg.routing_args'] = ((), {'action': 'index'})
        with mock.patch.object(wsgi.LOG, 'error'):
            resp = req.get_response(resource)
        self.assertEqual(500, resp.status_int)
        self.assertNotIn('internal detail', resp.text)

    def test_duplicate_action_names_are_refused(self):
        class A:
            @wsgi.action('x')
            def one(self, req, id, body):
                pass

        class B:
            @wsgi.action('x')
            def two(self, req, id, body):
                pass
        self.assertRaises(ValueError, wsgi.Resource, A(), [B()])


class TestBadInputNever500(fakes.APITestCase):
    """Wrong types anywhere in a body or query are 4xx, never 500."""

    JUNK: tuple[object, ...] = (None, 1, -1, '', 'x', [], {}, [None],
                                {'a': None}, True, 1.5)
    ACTIONS = ('reboot', 'os-stop', 'rebuild', 'resize', 'createImage',
               'migrate', 'os-migrateLive', 'evacuate', 'rescue',
               'unshelve', 'lock', 'os-getConsoleOutput', 'confirmResize')
    FIELDS = ('name', 'flavorRef', 'imageRef', 'networks', 'min_count',
              'block_device_mapping_v2', 'metadata', 'user_data',
              'availability_zone', 'security_groups', 'key_name',
              'config_drive', 'hostname', 'tags', 'block_device_mapping')

    def _bodies(self):
        for junk in self.JUNK:
            yield junk
            for key in ('server', 'flavor', 'keypair', 'extra_specs'):
                yield {key: junk}
            for action in self.ACTIONS:
                yield {action: junk}
            for field in self.FIELDS:
                yield {'server': {'name': 'a', 'flavorRef': '1',
                                  'imageRef': fakes.IMAGE_ID,
                                  'networks': 'auto', field: junk}}
            yield {'server': {'name': 'a', 'flavorRef': '1',
                              'networks': [{'uuid': junk}],
                              'block_device_mapping_v2': [{
                                  'boot_index': junk, 'uuid': junk,
                                  'source_type': 'volume'}]}}

    def test_bodies(self):
        server = self.compute.add_instance()['uuid']
        targets = (('POST', '/servers'), ('PUT', f'/servers/{server}'),
                   ('POST', f'/servers/{server}/action'),
                   ('POST', '/flavors'), ('POST', '/os-keypairs'),
                   ('POST', '/flavors/1/os-extra_specs'))
        for method, path in targets:
            for body in self._bodies():
                for version in ('2.1', '2.100'):
                    code, data, _ = self.call(
                        method, path, raw=json.dumps(body).encode(),
                        version=version, token='admin:admin')
                    self.assertLess(code, 500, (method, path, body, data))

    def test_queries(self):
        server = self.compute.add_instance()['uuid']
        for query in ('limit=abc', 'limit=-5', 'sort_key=bogus',
                      'sort_dir=up', 'changes-since=x', 'status=x',
                      'name=((', 'deleted=maybe', 'minRam=x',
                      'all_tenants=1'):
            for path in ('/servers', '/servers/detail', '/flavors/detail',
                         '/images', '/os-keypairs',
                         f'/servers/{server}/os-instance-actions'):
                for version in ('2.1', '2.100'):
                    code, data, _ = self.call(
                        'GET', f'{path}?{query}', version=version)
                    self.assertLess(code, 500, (path, query, data))
