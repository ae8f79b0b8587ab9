"""Generated requests to every Compute API route that takes a body.

The complement of test_hostile_input (hand-written probes, each a
regression test): for each POST/PUT route of the router (one test each,
the routes and a valid request to each from test_route_authorization's
table), ``hypothesis`` generates

* bodies from the JSON schema the route validates with (recorded while
  the route serves the table's valid body), both valid ones and ones
  broken at one place (wrong types, huge and numeric-string numbers,
  deep nesting, unicode with unpaired surrogates, unknown keys);
* malformed requests: bodies that are not JSON or not an object, other
  media types, bad microversion headers, hostile path IDs.

Every answer must be below 500, with upstream's error body when it is an
error (``{"badRequest": {"code": 400, "message": ...}}``, the key
matching the status), and with a status in the set that route may
answer; a body the route's own validator refuses is a 400.  A body past
``[oslo_middleware] max_request_body_size`` is a 413.

The runs are derandomized (the same examples on every run, no example
database) and bounded per route by ``max_examples``.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable
from typing import Any

import fixtures
import hypothesis
import testscenarios
import webob
from hypothesis import strategies as st

from nova.api.openstack import wsgi
from nova.api.validation import validators
from nova.tests.functional.api import base
from nova.tests.functional.api import test_route_authorization as matrix
from nova.tests.functional.api.base import ADMIN

load_tests = testscenarios.load_tests_apply_scenarios

#: Examples per strategy and route: well under a second of requests each.
MAX_EXAMPLES = 25
SETTINGS = hypothesis.settings(
    max_examples=MAX_EXAMPLES, deadline=None, derandomize=True,
    database=None, print_blob=False,
    suppress_health_check=list(hypothesis.HealthCheck))

#: What any route may answer to a request it can parse the route of
#: (207: os-server-external-events, some events not accepted).
ANSWERS = frozenset({200, 201, 202, 204, 207, 400, 403, 404, 409, 413,
                     415})

def _nested(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


#: Values that break a field of any type.
HOSTILE = st.one_of(
    st.none(), st.booleans(),
    st.integers(min_value=-(10 ** 30), max_value=10 ** 30),
    st.sampled_from([2 ** 31, 2 ** 63, -(2 ** 31) - 1, 10 ** 400]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(['0', '-1', '1e400', ' 12 ', '0x10', '2147483648',
                     '9' * 60, '1.5', 'NaN', '', ' ', 'true', 'null']),
    st.text(max_size=40),
    st.text(st.characters(codec=None, categories=['Cs']), min_size=1,
            max_size=3),
    st.text(min_size=256, max_size=300),
    st.integers(min_value=30, max_value=40).map(_nested),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=8), st.integers(), max_size=3),
)

#: Request bodies that are not a JSON object.
NOT_AN_OBJECT = st.one_of(
    st.binary(max_size=64),
    st.sampled_from([b'', b'{', b'{"a": ', b'[]', b'null', b'1', b'"x"',
                     b'\xef\xbb\xbf{}', b'{"a": 1}}', b'{"a": NaN}',
                     b'\xff\xfe{\x00}\x00', b'{"\\ud800": 1}',
                     b'{"a": 1, "a": 2}']),
    st.from_regex(r'\A[\[{]{1,80}\Z').map(str.encode),
)

#: Microversion headers a client might send.
VERSIONS = st.one_of(
    st.sampled_from(['', 'latest', '2', '2.', '.1', '2.1.1', '3.0', '1.1',
                     '2.999', '2.-1', '02.01', 'compute', ' 2.1 ',
                     '2.' + '9' * 40]),
    st.text(max_size=12))

#: Path IDs a client might send.
IDS = st.one_of(
    st.sampled_from(['0', '-1', '99999999999999999999', 'None', '%00',
                     '..', '%2F', 'a' * 300, '\u00e9', '\U0001f600',
                     '00000000-0000-0000-0000-000000000000']),
    st.text(st.characters(codec='utf-8'), min_size=1, max_size=20))


def body_routes() -> list[tuple[str, str, str | None]]:
    return [route for route in matrix.served_routes()
            if route[0] in ('POST', 'PUT')]


def _paths(value: Any, prefix: tuple[Any, ...] = ()
           ) -> list[tuple[Any, ...]]:
    """The path of every value inside ``value`` (containers included)."""
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found.extend(_paths(item, prefix + (key,)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(_paths(item, prefix + (index,)))
    return found


def _replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    if isinstance(value, dict):
        copy: Any = dict(value)
    else:
        copy = list(value)
    copy[path[0]] = _replaced(value[path[0]], path[1:], new)
    return copy


_TYPES: dict[str, st.SearchStrategy[Any]] = {
    'null': st.none(), 'boolean': st.booleans(), 'integer': st.integers(),
    'number': st.one_of(st.integers(), st.floats(allow_nan=False,
                                                 allow_infinity=False))}


def from_schema(schema: Any, depth: int = 0) -> st.SearchStrategy[Any]:
    """Mostly valid values of a JSON schema (a subset of the keywords;
    whether a value is valid is the API validator's call).

    Our own: hypothesis-jsonschema 0.23 fails on current hypothesis
    (``'many' object has no attribute 'more'``)."""
    if not isinstance(schema, dict) or depth > 8:
        return st.none()
    if 'const' in schema:
        return st.just(schema['const'])
    if 'enum' in schema:
        return st.sampled_from(schema['enum'])
    for key in ('oneOf', 'anyOf'):
        if key in schema:
            rest = {k: v for k, v in schema.items() if k != key}
            return st.one_of([from_schema({**rest, **sub}, depth + 1)
                              for sub in schema[key]
                              if isinstance(sub, dict)] or [st.none()])
    if 'allOf' in schema:
        merged = {k: v for k, v in schema.items() if k != 'allOf'}
        for sub in schema['allOf']:
            merged.update(sub)
        return from_schema(merged, depth + 1)
    types = schema.get('type')
    if isinstance(types, list):
        return st.one_of([from_schema(dict(schema, type=t), depth + 1)
                          for t in types])
    if types is None:
        if 'properties' in schema:
            types = 'object'
        elif 'items' in schema:
            types = 'array'
        else:
            return HOSTILE
    if types == 'object':
        properties = schema.get('properties') or {}
        required = [k for k in schema.get('required', ())
                    if k in properties]
        return st.fixed_dictionaries(
            {k: from_schema(properties[k], depth + 1) for k in required},
            optional={k: from_schema(v, depth + 1)
                      for k, v in properties.items() if k not in required})
    if types == 'array':
        items = schema.get('items')
        return st.lists(from_schema(items, depth + 1) if items else HOSTILE,
                        min_size=schema.get('minItems', 0),
                        max_size=min(schema.get('maxItems', 3), 3))
    if types == 'string':
        if schema.get('format') == 'uuid':
            return st.uuids().map(str)
        if schema.get('format') == 'date-time':
            return st.datetimes().map(lambda d: d.isoformat() + 'Z')
        if 'pattern' in schema:
            return st.from_regex(schema['pattern']).map(
                lambda text: text[:schema.get('maxLength', 255)])
        return st.text(min_size=schema.get('minLength', 0),
                       max_size=min(schema.get('maxLength', 40), 40))
    if types == 'integer':
        return st.integers(min_value=schema.get('minimum'),
                           max_value=schema.get('maximum'))
    return _TYPES.get(types, HOSTILE)


@st.composite
def broken(draw: Callable[..., Any], bodies: st.SearchStrategy[Any],
           ) -> Any:
    """A body of ``bodies`` broken at one place: a value replaced by a
    hostile one, a key added or a key removed."""
    body = draw(bodies)
    path = draw(st.sampled_from(_paths(body)))
    target = body
    for step in path:
        target = target[step]
    how = draw(st.sampled_from(['replace', 'add', 'remove']))
    if how == 'add' and isinstance(target, dict):
        key = draw(st.one_of(st.text(max_size=10), st.just('\ud800')))
        return _replaced(body, path, dict(target, **{key: draw(HOSTILE)}))
    if how == 'remove' and isinstance(target, dict) and target:
        key = draw(st.sampled_from(sorted(target)))
        return _replaced(body, path, {k: v for k, v in target.items()
                                      if k != key})
    return _replaced(body, path, draw(HOSTILE))


class GeneratedInputTest(matrix.Placeholders, base.APITestCase):

    # No service runs: the API answers (or casts to one) by itself.
    cloud_options = {'compute_hosts': ()}
    scenarios = [(matrix._scenario_name(route), {'route': route})
                 for route in body_routes()]
    route: tuple[str, str, str | None]

    def setUp(self) -> None:
        super().setUp()
        self.method, self.path, _action = self.route
        expected = matrix.EXPECTED.get(self.route)
        if expected is None:
            self.fail(f'route {matrix._scenario_name(self.route)} has no '
                      f'line in {matrix.__name__}.EXPECTED')
        self.expected = expected
        self.server = self.cloud.boot()['uuid']
        self.args = dict(expected.args)
        if matrix._is_server_scoped(self.path):
            self.args['server_id' if '{server_id}' in self.path
                      else 'id'] = self.server
        self.valid = json.loads(self.fill(json.dumps(expected.body or {})))

    def send(self, body: bytes | None, *, version: str | None = None,
             args: dict[str, str] | None = None,
             content_type: str = 'application/json') -> tuple[int, Any]:
        """``(status, decoded body)``, after checking the answer's form:
        below 500, JSON, upstream's error body if an error."""
        path = self.fill(self.path.format(**{
            key: urllib.parse.quote(value, safe='')
            for key, value in (args or self.args).items()}))
        req = webob.Request.blank('/v2.1' + path, method=self.method)
        req.headers['X-Auth-Token'] = ADMIN
        req.headers['OpenStack-API-Version'] = \
            f'compute {version or self.expected.version}'
        if body is not None:
            req.body = body
            req.content_type = content_type
        resp = req.get_response(self.app)
        status = resp.status_int
        result: Any = json.loads(resp.body) if resp.body else None
        why = f'{body!r:.300} -> {result!r}'
        self.assertLess(status, 500, why)
        if status >= 400:
            # Upstream's names; a status without one is a computeFault.
            key = wsgi.FAULT_NAMES.get(status, 'computeFault')
            self.assertEqual([key], list(result), why)
            self.assertEqual(status, result[key]['code'], why)
            self.assertIsInstance(result[key]['message'], str)
        return status, result

    def route_schema(self) -> dict[str, Any] | None:
        """The schema the route validates its body with, recorded while it
        serves the table's valid body."""
        seen: list[dict[str, Any]] = []
        validate = validators.validate

        def recording(schema: dict[str, Any], instance: Any,
                      **kwargs: Any) -> None:
            if instance == self.valid and not kwargs.get('query'):
                seen.append(schema)
            validate(schema, instance, **kwargs)

        with fixtures.MonkeyPatch(
                'nova.api.validation.validators.validate', recording):
            self.send(json.dumps(self.valid).encode())
        return seen[0] if seen else None

    def test_schema_bodies(self) -> None:
        schema = self.route_schema() if self.expected.body else None
        if schema is None:
            self.skipTest('the route validates no body')
        validator = validators.Validator(
            schema, format_checker=validators.FORMAT_CHECKER)
        valid = from_schema(schema)

        @SETTINGS
        @hypothesis.given(body=st.one_of(valid, broken(valid)))
        def check(body: Any) -> None:
            status, result = self.send(json.dumps(body).encode())
            self.assertIn(status, ANSWERS, f'{body!r} -> {result!r}')
            if not validator.is_valid(body):
                self.assertEqual(400, status, f'{body!r} -> {result!r}')

        check()

    def test_malformed_requests(self) -> None:
        valid = json.dumps(self.valid).encode()

        @SETTINGS
        @hypothesis.given(raw=NOT_AN_OBJECT)
        def not_an_object(raw: bytes) -> None:
            status, result = self.send(raw)
            self.assertIn(status, ANSWERS, f'{raw!r} -> {result!r}')
            try:
                is_object = isinstance(json.loads(raw), dict)
            except ValueError:
                is_object = False
            # An empty body is no body, which some routes take.
            if raw and not is_object:
                self.assertEqual(400, status, f'{raw!r} -> {result!r}')

        @SETTINGS
        @hypothesis.given(version=VERSIONS)
        def versions(version: str) -> None:
            status, result = self.send(valid, version=version)
            self.assertIn(status, ANSWERS | {406},
                          f'{version!r} -> {result!r}')

        @SETTINGS
        @hypothesis.given(data=st.data())
        def ids(data: st.DataObject) -> None:
            args = {key: data.draw(IDS) if data.draw(st.booleans())
                    else value for key, value in self.args.items()}
            status, result = self.send(valid, args=args)
            self.assertIn(status, ANSWERS, f'{args!r} -> {result!r}')

        @SETTINGS
        @hypothesis.given(content_type=st.sampled_from([
            'text/html', 'application/xml', 'multipart/form-data',
            'application/json; charset=latin-1', 'application/octet-stream',
            '', 'application/vnd.openstack.compute+json']))
        def media_types(content_type: str) -> None:
            status, result = self.send(valid, content_type=content_type)
            self.assertIn(status, ANSWERS, f'{content_type!r} -> {result!r}')

        for check in (not_an_object, versions, ids, media_types):
            check()

    def test_body_over_size_limit_is_413(self) -> None:
        limit = base.CONF.oslo_middleware.max_request_body_size
        body = {**self.valid, 'padding': 'x' * limit}
        status, result = self.send(json.dumps(body).encode())
        self.assertEqual(413, status, repr(result))
