"""Unmodified OpenStack clients against a real nova-all.

Starts ``nova-all`` (api + conductor + scheduler + compute with the fake
driver, SQLite, in-process RPC) on a free loopback port with a temporary
state directory, then drives it with the openstack CLI, openstacksdk and
python-novaclient exactly as a user would: create --wait, list, show by
name, reboot soft/hard --wait, stop, start, pause/unpause,
suspend/resume, rebuild, image create, rescue/unrescue, shelve/unshelve,
lock/unlock, console log, event list/show, delete --wait; and volume
and interface attach/detach through the compute API
(``os-volume_attachments``, ``os-interface``) with openstacksdk and
novaclient.  There is no block storage API here: the test creates its
volumes with nova.volume, on nova-all's own database.

Skipped when nova-all (nova/cmd/all.py) is not there yet or the clients
are not installed.  Waits are bounded polls of the API (what
``--wait`` itself does), never fixed sleeps.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from typing import Any

import fixtures

from nova import test

BIN = os.path.dirname(sys.executable)
OPENSTACK = os.path.join(BIN, 'openstack')
START_TIMEOUT = 90
WAIT_TIMEOUT = 120
TOKEN = 'admin:admin'

CONF_TEMPLATE = """\
[DEFAULT]
osapi_compute_listen = 127.0.0.1
osapi_compute_listen_port = {port}
state_path = {state}
host = e2e-host
debug = false
log_file = {state}/nova.log
# One host: moves go to the host the server is on.
allow_resize_to_same_host = true

[database]
connection = sqlite:///{state}/nova.sqlite

[wsgi]
port_file = {state}/api.port

[api]
auth_strategy = noauth2
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


class NovaAll:
    """A nova-all process on a temporary state directory."""

    def __init__(self) -> None:
        self.state = tempfile.mkdtemp(prefix='nova-e2e-')
        self.conf = os.path.join(self.state, 'nova.conf')
        with open(self.conf, 'w') as f:
            f.write(CONF_TEMPLATE.format(state=self.state,
                                         port=_free_port()))
        self.process: subprocess.Popen | None = None
        self.port: int | None = None
        #: Variables added to the environment of nova-all and
        #: nova-manage (e.g. PYTHONPATH to hook packages).
        self.env: dict[str, str] = {}

    @property
    def endpoint(self) -> str:
        return f'http://127.0.0.1:{self.port}/v2.1'

    def manage(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, '-m', 'nova.cmd.manage', '--config-file',
             self.conf, *args], capture_output=True, text=True, timeout=120,
            env=dict(os.environ, **self.env))
        if result.returncode != 0:
            raise RuntimeError(f'nova-manage {" ".join(args)} failed: '
                               f'{result.stdout}{result.stderr}')
        return result.stdout

    def start(self) -> None:
        self.log = open(os.path.join(self.state, 'nova-all.out'), 'w')
        self.process = subprocess.Popen(
            [sys.executable, '-m', 'nova.cmd.all', '--config-file',
             self.conf], stdout=self.log, stderr=subprocess.STDOUT,
            env=dict(os.environ, **self.env))
        port_file = os.path.join(self.state, 'api.port')
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError('nova-all exited:\n' + self.output())
            if os.path.exists(port_file):
                with open(port_file) as f:
                    text = f.read().strip()
                if text:
                    self.port = int(text)
                    try:
                        urllib.request.urlopen(self.endpoint, timeout=5)
                        return
                    except (urllib.error.URLError, OSError):
                        pass
            time.sleep(0.2)
        raise RuntimeError('nova-all did not start:\n' + self.output())

    def output(self) -> str:
        self.log.flush()
        with open(os.path.join(self.state, 'nova-all.out')) as f:
            return f.read()[-20000:]

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)
        shutil.rmtree(self.state, ignore_errors=True)

    def api(self, method: str, path: str, body: Any = None,
            version: str | None = None) -> Any:
        req = urllib.request.Request(
            self.endpoint + path, method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={'X-Auth-Token': TOKEN,
                     'Content-Type': 'application/json'})
        if version:
            req.add_header('OpenStack-API-Version', f'compute {version}')
        with urllib.request.urlopen(req, timeout=30) as resp:
            data = resp.read()
        return json.loads(data) if data else None


class NovaAllVolumes(fixtures.Fixture):
    """nova.volume in this process, on nova-all's database and volumes
    directory: how the tests get volumes without a block storage API."""

    def __init__(self, nova: NovaAll) -> None:
        super().__init__()
        self.nova = nova

    def _setUp(self) -> None:
        import types

        from nova import context
        from nova.db import api as db_api
        from nova.volume import local
        manager = db_api.context_manager.make_new_manager()
        manager.configure(
            connection=f'sqlite:///{self.nova.state}/nova.sqlite',
            max_retries=0)
        self.addCleanup(db_api.context_manager.patch_factory(manager))
        self.addCleanup(manager.dispose_pool)
        self.api = local.LocalVolumeAPI(types.SimpleNamespace(
            volume=types.SimpleNamespace(
                volumes_path=os.path.join(self.nova.state, 'volumes'))))
        self.ctx = context.RequestContext('admin', 'admin', is_admin=True)

    def create(self, name: str) -> dict[str, Any]:
        return self.api.create(self.ctx, 1, name)

    def status(self, volume_id: str) -> str:
        return self.api.get(self.ctx, volume_id)['status']


class NovaAllTestCase(test.TestCase):
    """Tests sharing one nova-all of their class, started in setUpClass
    on a synced database (with the small cirros image unless
    ``with_image`` is false, and ``flavors`` created once it runs);
    ``prepare`` may change its configuration before it starts."""

    nova: NovaAll | None = None
    nova_class: type[NovaAll] = NovaAll
    with_image = True
    #: (name, id, ram MB, vcpus, disk GB) of the flavors to create.
    flavors: tuple[tuple[str, str, int, int, int], ...] = ()

    @classmethod
    def prepare(cls, nova: NovaAll) -> None:
        """Before nova-all starts (its database is synced)."""

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        if importlib.util.find_spec('nova.cmd.all') is None:
            return
        cls.nova = nova = cls.nova_class()
        try:
            nova.manage('db', 'sync')
            if cls.with_image:
                image_file = os.path.join(nova.state, 'cirros.img')
                with open(image_file, 'wb') as f:
                    f.write(b'\0' * 1024 * 1024)
                nova.manage('image', 'create', '--name', 'cirros',
                            '--file', image_file)
            cls.prepare(nova)
            nova.start()
            for name, flavor_id, ram, vcpus, disk in cls.flavors:
                nova.api('POST', '/flavors', {'flavor': {
                    'name': name, 'id': flavor_id, 'ram': ram,
                    'vcpus': vcpus, 'disk': disk}})
        except Exception:
            nova.stop()
            raise

    @classmethod
    def tearDownClass(cls) -> None:
        if cls.nova is not None:
            cls.nova.stop()
        super().tearDownClass()

    @property
    def cloud(self) -> NovaAll:
        """The class's nova-all (setUp skips the test without one)."""
        assert self.nova is not None
        return self.nova

    def setUp(self) -> None:
        super().setUp()
        if self.nova is None:
            self.skipTest('nova-all is not built yet (nova/cmd/all.py)')
        if not os.path.exists(OPENSTACK):
            self.skipTest('python-openstackclient is not installed')


class TestClients(NovaAllTestCase):

    flavors = (('m1.e2e', 'e2e', 128, 1, 1),
               ('m1.e2e-big', 'e2e-big', 256, 2, 2))

    # -- helpers -----------------------------------------------------------

    def osc(self, *args: str, parse: bool = True) -> Any:
        env = dict(os.environ,
                   OS_AUTH_TYPE='admin_token', OS_ENDPOINT=self.cloud.endpoint,
                   OS_TOKEN=TOKEN,
                   OS_IDENTITY_ENDPOINT_OVERRIDE=self.cloud.endpoint,
                   OS_IMAGE_ENDPOINT_OVERRIDE=f'{self.cloud.endpoint[:-5]}/image',
                   OS_IDENTITY_API_VERSION='3')
        for key in ('OS_CLOUD', 'OS_AUTH_URL', 'OS_USERNAME',
                    'OS_PASSWORD', 'OS_PROJECT_NAME'):
            env.pop(key, None)
        command = [OPENSTACK, *args]
        if parse:
            command += ['-f', 'json']
        result = subprocess.run(command, capture_output=True, text=True,
                                env=env, timeout=WAIT_TIMEOUT + 60)
        if result.returncode != 0:
            self.fail(f'openstack {" ".join(args)} failed '
                      f'({result.returncode}):\n{result.stderr}\n'
                      f'--- nova-all ---\n{self.cloud.output()}')
        return json.loads(result.stdout) if parse else result.stdout

    def wait_status(self, server_id: str, status: str) -> dict:
        deadline = time.monotonic() + WAIT_TIMEOUT
        while time.monotonic() < deadline:
            server = self.cloud.api('GET', f'/servers/{server_id}')['server']
            if server['status'] == status:
                return server
            if server['status'] == 'ERROR':
                self.fail(f'server went to ERROR: {server.get("fault")}')
            time.sleep(0.3)
        self.fail(f'server {server_id} never reached {status}')

    def wait_for(self, predicate: Any, what: str) -> Any:
        deadline = time.monotonic() + WAIT_TIMEOUT
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.2)
        self.fail(f'timed out waiting for {what}')

    def cloud_image_id(self) -> str:
        return self.cloud.api('GET', '/images?name=cirros')['images'][0]['id']

    def novaclient(self) -> Any:
        from keystoneauth1 import session, token_endpoint
        from novaclient import client
        auth = token_endpoint.Token(endpoint=self.cloud.endpoint,
                                    token=TOKEN)
        return client.Client('2.96', session=session.Session(auth=auth),
                             endpoint_override=self.cloud.endpoint)

    def sdk(self) -> Any:
        import openstack
        return openstack.connect(
            auth_type='admin_token',
            auth={'endpoint': self.cloud.endpoint, 'token': TOKEN},
            identity_endpoint_override=self.cloud.endpoint,
            identity_api_version='3',
            compute_endpoint_override=self.cloud.endpoint)

    # -- the scenario ------------------------------------------------------

    def test_openstackclient_lifecycle(self):
        server = self.osc('server', 'create', '--flavor', 'm1.e2e',
                          '--image', 'cirros', '--wait', 'e2e-vm')
        self.assertEqual('ACTIVE', server['status'])
        server_id = server['id']

        listed = self.osc('server', 'list')
        self.assertIn(server_id, [s['ID'] for s in listed])

        shown = self.osc('server', 'show', 'e2e-vm')
        self.assertEqual(server_id, shown['id'])

        self.osc('server', 'reboot', '--soft', '--wait', 'e2e-vm',
                 parse=False)
        self.osc('server', 'reboot', '--hard', '--wait', 'e2e-vm',
                 parse=False)
        self.wait_status(server_id, 'ACTIVE')

        self.osc('server', 'stop', 'e2e-vm', parse=False)
        self.wait_status(server_id, 'SHUTOFF')
        self.osc('server', 'start', 'e2e-vm', parse=False)
        self.wait_status(server_id, 'ACTIVE')

        events = self.osc('server', 'event', 'list', 'e2e-vm')
        actions = [e['Action'] for e in events]
        for action in ('create', 'reboot', 'stop', 'start'):
            self.assertIn(action, actions)
        create = [e for e in events if e['Action'] == 'create'][0]
        detail = self.osc('server', 'event', 'show', 'e2e-vm',
                          create['Request ID'])
        self.assertTrue(detail['events'], detail)

        self.osc('server', 'delete', '--wait', 'e2e-vm', parse=False)
        error = self.assertRaises(urllib.error.HTTPError, self.cloud.api,
                                  'GET', f'/servers/{server_id}')
        self.assertEqual(404, error.code)

    def test_quotas_and_limits(self):
        # openstackclient resolves a project named on the command line
        # through Keystone (GET /v3/projects), which this keystone-less
        # cloud does not have: the quota set goes through openstacksdk,
        # as `openstack quota set` would send it.
        conn = self.sdk()
        conn.compute.update_quota_set('admin', instances=5)
        self.assertEqual(5, conn.compute.get_quota_set('admin').instances)
        limits = self.osc('limits', 'show', '--absolute')
        absolute = {row['Name']: row['Value'] for row in limits}
        self.assertEqual(5, absolute['max_total_instances'])
        self.assertEqual(20, absolute['max_total_cores'])
        self.assertIn('total_instances_used', absolute)
        self.cloud.api('DELETE', '/os-quota-sets/admin')
        self.assertEqual(10, conn.compute.get_quota_set('admin').instances)

    def test_openstackclient_server_properties(self):
        server = self.osc('server', 'create', '--flavor', 'm1.e2e',
                          '--image', 'cirros', '--property', 'a=1',
                          '--wait', 'e2e-meta')
        self.addCleanup(self.osc, 'server', 'delete', '--wait', 'e2e-meta',
                        parse=False)
        self.osc('server', 'set', '--property', 'b=2', '--property', 'c=3',
                 'e2e-meta', parse=False)
        self.osc('server', 'unset', '--property', 'a', 'e2e-meta',
                 parse=False)
        metadata = self.cloud.api(
            'GET', f'/servers/{server["id"]}/metadata')['metadata']
        self.assertEqual({'b': '2', 'c': '3'}, metadata)
        shown = self.osc('server', 'show', 'e2e-meta')
        self.assertEqual({'b': '2', 'c': '3'}, shown['properties'])

    def test_openstackclient_server_tags(self):
        server = self.osc('server', 'create', '--flavor', 'm1.e2e',
                          '--image', 'cirros', '--wait', 'e2e-tags')
        self.addCleanup(self.osc, 'server', 'delete', '--wait', 'e2e-tags',
                        parse=False)
        self.osc('server', 'set', '--tag', 'blue', '--tag', 'big',
                 'e2e-tags', parse=False)
        listed = self.osc('server', 'list', '--tags', 'blue')
        self.assertEqual([server['id']], [s['ID'] for s in listed])
        self.assertEqual([], self.osc('server', 'list', '--tags', 'red'))
        self.osc('server', 'unset', '--tag', 'big', 'e2e-tags',
                 parse=False)
        tags = self.cloud.api('GET', f'/servers/{server["id"]}/tags',
                              version='2.26')['tags']
        self.assertEqual(['blue'], tags)

    def test_openstackclient_usage(self):
        server = self.osc('server', 'create', '--flavor', 'm1.e2e',
                          '--image', 'cirros', '--wait', 'e2e-usage')
        self.addCleanup(self.osc, 'server', 'delete', '--wait',
                        'e2e-usage', parse=False)
        listed = self.osc('usage', 'list')
        self.assertIn('admin', [row['Project'] for row in listed])
        # `usage show` needs Keystone (to resolve --project, or the
        # token's project when there is none), which this cloud does not
        # have: the same request through openstacksdk.
        usage = self.sdk().compute.get_usage('admin')
        self.assertIn(server['id'], [s['instance_id']
                                     for s in usage.server_usages])

    def test_openstacksdk(self):
        import openstack
        conn = openstack.connect(
            auth_type='admin_token',
            auth={'endpoint': self.cloud.endpoint, 'token': TOKEN},
            identity_endpoint_override=self.cloud.endpoint,
            identity_api_version='3',
            compute_endpoint_override=self.cloud.endpoint)
        flavors = [f.name for f in conn.compute.flavors()]
        self.assertIn('m1.e2e', flavors)
        image = conn.compute.find_image('cirros')
        self.assertIsNotNone(image)
        server = conn.compute.create_server(
            name='sdk-vm', flavor_id='e2e', image_id=image.id,
            networks='auto')
        server = conn.compute.wait_for_server(server, wait=WAIT_TIMEOUT)
        self.assertEqual('ACTIVE', server.status)
        self.assertIn(server.id, [s.id for s in conn.compute.servers()])
        conn.compute.delete_server(server)
        conn.compute.wait_for_delete(server, wait=WAIT_TIMEOUT)

    def test_novaclient(self):
        from keystoneauth1 import session, token_endpoint
        from novaclient import api_versions, client
        auth = token_endpoint.Token(endpoint=self.cloud.endpoint,
                                    token=TOKEN)
        nova = client.Client('2.1', session=session.Session(auth=auth),
                             endpoint_override=self.cloud.endpoint)
        version = api_versions.discover_version(
            nova, api_versions.APIVersion('2.96'))
        self.assertEqual('2.96', version.get_string())
        nova = client.Client(version, session=session.Session(auth=auth),
                             endpoint_override=self.cloud.endpoint)
        self.assertIn('m1.e2e', [f.name for f in nova.flavors.list()])
        self.assertIsInstance(nova.servers.list(), list)

    def test_openstackclient_server_actions(self):
        server = self.osc('server', 'create', '--flavor', 'm1.e2e',
                          '--image', 'cirros', '--wait', 'e2e-actions')
        server_id = server['id']
        for command, status in (('pause', 'PAUSED'), ('unpause', 'ACTIVE'),
                                ('suspend', 'SUSPENDED'),
                                ('resume', 'ACTIVE'), ('rescue', 'RESCUE'),
                                ('unrescue', 'ACTIVE'),
                                ('shelve', 'SHELVED_OFFLOADED'),
                                ('unshelve', 'ACTIVE')):
            self.osc('server', command, 'e2e-actions', parse=False)
            self.wait_status(server_id, status)

        # --wait prints its progress before the server's JSON.
        self.osc('server', 'rebuild', '--image', 'cirros', '--wait',
                 'e2e-actions', parse=False)
        self.assertEqual(self.cloud_image_id(),
                         self.wait_status(server_id, 'ACTIVE')['image']['id'])

        # The compute API creates the image; openstackclient reads it back
        # from the image service, which here is nova's image proxy.
        self.osc('server', 'image', 'create', '--name', 'e2e-snap',
                 'e2e-actions', parse=False)
        snapshot = self.wait_for(lambda: [
            i for i in self.cloud.api('GET', '/images/detail')['images']
            if i['name'] == 'e2e-snap' and i['status'] == 'ACTIVE'],
            'the snapshot to be active')[0]
        self.assertEqual(server_id, snapshot['server']['id'])
        self.assertEqual('snapshot', snapshot['metadata']['image_type'])
        self.wait_status(server_id, 'ACTIVE')

        self.osc('server', 'lock', '--reason', 'e2e', 'e2e-actions',
                 parse=False)
        shown = self.cloud.api('GET', f'/servers/{server_id}',
                              version='2.73')['server']
        self.assertEqual((True, 'e2e'), (shown['locked'],
                                         shown['locked_reason']))
        self.osc('server', 'unlock', 'e2e-actions', parse=False)

        log = self.osc('console', 'log', 'show', 'e2e-actions', parse=False)
        self.assertIn('[fake]', log)

        events = self.osc('server', 'event', 'list', 'e2e-actions')
        actions = {e['Action'] for e in events}
        self.assertLessEqual(
            {'pause', 'unpause', 'suspend', 'resume', 'rescue', 'unrescue',
             'shelve', 'unshelve', 'rebuild', 'createImage', 'lock',
             'unlock'}, actions)
        shelve = [e for e in events if e['Action'] == 'shelve'][0]
        detail = self.osc('server', 'event', 'show', 'e2e-actions',
                          shelve['Request ID'])
        stages = {e['event'] for e in detail['events']}
        self.assertIn('compute.shelve_instance.driver_snapshot', stages)
        self.assertIn('compute.shelve_offload_instance.driver_destroy',
                      stages)
        self.osc('server', 'delete', '--wait', 'e2e-actions', parse=False)

    def test_openstackclient_moves(self):
        """server resize (+ confirm / revert), server migrate and server
        migration list, as a user types them (one host here: the moves
        go to the same host, [DEFAULT] allow_resize_to_same_host)."""
        server = self.osc('server', 'create', '--flavor', 'm1.e2e',
                          '--image', 'cirros', '--wait', 'e2e-moves')
        server_id = server['id']
        self.osc('server', 'resize', '--flavor', 'm1.e2e-big', '--wait',
                 'e2e-moves', parse=False)
        self.assertEqual('VERIFY_RESIZE',
                         self.wait_status(server_id, 'VERIFY_RESIZE')[
                             'status'])
        self.osc('server', 'resize', 'confirm', 'e2e-moves', parse=False)
        shown = self.wait_status(server_id, 'ACTIVE')
        self.assertEqual('m1.e2e-big', self.cloud.api(
            'GET', f'/servers/{server_id}', version='2.47')['server'][
            'flavor']['original_name'])
        del shown

        self.osc('server', 'migrate', '--wait', 'e2e-moves', parse=False)
        self.wait_status(server_id, 'VERIFY_RESIZE')
        self.osc('server', 'resize', 'revert', 'e2e-moves', parse=False)
        self.wait_status(server_id, 'ACTIVE')

        migrations = self.osc('server', 'migration', 'list', '--server',
                              'e2e-moves', '--os-compute-api-version',
                              '2.59')
        self.assertEqual(
            [('migration', 'reverted'), ('resize', 'confirmed')],
            [(m['Type'], m['Status']) for m in migrations])
        events = self.osc('server', 'event', 'list', 'e2e-moves')
        self.assertLessEqual({'resize', 'confirmResize', 'migrate',
                              'revertResize'},
                             {e['Action'] for e in events})
        resize = [e for e in events if e['Action'] == 'resize'][0]
        detail = self.osc('server', 'event', 'show', 'e2e-moves',
                          resize['Request ID'])
        stages = [e['event'] for e in detail['events']]
        self.assertIn('conductor.resize_instance.finish_resize', stages)
        self.assertIn('compute.finish_resize.finish_migration', stages)
        self.osc('server', 'delete', '--wait', 'e2e-moves', parse=False)

    def test_openstacksdk_server_actions_volumes_and_interfaces(self):
        volumes = self.useFixture(NovaAllVolumes(self.nova))
        conn = self.sdk()
        compute = conn.compute
        image = compute.find_image('cirros')
        server = compute.wait_for_server(compute.create_server(
            name='sdk-actions', flavor_id='e2e', image_id=image.id,
            networks='auto'), wait=WAIT_TIMEOUT)
        for act, status in ((compute.pause_server, 'PAUSED'),
                            (compute.unpause_server, 'ACTIVE'),
                            (compute.suspend_server, 'SUSPENDED'),
                            (compute.resume_server, 'ACTIVE')):
            act(server)
            self.wait_status(server.id, status)
        compute.rescue_server(server, admin_pass='pw')
        self.wait_status(server.id, 'RESCUE')
        compute.unrescue_server(server)
        self.wait_status(server.id, 'ACTIVE')
        compute.rebuild_server(server, image.id, name='sdk-rebuilt')
        self.assertEqual('sdk-rebuilt',
                         self.wait_status(server.id, 'ACTIVE')['name'])
        image_id = compute.get_server(server).create_image(
            compute, 'sdk-snap', {'owner': 'sdk'})
        self.wait_for(lambda: compute.get_image(image_id).status == 'ACTIVE',
                      'the snapshot to be active')
        self.wait_status(server.id, 'ACTIVE')
        compute.shelve_server(server)
        self.wait_status(server.id, 'SHELVED_OFFLOADED')
        compute.unshelve_server(server)
        self.wait_status(server.id, 'ACTIVE')
        output = compute.get_server_console_output(server, length=1)
        self.assertEqual(1, len(output['output'].splitlines()))
        self.assertIn('[fake]', output['output'])

        volume = volumes.create('sdk-volume')
        attachment = compute.create_volume_attachment(server,
                                                      volume_id=volume['id'])
        self.assertEqual(volume['id'], attachment.volume_id)
        self.assertTrue(attachment.device.startswith('/dev/vd'))
        self.wait_for(lambda: volumes.status(volume['id']) == 'in-use',
                      'the volume to be in-use')
        self.assertEqual([volume['id']], [
            a.volume_id for a in compute.volume_attachments(server)])
        compute.delete_volume_attachment(server, volume['id'])
        self.wait_for(lambda: volumes.status(volume['id']) == 'available',
                      'the volume to be available')
        self.assertEqual([], list(compute.volume_attachments(server)))

        (boot_port,) = list(compute.server_interfaces(server))
        port = compute.create_server_interface(server,
                                               net_id=boot_port.net_id)
        self.assertEqual(2, len(list(compute.server_interfaces(server))))
        compute.delete_server_interface(port, server=server)
        self.wait_for(
            lambda: len(list(compute.server_interfaces(server))) == 1,
            'the interface to go')
        compute.delete_server(server)
        compute.wait_for_delete(server, wait=WAIT_TIMEOUT)

    def test_novaclient_volumes_interfaces_and_lock(self):
        volumes = self.useFixture(NovaAllVolumes(self.nova))
        nova = self.novaclient()
        image = self.cloud.api('GET', '/images?name=cirros')['images'][0]
        server = nova.servers.create('nova-vm', image['id'], 'e2e',
                                     nics='auto')
        self.wait_status(server.id, 'ACTIVE')

        volume = volumes.create('nova-volume')
        attachment = nova.volumes.create_server_volume(
            server.id, volume['id'], tag='data',
            delete_on_termination=True)
        self.assertEqual((volume['id'], 'data', True),
                         (attachment.volumeId, attachment.tag,
                          attachment.delete_on_termination))
        self.wait_for(lambda: volumes.status(volume['id']) == 'in-use',
                      'the volume to be in-use')
        self.assertEqual([volume['id']], [
            a.volumeId for a in nova.volumes.get_server_volumes(server.id)])
        nova.volumes.delete_server_volume(server.id, volume['id'])
        self.wait_for(lambda: volumes.status(volume['id']) == 'available',
                      'the volume to be available')

        (boot_port,) = nova.servers.interface_list(server)
        port = nova.servers.interface_attach(server, None, boot_port.net_id,
                                             None, tag='extra')
        self.assertEqual('extra', port.tag)
        self.assertEqual(2, len(nova.servers.interface_list(server)))
        nova.servers.interface_detach(server, port.port_id)
        self.wait_for(lambda: len(nova.servers.interface_list(server)) == 1,
                      'the interface to go')

        snapshot_id = nova.servers.create_image(server, 'nova-snap',
                                                {'k': 'v'})
        self.wait_for(lambda: self.cloud.api(
            'GET', f'/images/{snapshot_id}')['image']['status'] == 'ACTIVE',
            'the snapshot to be active')
        self.wait_status(server.id, 'ACTIVE')

        nova.servers.lock(server, reason='held')
        self.assertEqual('held', nova.servers.get(server.id).locked_reason)
        nova.servers.unlock(server)
        self.assertIn('[fake]', nova.servers.get_console_output(server))
        nova.servers.delete(server)
        self.wait_for(lambda: server.id not in [
            s.id for s in nova.servers.list()], 'the server to go')
