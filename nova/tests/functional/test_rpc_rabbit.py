"""nova.rpc over a real RabbitMQ: a server process and a client process.

Needs RabbitMQ at NOVA_TEST_RABBIT_URL (default
rabbit://guest:guest@127.0.0.1:5672/); skipped when it is not reachable,
failed instead when NOVA_TEST_REQUIRE_SERVICES=1.  The durable queue tests
also need the local ``rabbitmqctl`` (a virtual host per test), and the
broker restart test ``rabbitmq-server`` (a node of its own, stopped and
started: the shared broker is never restarted).
"""

import os
import signal
import subprocess
import sys
import textwrap
import uuid

import amqp.exceptions
import fixtures
import kombu
import oslo_messaging as messaging
import oslo_messaging.opts
from oslo_config import fixture as config_fixture
from testtools import content

import nova.conf
from nova import concurrency, context, exception, rpc, test
from nova.tests.fixtures import concurrency as concurrency_fixture
from nova.tests.fixtures import rabbit, services
from nova.tests.fixtures import rpc as rpc_fixture
from nova.tests.functional import fixtures as func_fixtures

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
    # NAME=VALUE: [oslo_messaging_rabbit] options set by the test.
    rabbit_overrides = [arg.partition('=')[::2] for arg in sys.argv[4:]]
    conf = cfg.ConfigOpts()
    # oslo.messaging's options on a ConfigOpts of our own (it
    # registers some of them on the global one only).
    conffixture.ConfFixture(conf)
    for group, opts in oslo_messaging.opts.list_opts():
        if group == 'oslo_messaging_rabbit':
            conf.register_opts(opts, group=group)
    conf([])
    # The test's exchange and queues go away with the last consumer
    # (unless the test keeps them).
    conf.set_override('amqp_auto_delete', True, 'oslo_messaging_rabbit')
    for name, value in rabbit_overrides:
        conf.set_override(name, value, 'oslo_messaging_rabbit')
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


def start_server(test, url, exchange, topic, mode='eventlet', overrides=(),
                 log=None):
    """SERVER in a child process, consuming once this returns; stopped at
    the test's cleanup (if still running).

    :param overrides: ``NAME=VALUE`` [oslo_messaging_rabbit] options.
    :param log: a file for the server's stderr (its log), instead of a
        pipe read when it stops.
    """
    errors = subprocess.PIPE if log is None else open(log, 'w')
    server = subprocess.Popen(
        [sys.executable, '-c', SERVER, url, exchange, topic, *overrides],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors,
        text=True, env=concurrency_fixture.python_env(mode),
        cwd=concurrency_fixture.REPO_ROOT)
    if log is not None:
        errors.close()
    test.addCleanup(_stop_server, server)
    try:
        line = concurrency.spawn(server.stdout.readline).wait(TIMEOUT)
    except TimeoutError:
        line = ''
    if line.strip() != 'ready':
        server.kill()
        stderr = server.communicate()[1]
        if log is not None:
            with open(log) as f:
                stderr = f.read()
        test.fail(f'RPC server did not start: {line}{stderr}')
    return server


def _stop_server(server):
    if server.poll() is not None:
        server.communicate()
        return
    try:
        server.communicate(input='', timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        server.kill()
        server.communicate()


def _register_rabbit_opts():
    for group, opts in oslo_messaging.opts.list_opts():
        if group == 'oslo_messaging_rabbit':
            CONF.register_opts(opts, group=group)


class TestRabbitRPCEventletServer(test.TestCase):
    server_mode = 'eventlet'

    def setUp(self):
        super().setUp()
        services.require_url(self, RABBIT_URL, 'RabbitMQ')
        # A fresh exchange and topic per test, auto-deleted (see SERVER):
        # nothing is left in the broker, and nothing of a real deployment's
        # 'nova' exchange is touched.
        self.exchange = self.topic = f'nova-test-{uuid.uuid4().hex}'
        self._start_server()
        _register_rabbit_opts()
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
        start_server(self, RABBIT_URL, self.exchange, self.topic,
                     self.server_mode)

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


class _KeptQueuesTestCase(test.TestCase):
    """A client in this process and SERVER in a child, with nova's
    default durable queues and, as in a deployment, queues that are not
    auto-deleted: the test's broker, or its virtual host, goes with them.
    """

    def setUp(self):
        super().setUp()
        self.url = self.broker_url()
        self.exchange = self.topic = f'nova-test-{uuid.uuid4().hex}'
        _register_rabbit_opts()
        self.useFixture(config_fixture.Config(CONF)).config(
            group='oslo_messaging_rabbit', amqp_auto_delete=False)
        self.useFixture(rpc_fixture.RPCFixture(url=self.url))
        self.client = rpc.get_client(
            messaging.Target(exchange=self.exchange, topic=self.topic,
                             version='1.0'),
            timeout=TIMEOUT)
        self.ctxt = context.RequestContext(
            user_id='user1', project_id='proj1', roles=['member'])
        self.dir = self.useFixture(fixtures.TempDir()).path

    def broker_url(self):
        """The transport URL of the test's own broker or virtual host."""
        raise NotImplementedError

    def start_server(self):
        """SERVER with queues kept; its log is attached to the test."""
        log = os.path.join(self.dir, f'server-{uuid.uuid4().hex[:6]}.log')
        self.addCleanup(self._attach, log)
        return start_server(self, self.url, self.exchange, self.topic,
                            overrides=['amqp_auto_delete=False'], log=log)

    def _attach(self, log):
        with open(log, errors='replace') as f:
            self.addDetail(os.path.basename(log),
                           content.text_content(f.read()))

    def broker(self):
        """A kombu connection to the test's broker, closed at cleanup."""
        connection = kombu.Connection(rabbit.amqp_url(self.url))
        self.addCleanup(connection.release)
        return connection

    def topic_queue(self, channel):
        """(message_count, consumer_count) of the topic's shared queue."""
        ok = channel.queue_declare(self.topic, passive=True)
        return ok.message_count, ok.consumer_count

    def wait_for_message(self, channel):
        """The topic queue's counts, once a message is in it."""
        def queued():
            counts = self.topic_queue(channel)
            return counts if counts[0] else None
        return func_fixtures.wait_for(queued, what='the cast in the queue')


class TestRabbitDurableQueues(_KeptQueuesTestCase):
    """What lets a cast survive a broker restart: nova declares its topic
    queues durable, and a cast to a topic whose consumer is gone waits in
    its queue, as a persistent message, until a consumer is back."""

    def broker_url(self):
        # A virtual host per test: the queues outlive their consumers.
        return self.useFixture(rabbit.VirtualHost(self, RABBIT_URL)).url

    def test_topic_queues_and_exchange_are_declared_durable(self):
        self.start_server()
        channel = self.broker().channel()
        for queue in (self.topic, f'{self.topic}.server1'):
            # Declared again as it is, a queue is accepted; declared with
            # another durability, the broker refuses it: so it is
            # durable (a passive declare would not tell).
            channel.queue_declare(queue, durable=True, auto_delete=False)
            error = self.assertRaises(
                amqp.exceptions.PreconditionFailed,
                self.broker().channel().queue_declare, queue,
                durable=False, auto_delete=False)
            self.assertIn("inequivalent arg 'durable'", str(error))
        channel.exchange_declare(self.exchange, 'topic', durable=True,
                                 auto_delete=False)

    def test_cast_waits_in_the_queue_until_the_consumer_is_back(self):
        server = self.start_server()
        server.kill()
        server.wait()
        channel = self.broker().channel()
        func_fixtures.wait_for(
            lambda: self.topic_queue(channel) == (0, 0),
            what='the broker to see the consumer gone')
        self.client.cast(self.ctxt, 'record', value='kept')
        self.assertEqual((1, 0), self.wait_for_message(channel))
        # Persistent (delivery mode 2): a durable queue keeps it across a
        # broker restart.  Looked at, then put back.
        message = channel.basic_get(self.topic, no_ack=False)
        self.assertEqual(2, message.properties['delivery_mode'])
        channel.basic_reject(message.delivery_tag, requeue=True)
        self.start_server()
        self.assertEqual(['kept'], self.client.call(self.ctxt, 'recorded'))


class TestRabbitBrokerRestart(_KeptQueuesTestCase):
    """A broker restart loses no cast (on a RabbitMQ node of the test's
    own: the machine's broker, which others use, is never stopped)."""

    def broker_url(self):
        self.node = self.useFixture(rabbit.PrivateNode(self))
        return self.node.url

    def test_cast_published_before_the_consumer_is_back_is_delivered(self):
        server = self.start_server()
        # The client is connected too, as a running nova-api is.
        self.assertEqual('up', self.client.call(self.ctxt, 'echo',
                                                value='up'))
        # The consumer is held still across the restart, so that the cast
        # is certainly published before it could reconnect and declare
        # its queue again (it reconnects within a second or so).
        os.kill(server.pid, signal.SIGSTOP)
        self.addCleanup(_continue, server)
        self.node.stop_app()
        self.node.start_app()
        self.client.cast(self.ctxt, 'record', value='after the restart')
        channel = self.broker().channel()
        # The queue the consumer declared before the restart is there
        # (durable), and the cast is in it, with no consumer.
        self.assertEqual((1, 0), self.wait_for_message(channel))
        _continue(server)
        # The consumer finds its connection gone, reconnects and gets it.
        self.assertEqual(['after the restart'],
                         self.client.call(self.ctxt, 'recorded'))


def _continue(server):
    if server.poll() is None:
        os.kill(server.pid, signal.SIGCONT)
