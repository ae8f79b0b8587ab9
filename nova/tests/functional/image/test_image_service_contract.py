"""One behaviour, two image services: the local store
(nova.image.local.LocalImageAPI) and the REST client
(nova.image.glance.GlanceImageAPI) talking to the Image API v2 that
nova serves, through a real HTTP server (nova.wsgi.server.APIServer)
with the noauth2 pipeline, over the same SQLite database.

Each test runs once per service (``...(local)``, ``...(glance)``).  The
client sends the request context's token when it has one (here noauth2's
``user:project``) and ``[glance]``'s admin_token credentials otherwise.

RealGlanceContract runs the same client against a real Glance from PyPI
(``...(real-glance)``), when tools/install-glance.sh installed one in
.glance-venv; skipped otherwise, or failed under
NOVA_TEST_REQUIRE_SERVICES=1 (CI installs it).  That Glance has no
authentication; KeystoneGlanceContract (``...(keystone-glance)``) runs
the client against a Glance behind a real Keystone
(nova.tests.functional.keystone_fixture), with Glance's default policies
and real user tokens of two projects and an admin, for the whole
contract.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from typing import Any

import fixtures
import testscenarios
from keystoneauth1 import loading as ks_loading

import nova.conf
import nova.conf.glance
from nova import context, exception
from nova.api.openstack import service_apis
from nova.image import glance, local
from nova.policies import enforcer
from nova.tests.fixtures import services
from nova.tests.functional import keystone_fixture
from nova.tests.unit.db import base
from nova.wsgi import server as api_server

load_tests = testscenarios.load_tests_apply_scenarios
CONF = nova.conf.CONF

# Raw data (no disk format's magic: Glance checks that data matches the
# disk format it was declared with).
DATA = b'nova' + bytes(range(256)) * 4000


class ImageServiceContract(base.DBTestCase):

    scenarios = [('local', {'service': 'local'}),
                 ('glance', {'service': 'glance'})]
    backend = 'sqlite'
    service = 'local'
    #: A disk format the data is accepted as (real Glance inspects it).
    disk_format = 'qcow2'
    #: The owner of an image a user creates: the user's project.
    owner: str | None = 'fake-project'

    def setUp(self) -> None:
        # Parsed (no files) so the paste file is found; before the
        # database fixture, whose overrides the reset would drop.
        CONF([], project='nova', default_config_files=[])
        self.addCleanup(CONF.reset)
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path
        self.flags(images_path=os.path.join(self.tmp, 'images'),
                   group='image')
        enforcer.reset()
        self.addCleanup(enforcer.reset)
        self.ctx = self.context('fake-user', 'fake-project')
        if self.service == 'local':
            self.images: Any = local.LocalImageAPI()
        else:
            self.images = self.glance_client()

    def flags(self, group: str, **overrides: Any) -> None:
        for name, value in overrides.items():
            CONF.set_override(name, value, group=group)
            self.addCleanup(CONF.clear_override, name, group=group)

    def glance_client(self) -> glance.GlanceImageAPI:
        """The REST client of the image API, served on a free port."""
        self.flags('api', auth_strategy='noauth2')
        server = api_server.APIServer(
            service_apis.load_api(CONF, 'image'), '127.0.0.1', 0)
        server.start()
        self.addCleanup(server.stop)
        endpoint = f'http://127.0.0.1:{server.port}'
        CONF.register_opts(
            ks_loading.get_auth_plugin_conf_options('admin_token'),
            group='glance')
        self.flags('glance', auth_type='admin_token', endpoint=endpoint,
                   token='admin:admin', endpoint_override=endpoint)
        return glance.GlanceImageAPI()

    def context(self, user: str, project: str,
                **kwargs: Any) -> context.RequestContext:
        """A user's context; with the REST client, carrying the token
        noauth2 reads."""
        ctx = context.RequestContext(user, project, **kwargs)
        if self.service == 'glance':
            ctx.auth_token = f'{user}:{project}'
        return ctx

    # -- the contract -------------------------------------------------------

    def test_create_with_data_is_active_and_checksummed(self):
        image = self.images.create(self.ctx, {
            'name': 'cirros', 'disk_format': self.disk_format,
            'properties': {'hw_disk_bus': 'virtio'}}, DATA)
        self.assertEqual(('active', len(DATA), self.disk_format, 'bare',
                          self.owner, {'hw_disk_bus': 'virtio'}),
                         (image['status'], image['size'],
                          image['disk_format'], image['container_format'],
                          image['owner'], image['properties']))
        self.assertEqual(hashlib.md5(DATA).hexdigest(), image['checksum'])
        # Glance hashes with sha512 by default, the local store sha256.
        self.assertEqual(hashlib.new(image['os_hash_algo'],
                                     DATA).hexdigest(),
                         image['os_hash_value'])
        shown = self.images.get(self.ctx, image['id'])
        for key in ('id', 'name', 'status', 'size', 'checksum', 'owner',
                    'visibility', 'properties', 'min_disk', 'min_ram'):
            self.assertEqual(image[key], shown[key], key)
        self.assertEqual(DATA, b''.join(self.images.download(
            self.ctx, image['id'])))

    def test_bad_attributes_are_invalid(self):
        for meta in ({'disk_format': 'floppy'},
                     {'container_format': 'crate'},
                     {'min_ram': -1}, {'visibility': 'everyone'},
                     {'colour': 'blue'}):
            self.assertRaises(exception.Invalid, self.images.create,
                              self.ctx, dict(meta, name='x'), DATA)
        self.assertEqual([], self.images.get_all(self.ctx))

    def test_list_filters_visibility_and_paging(self):
        first = self.images.create(self.ctx, {'name': 'a'}, DATA)
        second = self.images.create(self.ctx, {'name': 'b'}, b'x')
        other = self.context('u2', 'other-project')
        admin = self.context('admin', 'admin', is_admin=True)
        public = self.images.create(admin, {'name': 'pub',
                                            'visibility': 'public'}, b'y')
        hidden = self.images.create(other, {'name': 'hidden',
                                            'visibility': 'private'}, b'z')

        def names(**kwargs: Any) -> list[str]:
            return [i['name'] for i in self.images.get_all(
                self.ctx, sort_key='name', sort_dir='asc', **kwargs)]

        self.assertEqual(['a', 'b', 'pub'], names())
        self.assertEqual(['b'], names(filters={'name': 'b'}))
        self.assertEqual(['a', 'pub'], names(filters={
            'id': f'in:{first["id"]},{public["id"]}'}))
        self.assertEqual(['a', 'b'], names(limit=2))
        self.assertEqual(['b', 'pub'], names(marker=first['id']))
        self.assertEqual(['b'], names(marker=first['id'], limit=1))
        self.assertRaises(exception.MarkerNotFound, names,
                          marker='00000000-0000-0000-0000-000000000000')
        self.assertRaises(exception.ImageNotFound, self.images.get,
                          self.ctx, hidden['id'])
        self.assertEqual(second['id'], self.images.get(
            self.ctx, second['id'])['id'])

    def test_delete_protected_and_not_owned(self):
        image = self.images.create(self.ctx, {'name': 'x',
                                              'protected': True}, DATA)
        self.assertRaises(exception.ImageProtected, self.images.delete,
                          self.ctx, image['id'])
        admin = self.context('admin', 'admin', is_admin=True)
        public = self.images.create(admin, {'name': 'p',
                                            'visibility': 'public'}, DATA)
        self.assertRaises(exception.ImageNotAuthorized, self.images.delete,
                          self.ctx, public['id'])
        self.images.update(self.ctx, image['id'], {'protected': False})
        self.images.delete(self.ctx, image['id'])
        self.assertRaises(exception.ImageNotFound, self.images.get,
                          self.ctx, image['id'])
        self.assertRaises(exception.ImageNotFound, self.images.delete,
                          self.ctx, image['id'])

    def test_snapshot_then_upload_then_download(self):
        image = self.images.create_snapshot(
            self.ctx, 'snap', properties={'instance_uuid': 'i1'})
        # Not active yet: "saving" locally, "queued" in the Image API
        # until data comes (the snapshot flow treats both as unfinished).
        self.assertIn(image['status'], ('saving', 'queued'))
        self.assertEqual(('private', self.ctx.project_id,
                          {'instance_uuid': 'i1'}),
                         (image['visibility'], image['owner'],
                          image['properties']))
        self.assertRaises(exception.InvalidImageState, self.images.download,
                          self.ctx, image['id'])
        chunks = [DATA[i:i + 1000] for i in range(0, len(DATA), 1000)]
        active = self.images.upload(self.ctx, image['id'], iter(chunks))
        self.assertEqual('active', active['status'])
        self.assertEqual(hashlib.md5(DATA).hexdigest(), active['checksum'])
        self.assertEqual(DATA, b''.join(self.images.download(
            self.ctx, image['id'])))
        target = os.path.join(self.tmp, 'copy')
        self.assertIsNone(self.images.download(self.ctx, image['id'],
                                               dest_path=target))
        with open(target, 'rb') as copy:
            self.assertEqual(DATA, copy.read())
        self.assertRaises(exception.InvalidImageState, self.images.upload,
                          self.ctx, image['id'], b'again')

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
        queued = self.images.create(self.ctx, {'name': 'q'})
        self.assertEqual('queued', queued['status'])
        filled = self.images.update(self.ctx, queued['id'], {}, data=DATA)
        self.assertEqual(('active', len(DATA)),
                         (filled['status'], filled['size']))

    def test_without_user_token_the_configured_credentials_act(self):
        # A service context (periodic tasks; noauth2 deployments): the
        # local store trusts it, the client uses [glance]'s credentials
        # (an admin token, or a service user's password login).
        service = context.get_admin_context()
        image = self.images.create(service, {'name': 'svc', 'owner': 'p9',
                                             'visibility': 'private'}, DATA)
        self.assertEqual('p9', self.images.get(service, image['id'])['owner'])
        self.assertRaises(exception.ImageNotFound, self.images.get,
                          self.ctx, image['id'])


GLANCE_VENV = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.dirname(os.path.abspath(__file__)))))), '.glance-venv')

#: Glance's image rules, all allowed: without Keystone every request is
#: an anonymous context, which Glance's defaults refuse.
GLANCE_RULES = ('get_images', 'get_image', 'add_image', 'modify_image',
                'delete_image', 'upload_image', 'download_image',
                'publicize_image', 'communitize_image', 'get_image_location',
                'set_image_location', 'delete_image_location',
                'add_image_location', 'fetch_image_location')
#: Glance's own user in the Keystone of KeystoneGlanceContract.
GLANCE_USER = 'glance'

#: The contract's tests of project scope: two projects and an admin.
PROJECT_SCOPED = frozenset({
    'test_list_filters_visibility_and_paging',
    'test_delete_protected_and_not_owned',
    'test_without_user_token_the_configured_credentials_act'})


class RealGlance:
    """A real Glance (tools/install-glance.sh) under waitress, with the
    file store and SQLite, on a free port: without authentication and
    with every image rule allowed, or, given a Keystone, with Glance's
    keystone paste flavor (keystonemiddleware's authtoken validating
    tokens as the ``glance`` user) and Glance's default policies."""

    def __init__(self, keystone: keystone_fixture.KeystoneFixture | None
                 = None) -> None:
        self.keystone = keystone
        self.dir = tempfile.mkdtemp(prefix='nova-glance-')
        self.port = _free_port()
        self.process: Any = None

    def _auth_conf(self) -> str:
        """glance-api.conf's policy file (every rule allowed) without
        Keystone, its ``[keystone_authtoken]`` with it."""
        if self.keystone is None:
            with open(os.path.join(self.dir, 'policy.yaml'), 'w') as f:
                f.writelines(f'"{rule}": ""\n' for rule in GLANCE_RULES)
            return f'[oslo_policy]\npolicy_file = {self.dir}/policy.yaml\n'
        return self.keystone.authtoken_conf(GLANCE_USER)

    def start(self) -> None:
        d = self.dir
        with open(os.path.join(d, 'glance-api.conf'), 'w') as f:
            f.write(f"""[DEFAULT]
enabled_backends = fs:file
log_file = {d}/glance-api.log

[database]
connection = sqlite:///{d}/glance.sqlite

[glance_store]
default_backend = fs

[fs]
filesystem_store_datadir = {d}/images

[os_glance_staging_store]
filesystem_store_datadir = {d}/staging

[os_glance_tasks_store]
filesystem_store_datadir = {d}/tasks

{self._auth_conf()}
[paste_deploy]
flavor = {'' if self.keystone is None else 'keystone'}
config_file = {GLANCE_VENV}/etc/glance/glance-api-paste.ini
""")
        subprocess.run(
            [os.path.join(GLANCE_VENV, 'bin', 'glance-manage'),
             '--config-file', f'{d}/glance-api.conf', 'db_sync'],
            check=True, capture_output=True, timeout=120)
        self.log = open(os.path.join(d, 'waitress.out'), 'w')
        self.process = subprocess.Popen(
            [os.path.join(GLANCE_VENV, 'bin', 'waitress-serve'), '--host',
             '127.0.0.1', '--port', str(self.port),
             'glance.wsgi.api:application'],
            cwd=d, stdout=self.log, stderr=subprocess.STDOUT,
            env=dict(os.environ, OS_GLANCE_CONFIG_DIR=d))
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                urllib.request.urlopen(self.endpoint, timeout=5)
            except urllib.error.HTTPError:
                return      # 300 Multiple Choices: it answers
            except OSError:
                time.sleep(0.2)
        output = self.output()
        self.stop()
        raise RuntimeError('Glance did not start:\n' + output)

    def output(self) -> str:
        """The end of waitress's and Glance's logs, for failures."""
        text = ''
        for name in ('waitress.out', 'glance-api.log'):
            try:
                with open(os.path.join(self.dir, name)) as f:
                    text += f'--- {name}\n' + f.read()[-8000:]
            except OSError:
                pass
        return text

    @property
    def endpoint(self) -> str:
        return f'http://127.0.0.1:{self.port}'

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)
        if self.process is not None:
            self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return int(sock.getsockname()[1])


class RealGlanceContract(ImageServiceContract):
    """The REST client against a real Glance from PyPI (one per class);
    skipped unless tools/install-glance.sh installed it (failed instead
    under NOVA_TEST_REQUIRE_SERVICES=1).  That Glance runs without
    Keystone: the tests of project scope run in KeystoneGlanceContract.
    """

    scenarios = [('real-glance', {'service': 'real-glance'})]
    server: RealGlance | None = None
    disk_format = 'raw'
    owner: str | None = None    # no Keystone: no project in requests
    #: Whether requests name a user and project (Glance behind Keystone).
    scoped = False

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.server = None
        if os.path.exists(os.path.join(GLANCE_VENV, 'bin',
                                       'waitress-serve')):
            cls.server = cls.new_glance()
            if cls.server is not None:
                cls.server.start()

    @classmethod
    def new_glance(cls) -> RealGlance | None:
        """The Glance of this class (not started)."""
        return RealGlance()

    @classmethod
    def tearDownClass(cls) -> None:
        if cls.server is not None:
            cls.server.stop()
        super().tearDownClass()

    def require_glance(self) -> RealGlance:
        if self.server is None:
            services.skip_or_fail(
                self, f'Glance is not installed in {GLANCE_VENV}',
                '.ci/run runs tools/install-glance.sh')
        return self.server

    def glance_client(self) -> glance.GlanceImageAPI:
        endpoint = self.require_glance().endpoint
        CONF.register_opts(
            ks_loading.get_auth_plugin_conf_options('admin_token'),
            group='glance')
        self.flags('glance', auth_type='admin_token', endpoint=endpoint,
                   token='unused', endpoint_override=endpoint)
        return glance.GlanceImageAPI()

    def setUp(self) -> None:
        self.service = 'glance'
        super().setUp()
        if not self.scoped and self._testMethodName in PROJECT_SCOPED:
            self.skipTest('Glance runs without Keystone here: no project '
                          'scope to test (see KeystoneGlanceContract)')
        # Glance's records outlive each test (its own database): each
        # test sees only the images it made.
        self.addCleanup(self._delete_all)

    def _delete_all(self) -> None:
        admin = context.get_admin_context()
        for image in self.images.get_all(admin):
            if image.get('protected'):
                self.images.update(admin, image['id'], {'protected': False})
            self.images.delete(admin, image['id'])


class KeystoneGlanceContract(RealGlanceContract):
    """The REST client against a real Glance behind a real Keystone (one
    of each per class): Glance's keystone paste flavor and default
    policies, its endpoint found in Keystone's catalog, and every request
    carrying a real token.

    The contract's users are Keystone's (:data:`USERS`); a context
    without a token (a service's) gets ``[glance]``'s credentials:
    nova's service user (admin on the ``service`` project), logging in
    with a password.  Skipped when Keystone or Glance is not installed,
    failed instead under NOVA_TEST_REQUIRE_SERVICES=1.
    """

    scenarios = [('keystone-glance', {'service': 'keystone-glance'})]
    scoped = True
    keystone: keystone_fixture.KeystoneFixture | None = None
    unavailable: BaseException | None = None
    #: The contract's (user, project) -> Keystone's: a member of project
    #: alpha, one of project beta, and the bootstrap admin (admin role in
    #: the admin project, which owns none of the others' images).
    USERS = {('fake-user', 'fake-project'): ('alpha-member', 'alpha'),
             ('u2', 'other-project'): ('beta-member', 'beta'),
             ('admin', 'admin'): ('admin', 'admin')}
    #: Keystone user -> (token, user ID, project ID), for the class.
    logins: dict[str, tuple[str, str, str]] = {}

    @classmethod
    def setUpClass(cls) -> None:
        cls.logins = {}
        cls.keystone, cls.unavailable = None, None
        try:
            cls.keystone = keystone_fixture.start_keystone()
        except keystone_fixture.KeystoneUnavailable as exc:
            cls.unavailable = exc
        try:
            super().setUpClass()
        except Exception:
            cls._stop_keystone()
            raise

    @classmethod
    def new_glance(cls) -> RealGlance | None:
        if cls.keystone is None:
            return None
        cls.keystone.add_service_user(GLANCE_USER)
        server = RealGlance(cls.keystone)
        cls.keystone.register_service('glance', 'image', server.endpoint)
        return server

    @classmethod
    def _stop_keystone(cls) -> None:
        if cls.keystone is not None:
            cls.keystone.cleanUp()
            cls.keystone = None

    @classmethod
    def tearDownClass(cls) -> None:
        try:
            super().tearDownClass()
        finally:
            cls._stop_keystone()

    @property
    def ks(self) -> keystone_fixture.KeystoneFixture:
        if self.keystone is None:
            keystone_fixture.skip_or_fail(
                self, self.unavailable or RuntimeError('not started'))
        return self.keystone

    def glance_client(self) -> glance.GlanceImageAPI:
        ks = self.ks
        self.require_glance()
        # [glance]'s defaults again (service_type image, interfaces
        # internal and public): an earlier test's CONF.reset unset them,
        # and here the client finds Glance by them.
        nova.conf.glance.register_opts(CONF)
        opts = ks_loading.get_auth_plugin_conf_options('password')
        CONF.register_opts(opts, group='glance')
        # auth_url is required: registered, it would fail the next
        # test's parse (unregistered after a reset, the only order
        # oslo.config allows).
        self.addCleanup(CONF.unregister_opts, opts, group='glance')
        self.addCleanup(CONF.reset)
        # No endpoint: the client finds Glance in the catalog.
        self.flags('glance', auth_type='password', auth_url=ks.url,
                   username=keystone_fixture.NOVA_USER,
                   password=ks.passwords[keystone_fixture.NOVA_USER],
                   project_name=keystone_fixture.SERVICE_PROJECT,
                   user_domain_name=keystone_fixture.DOMAIN,
                   project_domain_name=keystone_fixture.DOMAIN,
                   region_name=keystone_fixture.REGION)
        return glance.GlanceImageAPI()

    def setUp(self) -> None:
        super().setUp()
        self.owner = self.ks.project_ids['alpha']

    def login(self, user: str, project: str) -> tuple[str, str, str]:
        """``user``'s token, user ID and project ID (a password login
        through openstacksdk's keystoneauth session, once per class)."""
        if user not in self.logins:
            conn = self.ks.connection(user, project)
            try:
                session = conn.session
                self.logins[user] = (session.get_token(),
                                     session.get_user_id(),
                                     session.get_project_id())
            finally:
                conn.close()
        return self.logins[user]

    def context(self, user: str, project: str,
                **kwargs: Any) -> context.RequestContext:
        """The context of the Keystone user standing for ``user``, with
        that user's real token."""
        token, user_id, project_id = self.login(*self.USERS[user, project])
        return context.RequestContext(user_id, project_id,
                                      auth_token=token, **kwargs)
