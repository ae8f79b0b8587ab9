"""The openstack client's network, subnet and port commands, and servers
on ports, against a real nova-all (test_clients' harness): the
Networking API v2.0 subset served at ``/networking``."""

from __future__ import annotations

import ipaddress
import json
import os
import subprocess
import sys
import time
import unittest
import urllib.error
import urllib.request
from typing import Any

import fixtures

from nova.tests.functional.api import test_clients


def load_tests(loader: unittest.TestLoader, standard_tests: Any,
               pattern: Any) -> unittest.TestSuite:
    """Only this module's tests: the class reuses test_clients' set-up
    and helpers by inheritance, not its scenarios."""
    suite = unittest.TestSuite()
    for cls in (TestNetworkClients, TestSplitNetwork):
        names = sorted(n for n in vars(cls) if n.startswith('test_'))
        suite.addTests(cls(name) for name in names)
    return suite


class TestNetworkClients(test_clients.TestClients):

    def setUp(self) -> None:
        super().setUp()
        # openstacksdk reads every OS_* variable into the cloud's config:
        # this one is clouds.yaml's network_endpoint_override.
        self.useFixture(fixtures.EnvironmentVariable(
            'OS_NETWORK_ENDPOINT_OVERRIDE', self.network_endpoint))

    @property
    def network_endpoint(self) -> str:
        return f'http://127.0.0.1:{self.cloud.port}/networking'

    def port_of(self, server_id: str) -> list[dict[str, Any]]:
        return self.osc('port', 'list', '--server', server_id, '--long')

    def test_network_and_subnet_commands(self) -> None:
        networks = self.osc('network', 'list')
        self.assertEqual(1, len(networks), networks)
        network = networks[0]
        shown = self.osc('network', 'show', network['Name'])
        self.assertEqual(network['ID'], shown['id'])
        self.assertEqual('ACTIVE', shown['status'])
        self.assertTrue(shown['shared'])
        self.assertEqual(1500, shown['mtu'])
        subnets = self.osc('subnet', 'list', '--network', network['ID'])
        self.assertEqual(shown['subnets'], [s['ID'] for s in subnets])
        subnet = self.osc('subnet', 'show', subnets[0]['ID'])
        self.assertEqual(network['ID'], subnet['network_id'])

    def test_port_commands(self) -> None:
        network = self.osc('network', 'list')[0]
        port = self.osc('port', 'create', '--network', network['Name'],
                        'e2e-port')
        self.assertEqual('DOWN', port['status'])
        self.assertEqual(network['ID'], port['network_id'])
        self.assertEqual('', port['device_id'])
        self.assertTrue(port['mac_address'].startswith('fa:16:3e:'))
        self.assertEqual(1, len(port['fixed_ips']), port)
        listed = self.osc('port', 'list', '--network', network['ID'])
        self.assertIn(port['id'], [p['ID'] for p in listed])
        shown = self.osc('port', 'show', 'e2e-port')
        self.assertEqual(port['id'], shown['id'])
        self.osc('port', 'set', '--name', 'e2e-renamed', port['id'],
                 parse=False)
        self.assertEqual('e2e-renamed',
                         self.osc('port', 'show', port['id'])['name'])
        self.osc('port', 'delete', 'e2e-renamed', parse=False)
        listed = self.osc('port', 'list')
        self.assertNotIn(port['id'], [p['ID'] for p in listed])

    def test_network_in_use_cannot_be_deleted(self) -> None:
        network = self.osc('network', 'list')[0]
        port = self.osc('port', 'create', '--network', network['ID'],
                        'e2e-keeper')
        self.addCleanup(self.osc, 'port', 'delete', port['id'], parse=False)
        error = self.assertRaises(
            urllib.error.HTTPError, self.networking, 'DELETE',
            f'/networks/{network["ID"]}')
        self.assertEqual(409, error.code)
        self.assertEqual('NetworkInUse',
                         _json(error)['NeutronError']['type'])
        error = self.assertRaises(urllib.error.HTTPError, self.networking,
                                  'GET', '/ports/no-such-port')
        self.assertEqual(404, error.code)
        self.assertEqual('PortNotFound',
                         _json(error)['NeutronError']['type'])

    def test_ports_are_project_scoped(self) -> None:
        network_id = self.networking('GET', '/networks')['networks'][0]['id']
        body = {'port': {'network_id': network_id, 'name': 'demo-port'}}
        mine = self.networking('POST', '/ports', body,
                               token='demo:demo')['port']
        self.addCleanup(self.networking, 'DELETE', f'/ports/{mine["id"]}')
        self.assertEqual('demo', mine['project_id'])
        self.assertNotIn('binding:host_id', mine)  # admin only
        admins = self.networking('POST', '/ports', body)['port']
        self.addCleanup(self.networking, 'DELETE', f'/ports/{admins["id"]}')
        self.assertIn('binding:host_id', admins)
        seen = self.networking('GET', '/ports', token='demo:demo')['ports']
        self.assertEqual([mine['id']], [p['id'] for p in seen])
        for method in ('GET', 'DELETE'):
            error = self.assertRaises(
                urllib.error.HTTPError, self.networking, method,
                f'/ports/{admins["id"]}', token='demo:demo')
            self.assertEqual(404, error.code)
        error = self.assertRaises(
            urllib.error.HTTPError, self.networking, 'POST', '/ports',
            {'port': {'network_id': network_id, 'bogus': 1}})
        self.assertEqual(400, error.code)
        self.assertEqual('HTTPBadRequest',
                         _json(error)['NeutronError']['type'])
        only = self.networking(
            'GET', '/ports?name=demo-port&fields=id&fields=name',
            token='demo:demo')['ports']
        self.assertEqual([{'id': mine['id'], 'name': 'demo-port'}], only)

    def networking(self, method: str, path: str, body: Any = None,
                   token: str = test_clients.TOKEN) -> Any:
        req = urllib.request.Request(
            f'{self.network_endpoint}/v2.0{path}', method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={'X-Auth-Token': token,
                     'Content-Type': 'application/json'})
        with urllib.request.urlopen(req, timeout=30) as resp:
            data = resp.read()
        return json.loads(data) if data else None

    def test_server_with_net_id_and_port(self) -> None:
        network = self.osc('network', 'list')[0]
        server = self.osc('server', 'create', '--flavor', 'm1.e2e',
                          '--image', 'cirros', '--nic',
                          f'net-id={network["ID"]}', '--wait', 'e2e-nic')
        self.assertEqual('ACTIVE', server['status'])
        ports = self.port_of(server['id'])
        self.assertEqual(1, len(ports), str(ports))
        self.assertEqual('ACTIVE', ports[0]['Status'])
        nova_port = ports[0]['ID']
        shown = self.osc('port', 'show', nova_port)
        self.assertEqual(server['id'], shown['device_id'])
        self.assertEqual('compute:nova', shown['device_owner'])
        self.assertEqual('e2e-host', shown['binding_host_id'])

        # A bound port is refused (see FlatNetworkAPI.delete_port).
        result = self.osc_fails('port', 'delete', nova_port)
        self.assertIn('is still in use', result)

        port = self.osc('port', 'create', '--network', network['ID'],
                        'e2e-user-port')
        self.osc('server', 'add', 'port', 'e2e-nic', 'e2e-user-port',
                 parse=False)
        shown = self.osc('port', 'show', port['id'])
        self.assertEqual(server['id'], shown['device_id'])
        self.assertEqual('ACTIVE', shown['status'])
        self.assertEqual(2, len(self.port_of(server['id'])))
        self.osc('server', 'remove', 'port', 'e2e-nic', 'e2e-user-port',
                 parse=False)
        shown = self.wait_for(
            lambda: (lambda p: p if p['device_id'] == '' else None)(
                self.osc('port', 'show', port['id'])),
            'the removed port to be unbound')
        self.assertEqual('DOWN', shown['status'])

        second = self.osc('server', 'create', '--flavor', 'm1.e2e',
                          '--image', 'cirros', '--port', 'e2e-user-port',
                          '--wait', 'e2e-port-vm')
        self.assertEqual('ACTIVE', second['status'])
        self.assertEqual([port['id']],
                         [p['ID'] for p in self.port_of(second['id'])])
        self.assertEqual(second['id'],
                         self.osc('port', 'show', port['id'])['device_id'])

        self.osc('server', 'delete', '--wait', 'e2e-nic', 'e2e-port-vm',
                 parse=False)
        # nova's port went with its server; the user's port stays, free.
        ports = [p['ID'] for p in self.osc('port', 'list')]
        self.assertNotIn(nova_port, ports)
        self.assertIn(port['id'], ports)
        shown = self.osc('port', 'show', port['id'])
        self.assertEqual(('', 'DOWN'), (shown['device_id'],
                                        shown['status']))
        self.osc('port', 'delete', port['id'], parse=False)

    def test_user_network_subnet_and_server(self) -> None:
        network = self.osc('network', 'create', 'e2e-n1')
        self.addCleanup(self.quietly, 'network', 'delete', network['id'])
        self.assertEqual(('e2e-n1', 'ACTIVE', False),
                         (network['name'], network['status'],
                          network['shared']))
        subnet = self.osc('subnet', 'create', '--network', 'e2e-n1',
                          '--subnet-range', '10.20.0.0/24', 'e2e-s1')
        self.addCleanup(self.quietly, 'subnet', 'delete', subnet['id'])
        self.assertEqual((network['id'], '10.20.0.0/24', '10.20.0.1'),
                         (subnet['network_id'], subnet['cidr'],
                          subnet['gateway_ip']))
        self.assertEqual([subnet['id']], self.osc(
            'network', 'show', 'e2e-n1')['subnets'])

        server = self.osc('server', 'create', '--flavor', 'm1.e2e',
                          '--image', 'cirros', '--nic',
                          f'net-id={network["id"]}', '--wait', 'e2e-on-n1')
        self.addCleanup(self.quietly, 'server', 'delete', '--wait',
                        server['id'])
        self.assertEqual('ACTIVE', server['status'])
        port = self.osc('port', 'show', self.port_of(server['id'])[0]['ID'])
        self.assertEqual(network['id'], port['network_id'])
        address = port['fixed_ips'][0]['ip_address']
        self.assertIn(ipaddress.ip_address(address),
                      ipaddress.ip_network('10.20.0.0/24'))
        self.assertEqual(subnet['id'], port['fixed_ips'][0]['subnet_id'])
        shown = self.osc('server', 'show', server['id'])
        self.assertIn(address, json.dumps(shown['addresses']))

        result = self.osc_fails('network', 'delete', 'e2e-n1')
        self.assertIn('ports still in use', result)
        result = self.osc_fails('subnet', 'delete', 'e2e-s1')
        self.assertIn('IP allocation from this subnet', result)

        self.osc('server', 'delete', '--wait', server['id'], parse=False)
        self.osc('subnet', 'delete', 'e2e-s1', parse=False)
        self.osc('network', 'delete', 'e2e-n1', parse=False)
        self.assertNotIn(network['id'],
                         [n['ID'] for n in self.osc('network', 'list')])

    def quietly(self, *args: str) -> None:
        """Run a clean-up command, whether or not there is anything left
        to clean."""
        env = dict(os.environ, OS_AUTH_TYPE='admin_token',
                   OS_ENDPOINT=self.cloud.endpoint,
                   OS_TOKEN=test_clients.TOKEN,
                   OS_IDENTITY_ENDPOINT_OVERRIDE=self.cloud.endpoint,
                   OS_IDENTITY_API_VERSION='3')
        subprocess.run([test_clients.OPENSTACK, *args], capture_output=True,
                       env=env, timeout=test_clients.WAIT_TIMEOUT + 60)

    def test_security_group_commands(self) -> None:
        group = self.osc('security', 'group', 'create', '--description',
                         'web servers', 'e2e-web')
        self.assertEqual('e2e-web', group['name'])
        self.addCleanup(self.osc, 'security', 'group', 'delete',
                        group['id'], parse=False)
        rule = self.osc('security', 'group', 'rule', 'create', '--protocol',
                        'tcp', '--dst-port', '22', 'e2e-web')
        self.assertEqual((group['id'], 'ingress', 'tcp', 22, 22),
                         (rule['security_group_id'], rule['direction'],
                          rule['protocol'], rule['port_range_min'],
                          rule['port_range_max']))
        names = [g['Name'] for g in self.osc('security', 'group', 'list')]
        self.assertIn('e2e-web', names)
        self.assertIn('default', names)

        server = self.osc('server', 'create', '--flavor', 'm1.e2e',
                          '--image', 'cirros', '--security-group', 'e2e-web',
                          '--wait', 'e2e-sg')
        self.addCleanup(self.osc, 'server', 'delete', '--wait', 'e2e-sg',
                        parse=False)
        self.assertEqual('ACTIVE', server['status'])
        self.assertEqual(['e2e-web'], self.server_groups('e2e-sg'))
        port = self.port_of(server['id'])[0]['ID']
        self.assertEqual([group['id']], self.osc(
            'port', 'show', port)['security_group_ids'])
        result = self.osc_fails('security', 'group', 'delete', 'e2e-web')
        self.assertIn('in use', result)

        self.osc('server', 'add', 'security', 'group', 'e2e-sg', 'default',
                 parse=False)
        self.assertEqual(['default', 'e2e-web'],
                         self.server_groups('e2e-sg'))
        self.osc('server', 'remove', 'security', 'group', 'e2e-sg',
                 'e2e-web', parse=False)
        self.assertEqual(['default'], self.server_groups('e2e-sg'))
        # The admin project's default group (an admin lists every
        # project's).
        default = [g['id'] for g in self.networking(
            'GET', '/security-groups?name=default&project_id=admin')[
            'security_groups']]
        self.assertEqual(default, self.osc(
            'port', 'show', port)['security_group_ids'])
        result = self.osc_fails('server', 'add', 'security', 'group',
                                'e2e-sg', 'no-such-group')
        self.assertIn('no-such-group', result)

    def server_groups(self, server: str) -> list[str]:
        """The names ``openstack server show`` lists."""
        groups = self.osc('server', 'show', server)['security_groups']
        return sorted(g['name'] if isinstance(g, dict) else g
                      for g in groups)

    def osc_fails(self, *args: str) -> str:
        """Run a command that must fail; its error output."""
        env = dict(os.environ, OS_AUTH_TYPE='admin_token',
                   OS_ENDPOINT=self.cloud.endpoint,
                   OS_TOKEN=test_clients.TOKEN,
                   OS_IDENTITY_ENDPOINT_OVERRIDE=self.cloud.endpoint,
                   OS_IDENTITY_API_VERSION='3')
        result = subprocess.run([test_clients.OPENSTACK, *args],
                                capture_output=True, text=True, env=env,
                                timeout=test_clients.WAIT_TIMEOUT)
        self.assertNotEqual(0, result.returncode, result.stdout)
        return result.stderr


def _json(error: urllib.error.HTTPError) -> Any:
    return json.loads(error.read())


NETWORK_CONF = """\
[DEFAULT]
state_path = {state}
network_api_listen = 127.0.0.1
network_api_listen_port = 0
log_file = {state}/nova-network.log

[database]
connection = sqlite:///{state}/nova.sqlite

[wsgi]
port_file = {state}/network.port

[api]
auth_strategy = noauth2
"""

SPLIT_CONF = """
[network]
backend = nova.network.neutron.NeutronNetworkAPI

[neutron]
auth_type = admin_token
endpoint = {url}
token = admin:admin
endpoint_override = {url}
"""


class SplitNovaAll(test_clients.NovaAll):
    """nova-all whose network backend is the REST client, talking to
    nova-network, its own process (on the same database)."""

    network_process: subprocess.Popen | None = None
    network_url = ''

    def start(self) -> None:
        network_conf = os.path.join(self.state, 'nova-network.conf')
        with open(network_conf, 'w') as f:
            f.write(NETWORK_CONF.format(state=self.state))
        self.network_log = open(os.path.join(self.state,
                                             'nova-network.out'), 'w')
        self.network_process = subprocess.Popen(
            [sys.executable, '-c',
             'import sys; from nova.cmd import service_api; '
             'sys.exit(service_api.main_network())',
             '--config-file', network_conf],
            stdout=self.network_log, stderr=subprocess.STDOUT)
        port_file = os.path.join(self.state, 'network.port')
        deadline = time.monotonic() + test_clients.START_TIMEOUT
        while not self.network_url:
            if time.monotonic() > deadline or \
                    self.network_process.poll() is not None:
                raise RuntimeError('nova-network did not start')
            if os.path.exists(port_file):
                with open(port_file) as f:
                    text = f.read().strip()
                if text:
                    self.network_url = f'http://127.0.0.1:{text}'
                    continue
            time.sleep(0.2)
        with open(self.conf, 'a') as f:
            f.write(SPLIT_CONF.format(url=self.network_url))
        super().start()

    def stop(self) -> None:
        process = self.network_process
        if process is not None and process.poll() is None:
            process.terminate()
            process.wait(timeout=30)
        super().stop()


class TestSplitNetwork(test_clients.TestClients):
    """A split deployment: nova-compute (in nova-all) creates, binds and
    deletes ports through NeutronNetworkAPI over HTTP against the
    nova-network console script; the client sees the ports there."""

    nova_class = SplitNovaAll

    @property
    def split(self) -> SplitNovaAll:
        assert isinstance(self.cloud, SplitNovaAll)
        return self.cloud

    def setUp(self) -> None:
        super().setUp()
        self.useFixture(fixtures.EnvironmentVariable(
            'OS_NETWORK_ENDPOINT_OVERRIDE', self.split.network_url))

    def test_boot_with_a_nic_and_delete_through_nova_network(self) -> None:
        network = self.osc('network', 'list')[0]
        server = self.osc('server', 'create', '--flavor', 'm1.e2e',
                          '--image', 'cirros', '--nic',
                          f'net-id={network["ID"]}', '--wait', 'e2e-split')
        self.assertEqual('ACTIVE', server['status'])
        ports = self.osc('port', 'list', '--server', server['id'],
                         '--long')
        self.assertEqual(1, len(ports), str(ports))
        self.assertEqual('ACTIVE', ports[0]['Status'])
        port = self.osc('port', 'show', ports[0]['ID'])
        self.assertEqual('e2e-host', port['binding_host_id'])
        address = port['fixed_ips'][0]['ip_address']
        shown = self.osc('server', 'show', server['id'])
        self.assertIn(address, json.dumps(shown['addresses']))

        self.osc('server', 'delete', '--wait', 'e2e-split', parse=False)
        req = urllib.request.Request(
            f'{self.split.network_url}/v2.0/ports?device_id={server["id"]}',
            headers={'X-Auth-Token': test_clients.TOKEN})
        with urllib.request.urlopen(req, timeout=30) as resp:
            self.assertEqual([], json.loads(resp.read())['ports'])
        self.assertNotIn(ports[0]['ID'],
                         [p['ID'] for p in self.osc('port', 'list')])
