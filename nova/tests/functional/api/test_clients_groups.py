"""The openstack client's server group (and aggregate) commands against a
real nova-all, as in test_clients (one compute host, ``e2e-host``)."""

from __future__ import annotations

from nova.tests.functional.api import test_clients


class TestGroupClients(test_clients.TestClients):
    """test_clients' nova-all set-up and helpers, not its tests."""

    def test_server_group_commands(self) -> None:
        group = self.osc('server', 'group', 'create', '--policy',
                         'anti-affinity', 'e2e-group')
        self.assertEqual('anti-affinity', group['policy'])
        listed = self.osc('server', 'group', 'list')
        self.assertIn(group['id'], [g['ID'] for g in listed])
        shown = self.osc('server', 'group', 'show', 'e2e-group')
        self.assertEqual(group['id'], shown['id'])

        first = self.osc('server', 'create', '--flavor', 'm1.e2e',
                         '--image', 'cirros', '--hint',
                         f'group={group["id"]}', '--wait', 'e2e-g1')
        self.assertEqual('ACTIVE', first['status'])
        shown = self.osc('server', 'group', 'show', group['id'])
        self.assertEqual([first['id']], _members(shown['members']))

        # One host, and it has the group's first server.
        second = self.osc('server', 'create', '--flavor', 'm1.e2e',
                          '--image', 'cirros', '--hint',
                          f'group={group["id"]}', 'e2e-g2')
        server = self.wait_for(
            lambda: (lambda s: s if s['status'] == 'ERROR' else None)(
                self.cloud.api('GET', f'/servers/{second["id"]}')[
                    'server']), 'the second server to fail')
        self.assertIn('No valid host was found. There are not enough hosts '
                      'available.', server['fault']['message'])

        for name in ('e2e-g1', 'e2e-g2'):
            self.osc('server', 'delete', '--wait', name, parse=False)
        self.osc('server', 'group', 'delete', 'e2e-group', parse=False)
        listed = self.osc('server', 'group', 'list')
        self.assertNotIn(group['id'], [g['ID'] for g in listed])

    def test_aggregate_and_zone_commands(self) -> None:
        agg = self.osc('aggregate', 'create', '--zone', 'e2e-az',
                       'e2e-agg')
        self.assertEqual('e2e-az', agg['availability_zone'])
        self.osc('aggregate', 'add', 'host', 'e2e-agg', 'e2e-host')
        self.osc('aggregate', 'set', '--property', 'ssd=true', 'e2e-agg',
                 parse=False)
        shown = self.osc('aggregate', 'show', 'e2e-agg')
        self.assertEqual(['e2e-host'], shown['hosts'])
        properties = shown['properties']
        self.assertEqual('true', properties['ssd'])
        listed = self.osc('aggregate', 'list')
        self.assertIn('e2e-agg', [a['Name'] for a in listed])
        zones = self.osc('availability', 'zone', 'list', '--compute')
        self.assertIn('e2e-az', [z['Zone Name'] for z in zones])

        server = self.osc('server', 'create', '--flavor', 'm1.e2e',
                          '--image', 'cirros', '--availability-zone',
                          'e2e-az', '--wait', 'e2e-az-vm')
        self.assertEqual('e2e-az', server['OS-EXT-AZ:availability_zone'])
        self.osc('server', 'delete', '--wait', 'e2e-az-vm', parse=False)

        self.osc('aggregate', 'remove', 'host', 'e2e-agg', 'e2e-host')
        self.osc('aggregate', 'delete', 'e2e-agg', parse=False)
        listed = self.osc('aggregate', 'list')
        self.assertNotIn('e2e-agg', [a['Name'] for a in listed])


for _name in dir(test_clients.TestClients):
    if _name.startswith('test'):
        setattr(TestGroupClients, _name, None)


def _members(value: object) -> list[str]:
    """openstackclient prints members as a list or a comma string."""
    if isinstance(value, list):
        return [str(v) for v in value]
    return [m.strip() for m in str(value).split(',') if m.strip()]
