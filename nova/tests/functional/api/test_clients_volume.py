"""The Block Storage API with the unmodified openstack CLI.

One nova-all (test_clients' harness) serves the compute API at its root
and the volume API at ``/volume``; the CLI reaches the latter through
``OS_BLOCK_STORAGE_ENDPOINT_OVERRIDE`` (clouds.yaml
``block_storage_endpoint_override``).  The scenarios: volume create /
list / show / set --size / delete, ``server add volume`` / ``server remove
volume`` (the compute API's attach and detach flows move the volume
through its states, which the CLI reads back), and boot from a volume.

TestSplitVolumeService is the split deployment: nova-volume in a process
of its own, and a nova-all that does not serve the volume API and whose
compute service reaches volumes through the REST client
(``[volume] backend = nova.volume.cinder.CinderVolumeAPI``, ``[cinder]``
pointing at nova-volume).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from typing import Any

from nova.flow import testing
from nova.tests.functional.api import test_clients
from nova.tests.functional.api.test_clients import NovaAll


class VolumeCloudTestCase(test_clients.NovaAllTestCase):
    """A nova-all with a flavor and the cirros image; the CLI reaches
    the volume API at :attr:`volume_endpoint`."""

    flavors = (('m1.vol', 'vol', 128, 1, 1),)

    @property
    def volume_endpoint(self) -> str:
        return f'http://127.0.0.1:{self.cloud.port}/volume/v3'

    def volume_api(self, method: str, path: str, body: Any = None,
                   version: str | None = None,
                   ) -> tuple[int, Any, Any]:
        """A raw request to the volume API: (status, headers, body)."""
        req = urllib.request.Request(
            self.volume_endpoint + path, method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={'X-Auth-Token': test_clients.TOKEN,
                     'Content-Type': 'application/json'})
        if version:
            req.add_header('OpenStack-API-Version', f'volume {version}')
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                status, headers, data = (resp.status, resp.headers,
                                         resp.read())
        except urllib.error.HTTPError as error:
            status, headers, data = error.code, error.headers, error.read()
        return status, headers, json.loads(data) if data else None

    def run_osc(self, *args: str) -> subprocess.CompletedProcess:
        """The openstack CLI as test_clients runs it, with the volume
        API's endpoint override (clouds.yaml
        ``block_storage_endpoint_override``)."""
        env = dict(os.environ, OS_AUTH_TYPE='admin_token',
                   OS_ENDPOINT=self.cloud.endpoint,
                   OS_TOKEN=test_clients.TOKEN,
                   OS_IDENTITY_ENDPOINT_OVERRIDE=self.cloud.endpoint,
                   OS_IDENTITY_API_VERSION='3',
                   OS_BLOCK_STORAGE_ENDPOINT_OVERRIDE=self.volume_endpoint)
        for key in ('OS_CLOUD', 'OS_AUTH_URL', 'OS_USERNAME',
                    'OS_PASSWORD', 'OS_PROJECT_NAME'):
            env.pop(key, None)
        return subprocess.run([test_clients.OPENSTACK, *args],
                              capture_output=True, text=True, env=env,
                              timeout=test_clients.WAIT_TIMEOUT + 60)

    def osc(self, *args: str, parse: bool = True) -> Any:
        result = self.run_osc(*args, *(['-f', 'json'] if parse else []))
        if result.returncode != 0:
            self.fail(f'openstack {" ".join(args)} failed:\n'
                      f'{result.stderr}\n--- nova-all ---\n'
                      f'{self.cloud.output()}')
        return json.loads(result.stdout) if parse else result.stdout

    def _osc_fails(self, *args: str) -> str:
        """Run a command that must fail; its stderr."""
        result = self.run_osc(*args)
        self.assertNotEqual(0, result.returncode, result.stdout)
        return result.stderr

    def wait_for(self, predicate: Any, what: str) -> Any:
        return testing.wait_for(predicate, test_clients.WAIT_TIMEOUT, what)

    def volume_status(self, name: str) -> str:
        return self.osc('volume', 'show', name)['status']



class TestVolumeClients(VolumeCloudTestCase):

    def test_volume_lifecycle(self):
        created = self.osc('volume', 'create', '--size', '1', 'cli-vol')
        self.assertEqual(('cli-vol', 1), (created['name'], created['size']))
        volume_id = created['id']

        listed = self.osc('volume', 'list')
        self.assertIn(('cli-vol', 'available', 1),
                      [(v['Name'], v['Status'], v['Size']) for v in listed])
        shown = self.osc('volume', 'show', 'cli-vol')
        self.assertEqual((volume_id, 'available', False),
                         (shown['id'], shown['status'], shown['bootable']))

        self.osc('volume', 'set', '--size', '2', 'cli-vol', parse=False)
        self.assertEqual(2, self.osc('volume', 'show', volume_id)['size'])

        self.osc('volume', 'delete', 'cli-vol', parse=False)
        self.assertNotIn(volume_id,
                         [v['ID'] for v in self.osc('volume', 'list')])
        status, _headers, body = self.volume_api('GET',
                                                 f'/volumes/{volume_id}')
        self.assertEqual(404, status)
        self.assertEqual(404, body['itemNotFound']['code'])

    def test_microversions_and_errors(self):
        status, headers, body = self.volume_api(
            'POST', '/volumes', {'volume': {'size': 1, 'name': 'mv'}},
            version='3.65')
        self.assertEqual(202, status)
        self.assertEqual('volume 3.65', headers['OpenStack-API-Version'])
        self.assertIs(True, body['volume']['consumes_quota'])
        volume_id = body['volume']['id']
        status, headers, body = self.volume_api('GET',
                                                f'/volumes/{volume_id}')
        self.assertEqual('volume 3.0', headers['OpenStack-API-Version'])
        self.assertNotIn('group_id', body['volume'])
        status, _headers, body = self.volume_api(
            'GET', f'/volumes/{volume_id}', version='3.99')
        self.assertEqual(406, status)
        status, _headers, body = self.volume_api(
            'POST', '/volumes', {'volume': {'size': 0}})
        self.assertEqual(400, status)
        self.assertIn('badRequest', body)
        status, _headers, body = self.volume_api(
            'POST', '/volumes', {'volume': {'size': 1,
                                            'description': 'kept?'}})
        self.assertEqual(400, status, 'a description would be lost')
        status, _headers, body = self.volume_api(
            'POST', f'/volumes/{volume_id}/action',
            {'os-extend': {'new_size': 1}})
        self.assertEqual(400, status)
        # Another project sees none of it.
        req = urllib.request.Request(
            f'{self.volume_endpoint}/volumes/{volume_id}',
            headers={'X-Auth-Token': 'other:other'})
        error = self.assertRaises(urllib.error.HTTPError,
                                  urllib.request.urlopen, req, timeout=30)
        self.assertEqual(404, error.code)
        self.assertEqual(202, self.volume_api('DELETE',
                                              f'/volumes/{volume_id}')[0])

    def test_server_add_and_remove_volume(self):
        server = self.osc('server', 'create', '--flavor', 'm1.vol',
                          '--image', 'cirros', '--wait', 'vol-vm')
        volume_id = self.osc('volume', 'create', '--size', '1',
                             'data-vol')['id']

        self.osc('server', 'add', 'volume', 'vol-vm', 'data-vol',
                 parse=False)
        self.wait_for(lambda: self.volume_status('data-vol') == 'in-use',
                      'the volume to be in-use')
        shown = self.osc('volume', 'show', 'data-vol')
        (attachment,) = shown['attachments']
        self.assertEqual(server['id'], attachment['server_id'])
        self.assertTrue(attachment['device'].startswith('/dev/'))
        listed = {v['ID']: v for v in self.osc('volume', 'list')}
        self.assertEqual([server['id']], [
            a['server_id'] for a in listed[volume_id]['Attached to']])
        # The server lists it too (os-extended-volumes:volumes_attached).
        self.assertEqual(
            [{'id': volume_id, 'delete_on_termination': False}],
            self.osc('server', 'show', 'vol-vm')['volumes_attached'])
        # Attached: neither deleted nor extended.
        result = self._osc_fails('volume', 'delete', 'data-vol')
        self.assertIn('data-vol', result)
        self._osc_fails('volume', 'set', '--size', '3', 'data-vol')

        self.osc('server', 'remove', 'volume', 'vol-vm', 'data-vol',
                 parse=False)
        self.wait_for(lambda: self.volume_status('data-vol') == 'available',
                      'the volume to be available')
        self.assertEqual([], self.osc('volume', 'show',
                                      'data-vol')['attachments'])
        self.assertEqual(
            [], self.osc('server', 'show', 'vol-vm')['volumes_attached'])
        self.osc('server', 'delete', '--wait', 'vol-vm', parse=False)
        self.osc('volume', 'delete', 'data-vol', parse=False)

    def test_boot_from_volume(self):
        volume_id = self.osc('volume', 'create', '--size', '1',
                             'boot-vol')['id']
        server = self.osc('server', 'create', '--flavor', 'm1.vol',
                          '--volume', 'boot-vol', '--wait', 'bfv-vm')
        self.assertEqual('ACTIVE', server['status'])
        self.assertEqual('in-use', self.volume_status('boot-vol'))
        (attachment,) = self.osc('volume', 'show',
                                 'boot-vol')['attachments']
        self.assertEqual(server['id'], attachment['server_id'])
        self.osc('server', 'delete', '--wait', 'bfv-vm', parse=False)
        self.wait_for(lambda: self.volume_status(volume_id) == 'available',
                      'the boot volume to be available again')
        self.osc('volume', 'delete', volume_id, parse=False)

    def test_boot_from_volume_created_from_the_image(self):
        """``--boot-from-volume 1``: nova creates a 1 GiB volume from the
        image and boots from it; the client asks to keep it at delete
        (delete_on_termination false) unless told otherwise."""
        server = self.osc('server', 'create', '--flavor', 'm1.vol',
                          '--image', 'cirros', '--boot-from-volume', '1',
                          '--wait', 'bfv-image')
        self.assertEqual('ACTIVE', server['status'])
        (volume,) = [v for v in self.osc('volume', 'list')
                     if server['id'] in str(v['Attached to'])]
        self.assertEqual((1, 'in-use'), (volume['Size'], volume['Status']))
        shown = self.osc('volume', 'show', volume['ID'])
        self.assertEqual([server['id']],
                         [a['server_id'] for a in shown['attachments']])
        self.osc('server', 'delete', '--wait', 'bfv-image', parse=False)
        self.assertEqual('available', self.volume_status(volume['ID']))
        self.osc('volume', 'delete', volume['ID'], parse=False)

    def test_boot_from_volume_deleted_on_termination(self):
        server = self.osc('server', 'create', '--flavor', 'm1.vol',
                          '--image', 'cirros', '--boot-from-volume', '1',
                          '--delete-on-termination', '--wait', 'bfv-dot')
        self.assertEqual('ACTIVE', server['status'])
        (volume,) = [v for v in self.osc('volume', 'list')
                     if server['id'] in str(v['Attached to'])]
        self.osc('server', 'delete', '--wait', 'bfv-dot', parse=False)
        self.assertNotIn(volume['ID'],
                         [v['ID'] for v in self.osc('volume', 'list')])

    def test_boot_from_volume_without_size_is_refused(self):
        image_id = self.osc('image', 'show', 'cirros')['id']
        error = self._osc_fails(
            'server', 'create', '--flavor', 'm1.vol', '--block-device',
            f'source_type=image,destination_type=volume,uuid={image_id},'
            f'boot_index=0', 'bfv-nosize')
        self.assertIn("Images with destination_type 'volume' need to have "
                      "a non-zero size specified", error)


class NovaVolume:
    """A nova-volume process on nova-all's configuration and database."""

    def __init__(self, nova: NovaAll) -> None:
        self.state = nova.state
        self.conf = os.path.join(nova.state, 'nova-volume.conf')
        self.port_file = os.path.join(nova.state, 'volume.port')
        with open(nova.conf) as f:
            text = f.read()
        with open(self.conf, 'w') as f:
            # oslo.config merges repeated sections; the last value wins.
            f.write(text + f"""
[DEFAULT]
volume_api_listen = 127.0.0.1
volume_api_listen_port = 0
log_file = {nova.state}/nova-volume.log

[wsgi]
port_file = {self.port_file}
""")
        self.log = open(os.path.join(nova.state, 'nova-volume.out'), 'w')
        self.process = subprocess.Popen(
            [sys.executable, '-c', 'import sys; from nova.cmd import '
             'service_api; sys.exit(service_api.main_volume())',
             '--config-file', self.conf],
            stdout=self.log, stderr=subprocess.STDOUT)
        self.port = int(testing.wait_for(self._port, test_clients.
                                         START_TIMEOUT, 'nova-volume'))

    def _port(self) -> str | None:
        if self.process.poll() is not None:
            raise RuntimeError('nova-volume exited:\n' + self.output())
        try:
            with open(self.port_file) as f:
                text = f.read().strip()
        except FileNotFoundError:
            return None
        if not text:
            return None
        try:
            urllib.request.urlopen(f'http://127.0.0.1:{text}/', timeout=5)
        except urllib.error.HTTPError:
            return text  # 300 Multiple Choices: it answers
        except OSError:
            return None
        return text

    def output(self) -> str:
        self.log.flush()
        with open(os.path.join(self.state, 'nova-volume.out')) as f:
            return f.read()[-20000:]

    def requests(self) -> str:
        """nova-volume's log (its request lines)."""
        with open(os.path.join(self.state, 'nova-volume.log')) as f:
            return f.read()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)
        self.log.close()


class TestSplitVolumeService(VolumeCloudTestCase):

    volume_service: NovaVolume | None = None

    @classmethod
    def prepare(cls, nova: NovaAll) -> None:
        cls.volume_service = NovaVolume(nova)
        endpoint = f'http://127.0.0.1:{cls.volume_service.port}/v3'
        with open(nova.conf, 'a') as f:
            f.write(f"""
[DEFAULT]
enabled_apis = osapi_compute

[volume]
backend = nova.volume.cinder.CinderVolumeAPI

[cinder]
endpoint_override = {endpoint}
auth_type = admin_token
endpoint = {endpoint}
token = admin:admin
""")

    @classmethod
    def tearDownClass(cls) -> None:
        if cls.volume_service is not None:
            cls.volume_service.stop()
        super().tearDownClass()

    @property
    def volume_endpoint(self) -> str:
        assert self.volume_service is not None
        return f'http://127.0.0.1:{self.volume_service.port}/v3'

    def test_compute_attaches_through_nova_volume(self):
        assert self.volume_service is not None
        # nova-all does not serve the volume API itself.
        error = self.assertRaises(
            urllib.error.HTTPError, urllib.request.urlopen,
            f'http://127.0.0.1:{self.cloud.port}/volume/', timeout=30)
        self.assertEqual(404, error.code)

        server = self.osc('server', 'create', '--flavor', 'm1.vol',
                          '--image', 'cirros', '--wait', 'split-vm')
        volume_id = self.osc('volume', 'create', '--size', '1',
                             'split-vol')['id']
        self.osc('server', 'add', 'volume', 'split-vm', 'split-vol',
                 parse=False)
        self.wait_for(lambda: self.volume_status('split-vol') == 'in-use',
                      'the volume to be in-use')
        (attachment,) = self.osc('volume', 'show',
                                 'split-vol')['attachments']
        self.assertEqual(server['id'], attachment['server_id'])
        # The compute service changed the volume's state over REST.
        log = self.volume_service.requests()
        self.assertIn(f'POST /v3/volumes/{volume_id}/action', log)

        self.osc('server', 'remove', 'volume', 'split-vm', 'split-vol',
                 parse=False)
        self.wait_for(lambda: self.volume_status('split-vol') ==
                      'available', 'the volume to be available')
        self.osc('server', 'delete', '--wait', 'split-vm', parse=False)
        self.osc('volume', 'delete', 'split-vol', parse=False)

    def test_boot_from_volume_through_nova_volume(self):
        """The root volume is created from the image by nova-volume
        (POST /v3/volumes with imageRef from the compute service)."""
        assert self.volume_service is not None
        server = self.osc('server', 'create', '--flavor', 'm1.vol',
                          '--image', 'cirros', '--boot-from-volume', '1',
                          '--delete-on-termination', '--wait',
                          'split-bfv')
        self.assertEqual('ACTIVE', server['status'])
        (volume,) = [v for v in self.osc('volume', 'list')
                     if server['id'] in str(v['Attached to'])]
        self.assertIn(f'POST /v3/volumes/{volume["ID"]}/action',
                      self.volume_service.requests())
        self.osc('server', 'delete', '--wait', 'split-bfv', parse=False)
        self.assertNotIn(volume['ID'],
                         [v['ID'] for v in self.osc('volume', 'list')])
