"""nova.rpc over a real RabbitMQ: a server process and a client process.

Needs RabbitMQ at NOVA_TEST_RABBIT_URL (default
rabbit://guest:guest@127.0.0.1:5672/); skipped when it is not reachable,
failed instead when NOVA_TEST_REQUIRE_SERVICES=1.
"""

import os
import subprocess
import sys
import textwrap
import uuid

import oslo_messaging as messaging
import oslo_messaging.opts
import testtools
from oslo_config import fixture as config_fixture

import nova.conf
from nova import concurrency, context, exception, rpc
from nova.tests.fixtures import concurrency as concurrency_fixture
from nova.tests.fixtures import rpc as rpc_fixture
from nova.tests.fixtures import services

CONF = nova.conf.CONF
RABBIT_URL = os.environ.get('NOVA_TEST_RABBIT_URL',
                            'rabbit://guest:guest@127.0.0.1:5672/')
TIMEOUT = 30

# The server process: serves TOPIC on host 'server1' until stdin closes.
SERVER = textwrap.dedent('''
    import sys
    from nova import concurrency
    concurrency.setup()
    import oslo_messaging as messaging
    from oslo_messaging import conffixture
    import oslo_messaging.opts
    from oslo_config import cfg
    from nova import exception, rpc

    url, exchange, topic = sys.argv[1:4]
    conf = cfg.ConfigOpts()
    # oslo.messaging's options on a ConfigOpts of our own (it
    # registers some of them on the global one only).
    conffixture.ConfFixture(conf)
    for group, opts in oslo_messaging.opts.list_opts():
        if group == 'oslo_messaging_rabbit':
            conf.register_opts(opts, group=group)
    conf([])
    # The test's exchange and queues go away with the last consumer.
    conf.set_override('amqp_auto_delete', True, 'oslo_messaging_rabbit')
    rpc.register_opts(conf)
    conf.set_override('transport_url', url)
    rpc.init(conf)
    recorded, arrived = [], concurrency.Event()

    class Endpoint:
        target = messaging.Target(version='1.0')

        def whoami(self, ctxt):
            return {'type': type(ctxt).__name__, 'user_id': ctxt.user_id,
                    'project_id': ctxt.project_id, 'roles': ctxt.roles,
                    'request_id': ctxt.request_id,
                    'executor': concurrency.executor_name()}

        def echo(self, ctxt, value):
            return value

        def record(self, ctxt, value):
            recorded.append(value)
            arrived.set()

        def recorded(self, ctxt):
            # Casts are not ordered with calls: wait for the first one.
            arrived.wait(30)
            return recorded

        def missing(self, ctxt, uuid):
            raise exception.InstanceNotFound(instance_id=uuid)

    server = rpc.get_server(
        messaging.Target(exchange=exchange, topic=topic, server='server1'),
        [Endpoint()])
    server.start()
    print('ready', flush=True)
    # A plain read of the stdin pipe would block every green thread (it
    # is not monkey-patched); the native-thread seam keeps serving.
    concurrency.run_in_native_thread(sys.stdin.read)
    server.stop()
    server.wait()
    rpc.cleanup()
''')


class TestRabbitRPCEventletServer(testtools.TestCase):
    server_mode = 'eventlet'

    def setUp(self):
        super().setUp()
        services.require_url(self, RABBIT_URL, 'RabbitMQ')
        # A fresh exchange and topic per test, auto-deleted (see SERVER):
        # nothing is left in the broker, and nothing of a real deployment's
        # 'nova' exchange is touched.
        self.exchange = self.topic = f'nova-test-{uuid.uuid4().hex}'
        self._start_server()
        for group, opts in oslo_messaging.opts.list_opts():
            if group == 'oslo_messaging_rabbit':
                CONF.register_opts(opts, group=group)
        self.useFixture(config_fixture.Config(CONF)).config(
            group='oslo_messaging_rabbit', amqp_auto_delete=True)
        self.useFixture(rpc_fixture.RPCFixture(url=RABBIT_URL))
        self.client = rpc.get_client(
            messaging.Target(exchange=self.exchange, topic=self.topic,
                             version='1.0'),
            timeout=TIMEOUT)
        self.ctxt = context.RequestContext(
            user_id='user1', project_id='proj1', roles=['member'])

    def _start_server(self):
        server = subprocess.Popen(
            [sys.executable, '-c', SERVER, RABBIT_URL, self.exchange,
             self.topic],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
            env=concurrency_fixture.python_env(self.server_mode),
            cwd=concurrency_fixture.REPO_ROOT)
        self.addCleanup(self._stop_server, server)
        try:
            line = concurrency.spawn(server.stdout.readline).wait(TIMEOUT)
        except TimeoutError:
            line = ''
        if line.strip() != 'ready':
            server.kill()
            self.fail(f'RPC server did not start: {line}'
                      f'{server.communicate()[1]}')

    @staticmethod
    def _stop_server(server):
        try:
            server.communicate(input='', timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            server.kill()
            server.communicate()

    def test_call_carries_the_context_to_the_other_process(self):
        got = self.client.call(self.ctxt, 'whoami')
        self.assertEqual(
            {'type': 'RequestContext', 'user_id': 'user1',
             'project_id': 'proj1', 'roles': ['member'],
             'request_id': self.ctxt.request_id,
             'executor': self.server_mode}, got)

    def test_call_returns_the_result(self):
        self.assertEqual({'k': [1, 'two', None]}, self.client.prepare(
            server='server1').call(self.ctxt, 'echo',
                                   value={'k': [1, 'two', None]}))

    def test_cast_is_delivered(self):
        self.client.cast(self.ctxt, 'record', value='v1')
        self.assertEqual(['v1'], self.client.call(self.ctxt, 'recorded'))

    def test_fanout_cast_is_delivered(self):
        self.client.prepare(fanout=True).cast(self.ctxt, 'record', value=2)
        self.assertEqual([2], self.client.call(self.ctxt, 'recorded'))

    def test_remote_nova_exception_is_raised_again(self):
        error = self.assertRaises(exception.InstanceNotFound,
                                  self.client.call, self.ctxt, 'missing',
                                  uuid='u9')
        self.assertIn('Instance u9 could not be found', str(error))


class TestRabbitRPCThreadingServer(TestRabbitRPCEventletServer):
    server_mode = 'threading'
