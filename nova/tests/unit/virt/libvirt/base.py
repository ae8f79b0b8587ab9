"""What the libvirt driver's unit tests share.

The tests run the real driver against libvirt's test driver
(``test:///<node.xml>``: no daemon, a private hypervisor per connection
that keeps domains, their states, managed saves and snapshots, but runs
nothing and cannot hot-plug), with real qemu-img for disk files, and a
fake image service holding small files.

They need the libvirt Python binding and qemu-img: without them they are
skipped, unless NOVA_TEST_REQUIRE_SERVICES=1, where they fail
(``tools/install-libvirt.sh`` installs both).
"""

from __future__ import annotations

import os
import shutil
import uuid as uuid_lib
from typing import Any

import fixtures
import testtools
from oslo_config import fixture as config_fixture

import nova.conf
from nova import exception, test
from nova.tests.fixtures import services
from nova.virt.libvirt import config, driver, host

CONF = nova.conf.CONF

NODE_XML = '''<node>
  <cpu>
    <mhz>2000</mhz><model>x86_64</model><active>8</active>
    <nodes>1</nodes><sockets>1</sockets><cores>4</cores><threads>2</threads>
  </cpu>
  <memory>16777216</memory>
</node>
'''


def require(test: testtools.TestCase, what: str, present: bool) -> None:
    """Skip ``test`` unless ``present``; fail it instead when services
    are required (CI).
    """
    if present:
        return
    message = f'{what} is not installed (tools/install-libvirt.sh)'
    if services.services_required():
        test.fail(f'{message}, and {services.REQUIRE_ENV}=1 requires it')
    test.skipTest(f'{message}; set {services.REQUIRE_ENV}=1 to fail '
                  f'instead')


def require_libvirt(test: testtools.TestCase) -> None:
    require(test, 'the libvirt Python binding', host.libvirt is not None)


def require_qemu_img(test: testtools.TestCase) -> None:
    require(test, 'qemu-img (qemu-utils)',
            shutil.which('qemu-img') is not None)


class FakeImageAPI:
    """An image service of local files, recording uploads."""

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self.images: dict[str, dict[str, Any]] = {}
        self.updates: list[tuple[str, dict[str, Any], bytes]] = []
        self.fetched: list[str] = []

    def add(self, image_id: str, data: bytes = b'', disk_format: str = 'raw',
            size: int | None = None, **properties: Any) -> dict[str, Any]:
        path = os.path.join(self.directory, image_id)
        with open(path, 'wb') as f:
            f.write(data)
            if size:
                f.truncate(size)
        image = {'id': image_id, 'disk_format': disk_format,
                 'status': 'active', 'size': os.path.getsize(path),
                 'path': path, 'properties': properties}
        self.images[image_id] = image
        return image

    def get(self, context: Any, image_id: str) -> dict[str, Any]:
        try:
            return dict(self.images[image_id])
        except KeyError:
            raise exception.ImageNotFound(image_id=image_id) from None

    def get_path(self, context: Any, image_id: str) -> str:
        self.fetched.append(image_id)
        return self.get(context, image_id)['path']

    def update(self, context: Any, image_id: str, meta: dict[str, Any],
               data: str | None = None) -> dict[str, Any]:
        copy = b''
        if data is not None:
            with open(data, 'rb') as f:
                copy = f.read()
        self.updates.append((image_id, meta, copy))
        return meta


class LibvirtTestCase(test.TestCase):
    """A LibvirtDriver on a fresh test:/// hypervisor, with images:

    ``machine`` (raw, with ``kernel_id`` / ``ramdisk_id`` properties),
    ``kernel``, ``ramdisk`` and ``disk-only`` (qcow2, no kernel).
    """

    def setUp(self) -> None:
        super().setUp()
        require_libvirt(self)
        require_qemu_img(self)
        self.tmp = self.useFixture(fixtures.TempDir()).path
        node = os.path.join(self.tmp, 'node.xml')
        with open(node, 'w') as f:
            f.write(NODE_XML)
        self.config = self.useFixture(config_fixture.Config(CONF))
        self.config.config(group='libvirt', connection_uri=f'test://{node}',
                           virt_type='qemu')
        self.config.config(instances_path=os.path.join(self.tmp, 'instances'))
        images_dir = os.path.join(self.tmp, 'images')
        os.makedirs(images_dir)
        self.images = FakeImageAPI(images_dir)
        self.images.add('kernel', b'kernel', 'aki')
        self.images.add('ramdisk', b'ramdisk', 'ari')
        self.machine = self.images.add(
            'machine', b'root disk', 'ami', size=1024 * 1024,
            kernel_id='kernel', ramdisk_id='ramdisk',
            os_command_line='console=ttyS0 quiet')
        qcow2 = os.path.join(self.tmp, 'disk-only.qcow2')
        from nova.virt.libvirt import images
        images.create_blank(qcow2, 64 * 1024 * 1024)
        with open(qcow2, 'rb') as f:
            self.disk_only = self.images.add('disk-only', f.read(), 'qcow2')
        self.driver = self.new_driver()

    def new_driver(self) -> driver.LibvirtDriver:
        drv = driver.LibvirtDriver(conf=CONF)
        drv.image_api = self.images
        drv.init_host('test-host')
        self.addCleanup(drv.cleanup_host, 'test-host')
        return drv

    @property
    def conn(self) -> Any:
        return self.driver._host.get_connection()

    @staticmethod
    def instance(uuid: str | None = None, image: str = 'machine',
                 **values: Any) -> dict[str, Any]:
        values.setdefault('memory_mb', 256)
        values.setdefault('vcpus', 2)
        values.setdefault('root_gb', 1)
        values.setdefault('ephemeral_gb', 0)
        values.setdefault('swap', 0)
        values.setdefault('display_name', 'test')
        values.setdefault('flavor', {'name': 'm1.test'})
        return dict(values, uuid=uuid or str(uuid_lib.uuid4()),
                    image_ref=image)

    def spawn(self, instance: dict[str, Any] | None = None,
              image: str | None = None, **kwargs: Any) -> dict[str, Any]:
        instance = instance or self.instance()
        image_meta = self.images.get(None, image or instance['image_ref'])
        self.driver.spawn(None, instance, image_meta, [], None, None,
                          **kwargs)
        return instance

    def domain_xml(self, instance: dict[str, Any]) -> Any:
        dom = self.conn.lookupByUUIDString(instance['uuid'])
        return config.parse(dom.XMLDesc(0))
