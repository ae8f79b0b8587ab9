"""A service's start: register, recover, serve, report up at once; and
its stop."""

from __future__ import annotations

import threading
from typing import Any
from unittest import mock

import fixtures
import oslo_messaging as messaging
from oslo_config import fixture as config_fixture

import nova.conf
from nova import concurrency, context, rpc, service, test
from nova.tests.fixtures import rpc as rpc_fixture

CONF = nova.conf.CONF


class TestStart(test.TestCase):

    def test_reports_up_once_started_not_a_report_interval_later(self):
        # Regression: a restarted nova-compute was skipped by the
        # scheduler (No valid host) until its first periodic heartbeat.
        self.useFixture(config_fixture.Config(CONF)).config(
            report_interval=3600)
        db = mock.Mock()
        manager = mock.Mock(spec=['init_host'])
        order = []
        manager.init_host.side_effect = lambda: order.append('init_host')
        db.service_heartbeat.side_effect = (
            lambda ctx, host, binary: order.append('heartbeat'))
        server = mock.Mock()
        server.start.side_effect = lambda: order.append('serving')
        svc = service.Service('host1', 'nova-compute', 'compute', manager,
                              db)
        with mock.patch.object(service.rpc, 'get_server',
                               return_value=server):
            svc.start()
        self.addCleanup(svc.stop)
        self.assertEqual(['init_host', 'serving', 'heartbeat'], order)
        db.service_heartbeat.assert_called_once_with(
            mock.ANY, 'host1', 'nova-compute')

    def test_manager_periodic_tasks_run_while_the_service_is_up(self):
        # Regression: a periodic the conductor started itself outlived its
        # service (and kept a test process from exiting).
        done = threading.Event()
        manager = mock.Mock(spec=['periodic_tasks'])
        manager.periodic_tasks.return_value = [(done.set, 0.01)]
        started = []
        real = service.concurrency.start_periodic

        def capture(*args, **kwargs):
            started.append(real(*args, **kwargs))
            return started[-1]

        svc = service.Service('host1', 'nova-conductor', None, manager,
                              mock.Mock())
        with mock.patch.object(service.concurrency, 'start_periodic',
                               side_effect=capture):
            svc.start()
        self.assertTrue(done.wait(10))
        self.assertEqual(2, len(started))  # the heartbeat and the task
        svc.stop()
        for periodic in started:
            periodic.wait(10)  # ended: raises if still running


class _Endpoint:
    """RPC methods a test controls: ``work`` runs until released."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()
        self.ended = threading.Event()
        self.failed = threading.Event()

    def work(self, context):
        self.started.set()
        self.release.wait(30)
        self.ended.set()

    def fail(self, context):
        self.failed.set()
        raise ValueError('failed on purpose')

    def echo(self, context, value):
        return value


class _Caller:
    """An RPC method that calls another service when the test says."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.started = threading.Event()
        self.go = threading.Event()
        self.answer = None

    def relay(self, context):
        self.started.set()
        self.go.wait(30)
        self.answer = self.client.call(context, 'echo', value=7)


class _SlowWait(service.Service):
    """A service whose server's wait() (its executor's threads winding
    down) ends only when the test says."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.wound_down = threading.Event()

    def wait(self) -> None:
        self.wound_down.wait(30)
        super().wait()


class TestStopAll(test.TestCase):
    """stop_all returns once every request the services took has ended,
    never earlier; on the in-process transport, without waiting for the
    servers' idle threads."""

    def start(self, url: str) -> tuple[_SlowWait, _Endpoint, Any]:
        self.useFixture(rpc_fixture.RPCFixture(url=url))
        endpoint = _Endpoint()
        db = mock.Mock()
        svc = _SlowWait('host1', 'nova-compute', 'stop-all-test', endpoint,
                        db)
        svc.start()
        self.addCleanup(svc.wound_down.set)
        client = rpc.get_client(messaging.Target(topic='stop-all-test',
                                                 server='host1'))
        return svc, endpoint, client

    def stop_all(self, svc: service.Service) -> concurrency.Handle:
        return concurrency.spawn(service.stop_all, [svc])

    def test_waits_for_a_request_under_way(self):
        svc, endpoint, client = self.start(rpc.IN_PROCESS_URL)
        client.cast(context.get_admin_context(), 'work')
        self.assertTrue(endpoint.started.wait(10))
        stopping = self.stop_all(svc)
        self.assertRaises(TimeoutError, stopping.wait, 0.2)
        endpoint.release.set()
        stopping.wait(10)
        self.assertTrue(endpoint.ended.is_set())

    def test_in_process_does_not_wait_for_the_servers_wind_down(self):
        svc, endpoint, client = self.start(rpc.IN_PROCESS_URL)
        endpoint.release.set()
        ctx = context.get_admin_context()
        client.cast(ctx, 'work')
        client.cast(ctx, 'fail')
        self.assertRaises(messaging.NoSuchMethod, client.call, ctx,
                          'no_such_method')
        self.assertEqual(7, client.call(ctx, 'echo', value=7))
        self.assertTrue(endpoint.ended.wait(10))
        self.assertTrue(endpoint.failed.wait(10))
        # Every request answered, failed ones included: stop_all is done
        # while the server's wait() is still held.
        self.stop_all(svc).wait(10)
        self.assertFalse(svc.wound_down.is_set())

    def test_a_caller_is_stopped_before_what_it_calls(self):
        # Started first, called by the second: a request of the caller
        # under way calls it during stop_all, and is answered.
        callee, callee_endpoint, callee_client = self.start(
            rpc.IN_PROCESS_URL)
        callee_endpoint.release.set()
        caller_endpoint = _Caller(callee_client)
        caller = _SlowWait('host1', 'nova-conductor', 'stop-all-caller',
                           caller_endpoint, mock.Mock())
        caller.start()
        self.addCleanup(caller.wound_down.set)
        rpc.get_client(messaging.Target(
            topic='stop-all-caller', server='host1')).cast(
                context.get_admin_context(), 'relay')
        self.assertTrue(caller_endpoint.started.wait(10))
        stopping = concurrency.spawn(service.stop_all, [callee, caller])
        # The caller's listener is stopped first; its request goes on and
        # calls the callee, which still answers.
        self.assertRaises(TimeoutError, stopping.wait, 0.2)
        caller_endpoint.go.set()
        stopping.wait(10)
        self.assertEqual(7, caller_endpoint.answer)

    def test_conductor_is_stopped_before_computes_started_after_it(self):
        # nova-all and the test clouds start nova-conductor first: its
        # request under way calls a compute host, which must still answer
        # (regression: stopped in the reverse of the start order, the
        # compute host stopped first and the conductor's call waited for
        # [DEFAULT] long_rpc_timeout).
        self.useFixture(rpc_fixture.RPCFixture(url=rpc.IN_PROCESS_URL))
        compute_endpoint = _Endpoint()
        compute_endpoint.release.set()
        caller_endpoint = _Caller(rpc.get_client(messaging.Target(
            topic='stop-order-compute', server='host1')))
        conductor = _SlowWait('host1', 'nova-conductor',
                              'stop-order-conductor', caller_endpoint,
                              mock.Mock())
        compute = _SlowWait('host1', 'nova-compute', 'stop-order-compute',
                            compute_endpoint, mock.Mock())
        for svc in (conductor, compute):
            svc.start()
            self.addCleanup(svc.wound_down.set)
        rpc.get_client(messaging.Target(
            topic='stop-order-conductor', server='host1')).cast(
                context.get_admin_context(), 'relay')
        self.assertTrue(caller_endpoint.started.wait(10))
        stopping = concurrency.spawn(service.stop_all, [conductor, compute])
        self.assertRaises(TimeoutError, stopping.wait, 0.2)
        caller_endpoint.go.set()
        stopping.wait(10)
        self.assertEqual(7, caller_endpoint.answer)

    def test_stop_order_is_callers_first(self):
        api = mock.Mock(spec=['stop'])
        conductor = service.Service('h', 'nova-conductor', None, None, None)
        compute1 = service.Service('h', 'nova-compute', None, None, None)
        compute2 = service.Service('h2', 'nova-compute', None, None, None)
        self.assertEqual(
            [api, conductor, compute2, compute1],
            service.stop_order([conductor, compute1, api, compute2]))

    def test_a_request_that_does_not_end_is_given_up_with_stacks(self):
        self.useFixture(config_fixture.Config(CONF)).config(
            graceful_shutdown_timeout=1)
        logged = self.useFixture(fixtures.FakeLogger(name='nova.service'))
        svc, endpoint, client = self.start(rpc.IN_PROCESS_URL)
        self.addCleanup(endpoint.release.set)
        client.cast(context.get_admin_context(), 'work')
        self.assertTrue(endpoint.started.wait(10))
        self.stop_all(svc).wait(10)
        self.assertFalse(endpoint.ended.is_set())
        self.assertIn('nova-compute on host1 still has requests under way',
                      logged.output)
        # The stack of the request's thread, waiting in the endpoint.
        self.assertRegex(logged.output,
                         r'File ".*test_service\.py", line \d+ in work\n')

    def test_other_transports_wait_for_the_servers(self):
        svc, endpoint, client = self.start('fake:/')
        endpoint.release.set()
        self.assertEqual(7, client.call(context.get_admin_context(), 'echo',
                                        value=7))
        stopping = self.stop_all(svc)
        self.assertRaises(TimeoutError, stopping.wait, 0.2)
        svc.wound_down.set()
        stopping.wait(10)
