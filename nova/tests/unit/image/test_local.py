"""The local image store, and ``nova-manage image``."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os

import fixtures
import testscenarios

import nova.conf
from nova import context, exception
from nova.cmd import manage
from nova.db import api as db
from nova.image import api as image_api
from nova.image import local
from nova.tests.unit.db import base

load_tests = testscenarios.load_tests_apply_scenarios
CONF = nova.conf.CONF

DATA = b'QFI\xfb' + bytes(range(256)) * 4000


class _ImageTestCase(base.DBTestCase):

    def setUp(self) -> None:
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path
        CONF.set_override('images_path', os.path.join(self.tmp, 'images'),
                          group='image')
        self.addCleanup(CONF.clear_override, 'images_path', group='image')
        self.images = image_api.API()
        self.source = os.path.join(self.tmp, 'cirros.qcow2')
        with open(self.source, 'wb') as source:
            source.write(DATA)


class LocalImageTestCase(_ImageTestCase):

    def test_create_from_file_copies_and_checksums(self):
        self.assertIsInstance(self.images, local.LocalImageAPI)
        image = self.images.create_from_file(
            self.ctx, self.source, name='cirros', disk_format='qcow2',
            properties={'hw_disk_bus': 'virtio'})
        self.assertEqual('active', image['status'])
        self.assertEqual(len(DATA), image['size'])
        self.assertEqual(hashlib.md5(DATA).hexdigest(), image['checksum'])
        self.assertEqual('sha256', image['os_hash_algo'])
        self.assertEqual(hashlib.sha256(DATA).hexdigest(),
                         image['os_hash_value'])
        self.assertEqual('bare', image['container_format'])
        self.assertEqual({'hw_disk_bus': 'virtio'}, image['properties'])
        self.assertNotEqual(self.source, image['path'])
        with open(image['path'], 'rb') as stored:
            self.assertEqual(DATA, stored.read())
        self.assertEqual(image, self.images.get(self.ctx, image['id']))

    def test_formats_are_validated(self):
        for meta in ({'disk_format': 'floppy'},
                     {'container_format': 'crate'},
                     {'disk_format': 'aki', 'container_format': 'bare'},
                     {'min_ram': -1}, {'visibility': 'everyone'},
                     {'colour': 'blue'}):
            self.assertRaises(exception.Invalid, self.images.create,
                              self.ctx, dict(meta, name='x'), DATA)
        kernel = self.images.create(self.ctx, {'name': 'k',
                                               'disk_format': 'aki'}, DATA)
        self.assertEqual('aki', kernel['container_format'])

    def test_list_filters_and_visibility(self):
        first = self.images.create(self.ctx, {'name': 'a'}, DATA)
        second = self.images.create(self.ctx, {'name': 'b'}, b'x')
        other = context.RequestContext('u2', 'other-project')
        public = self.images.create(other, {'name': 'pub',
                                            'visibility': 'public'}, b'y')
        hidden = self.images.create(other, {'name': 'hidden',
                                            'visibility': 'private'}, b'z')
        self.assertEqual(['a', 'b', 'pub'], [i['name'] for i in
                                            self.images.get_all(
                                                self.ctx, sort_key='name',
                                                sort_dir='asc')])
        self.assertEqual([second['id']], [i['id'] for i in
                                          self.images.get_all(
                                              self.ctx, {'name': 'b'})])
        self.assertEqual({first['id'], public['id']}, {
            i['id'] for i in self.images.get_all(
                self.ctx, {'id': f'in:{first["id"]},{public["id"]}'})})
        self.assertRaises(exception.ImageNotFound, self.images.get,
                          self.ctx, hidden['id'])

    def test_delete_removes_record_and_data(self):
        image = self.images.create(self.ctx, {'name': 'x',
                                              'protected': True}, DATA)
        self.assertRaises(exception.ImageProtected, self.images.delete,
                          self.ctx, image['id'])
        other = context.RequestContext('u2', 'other-project', is_admin=False)
        public = self.images.create(self.ctx, {'name': 'p',
                                               'visibility': 'public'}, DATA)
        self.assertRaises(exception.ImageNotAuthorized, self.images.delete,
                          other, public['id'])
        self.images.update(self.ctx, image['id'], {'protected': False})
        self.images.delete(self.ctx, image['id'])
        self.assertFalse(os.path.exists(image['path']))
        self.assertRaises(exception.ImageNotFound, self.images.get,
                          self.ctx, image['id'])

    def test_snapshot_saving_upload_active(self):
        image = self.images.create_snapshot(
            self.ctx, 'snap', properties={'instance_uuid': 'i1'})
        self.assertEqual('saving', image['status'])
        self.assertEqual('private', image['visibility'])
        self.assertEqual('fake-project', image['owner'])
        self.assertRaises(exception.InvalidImageState, self.images.download,
                          self.ctx, image['id'])
        chunks = [DATA[i:i + 1000] for i in range(0, len(DATA), 1000)]
        active = self.images.upload(self.ctx, image['id'], iter(chunks))
        self.assertEqual('active', active['status'])
        self.assertEqual(hashlib.md5(DATA).hexdigest(), active['checksum'])
        self.assertEqual(b''.join(self.images.download(self.ctx,
                                                       image['id'])), DATA)
        target = os.path.join(self.tmp, 'copy')
        self.images.download(self.ctx, image['id'], dest_path=target)
        with open(target, 'rb') as copy:
            self.assertEqual(DATA, copy.read())
        # Only a queued/saving image takes data.
        self.assertRaises(exception.InvalidImageState, self.images.upload,
                          self.ctx, image['id'], b'again')

    def test_upload_to_image_deleted_meanwhile_keeps_no_data(self):
        image = self.images.create(self.ctx, {'name': 'q'})
        self.assertEqual('queued', image['status'])

        def data():
            yield b'part'
            db.image_destroy(self.ctx, image['id'])
            yield b'rest'

        self.assertRaises(exception.ImageNotFound, self.images.upload,
                          self.ctx, image['id'], data())
        self.assertFalse(os.path.exists(self.images.path(image['id'])))

    def test_failed_upload_kills_the_image(self):
        image = self.images.create(self.ctx, {'name': 'q'})

        def data():
            yield b'part'
            raise OSError('disk full')

        self.assertRaises(OSError, self.images.upload, self.ctx,
                          image['id'], data())
        self.assertEqual('killed', self.images.get(self.ctx,
                                                   image['id'])['status'])
        self.assertEqual([], [n for n in os.listdir(self.images.images_path)
                              if n.startswith('.')])

    def test_update_merges_or_purges_properties(self):
        image = self.images.create(self.ctx, {
            'name': 'x', 'properties': {'a': '1', 'b': '2'}}, DATA)
        updated = self.images.update(self.ctx, image['id'], {
            'name': 'y', 'min_disk': 2, 'properties': {'b': '3'}})
        self.assertEqual(('y', 2, {'a': '1', 'b': '3'}), (
            updated['name'], updated['min_disk'], updated['properties']))
        purged = self.images.update(self.ctx, image['id'],
                                    {'properties': {'c': '4'}},
                                    purge_props=True)
        self.assertEqual({'c': '4'}, purged['properties'])


class ManageImageTestCase(_ImageTestCase):

    def _manage(self, *argv: str) -> tuple[int, str]:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = manage.main(list(argv))
        return code, out.getvalue()

    def test_create_list_show_delete(self):
        code, out = self._manage(
            'image', 'create', '--name', 'cirros', '--file', self.source,
            '--disk-format', 'qcow2', '--property', 'hw_disk_bus=virtio',
            '--property', 'os_distro=cirros')
        self.assertEqual(0, code, out)
        image_id = out.strip()
        image = self.images.get(self.admin, image_id)
        self.assertEqual('public', image['visibility'])
        self.assertEqual({'hw_disk_bus': 'virtio', 'os_distro': 'cirros'},
                         image['properties'])
        code, out = self._manage('image', 'list')
        self.assertEqual(0, code)
        lines = out.splitlines()
        self.assertTrue(lines[0].startswith('id'))
        self.assertIn(image_id, lines[1])
        self.assertIn('cirros', lines[1])
        self.assertIn('active', lines[1])
        code, out = self._manage('image', 'show', image_id)
        self.assertEqual(image_id, json.loads(out)['id'])
        self.assertEqual(0, self._manage('image', 'delete', image_id)[0])
        self.assertEqual(1, self._manage('image', 'show', image_id)[0])

    def test_bad_input_is_refused_with_a_message(self):
        code, out = self._manage('image', 'create', '--name', 'x', '--file',
                                 self.source, '--property', 'novalue')
        self.assertEqual(2, code)
        self.assertIn('KEY=VALUE', out)
        code, out = self._manage('image', 'create', '--name', 'x', '--file',
                                 os.path.join(self.tmp, 'missing'))
        self.assertEqual(1, code)
        self.assertIn('is not a file', out)
        code, out = self._manage('image', 'create', '--name', 'x', '--file',
                                 self.source, '--disk-format', 'floppy')
        self.assertEqual(1, code)
        self.assertIn('floppy', out)
