"""api.server_view with the vendor kit.

Read next to nova/api/openstack/compute/flows/server_view.py: each stage
adds the fields of one upstream extension to ``state.server``, from the
microversion that introduced them and as the caller's policy allows, so
a client gets exactly the shape of the version it asked for.  The view
writes nothing: nothing reverts.  A hook adds only the namespaced fields
it declares, from its declared microversion.
"""

from __future__ import annotations

from typing import Any

from nova.compute import vm_states
from nova.flow import hooks
from nova.tests.unit.api.openstack.compute.flows import kit

FLOW = 'api.server_view'
#: Each stage and what it adds for an admin at the newest microversion.
ADDS = {
    'basic': ['id', 'name', 'status', 'tenant_id', 'user_id', 'metadata',
              'hostId', 'created', 'updated', 'accessIPv4', 'accessIPv6',
              'links', 'OS-DCF:diskConfig', 'key_name', 'config_drive',
              'progress'],
    'flavor': ['flavor'],
    'image': ['image'],
    'addresses': ['addresses'],
    'availability_zone': ['OS-EXT-AZ:availability_zone'],
    'extended_status': ['OS-EXT-STS:task_state', 'OS-EXT-STS:vm_state',
                        'OS-EXT-STS:power_state'],
    'extended_server_attributes': [
        'OS-EXT-SRV-ATTR:host', 'OS-EXT-SRV-ATTR:hypervisor_hostname',
        'OS-EXT-SRV-ATTR:instance_name', 'OS-EXT-SRV-ATTR:reservation_id',
        'OS-EXT-SRV-ATTR:launch_index', 'OS-EXT-SRV-ATTR:hostname',
        'OS-EXT-SRV-ATTR:kernel_id', 'OS-EXT-SRV-ATTR:ramdisk_id',
        'OS-EXT-SRV-ATTR:root_device_name', 'OS-EXT-SRV-ATTR:user_data'],
    'usage': ['OS-SRV-USG:launched_at', 'OS-SRV-USG:terminated_at'],
    'volumes_attached': ['os-extended-volumes:volumes_attached'],
    'security_groups': ['security_groups'],
    'fault': [],
    'locked': ['locked', 'locked_reason'],
    'host_status': ['host_status'],
    'description': ['description'],
    'tags': ['tags'],
    'trusted_image_certificates': ['trusted_image_certificates'],
    'server_groups': ['server_groups'],
    'pinned_availability_zone': ['pinned_availability_zone'],
    'scheduler_hints': ['scheduler_hints'],
}
STAGES = list(ADDS)
#: (stage, field, the microversion that introduced it).
FROM_VERSION = [('locked', 'locked', '2.9'),
                ('host_status', 'host_status', '2.16'),
                ('description', 'description', '2.19'),
                ('tags', 'tags', '2.26'),
                ('trusted_image_certificates', 'trusted_image_certificates',
                 '2.63'),
                ('server_groups', 'server_groups', '2.71'),
                ('locked', 'locked_reason', '2.73'),
                ('pinned_availability_zone', 'pinned_availability_zone',
                 '2.96'),
                ('scheduler_hints', 'scheduler_hints', '2.100')]


def previous(version: str) -> str:
    major, minor = version.split('.')
    return f'{major}.{int(minor) - 1}'


class Rack(hooks.Hook):
    """A vendor field of the view, from 2.47."""

    supports = {FLOW: '1.2'}
    microversions = {FLOW: '2.47'}
    view_fields = {FLOW: {'x:rack': {'type': 'string'}}}

    @hooks.after(f'{FLOW}.basic')
    def rack(self, ctx: Any, state: Any) -> None:
        state.server['x:rack'] = 'r1'


class TestView(kit.ApiKitTestCase):

    watching = (FLOW, '1.2', STAGES, lambda state: list(state.server))

    def show(self, uuid: str, version: str,
             token: str = kit.ADMIN) -> dict[str, Any]:
        self.seen.clear()
        code, body = self.cloud.api('GET', f'/servers/{uuid}',
                                    token=token, version=version)
        self.assertEqual(200, code, body)
        return body['server']

    def test_each_stage_adds_its_fields(self):
        uuid = self.server()['uuid']
        server = self.show(uuid, '2.100')
        self.assertEqual(ADDS, self.added())
        self.assertEqual(sorted(k for keys in ADDS.values() for k in keys),
                         sorted(server))

    def test_each_field_from_its_microversion(self):
        uuid = self.server()['uuid']
        for stage, field, version in FROM_VERSION:
            self.show(uuid, previous(version))
            self.assertNotIn(field, self.added()[stage], version)
            self.show(uuid, version)
            self.assertIn(field, self.added()[stage], version)

    def test_policy_decides_what_a_member_sees(self):
        uuid = self.server()['uuid']
        server = self.show(uuid, '2.100', token='demo:demo')
        added = self.added()
        self.assertEqual([], added['host_status'])
        self.assertEqual(['OS-EXT-SRV-ATTR:hostname'],
                         added['extended_server_attributes'])
        self.assertNotIn('OS-EXT-SRV-ATTR:host', server)

    def test_the_fault_of_a_server_in_error(self):
        self.cloud.fail_at('compute.build_instance.spawn.driver_spawn')
        code, body = self.cloud.api('POST', '/servers', {'server': {
            'name': 'broken', 'flavorRef': '1',
            'imageRef': self.cloud.image['id'], 'networks': 'none'}},
            version='2.37')
        self.assertEqual(202, code, body)
        uuid = body['server']['id']
        self.cloud.wait_for_state(uuid, vm_states.ERROR)
        server = self.show(uuid, '2.1')
        self.assertEqual(['fault'], self.added()['fault'])
        self.assertEqual('ERROR', server['status'])
        self.assertIn('message', server['fault'])


class TestViewHooked(kit.ApiKitTestCase):

    hooks = (Rack,)

    def test_a_declared_vendor_field_from_its_microversion(self):
        uuid = self.server()['uuid']
        for version, expected in (('2.46', None), ('2.47', 'r1')):
            code, body = self.cloud.api('GET', f'/servers/{uuid}',
                                        version=version)
            self.assertEqual(200, code, body)
            self.assertEqual(expected, body['server'].get('x:rack'),
                             version)
