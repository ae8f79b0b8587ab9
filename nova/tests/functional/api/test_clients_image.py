"""The unmodified openstack client against the Image API v2 of a real
nova-all (/image/v2 on the compute API's listener).

``openstack image create --file``, ``image list/show/set/unset/save/
delete`` and ``server image create --wait`` as a user runs them, with
the image endpoint override the local cloud's clouds.yaml has; and
openstacksdk following the API's ``next`` links.  The nova-all harness
is test_clients.py's (one nova-all for the class).
"""

from __future__ import annotations

import os
import random
from typing import Any

import fixtures

from nova.tests.functional.api import test_clients

NovaAll = test_clients.NovaAll


class TestImageClients(test_clients.NovaAllTestCase):

    with_image = False
    flavors = (('m1.img', 'img', 128, 1, 1),)

    #: test_clients.TestClients's openstack client runner (with the
    #: image endpoint override of the local cloud); it needs only
    #: ``cloud`` and the TestCase methods.
    osc: Any = test_clients.TestClients.osc

    def setUp(self) -> None:
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path

    def sdk(self) -> Any:
        """openstacksdk as test_clients has it, with the image endpoint
        override."""
        import openstack
        return openstack.connect(
            auth_type='admin_token',
            auth={'endpoint': self.cloud.endpoint,
                  'token': test_clients.TOKEN},
            identity_endpoint_override=self.cloud.endpoint,
            identity_api_version='3',
            compute_endpoint_override=self.cloud.endpoint,
            image_endpoint_override=self.cloud.endpoint.removesuffix(
                '/v2.1') + '/image')

    def write(self, name: str, size: int) -> tuple[str, bytes]:
        data = random.randbytes(size)
        path = os.path.join(self.tmp, name)
        with open(path, 'wb') as f:
            f.write(data)
        return path, data

    def image_names(self) -> dict[str, str]:
        return {row['Name']: row['Status']
                for row in self.osc('image', 'list')}

    def test_create_list_show_save_set_delete(self):
        path, data = self.write('disk.raw', 3 * 1024 * 1024 + 17)
        created = self.osc('image', 'create', '--file', path,
                           '--disk-format', 'raw', '--property',
                           'os_distro=cirros', 'cli-image')
        self.assertEqual(('active', len(data), 'raw', 'bare'),
                         (created['status'], created['size'],
                          created['disk_format'],
                          created['container_format']))
        self.assertEqual('active', self.image_names()['cli-image'])

        shown = self.osc('image', 'show', 'cli-image')
        self.assertEqual(created['id'], shown['id'])
        self.assertEqual('cirros', shown['properties']['os_distro'])

        out = os.path.join(self.tmp, 'out.raw')
        self.osc('image', 'save', '--file', out, 'cli-image', parse=False)
        with open(out, 'rb') as f:
            self.assertEqual(data, f.read())

        self.osc('image', 'set', '--name', 'cli-image-2', '--private',
                 '--property', 'hw_disk_bus=scsi', 'cli-image',
                 parse=False)
        self.osc('image', 'unset', '--property', 'os_distro',
                 'cli-image-2', parse=False)
        shown = self.osc('image', 'show', 'cli-image-2')
        self.assertEqual(('private', 'scsi'),
                         (shown['visibility'],
                          shown['properties']['hw_disk_bus']))
        self.assertNotIn('os_distro', shown['properties'])

        self.osc('image', 'delete', 'cli-image-2', parse=False)
        self.assertNotIn('cli-image-2', self.image_names())

    def test_server_image_create_wait(self):
        path, _data = self.write('boot.raw', 1024 * 1024)
        self.osc('image', 'create', '--file', path, '--disk-format', 'raw',
                 '--public', 'boot-image')
        server = self.osc('server', 'create', '--flavor', 'm1.img',
                          '--image', 'boot-image', '--wait', 'img-vm')
        self.addCleanup(self.osc, 'server', 'delete', '--wait', 'img-vm',
                        parse=False)
        # --wait polls the image through the Image API (status.lower()).
        output = self.osc('server', 'image', 'create', '--wait', '--name',
                          'img-snap', 'img-vm')
        self.assertEqual(('img-snap', 'active', 'snapshot', server['id']),
                         (output['name'], output['status'],
                          output['properties']['image_type'],
                          output['properties']['instance_uuid']))
        self.assertEqual('active', self.image_names()['img-snap'])
        # The compute API's image proxy still shows it, its own way.
        proxied = self.cloud.api('GET', f'/images/{output["id"]}')['image']
        self.assertEqual(('img-snap', 'ACTIVE'),
                         (proxied['name'], proxied['status']))

    def test_sdk_follows_next_links(self):
        names = {f'page-{n}' for n in range(3)}
        conn: Any = self.sdk()
        for name in names:
            # No data: the image stays queued.
            conn.image.create_image(name, disk_format='raw',
                                    container_format='bare')
        listed = [image.name for image in conn.image.images(limit=1)]
        self.assertTrue(names <= set(listed), listed)
        self.assertEqual(len(listed), len(set(listed)))
        self.assertEqual('queued', conn.image.find_image('page-0').status)
