"""A service's start: register, recover, serve, report up at once."""

from __future__ import annotations

from unittest import mock

import testtools
from oslo_config import fixture as config_fixture

import nova.conf
from nova import service

CONF = nova.conf.CONF


class TestStart(testtools.TestCase):

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
