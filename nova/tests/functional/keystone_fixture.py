"""A real Keystone for the functional tests.

:class:`KeystoneFixture` runs OpenStack Keystone, as installed by
``tools/install-keystone.sh`` into a venv of its own (``.keystone-venv``,
or ``$NOVA_KEYSTONE_VENV``), on a temporary directory:

1. a ``keystone.conf`` with a SQLite database and fernet tokens;
2. ``keystone-manage db_sync``, ``fernet_setup``, ``credential_setup`` and
   ``bootstrap`` (the ``admin`` user and project, the default roles
   ``reader``/``member``/``admin`` with their implications, region
   ``RegionOne`` and the identity service's public, internal and admin
   endpoints);
3. keystone's WSGI application (``keystone.wsgi.api:application``) served
   by gunicorn on a free loopback port in a subprocess, polled until it
   answers ``GET /v3``, with a deadline;
4. through openstacksdk, as the bootstrap admin: two projects
   (``alpha``, ``beta``), users holding keystone's default roles on them
   (:data:`USERS`), the ``service`` project with nova's own user (the
   one keystonemiddleware validates tokens with), and - with
   :meth:`KeystoneFixture.register_nova` - the catalog entries of nova's
   services. Another service run against this Keystone (a real Glance)
   gets a user of its own (:meth:`KeystoneFixture.add_service_user`)
   and its catalog entry (:meth:`KeystoneFixture.register_service`).

When Keystone is not installed or does not start, the test using the
fixture is skipped - or failed when ``NOVA_TEST_REQUIRE_SERVICES=1`` (CI
runs the install script first), like the other tests of real services.
"""

from __future__ import annotations

import grp
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from typing import Any, NoReturn

import fixtures
import yaml

from nova.tests.fixtures import services

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__)))))
VENV_ENV = 'NOVA_KEYSTONE_VENV'
START_TIMEOUT = 120.0
MANAGE_TIMEOUT = 300.0
DOMAIN = 'Default'
REGION = 'RegionOne'

#: user -> (project, role): keystone's default roles, on two projects.
#: The admin role implies member, member implies reader (bootstrap
#: creates those implications), so tokens carry the implied roles too.
USERS: dict[str, tuple[str, str]] = {
    'alpha-reader': ('alpha', 'reader'),
    'alpha-member': ('alpha', 'member'),
    'beta-member': ('beta', 'member'),
    'cloud-admin': ('alpha', 'admin'),
}
#: nova's service user, the one ``[keystone_authtoken]`` logs in as.
NOVA_USER = 'nova'
SERVICE_PROJECT = 'service'


#: (service name, service type, path below nova's root URL) of the APIs
#: nova serves, as Keystone's catalog lists them.
NOVA_SERVICES = (
    ('nova', 'compute', '/v2.1'),
    ('glance', 'image', '/image'),
    ('cinder', 'block-storage', '/volume/v3'),
    ('cinderv3', 'volumev3', '/volume/v3'),
    ('neutron', 'network', '/networking'),
)


class KeystoneUnavailable(Exception):
    """Keystone is not installed or could not be started."""


def keystone_venv() -> str:
    """The venv tools/install-keystone.sh installs into."""
    return os.environ.get(VENV_ENV) or os.path.join(REPO_ROOT,
                                                    '.keystone-venv')


def _served(url: str) -> bool:
    """Whether anything but 404 answers ``GET url`` (no token: version
    documents need none, a 401 means the mount is there)."""
    try:
        with urllib.request.urlopen(url, timeout=10):
            return True
    except urllib.error.HTTPError as exc:
        return exc.code != 404
    except (urllib.error.URLError, OSError):
        return False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port: int = sock.getsockname()[1]
        return port


CONF_TEMPLATE = """\
[DEFAULT]
debug = false
log_file = {dir}/keystone.log

[database]
connection = sqlite:///{dir}/keystone.sqlite

[token]
provider = fernet

[fernet_tokens]
key_repository = {dir}/fernet-keys

[credential]
key_repository = {dir}/credential-keys

[identity]
# The fewest bcrypt rounds keystone accepts: every login of the tests
# hashes a password, and these are throw-away test users.
password_hash_rounds = 4
"""


# keystone parses its configuration from the process's command line
# (oslo.config's default): gunicorn's own options there would be refused
# as unknown, so the WSGI module gunicorn loads hides them first.
WSGI_SHIM = """\
import sys

sys.argv[1:] = []
from keystone.wsgi.api import application  # noqa: E402,F401
"""


class KeystoneFixture(fixtures.Fixture):
    """A Keystone process with two projects and users of every role."""

    def __init__(self) -> None:
        super().__init__()
        self.venv = keystone_venv()
        self.dir = ''
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        #: user name -> password (random for each fixture).
        self.passwords: dict[str, str] = {}
        #: project name -> id
        self.project_ids: dict[str, str] = {}
        self.admin_password = secrets.token_urlsafe(16)
        #: seconds each keystone-manage step took (for slow-run reports)
        self.timings: dict[str, float] = {}

    @property
    def url(self) -> str:
        """The identity v3 endpoint, ``http://127.0.0.1:<port>/v3``."""
        return f'http://127.0.0.1:{self.port}/v3'

    def _setUp(self) -> None:
        manage = os.path.join(self.venv, 'bin', 'keystone-manage')
        gunicorn = os.path.join(self.venv, 'bin', 'gunicorn')
        if not (os.access(manage, os.X_OK) and os.access(gunicorn, os.X_OK)):
            raise KeystoneUnavailable(
                f'Keystone is not installed in {self.venv}: run '
                'tools/install-keystone.sh')
        self.dir = tempfile.mkdtemp(prefix='nova-keystone-')
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.conf = os.path.join(self.dir, 'keystone.conf')
        with open(self.conf, 'w') as f:
            f.write(CONF_TEMPLATE.format(dir=self.dir))
        self.port = _free_port()
        self._bootstrap(manage)
        self._serve(gunicorn)
        self._populate()

    def _manage(self, manage: str, *args: str,
                env: dict[str, str] | None = None) -> None:
        """One ``keystone-manage`` command; its output if it fails."""
        started = time.monotonic()
        result = subprocess.run(
            [manage, '--config-file', self.conf, *args], env=env,
            capture_output=True, text=True, timeout=MANAGE_TIMEOUT)
        if result.returncode != 0:
            raise KeystoneUnavailable(
                f'keystone-manage {args[0]} failed: {result.stdout}'
                f'{result.stderr[-4000:]}')
        self.timings[args[0]] = time.monotonic() - started

    def _bootstrap(self, manage: str) -> None:
        """Schema, key repositories, admin user, roles, region, catalog."""
        owner = ['--keystone-user', pwd.getpwuid(os.getuid()).pw_name,
                 '--keystone-group', grp.getgrgid(os.getgid()).gr_name]
        self._manage(manage, 'db_sync')
        self._manage(manage, 'fernet_setup', *owner)
        self._manage(manage, 'credential_setup', *owner)
        # The password goes through the environment, not argv (ps).
        self._manage(manage, 'bootstrap',
                     '--bootstrap-region-id', REGION,
                     '--bootstrap-public-url', self.url,
                     # keystonemiddleware looks for the internal one.
                     '--bootstrap-internal-url', self.url,
                     '--bootstrap-admin-url', self.url,
                     env=dict(os.environ,
                              OS_BOOTSTRAP_PASSWORD=self.admin_password))

    def _serve(self, gunicorn: str) -> None:
        """keystone's WSGI app under gunicorn; wait until it answers."""
        self.log_path = os.path.join(self.dir, 'gunicorn.out')
        log = open(self.log_path, 'wb')
        self.addCleanup(log.close)
        env = dict(os.environ, OS_KEYSTONE_CONFIG_FILES=self.conf)
        with open(os.path.join(self.dir, 'keystone_wsgi.py'), 'w') as f:
            f.write(WSGI_SHIM)
        # gthread workers: keystonemiddleware in nova validates tokens
        # while a client may be waiting on another request.
        self.process = subprocess.Popen(
            [gunicorn, '--bind', f'127.0.0.1:{self.port}', '--workers', '1',
             '--threads', '4', '--worker-class', 'gthread',
             '--timeout', '120', '--chdir', self.dir,
             'keystone_wsgi:application'],
            stdout=log, stderr=subprocess.STDOUT, env=env,
            cwd=self.dir)
        self.addCleanup(self._stop)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise KeystoneUnavailable(
                    'keystone (gunicorn) exited:\n' + self.output())
            try:
                with urllib.request.urlopen(self.url, timeout=5) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        raise KeystoneUnavailable(
            f'keystone did not answer {self.url} within {START_TIMEOUT}s:\n'
            + self.output())

    def output(self) -> str:
        """The end of gunicorn's and keystone's logs, for failures."""
        text = ''
        for name in ('gunicorn.out', 'keystone.log'):
            try:
                with open(os.path.join(self.dir, name)) as f:
                    text += f'--- {name}\n' + f.read()[-8000:]
            except OSError:
                pass
        return text

    def _stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=30)

    def connection(self, user: str = 'admin',
                   project: str = 'admin') -> Any:
        """An openstacksdk Connection, logged in with a password."""
        import openstack.connection
        password = (self.admin_password if user == 'admin'
                    else self.passwords[user])
        return openstack.connection.Connection(
            auth_url=self.url, username=user, password=password,
            project_name=project, user_domain_name=DOMAIN,
            project_domain_name=DOMAIN, region_name=REGION,
            identity_api_version='3')

    def _populate(self) -> None:
        """The projects and users of :data:`USERS` and nova's user."""
        conn = self.connection()
        self.addCleanup(conn.close)
        domain = conn.identity.find_domain(DOMAIN, ignore_missing=False)
        roles = {role.name: role for role in conn.identity.roles()}
        for name in sorted({p for p, _ in USERS.values()} |
                           {SERVICE_PROJECT}):
            project = conn.identity.create_project(
                name=name, domain_id=domain.id)
            self.project_ids[name] = project.id
        self.project_ids['admin'] = conn.identity.find_project(
            'admin', domain_id=domain.id, ignore_missing=False).id
        for user_name, (project_name, role) in [
                *USERS.items(), (NOVA_USER, (SERVICE_PROJECT, 'admin'))]:
            self._create_user(conn, domain.id, user_name, project_name,
                              roles[role])

    def _create_user(self, conn: Any, domain_id: str, name: str,
                     project: str, role: Any) -> None:
        """A user with a random password and ``role`` on ``project``."""
        self.passwords[name] = secrets.token_urlsafe(16)
        user = conn.identity.create_user(
            name=name, password=self.passwords[name], domain_id=domain_id,
            default_project_id=self.project_ids[project])
        conn.identity.assign_project_role_to_user(
            self.project_ids[project], user, role)

    def add_service_user(self, name: str) -> None:
        """Another service's user, ``admin`` on the ``service`` project
        as nova's (for that service's ``[keystone_authtoken]``)."""
        conn = self.connection()
        try:
            domain = conn.identity.find_domain(DOMAIN, ignore_missing=False)
            role = conn.identity.find_role('admin', ignore_missing=False)
            self._create_user(conn, domain.id, name, SERVICE_PROJECT, role)
        finally:
            conn.close()

    def register_service(self, name: str, type_: str, url: str) -> None:
        """A service's public endpoint ``url`` in the catalog."""
        conn = self.connection()
        try:
            service = conn.identity.create_service(
                name=name, type=type_, is_enabled=True)
            conn.identity.create_endpoint(
                service_id=service.id, interface='public', url=url,
                region_id=REGION, is_enabled=True)
        finally:
            conn.close()

    def register_nova(self, base_url: str,
                      only_served: bool = False) -> list[str]:
        """The catalog entries of nova's services below ``base_url``
        (``http://127.0.0.1:<port>``): compute at ``/v2.1`` and the
        image, block storage (types ``block-storage`` and ``volumev3``)
        and network APIs nova serves at ``/image``, ``/volume/v3`` and
        ``/networking``; the service types registered.

        With ``only_served``, a mount that answers 404 at its root is
        left out: openstackclient builds its image client for ``server
        list`` and ``server show`` and fails on an image endpoint that
        does not answer, so a nova without the ``/image`` mount would
        break those commands through its catalog alone.
        """
        registered = []
        for name, type_, path in NOVA_SERVICES:
            if only_served and not _served(base_url + path):
                continue
            self.register_service(name, type_, base_url + path)
            registered.append(type_)
        return registered

    def authtoken_conf(self, user: str = NOVA_USER) -> str:
        """``[keystone_authtoken]`` for a nova.conf (nova's user), or
        for another service's configuration file with the user
        :meth:`add_service_user` made for it."""
        return (
            '[keystone_authtoken]\n'
            f'www_authenticate_uri = {self.url}\n'
            f'auth_url = {self.url}\n'
            'auth_type = password\n'
            f'username = {user}\n'
            f'password = {self.passwords[user]}\n'
            f'project_name = {SERVICE_PROJECT}\n'
            f'user_domain_name = {DOMAIN}\n'
            f'project_domain_name = {DOMAIN}\n'
            f'region_name = {REGION}\n')

    def clouds(self) -> dict[str, Any]:
        """A clouds.yaml document: one cloud per user of :data:`USERS`
        (named after the user), password auth against this Keystone and
        no endpoint override: clients find nova in the catalog."""
        clouds = {}
        for user, (project, _role) in USERS.items():
            clouds[user] = {
                'auth_type': 'password',
                'auth': {'auth_url': self.url, 'username': user,
                         'password': self.passwords[user],
                         'project_name': project,
                         'user_domain_name': DOMAIN,
                         'project_domain_name': DOMAIN},
                'region_name': REGION,
                'identity_api_version': '3',
                'interface': 'public',
            }
        return {'clouds': clouds}

    def write_clouds_yaml(self, path: str) -> None:
        with open(path, 'w') as f:
            yaml.safe_dump(self.clouds(), f)
        os.chmod(path, 0o600)


def start_keystone() -> KeystoneFixture:
    """A started :class:`KeystoneFixture` outside a test (setUpClass, to
    share one Keystone among a class's tests); raises
    :class:`KeystoneUnavailable`. The caller calls ``cleanUp()``."""
    keystone = KeystoneFixture()
    try:
        keystone.setUp()
    except fixtures.MultipleExceptions as exc:
        error = exc.args[0][1]
        if isinstance(error, KeystoneUnavailable):
            raise error from None
        raise
    return keystone


def skip_or_fail(test: Any, error: BaseException) -> NoReturn:
    """Skip ``test`` because Keystone is not available - or fail it when
    NOVA_TEST_REQUIRE_SERVICES=1, where a missing Keystone is a bug."""
    services.skip_or_fail(test, f'Keystone is not available: {error}',
                          '.ci/run runs tools/install-keystone.sh')
