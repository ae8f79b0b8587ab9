"""A hook package written from the vendor guide, on a local cloud.

contrib/nova-guide-hooks was written from docs/vendor-guide.md (and the
flow reference it links to) and the docstrings of nova.flow.testing
alone.  This builds it as a wheel with pip, installs the wheel into a
directory of its own (not nova's environment: ``pip install --target``,
put on nova-all's PYTHONPATH), enables its hook by entry point name in
the ``nova.conf`` of a nova-all (test_clients.NovaAll), checks that
configuration with ``nova-manage flow check``, and drives the cloud with
the unmodified ``openstack`` client: the hook's stage is recorded in
``server event show`` of a server that boots, and a server it refuses
is ERROR with the hook's own message as its fault.

Building the wheel needs setuptools for pip's isolated build, from the
package index pip is configured with.  Skipped, as test_clients.py,
when nova-all or the client is missing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile

from nova.tests.functional.api import test_clients

PACKAGE = os.path.abspath(os.path.join(
    os.path.dirname(__file__), '..', '..', '..', '..', 'contrib',
    'nova-guide-hooks'))
BUILD = 'compute.build_instance'
PIP_TIMEOUT = 300


def _pip(*args: str) -> None:
    result = subprocess.run([sys.executable, '-m', 'pip', *args],
                            capture_output=True, text=True,
                            timeout=PIP_TIMEOUT)
    if result.returncode != 0:
        raise RuntimeError(f'pip {" ".join(args)} failed:\n'
                           f'{result.stdout}{result.stderr}')


class TestGuidePackageOnNovaAll(test_clients.NovaAllTestCase):

    flavors = (('m1.e2e', 'e2e', 128, 1, 1),)
    #: Where the wheel is installed; what ``nova-manage flow check`` said.
    site = ''
    check_output = ''

    @classmethod
    def prepare(cls, nova: test_clients.NovaAll) -> None:
        work = tempfile.mkdtemp(prefix='nova-guide-wheel-')
        try:
            dist = os.path.join(work, 'dist')
            _pip('wheel', '--no-deps', '--quiet', '-w', dist, PACKAGE)
            (wheel,) = os.listdir(dist)
            cls.site = os.path.join(nova.state, 'hooks-site')
            _pip('install', '--no-deps', '--quiet', '--target', cls.site,
                 os.path.join(dist, wheel))
        finally:
            shutil.rmtree(work, ignore_errors=True)
        nova.env['PYTHONPATH'] = cls.site
        with open(nova.conf, 'a') as conf:
            conf.write('\n[flow]\nenabled_hooks = guide_naming\n'
                       '\n[hook:guide_naming]\nreserved_prefix = infra-\n')
        cls.check_output = nova.manage('flow', 'check')

    osc = test_clients.TestClients.osc
    wait_for = test_clients.TestClients.wait_for

    def test_the_services_load_the_wheel(self):
        result = subprocess.run(
            [sys.executable, '-c',
             'import nova_guide_hooks; print(nova_guide_hooks.__file__)'],
            capture_output=True, text=True, check=True, timeout=60,
            env=dict(os.environ, **self.cloud.env))
        self.assertTrue(result.stdout.startswith(self.site + os.sep),
                        result.stdout)
        # nova-manage exits 1 (and manage() raises) on any problem.
        self.assertIn('guide_naming', self.check_output)

    def test_hook_stage_in_server_event_show(self):
        server = self.osc('server', 'create', '--flavor', 'm1.e2e',
                          '--image', 'cirros', '--wait', 'guide-web')
        self.assertEqual('ACTIVE', server['status'])
        (create,) = [e for e in self.osc('server', 'event', 'list',
                                         'guide-web')
                     if e['Action'] == 'create']
        detail = self.osc('--os-compute-api-version', '2.84', 'server',
                          'event', 'show', 'guide-web',
                          create['Request ID'])
        names = [e['event'] for e in detail['events']]
        self.assertIn(f'{BUILD}.check_name', names)
        self.assertEqual(
            ['Success'], [e['result'] for e in detail['events']
                          if e['event'] == f'{BUILD}.check_name'])
        self.osc('server', 'delete', '--wait', 'guide-web', parse=False)

    def test_refused_server_shows_the_hooks_message(self):
        server = self.osc('server', 'create', '--flavor', 'm1.e2e',
                          '--image', 'cirros', 'infra-dns')
        self.wait_for(
            lambda: self.cloud.api('GET', f'/servers/{server["id"]}')
            ['server']['status'] == 'ERROR', 'the server to be ERROR')
        shown = self.osc('server', 'show', 'infra-dns')
        self.assertEqual(
            'Server names starting with "infra-" are reserved on this '
            'cloud; choose another name.', shown['fault']['message'])
        self.osc('server', 'delete', '--wait', 'infra-dns', parse=False)
