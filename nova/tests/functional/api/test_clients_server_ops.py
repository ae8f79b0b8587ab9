"""The openstack client's commands for server operations beyond the life
cycle (``server dump create``, ``server show --diagnostics``) against a
real nova-all, as in test_clients (one compute host, the fake driver)."""

from __future__ import annotations

import unittest
from typing import Any

from nova.tests.functional.api import test_clients


def load_tests(loader: unittest.TestLoader, standard_tests: Any,
               pattern: Any) -> unittest.TestSuite:
    """Only this module's tests: the class reuses test_clients' set-up
    and helpers by inheritance, not its scenarios."""
    names = sorted(n for n in vars(TestServerOpsClients)
                   if n.startswith('test_'))
    return unittest.TestSuite(TestServerOpsClients(name) for name in names)


class TestServerOpsClients(test_clients.TestClients):

    def test_server_dump_create(self) -> None:
        server = self.osc('server', 'create', '--flavor', 'm1.e2e',
                          '--image', 'cirros', '--wait', 'e2e-dump')
        self.osc('server', 'dump', 'create', 'e2e-dump', parse=False)
        # The fake hypervisor shows the interrupt on the guest's console.
        log = self.osc('console', 'log', 'show', 'e2e-dump', parse=False)
        self.assertIn('NMI received: crash dump', log)
        events = self.osc('server', 'event', 'list', 'e2e-dump')
        self.assertIn('trigger_crash_dump', [e['Action'] for e in events])
        self.assertEqual('ACTIVE', self.wait_status(server['id'],
                                                    'ACTIVE')['status'])
        self.osc('server', 'delete', '--wait', 'e2e-dump', parse=False)

    def test_server_show_diagnostics(self) -> None:
        self.osc('server', 'create', '--flavor', 'm1.e2e', '--image',
                 'cirros', '--wait', 'e2e-diag')
        # openstackclient asks at min(2.100, server max): the standard
        # format.
        shown = self.osc('server', 'show', '--diagnostics', 'e2e-diag')
        self.assertEqual(('running', 'fake', 1),
                         (shown['state'], shown['driver'],
                          shown['num_cpus']))
        self.osc('server', 'delete', '--wait', 'e2e-diag', parse=False)
