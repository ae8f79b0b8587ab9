"""Private flavors with the real clients against a real nova-all.

``openstack flavor create --private`` as admin; a member's ``openstack
flavor list`` does not show it and ``openstack flavor show`` does not
find it; once shared with the member's project (openstacksdk's
``flavor_add_tenant_access``: the CLI's ``--project`` looks the project
up in Keystone first, which the noauth2 cloud does not have), the
member lists it and boots a server of it (``openstack server create
--wait``); ``openstack flavor show`` as admin lists the project in
``access_project_ids``.
"""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any

import openstack

from nova.tests.functional.api import test_clients

MEMBER = 'demo:demo'


class TestFlavorAccessClients(test_clients.NovaAllTestCase):

    def osc(self, *args: str, token: str = test_clients.TOKEN,
            ) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ,
                   OS_AUTH_TYPE='admin_token', OS_ENDPOINT=self.cloud.endpoint,
                   OS_TOKEN=token,
                   OS_IDENTITY_ENDPOINT_OVERRIDE=self.cloud.endpoint,
                   OS_IDENTITY_API_VERSION='3')
        for key in ('OS_CLOUD', 'OS_AUTH_URL', 'OS_USERNAME',
                    'OS_PASSWORD', 'OS_PROJECT_NAME'):
            env.pop(key, None)
        return subprocess.run(
            [test_clients.OPENSTACK, *args], capture_output=True, text=True,
            env=env, timeout=test_clients.WAIT_TIMEOUT + 60)

    def ok(self, *args: str, token: str = test_clients.TOKEN) -> Any:
        result = self.osc(*args, '-f', 'json', token=token)
        self.assertEqual(0, result.returncode,
                         f'openstack {" ".join(args)}: {result.stderr}')
        return json.loads(result.stdout)

    def flavor_names(self, token: str) -> set[str]:
        return {f['Name'] for f in self.ok('flavor', 'list', token=token)}

    def test_private_flavor_for_one_project(self) -> None:
        created = self.ok('flavor', 'create', '--private', '--ram', '128',
                          '--vcpus', '1', '--disk', '1', '--id', 'priv',
                          'm1.private')
        self.assertFalse(created['os-flavor-access:is_public'])

        self.assertNotIn('m1.private', self.flavor_names(MEMBER))
        shown = self.osc('flavor', 'show', 'm1.private', token=MEMBER)
        self.assertNotEqual(0, shown.returncode)
        self.assertIn('m1.private', shown.stderr)
        refused = self.osc('server', 'create', '--flavor', 'priv',
                           '--image', 'cirros', '--nic', 'none',
                           'nope', token=MEMBER)
        self.assertNotEqual(0, refused.returncode)

        conn = openstack.connect(
            auth_type='admin_token',
            auth={'endpoint': self.cloud.endpoint,
                  'token': test_clients.TOKEN},
            identity_endpoint_override=self.cloud.endpoint,
            identity_api_version='3',
            compute_endpoint_override=self.cloud.endpoint)
        conn.compute.flavor_add_tenant_access('priv', 'demo')
        shown_admin = self.ok('flavor', 'show', 'm1.private')
        self.assertEqual(['demo'], shown_admin['access_project_ids'])

        self.assertIn('m1.private', self.flavor_names(MEMBER))
        self.assertNotIn('m1.private', self.flavor_names('other:other'))
        server = self.ok('server', 'create', '--flavor', 'm1.private',
                         '--image', 'cirros', '--nic', 'none', '--wait',
                         'shared', token=MEMBER)
        self.assertEqual('ACTIVE', server['status'])

        conn.compute.flavor_remove_tenant_access('priv', 'demo')
        self.assertNotIn('m1.private', self.flavor_names(MEMBER))
