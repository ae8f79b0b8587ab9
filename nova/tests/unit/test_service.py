"""A service's start: register, recover, serve, report up at once."""

from __future__ import annotations

import threading
from unittest import mock

from oslo_config import fixture as config_fixture

import nova.conf
from nova import service, test

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
