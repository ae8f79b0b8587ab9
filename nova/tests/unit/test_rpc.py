"""nova.rpc on oslo.messaging's in-process transport."""

import datetime
import json
import os
import socket
import textwrap
import uuid
from unittest import mock

import fixtures
import oslo_messaging as messaging
from oslo_config import cfg
from oslo_config import fixture as config_fixture
from oslo_messaging import conffixture
from oslo_messaging.notify import _impl_test as test_notifier

import nova.conf
from nova import concurrency, context, exception, rpc, test
from nova.db import models
from nova.tests.fixtures import concurrency as concurrency_fixture
from nova.tests.fixtures import rpc as rpc_fixture
from nova.tests.fixtures import services

CONF = nova.conf.CONF
TIMEOUT = 30


class Endpoint:
    target = messaging.Target(version='1.0')

    def __init__(self):
        self.casts = []
        self.cast_received = concurrency.Event()

    def whoami(self, ctxt):
        return {'type': type(ctxt).__name__, 'user_id': ctxt.user_id,
                'project_id': ctxt.project_id, 'roles': ctxt.roles,
                'is_admin': ctxt.is_admin, 'request_id': ctxt.request_id}

    def echo(self, ctxt, value):
        return value

    def record(self, ctxt, value):
        self.casts.append(value)
        self.cast_received.set()

    def missing(self, ctxt, uuid):
        raise exception.InstanceNotFound(instance_id=uuid)


class RPCTestCase(test.TestCase):

    def setUp(self):
        super().setUp()
        self.rpc = self.useFixture(rpc_fixture.RPCFixture())
        self.topic = f'test-{uuid.uuid4().hex}'
        self.endpoint = Endpoint()
        self.server = self.rpc.start_server(
            messaging.Target(topic=self.topic, server='host1'),
            [self.endpoint])
        self.client = rpc.get_client(
            messaging.Target(topic=self.topic, version='1.0'),
            timeout=TIMEOUT)
        self.ctxt = context.RequestContext(
            user_id='user1', project_id='proj1', roles=['member'])


class TestCallAndCast(RPCTestCase):

    def test_call_returns_the_result(self):
        self.assertEqual({'a': [1, 2]}, self.client.call(
            self.ctxt, 'echo', value={'a': [1, 2]}))

    def test_context_arrives_as_a_request_context(self):
        got = self.client.call(self.ctxt, 'whoami')
        self.assertEqual(
            {'type': 'RequestContext', 'user_id': 'user1',
             'project_id': 'proj1', 'roles': ['member'], 'is_admin': False,
             'request_id': self.ctxt.request_id}, got)

    def test_admin_context_stays_admin(self):
        got = self.client.call(context.get_admin_context(), 'whoami')
        self.assertTrue(got['is_admin'])

    def test_cast_is_delivered(self):
        self.assertIsNone(self.client.prepare(server='host1').cast(
            self.ctxt, 'record', value='v1'))
        self.assertTrue(self.endpoint.cast_received.wait(TIMEOUT))
        self.assertEqual(['v1'], self.endpoint.casts)

    def test_fanout_cast_reaches_every_server(self):
        other = Endpoint()
        self.rpc.start_server(
            messaging.Target(topic=self.topic, server='host2'), [other])
        self.client.prepare(fanout=True).cast(self.ctxt, 'record', value=1)
        for endpoint in (self.endpoint, other):
            self.assertTrue(endpoint.cast_received.wait(TIMEOUT))
            self.assertEqual([1], endpoint.casts)

    def test_nova_exceptions_are_raised_again_by_the_caller(self):
        error = self.assertRaises(exception.InstanceNotFound,
                                  self.client.call, self.ctxt, 'missing',
                                  uuid='u1')
        self.assertIn('Instance u1 could not be found', str(error))

    def test_server_uses_the_concurrency_seams_executor(self):
        self.assertEqual(concurrency.executor_name(),
                         self.server.executor_type)


class TestSerialization(RPCTestCase):

    def test_orm_objects_are_refused_at_the_sender(self):
        error = self.assertRaises(
            rpc.UnserializableEntity, self.client.call, self.ctxt, 'echo',
            value={'instance': {'flavor': models.Flavor()}})
        self.assertIn('value.instance.flavor: Flavor is a database object',
                      str(error))

    def test_other_objects_are_refused(self):
        self.assertRaises(rpc.UnserializableEntity, self.client.cast,
                          self.ctxt, 'record', value=object())
        self.assertRaises(rpc.UnserializableEntity, self.client.cast,
                          self.ctxt, 'record', value={1: 'int key'})

    def test_dates_uuids_and_sequences_become_json(self):
        when = datetime.datetime(2024, 5, 6, 7, 8, 9)
        ident = uuid.UUID(int=1)
        got = self.client.call(self.ctxt, 'echo', value={
            'when': when, 'id': ident, 'tags': ('a',), 'set': {2}})
        self.assertEqual({'when': '2024-05-06T07:08:09', 'id': str(ident),
                          'tags': ['a'], 'set': [2]}, got)

    def test_serializer_context_round_trip(self):
        serializer = rpc.RequestContextSerializer()
        data = serializer.serialize_context(self.ctxt)
        json.dumps(data)
        back = serializer.deserialize_context(data)
        self.assertIsInstance(back, context.RequestContext)
        self.assertEqual((self.ctxt.user_id, self.ctxt.project_id,
                          self.ctxt.request_id),
                         (back.user_id, back.project_id, back.request_id))

    def test_serializer_carries_the_action_id(self):
        # A move's steps on the hosts record under the action the
        # conductor names in the context.
        serializer = rpc.RequestContextSerializer()
        self.ctxt.action_id = 42
        back = serializer.deserialize_context(
            serializer.serialize_context(self.ctxt))
        self.assertEqual(42, back.action_id)


class TestNotifications(test.TestCase):

    def _init(self, drivers):
        rpc.register_opts(CONF)
        self.useFixture(config_fixture.Config(CONF)).config(
            group='oslo_messaging_notifications', driver=drivers)
        self.useFixture(rpc_fixture.RPCFixture())

    def test_default_notifier_is_disabled(self):
        self._init([])
        self.assertFalse(rpc.get_notifier('compute.host1').is_enabled())

    def test_publisher_id_defaults_to_service_and_host(self):
        self._init([])
        self.assertEqual('compute.h1',
                         rpc.get_notifier('compute', 'h1').publisher_id)
        self.assertEqual('api', rpc.get_notifier('api').publisher_id)
        self.assertEqual('x', rpc.get_notifier(
            'compute', 'h1', publisher_id='x').publisher_id)

    def test_secrets_and_user_data_never_leave(self):
        self._init(['test'])
        test_notifier.reset()
        notifier = rpc.get_notifier('compute', 'host1')
        notifier.info(context.get_admin_context(), 'compute.instance.create',
                      {'uuid': 'u1', 'admin_password': 'pw',
                       'user_data': 'c2VjcmV0',
                       'nested': [{'adminPass': 'pw', 'ok': 1}]})
        [(_, message, priority, _)] = test_notifier.NOTIFICATIONS
        self.assertEqual('INFO', priority)
        self.assertEqual('compute.host1', message['publisher_id'])
        self.assertEqual({'uuid': 'u1', 'nested': [{'ok': 1}]},
                         message['payload'])


class TestSetup(test.TestCase):

    def setUp(self):
        super().setUp()
        if rpc.initialized():
            rpc.cleanup()
        self.addCleanup(rpc.cleanup)
        self.conf = cfg.ConfigOpts()
        # oslo.messaging's options on a ConfigOpts of our own (it
        # registers some of them on the global one only).
        conffixture.ConfFixture(self.conf)
        self.conf([])

    def test_default_transport_url_applies_when_unset(self):
        rpc.init(self.conf, default_transport_url=rpc.IN_PROCESS_URL)
        self.assertTrue(rpc.is_in_process())

    def test_operator_transport_url_wins_over_the_default(self):
        rpc.register_opts(self.conf)
        self.conf.set_override('transport_url',
                               'rabbit://u:p@rabbit.example:5672/')
        self.assertEqual('rabbit://u:p@rabbit.example:5672/',
                         rpc.transport_url(self.conf, rpc.IN_PROCESS_URL))

    def test_without_a_default_oslo_default_is_used(self):
        self.assertEqual('rabbit://', rpc.transport_url(self.conf))

    def test_init_twice_is_refused(self):
        rpc.init(self.conf, default_transport_url=rpc.IN_PROCESS_URL)
        self.assertRaises(RuntimeError, rpc.init, self.conf,
                          rpc.IN_PROCESS_URL)

    def test_use_before_init_is_refused(self):
        self.assertRaises(RuntimeError, rpc.get_transport)
        self.assertRaises(RuntimeError, rpc.get_notifier, 'x')
        self.assertFalse(rpc.is_in_process())

    def test_cleanup_allows_init_again(self):
        rpc.init(self.conf, default_transport_url=rpc.IN_PROCESS_URL)
        rpc.cleanup()
        self.assertFalse(rpc.initialized())
        rpc.init(self.conf, default_transport_url=rpc.IN_PROCESS_URL)
        self.assertTrue(rpc.initialized())

    def test_rabbit_queues_are_durable_by_default(self):
        rpc.register_opts(self.conf)
        self.assertIs(True,
                      self.conf.oslo_messaging_rabbit.amqp_durable_queues)
        self.assertEqual(
            cfg.Locations.set_default,
            self.conf.get_location('amqp_durable_queues',
                                   'oslo_messaging_rabbit').location)

    def test_operator_can_turn_durable_queues_off(self):
        path = self.useFixture(fixtures.TempDir()).join('nova.conf')
        with open(path, 'w') as f:
            f.write('[oslo_messaging_rabbit]\namqp_durable_queues = false\n')
        self.conf(['--config-file', path])
        rpc.register_opts(self.conf)
        self.assertIs(False,
                      self.conf.oslo_messaging_rabbit.amqp_durable_queues)

    def test_the_rabbit_driver_keeps_nova_default(self):
        # The driver registers its own option objects when the transport
        # is made: they must be taken as the same options (no
        # DuplicateOptError) and leave nova's default in place.  Making
        # the transport does not connect.
        rpc.register_opts(self.conf)
        self.conf.set_override('transport_url',
                               'rabbit://u:p@127.0.0.1:1/')
        rpc.init(self.conf)
        self.assertIs(True,
                      self.conf.oslo_messaging_rabbit.amqp_durable_queues)


# The in-process transport with the eventlet executor, in a patched process.
EVENTLET_PROBE = textwrap.dedent('''
    import json
    from nova import concurrency
    concurrency.setup()
    import oslo_messaging as messaging
    from oslo_messaging import conffixture
    from oslo_config import cfg
    from nova import context, rpc

    conf = cfg.ConfigOpts()
    # oslo.messaging's options on a ConfigOpts of our own (it
    # registers some of them on the global one only).
    conffixture.ConfFixture(conf)
    conf([])
    rpc.init(conf, default_transport_url=rpc.IN_PROCESS_URL)
    got = concurrency.Event()

    class Endpoint:
        def whoami(self, ctxt):
            return ctxt.user_id
        def record(self, ctxt):
            got.set()

    server = rpc.get_server(messaging.Target(topic='t', server='h'),
                            [Endpoint()])
    server.start()
    client = rpc.get_client(messaging.Target(topic='t'), timeout=30)
    ctxt = context.RequestContext(user_id='u1', project_id='p1')
    out = {'executor': server.executor_type,
           'call': client.call(ctxt, 'whoami')}
    client.prepare(fanout=True).cast(ctxt, 'record')
    out['cast'] = got.wait(30)
    server.stop()
    server.wait()
    rpc.cleanup()
    print(json.dumps(out))
''')


class TestEventletMode(test.TestCase):

    def test_in_process_transport_works_on_the_eventlet_executor(self):
        result = concurrency_fixture.run_in_mode('eventlet', EVENTLET_PROBE)
        self.assertEqual(0, result.returncode, result.stderr)
        out = json.loads(result.stdout.strip().splitlines()[-1])
        self.assertEqual({'executor': 'eventlet', 'call': 'u1',
                          'cast': True}, out)


class TestRequireService(test.TestCase):
    """The skip-or-fail helper the RabbitMQ (and DB) tests use."""

    def _closed_port(self):
        with socket.socket() as sock:
            sock.bind(('127.0.0.1', 0))
            return sock.getsockname()[1]

    def _check(self, port, required):
        value = '1' if required else ''
        with mock.patch.dict(os.environ, {services.REQUIRE_ENV: value}):
            test = mock.Mock()
            services.require_service(test, '127.0.0.1', port, 'RabbitMQ')
        return test

    def test_unreachable_service_skips(self):
        test = self._check(self._closed_port(), required=False)
        self.assertIn('RabbitMQ is not reachable at 127.0.0.1:',
                      test.skipTest.call_args[0][0])
        test.fail.assert_not_called()

    def test_unreachable_required_service_fails(self):
        test = self._check(self._closed_port(), required=True)
        message = test.fail.call_args[0][0]
        self.assertIn('RabbitMQ is not reachable', message)
        self.assertIn('NOVA_TEST_REQUIRE_SERVICES=1 requires it', message)

    def test_reachable_service_passes(self):
        with socket.socket() as sock:
            sock.bind(('127.0.0.1', 0))
            sock.listen()
            test = self._check(sock.getsockname()[1], required=True)
        test.skipTest.assert_not_called()
        test.fail.assert_not_called()

    def test_url_host_and_port_are_checked(self):
        port = self._closed_port()
        with mock.patch.object(services, 'require_service') as require:
            services.require_url(self, f'rabbit://u:p@127.0.0.1:{port}/',
                                 'RabbitMQ')
            services.require_url(self, 'postgresql://u:p@db.example/nova',
                                 'PostgreSQL')
        self.assertEqual(
            [mock.call(self, '127.0.0.1', port, 'RabbitMQ'),
             mock.call(self, 'db.example', 5432, 'PostgreSQL')],
            require.call_args_list)


class TestToPrimitive(test.TestCase):
    """The fast path for plain data and the full walk agree."""

    def test_plain_and_other_values_alike(self):
        class Name(str):
            pass

        when = datetime.datetime(2024, 5, 6, 7, 8, 9)
        value = {'a': [1, 2.5, None, True, ('x',)],
                 'b': {'c': Name('n'), 'd': datetime.date(2024, 1, 2),
                       'e': when}}
        expected = {'a': [1, 2.5, None, True, ['x']],
                    'b': {'c': 'n', 'd': '2024-01-02',
                          'e': '2024-05-06T07:08:09'}}
        self.assertEqual(expected, rpc.to_primitive(value))
        self.assertEqual(expected['a'], rpc.to_primitive(value['a']))

    def test_the_error_names_where_the_bad_value_is(self):
        error = self.assertRaises(
            rpc.UnserializableEntity, rpc.to_primitive,
            {'a': [{'b': object()}]})
        self.assertIn('value.a[0].b: object cannot be sent', str(error))
