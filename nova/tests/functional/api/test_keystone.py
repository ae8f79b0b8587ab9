"""nova-all behind a real Keystone, driven with real tokens.

One Keystone (nova.tests.functional.keystone_fixture) and one nova-all
(``[api] auth_strategy = keystone``, keystonemiddleware's authtoken
validating tokens against that Keystone as nova's service user) for the
class.  The openstack CLI logs in with a password (clouds.yaml,
``auth_type: password``) and finds nova in Keystone's catalog - no
endpoint override anywhere.  What the default policies (nova/policies,
upstream's defaults) give each of keystone's default roles:

* a project reader lists and shows its project's servers but may not
  create or act on them: 403 with upstream's ``forbidden`` body;
* a project member creates and acts on its project's servers, and sees
  another project's server as missing (404 ``itemNotFound``, as upstream:
  a server of another project is not found, not forbidden);
* an admin sees every project (``--all-projects``) and uses the admin
  APIs (hypervisors, compute services, flavor create), which a member
  may not;
* the image, volume and network APIs are in the same catalog and scoped
  the same way: a reader lists, a member creates volumes and ports in
  its project, which other projects do not see, and an admin sees every
  project's;
* and the openstack CLI end to end on one server (issue 17): image
  create --file / list / save / delete, a server booted from a volume
  made from that image with ``--nic net-id=`` and ``--port``, ``server
  add volume`` / ``server remove volume`` and the volumes it shows,
  port and volume lists - with the reader's and the other project's
  attempts refused.

The other scenarios create their servers with openstacksdk
(``compute.create_server`` with an image ID), one client process fewer
each.  Skipped when Keystone is not
installed (tools/install-keystone.sh), failed instead under
NOVA_TEST_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import json
import os
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import fixtures

from nova import test
from nova.tests.functional import keystone_fixture
from nova.tests.functional.api import test_clients

OPENSTACK = test_clients.OPENSTACK
WAIT_TIMEOUT = test_clients.WAIT_TIMEOUT
FLAVOR = 'm1.ks'


class KeystoneNovaAll(test_clients.NovaAll):
    """nova-all with ``[api] auth_strategy = keystone`` and
    ``[keystone_authtoken]`` pointing at ``keystone``."""

    def __init__(self, keystone: keystone_fixture.KeystoneFixture) -> None:
        super().__init__()
        with open(self.conf) as f:
            text = f.read()
        text = text.replace('auth_strategy = noauth2',
                            'auth_strategy = keystone')
        with open(self.conf, 'w') as f:
            f.write(text + '\n' + keystone.authtoken_conf())


class TestKeystone(test.TestCase):

    keystone: keystone_fixture.KeystoneFixture | None = None
    nova: KeystoneNovaAll | None = None
    unavailable: BaseException | None = None
    clouds_yaml = ''
    registered: list[str] = []

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        try:
            cls.keystone = keystone_fixture.start_keystone()
        except keystone_fixture.KeystoneUnavailable as exc:
            cls.unavailable = exc
            return
        try:
            cls.nova = KeystoneNovaAll(cls.keystone)
            cls.nova.manage('db', 'sync')
            image_file = os.path.join(cls.nova.state, 'cirros.img')
            with open(image_file, 'wb') as f:
                f.write(b'\0' * 1024 * 1024)
            cls.nova.manage('image', 'create', '--name', 'cirros',
                            '--file', image_file)
            cls.nova.start()
            # Only the mounts this nova-all serves (see register_nova).
            cls.registered = cls.keystone.register_nova(
                f'http://127.0.0.1:{cls.nova.port}', only_served=True)
            cls.clouds_yaml = os.path.join(cls.nova.state, 'clouds.yaml')
            cls.keystone.write_clouds_yaml(cls.clouds_yaml)
        except Exception:
            cls._stop()
            raise

    @classmethod
    def _stop(cls) -> None:
        if cls.nova is not None:
            cls.nova.stop()
            cls.nova = None
        if cls.keystone is not None:
            cls.keystone.cleanUp()
            cls.keystone = None

    @classmethod
    def tearDownClass(cls) -> None:
        cls._stop()
        super().tearDownClass()

    def setUp(self) -> None:
        super().setUp()
        if self.unavailable is not None:
            keystone_fixture.skip_or_fail(self, self.unavailable)
        if not os.path.exists(OPENSTACK):
            self.skipTest('python-openstackclient is not installed')

    # -- helpers -----------------------------------------------------------

    @property
    def ks(self) -> keystone_fixture.KeystoneFixture:
        assert self.keystone is not None
        return self.keystone

    @property
    def cloud(self) -> KeystoneNovaAll:
        assert self.nova is not None
        return self.nova

    def run_osc(self, user: str, *args: str) -> subprocess.CompletedProcess:
        """``openstack --os-cloud USER ARGS -f json`` with the fixture's
        clouds.yaml and nothing else of the environment's OS_*."""
        env = {k: v for k, v in os.environ.items()
               if not k.startswith('OS_')}
        env['OS_CLIENT_CONFIG_FILE'] = self.clouds_yaml
        return subprocess.run(
            [OPENSTACK, '--os-cloud', user, *args], capture_output=True,
            text=True, env=env, timeout=WAIT_TIMEOUT + 60)

    def osc(self, user: str, *args: str, parse: bool = True) -> Any:
        """The CLI's parsed JSON output; the test fails if it failed."""
        result = self.run_osc(user, *args, *(['-f', 'json'] if parse
                                             else []))
        if result.returncode != 0:
            self.fail(f'openstack {" ".join(args)} as {user} failed '
                      f'({result.returncode}):\n{result.stderr}\n'
                      f'--- nova-all ---\n{self.cloud.output()}')
        return json.loads(result.stdout) if parse else result.stdout

    def osc_refused(self, user: str, *args: str) -> str:
        """stderr of a CLI command that must fail."""
        result = self.run_osc(user, *args)
        self.assertNotEqual(0, result.returncode,
                            f'openstack {" ".join(args)} as {user} '
                            f'succeeded:\n{result.stdout}')
        return result.stderr

    def servers(self, user: str, *args: str) -> list[dict[str, Any]]:
        """``openstack server list`` as ``user``."""
        listed: list[dict[str, Any]] = self.osc(user, 'server', 'list',
                                                *args)
        return listed

    def sdk(self, user: str) -> Any:
        """openstacksdk logged in as ``user`` (password, catalog)."""
        project = keystone_fixture.USERS[user][0]
        conn = self.ks.connection(user, project)
        self.addCleanup(conn.close)
        return conn

    def compute(self, user: str, method: str, path: str,
                body: Any = None, version: str = '2.1') -> Any:
        """A compute API request with ``user``'s real token, to the
        compute endpoint of the catalog: the requests Response."""
        conn = self.sdk(user)
        return conn.session.request(
            path, method, json=body, raise_exc=False,
            headers={'OpenStack-API-Version': f'compute {version}'},
            endpoint_filter={'service_type': 'compute',
                             'interface': 'public'})

    def create_server(self, user: str, name: str) -> Any:
        """An ACTIVE server of ``user``'s project, created with
        openstacksdk (deleted at cleanup)."""
        conn = self.sdk(user)
        compute = conn.compute
        image = compute.find_image('cirros', ignore_missing=False)
        flavor = compute.find_flavor(FLAVOR, ignore_missing=False)
        server = compute.create_server(name=name, flavor_id=flavor.id,
                                       image_id=image.id, networks='none')
        self.addCleanup(self._delete_server, server.id)
        return compute.wait_for_server(server, wait=WAIT_TIMEOUT)

    def _delete_server(self, server_id: str) -> None:
        compute = self.sdk('cloud-admin').compute
        server = compute.find_server(server_id, all_projects=True)
        if server is not None:
            compute.delete_server(server)
            compute.wait_for_delete(server, wait=WAIT_TIMEOUT)

    def ensure_flavor(self) -> None:
        """The test flavor, created by the admin through the CLI (an
        admin-only API)."""
        flavors = self.osc('cloud-admin', 'flavor', 'list', '--all')
        if FLAVOR not in [f['Name'] for f in flavors]:
            self.osc('cloud-admin', 'flavor', 'create', '--ram', '128',
                     '--disk', '1', '--vcpus', '1', FLAVOR)

    def assertForbidden(self, response: Any, rule: str) -> None:
        """403 with upstream's body naming the policy rule."""
        self.assertEqual(403, response.status_code, response.text)
        self.assertEqual(
            {'forbidden': {
                'code': 403,
                'message': f"Policy doesn't allow {rule} to be "
                           f"performed."}},
            response.json())

    # -- the scenario ------------------------------------------------------

    def test_catalog_and_real_tokens(self):
        """The CLI finds nova in the catalog; a token Keystone did not
        issue is refused with 401."""
        endpoint = self.sdk('alpha-reader').endpoint_for('compute')
        self.assertEqual(f'http://127.0.0.1:{self.cloud.port}/v2.1',
                         endpoint.rstrip('/'))
        self.assertIn('compute', self.registered)
        self.assertEqual([], self.servers('alpha-reader'))
        response = self.compute('alpha-reader', 'GET', '/servers')
        self.assertEqual(200, response.status_code, response.text)
        request = urllib.request.Request(
            self.cloud.endpoint + '/servers',
            headers={'X-Auth-Token': 'admin:admin'})
        error = self.assertRaises(urllib.error.HTTPError,
                                  urllib.request.urlopen, request)
        self.assertEqual(401, error.code)

    def test_reader_reads_but_cannot_act(self):
        self.ensure_flavor()
        server = self.create_server('alpha-member', 'ks-read')
        listed = self.servers('alpha-reader')
        self.assertEqual([server.id], [s['ID'] for s in listed])
        shown = self.osc('alpha-reader', 'server', 'show', server.id)
        self.assertEqual('ACTIVE', shown['status'])

        stderr = self.osc_refused('alpha-reader', 'server', 'stop',
                                  server.id)
        self.assertIn("Policy doesn't allow os_compute_api:servers:stop",
                      stderr)
        self.assertIn('403', stderr)
        compute = self.sdk('alpha-reader').compute
        image = compute.find_image('cirros', ignore_missing=False)
        flavor = compute.find_flavor(FLAVOR, ignore_missing=False)
        self.assertForbidden(
            self.compute('alpha-reader', 'POST', '/servers', {
                'server': {'name': 'nope', 'flavorRef': flavor.id,
                           'imageRef': image.id, 'networks': 'none'}},
                version='2.37'),
            'os_compute_api:servers:create')
        self.assertForbidden(
            self.compute('alpha-reader', 'POST',
                         f'/servers/{server.id}/action',
                         {'reboot': {'type': 'SOFT'}}),
            'os_compute_api:servers:reboot')
        self.assertForbidden(
            self.compute('alpha-reader', 'DELETE', f'/servers/{server.id}'),
            'os_compute_api:servers:delete')
        self.assertEqual('ACTIVE', self.osc(
            'alpha-member', 'server', 'show', server.id)['status'])

    def test_member_acts_in_its_project_only(self):
        self.ensure_flavor()
        server = self.create_server('alpha-member', 'ks-member')
        self.osc('alpha-member', 'server', 'stop', server.id, parse=False)
        conn = self.sdk('alpha-member')
        conn.compute.wait_for_server(server, status='SHUTOFF',
                                     wait=WAIT_TIMEOUT)
        self.osc('alpha-member', 'server', 'start', server.id, parse=False)
        conn.compute.wait_for_server(server, status='ACTIVE',
                                     wait=WAIT_TIMEOUT)
        self.osc('alpha-member', 'server', 'reboot', '--hard', '--wait',
                 server.id, parse=False)
        events = self.osc('alpha-member', 'server', 'event', 'list',
                          server.id)
        actions = {e['Action'] for e in events}
        self.assertTrue({'create', 'stop', 'start', 'reboot'} <= actions,
                        actions)

        # Another project's member: the server does not exist for it.
        self.assertEqual([], self.servers('beta-member'))
        stderr = self.osc_refused('beta-member', 'server', 'show',
                                  server.id)
        self.assertIn(f'No Server found for {server.id}', stderr)
        for method, path, body in (
                ('GET', f'/servers/{server.id}', None),
                ('POST', f'/servers/{server.id}/action', {'os-stop': None}),
                ('DELETE', f'/servers/{server.id}', None)):
            response = self.compute('beta-member', method, path, body)
            self.assertEqual(404, response.status_code, response.text)
            self.assertEqual(404, response.json()['itemNotFound']['code'])
        # Listing every project's servers is admin-only (403, upstream).
        self.assertForbidden(
            self.compute('beta-member', 'GET', '/servers?all_tenants=1'),
            'os_compute_api:servers:index:get_all_tenants')
        self.assertEqual('ACTIVE', conn.compute.get_server(server.id).status)

    def test_admin_everywhere(self):
        self.ensure_flavor()
        alpha = self.create_server('alpha-member', 'ks-alpha')
        beta = self.create_server('beta-member', 'ks-beta')
        everything = self.servers('cloud-admin', '--all-projects')
        ids = {s['ID'] for s in everything}
        self.assertTrue({alpha.id, beta.id} <= ids, everything)
        # The admin acts on another project's server.
        self.osc('cloud-admin', 'server', 'stop', beta.id, parse=False)
        self.sdk('beta-member').compute.wait_for_server(
            beta, status='SHUTOFF', wait=WAIT_TIMEOUT)

        hypervisors = self.osc('cloud-admin', 'hypervisor', 'list')
        self.assertTrue(hypervisors)
        services = self.osc('cloud-admin', 'compute', 'service', 'list')
        self.assertIn('nova-compute', {s['Binary'] for s in services})

        # The admin APIs refuse a project member.
        self.assertForbidden(
            self.compute('alpha-member', 'GET', '/os-hypervisors'),
            'os_compute_api:os-hypervisors:list')
        self.assertForbidden(
            self.compute('alpha-member', 'GET', '/os-services'),
            'os_compute_api:os-services:list')
        stderr = self.osc_refused('alpha-member', 'flavor', 'create',
                                  '--ram', '64', '--disk', '1', 'm1.nope')
        self.assertIn(
            "Policy doesn't allow os_compute_api:os-flavor-manage:create",
            stderr)
        query = urllib.parse.urlencode({'all_tenants': '1'})
        self.assertForbidden(
            self.compute('alpha-member', 'GET', f'/servers/detail?{query}'),
            'os_compute_api:servers:detail:get_all_tenants')

    def test_image_volume_and_network_through_the_catalog(self):
        """The in-tree image, volume and network APIs behind the same
        Keystone: found in the catalog, and project-scoped by the roles
        of real tokens."""
        self.assertEqual(
            {'compute', 'image', 'block-storage', 'volumev3', 'network'},
            set(self.registered))
        self.assertIn('cirros', {i['Name'] for i in self.osc(
            'alpha-reader', 'image', 'list')})
        self.assertTrue(self.osc('alpha-reader', 'network', 'list'))

        # A member creates a volume and a port in its project ...
        volume = self.osc('alpha-member', 'volume', 'create', '--size', '1',
                          'ks-volume')
        self.addCleanup(self.run_osc, 'alpha-member', 'volume', 'delete',
                        volume['id'])
        network = self.osc('alpha-member', 'network', 'list')[0]['ID']
        port = self.osc('alpha-member', 'port', 'create', '--network',
                        network, 'ks-port')
        self.addCleanup(self.run_osc, 'alpha-member', 'port', 'delete',
                        port['id'])
        # ... which its reader sees but may not add to ...
        self.assertIn(volume['id'], {v['ID'] for v in self.osc(
            'alpha-reader', 'volume', 'list')})
        self.osc_refused('alpha-reader', 'volume', 'create', '--size', '1',
                         'ks-nope')
        # ... another project's member does not see at all ...
        self.assertNotIn(volume['id'], {v['ID'] for v in self.osc(
            'beta-member', 'volume', 'list')})
        self.osc_refused('beta-member', 'volume', 'show', volume['id'])
        self.assertNotIn(port['id'], {p['ID'] for p in self.osc(
            'beta-member', 'port', 'list')})
        # ... and an admin sees across projects.
        self.assertIn(volume['id'], {v['ID'] for v in self.osc(
            'cloud-admin', 'volume', 'list', '--all-projects')})

    def volume_status(self, user: str, volume_id: str, status: str) -> None:
        """Wait (openstacksdk, polling the volume API) until the volume
        has ``status``."""
        storage = self.sdk(user).block_storage
        storage.wait_for_status(storage.get_volume(volume_id), status,
                                failures=['error'], interval=0.2,
                                wait=WAIT_TIMEOUT)

    def test_cli_end_to_end_with_real_tokens(self):
        """The openstack CLI, logged in with real passwords and finding
        every service in the catalog, through one server's life: an
        image uploaded, downloaded and deleted; a server booted from a
        volume created from that image, on a network (--nic net-id=) and
        on the member's own port (--port); a volume attached and
        detached; and what a reader, another project's member and an
        admin may do meanwhile."""
        self.ensure_flavor()
        tmp = self.useFixture(fixtures.TempDir()).path
        data = os.urandom(64 * 1024 + 17)
        disk = os.path.join(tmp, 'disk.raw')
        with open(disk, 'wb') as f:
            f.write(data)

        # Images: a reader may not upload; a member uploads in its
        # project; its reader downloads it; another project does not
        # see it.
        response = self.sdk('alpha-reader').session.post(
            '/v2/images', json={'name': 'ks-nope', 'disk_format': 'raw',
                                'container_format': 'bare'},
            raise_exc=False, endpoint_filter={'service_type': 'image'})
        self.assertEqual(403, response.status_code, response.text)
        image = self.osc('alpha-member', 'image', 'create', '--file', disk,
                         '--disk-format', 'raw', 'ks-image')
        self.addCleanup(self.run_osc, 'alpha-member', 'image', 'delete',
                        image['id'])
        self.assertEqual(('active', len(data)),
                         (image['status'], image['size']))
        saved = os.path.join(tmp, 'saved.raw')
        self.osc('alpha-reader', 'image', 'save', '--file', saved,
                 image['id'], parse=False)
        with open(saved, 'rb') as f:
            self.assertEqual(data, f.read())
        self.assertIn(image['id'], {i['ID'] for i in self.osc(
            'alpha-reader', 'image', 'list')})
        self.assertIsNone(self.sdk('beta-member').image.find_image(
            image['id']))

        # The network and the member's own port.
        network = self.osc('alpha-member', 'network', 'list')[0]['ID']
        port = self.osc('alpha-member', 'port', 'create', '--network',
                        network, 'ks-port')
        self.addCleanup(self.run_osc, 'alpha-member', 'port', 'delete',
                        port['id'])

        # One server: its root disk a volume made from the image, a port
        # on the network and the member's port.
        server = self.osc(
            'alpha-member', 'server', 'create', '--flavor', FLAVOR,
            '--image', image['id'], '--boot-from-volume', '1',
            '--delete-on-termination', '--nic', f'net-id={network}',
            '--port', port['id'], '--wait', 'ks-e2e')
        self.addCleanup(self._delete_server, server['id'])
        self.assertEqual('ACTIVE', server['status'])
        ports = {p['ID']: p for p in self.osc(
            'alpha-reader', 'port', 'list', '--server', server['id'])}
        self.assertEqual(2, len(ports), ports)
        self.assertIn(port['id'], ports)
        self.assertFalse(set(ports) & {
            p.id for p in self.sdk('beta-member').network.ports()})
        (root,) = self.osc('alpha-reader', 'server', 'show',
                           server['id'])['volumes_attached']

        # A data volume: the reader may not attach it, another project
        # does not find the server, the member attaches it and the
        # admin detaches it.
        volume = self.osc('alpha-member', 'volume', 'create', '--size',
                          '1', 'ks-data')['id']
        self.addCleanup(self.run_osc, 'alpha-member', 'volume', 'delete',
                        volume)
        attach = (f'/servers/{server["id"]}/os-volume_attachments',
                  {'volumeAttachment': {'volumeId': volume}})
        self.assertForbidden(
            self.compute('alpha-reader', 'POST', *attach),
            'os_compute_api:os-volumes-attachments:create')
        response = self.compute('beta-member', 'POST', *attach)
        self.assertEqual(404, response.status_code, response.text)
        self.osc('alpha-member', 'server', 'add', 'volume', server['id'],
                 volume, parse=False)
        self.volume_status('alpha-reader', volume, 'in-use')
        self.assertEqual(
            [root['id'], volume],
            [v['id'] for v in self.osc('alpha-member', 'server', 'show',
                                       server['id'])['volumes_attached']])
        self.osc('cloud-admin', 'server', 'remove', 'volume', server['id'],
                 volume, parse=False)
        self.volume_status('alpha-reader', volume, 'available')
        self.osc('alpha-member', 'volume', 'delete', volume, parse=False)

        # The end: the root volume goes with the server, the member's
        # port stays, free; the image is deleted.
        self.osc('alpha-member', 'server', 'delete', '--wait',
                 server['id'], parse=False)
        volumes = {v['ID'] for v in self.osc('cloud-admin', 'volume',
                                             'list', '--all-projects')}
        self.assertFalse({root['id'], volume} & volumes, volumes)
        self.assertEqual('', self.sdk('alpha-member').network.get_port(
            port['id']).device_id)
        self.osc('alpha-member', 'image', 'delete', image['id'],
                 parse=False)
        self.assertNotIn(image['id'], {i['ID'] for i in self.osc(
            'alpha-member', 'image', 'list')})
