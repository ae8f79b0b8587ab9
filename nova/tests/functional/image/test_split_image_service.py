"""A split deployment: nova-compute reaches images only through the
Image API v2 of nova-image-api, each its own process.

nova-compute runs with ``[image] backend = nova.image.glance.
GlanceImageAPI`` and ``[glance]`` pointing at nova-image-api (noauth2,
``admin_token`` credentials for requests without a user token), and an
``[image] images_path`` holding nothing: it boots a server, and uploads
its snapshot through the REST API with the user's token carried over
RPC.  The test process plays nova-api and nova-conductor
(multiprocess.ProcessCloud: MariaDB and RabbitMQ, which must be there
under NOVA_TEST_REQUIRE_SERVICES=1).
"""

from __future__ import annotations

import os
import re
import socket

from nova import test
from nova.compute import vm_states
from nova.flow.testing import wait_for
from nova.image import local
from nova.tests.functional import multiprocess

# The tree under test, first on the service processes' path (the console
# scripts would otherwise import whichever tree the venv installed).
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__))))))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


class TestSplitImageService(test.TestCase):

    def setUp(self):
        super().setUp()
        self.cloud = self.useFixture(multiprocess.ProcessCloud(
            self, 'mysql', options={'DEFAULT': {
                'rpc_response_timeout': '10'}}))
        port = _free_port()
        # oslo.log's file handler writes each record at once (stdout,
        # which the service's console log is, is buffered).
        self.request_log = os.path.join(self.cloud.dir, 'image1-api.log')
        endpoint = f'http://127.0.0.1:{port}'
        self.cloud.start(
            'nova-image-api', 'image1', options={
                'DEFAULT': {'image_api_listen': '127.0.0.1',
                            'image_api_listen_port': str(port),
                            'log_file': self.request_log},
                'api': {'auth_strategy': 'noauth2'},
                # The test cloud's store (its image is there).
                'image': {'images_path': os.path.join(self.cloud.dir,
                                                      'images')}},
            PYTHONPATH=ROOT)
        self.cloud.start('nova-compute', 'compute1', options={
            'image': {'backend': 'nova.image.glance.GlanceImageAPI',
                      'images_path': os.path.join(self.cloud.dir,
                                                  'no-images-here')},
            'glance': {'auth_type': 'admin_token', 'endpoint': endpoint,
                       'token': 'admin:admin',
                       'endpoint_override': endpoint}},
            PYTHONPATH=ROOT)
        wait_for(
            lambda: self.cloud.db.compute_node_get_all(self.cloud.ctx),
            60, 'compute1 to report')

    def requests(self) -> list[str]:
        """The requests nova-image-api served: 'user project METHOD
        path status' (the user and project its context had)."""
        with open(self.request_log, errors='replace') as log:
            return [' '.join(m.groups()) for m in re.finditer(
                r'req-\S+ (\S+) (\S+) [^]]*\] \S+ "(\w+) (\S+)" '
                r'status: (\d+)', log.read())]

    def test_boot_and_snapshot_through_the_image_api(self):
        ctx = self.cloud.user_context()
        # noauth2's token for the user: the compute host sends it, so the
        # image service acts as the user.
        ctx.auth_token = 'demo:demo'
        instance = self.cloud.boot(ctx)
        # The fake driver reads no image data to boot (the libvirt
        # driver downloads it through the same client).
        self.cloud.wait_for_state(instance['uuid'], vm_states.ACTIVE)

        image = self.cloud.compute_api.snapshot(
            ctx, self.cloud.instance(instance['uuid']), 'split-snap')
        store = local.LocalImageAPI()
        snapshot = wait_for(
            lambda: (lambda i: i if i['status'] == 'active' else None)(
                store.get(ctx, image['id'])),
            60, 'the snapshot to be active')
        self.assertEqual(('demo', 'private'),
                         (snapshot['owner'], snapshot['visibility']))
        self.assertGreater(snapshot['size'], 0)
        # The user's token reached the image API (noauth2 made the
        # context from it); the request is logged once answered.
        upload = f'demo demo PUT /v2/images/{image["id"]}/file 204'
        wait_for(lambda: upload in self.requests(), 30,
                 'the upload in the image API request log')
        self.assertFalse(os.path.exists(os.path.join(
            self.cloud.dir, 'no-images-here', image['id'])))
