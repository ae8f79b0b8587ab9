"""Regression tests for what a hostile user's probe of the API found:
each request once answered 500 (or worse, was accepted); each must now
get a 4xx with upstream's error body, through the whole paste pipeline."""

from __future__ import annotations

import json
from typing import Any

import webob

from nova.tests.functional.api import base
from nova.tests.functional.api.base import ADMIN, USER


class HostileInputTest(base.APITestCase):

    def raw(self, method: str, path: str, body: bytes | str | None = None,
            token: str | None = USER, version: str = '2.79',
            ) -> tuple[int, Any, webob.Response]:
        """``(status, decoded JSON body, response)`` of a raw request."""
        req = webob.Request.blank(path, method=method)
        if token:
            req.headers['X-Auth-Token'] = token
        req.headers['OpenStack-API-Version'] = f'compute {version}'
        if body is not None:
            req.body = body.encode() if isinstance(body, str) else body
            req.content_type = 'application/json'
        resp = req.get_response(self.app)
        return resp.status_int, json.loads(resp.body), resp

    def assertFault(self, status: int, result: tuple[int, Any, Any],
                    key: str = 'badRequest') -> str:
        code, body, _resp = result
        self.assertEqual(status, code, body)
        self.assertEqual([key], list(body), body)
        self.assertEqual(status, body[key]['code'])
        return str(body[key]['message'])

    def server_body(self, **fields: Any) -> dict[str, Any]:
        server = {'name': 'probe', 'flavorRef': '1',
                  'imageRef': self.cloud.image['id'], 'networks': 'none'}
        server.update(fields)
        return {'server': server}

    def test_deeply_nested_json_is_400(self):
        deep = '{"server": ' + '[' * 50000 + ']' * 50000 + '}'
        self.assertFault(400, self.raw('POST', '/v2.1/os-keypairs', deep))
        # Below the parser's recursion limit but past the API's depth.
        deep = '{"keypair": ' + '[' * 500 + ']' * 500 + '}'
        self.assertIn('nested deeper', self.assertFault(
            400, self.raw('POST', '/v2.1/os-keypairs', deep)))

    def test_deep_scheduler_hints_refused_before_any_row(self):
        # Built as text: json.dumps would recurse 900 deep too.
        text = json.dumps(self.server_body())[:-1] + \
            ', "os:scheduler_hints": {"a": ' + '[' * 900 + ']' * 900 + '}}'
        self.assertFault(400, self.raw('POST', '/v2.1/servers', text))
        self.assertEqual([], self.cloud.db.instance_get_all_by_filters(
            self.cloud.ctx, {}))

    def test_non_utf8_path_and_query_are_400_even_without_token(self):
        for path in ('/v2.1/servers/%FF', '/v2.1/servers?name=%FF',
                     '/v2.1/flavors/%C3%28'):
            self.assertFault(400, self.raw('GET', path, token=None))

    def test_huge_microversion_is_400(self):
        self.assertFault(400, self.raw('GET', '/v2.1/servers',
                                       version='2.' + '9' * 5000))

    def test_flavor_integers_past_db_max_are_400(self):
        for field, value in (('ram', 2147483648), ('vcpus', '2147483648'),
                             ('disk', 9 ** 40), ('swap', '9' * 5000),
                             ('OS-FLV-EXT-DATA:ephemeral', 2 ** 31)):
            flavor = {'name': 'big', 'ram': 1, 'vcpus': 1, 'disk': 1,
                      field: value}
            code, body = self.call('POST', '/flavors', {'flavor': flavor},
                                   token=ADMIN)
            self.assertEqual(400, code, (field, body))
            self.assertLess(len(body['badRequest']['message']), 600)

    def test_path_and_query_ids_past_db_max_are_400(self):
        big = '99999999999999999999'
        self.assertFault(400, self.raw(
            'GET', f'/v2.1/os-hypervisors/{big}', token=ADMIN, version='2.1'))
        self.assertFault(400, self.raw(
            'DELETE', f'/v2.1/os-services/{big}', token=ADMIN,
            version='2.1'))
        self.assertFault(400, self.raw('GET', f'/v2.1/flavors?minRam={big}'))
        self.assertFault(400, self.raw('GET', f'/v2.1/images?minDisk={big}',
                                       version='2.1'))
        self.assertFault(400, self.raw('GET', f'/v2.1/servers?limit={big}'))
        for method, path, body in (
                ('GET', '', None), ('DELETE', '', None),
                ('PUT', '', {'aggregate': {'name': 'a'}}),
                ('POST', '/action', {'add_host': {'host': 'compute1'}}),
                ('POST', '/action', {'remove_host': {'host': 'compute1'}}),
                ('POST', '/action',
                 {'set_metadata': {'metadata': {'a': 'b'}}})):
            self.assertFault(400, self.raw(
                method, f'/v2.1/os-aggregates/{big}{path}',
                json.dumps(body) if body else None, token=ADMIN))

    def test_numeric_string_below_minimum_is_400(self):
        message = self.assertFault(400, self.raw(
            'POST', '/v2.1/servers',
            json.dumps(self.server_body(min_count='0'))))
        self.assertIn('min_count', message)

    def test_too_many_tags_in_a_filter_is_400(self):
        tags = ','.join(f't{i}' for i in range(2000))
        for key in ('tags', 'tags-any', 'not-tags', 'not-tags-any'):
            self.assertFault(400, self.raw(
                'GET', f'/v2.1/servers?{key}={tags}', version='2.26'))
        code, body, _ = self.raw('GET', '/v2.1/servers?tags=a,b',
                                 version='2.26')
        self.assertEqual(200, code, body)

    def test_infinite_rxtx_factor_is_400_and_listing_stays_json(self):
        for number in ('1e999', 'Infinity', '-Infinity', 'NaN'):
            text = ('{"flavor": {"name": "inf", "ram": 1, "vcpus": 1, '
                    '"disk": 1, "rxtx_factor": ' + number + '}}')
            self.assertFault(400, self.raw('POST', '/v2.1/flavors', text,
                                           token=ADMIN))
        code, body, _ = self.raw('GET', '/v2.1/flavors/detail')
        self.assertEqual(200, code)

    def test_unknown_marker_is_400(self):
        self.assertIn('marker', self.assertFault(
            400, self.raw('GET', '/v2.1/servers?marker=nope')))
        self.assertFault(400, self.raw('GET', '/v2.1/servers/detail?'
                                              'marker=nope'))
        self.assertFault(400, self.raw('GET', '/v2.1/flavors?marker=nope'))

    def test_dates_out_of_range_are_400(self):
        for query in ('changes-since=99999-01-01T00:00:00Z',
                      'changes-before=9999-12-31T23:59:59-23:59',
                      'changes-since=0001-01-01T00:00:00%2B23:59'):
            self.assertFault(400, self.raw('GET', f'/v2.1/servers?{query}',
                                           version='2.66'))

    def test_unpaired_surrogates_are_400(self):
        self.assertFault(400, self.raw(
            'POST', '/v2.1/flavors',
            '{"flavor": {"name": "a\\ud800b", "ram": 1, "vcpus": 1, '
            '"disk": 1}}', token=ADMIN))
        text = json.dumps(self.server_body()).replace(
            '"probe"', '"a\\udc00"')
        self.assertFault(400, self.raw('POST', '/v2.1/servers', text))

    def test_catastrophic_name_regex_is_400(self):
        self.cloud.boot(self.cloud.user_context(), name='a' * 40 + '!')
        for pattern in ('(a%2B)%2B$', '(a|aa)*$', '(\\d%2B)*x',
                        '.*.*.*.*.*b', 'x' * 256):
            self.assertFault(400, self.raw(
                'GET', f'/v2.1/servers?name={pattern}'))
        code, body, _ = self.raw('GET', '/v2.1/servers?name=^a%2B!$')
        self.assertEqual((200, 1), (code, len(body['servers'])))

    def test_body_over_size_limit_is_413_json(self):
        huge = json.dumps({'keypair': {'name': 'x' * 200000}})
        message = self.assertFault(413, self.raw(
            'POST', '/v2.1/os-keypairs', huge), key='overLimit')
        self.assertIn('max_request_body_size', message)

    def test_form_posts_are_415_and_override_no_method(self):
        # Routes parsed a form post's body looking for a "_method"
        # override: a multipart one without a boundary was a 500.
        for content_type in ('multipart/form-data',
                             'application/x-www-form-urlencoded'):
            req = webob.Request.blank('/v2.1/os-keypairs', method='POST')
            req.headers['X-Auth-Token'] = USER
            req.body = b'_method=GET'
            req.content_type = content_type
            resp = req.get_response(self.app)
            self.assertEqual(415, resp.status_int, resp.body)
            self.assertEqual(['badMediaType'], list(json.loads(resp.body)))
        # Nor does the query string turn a POST into another method.
        code, body, _ = self.raw('POST', '/v2.1/os-keypairs?_method=GET',
                                 json.dumps({'keypair': {'name': 'kp'}}))
        self.assertEqual(['keypair'], list(body))
