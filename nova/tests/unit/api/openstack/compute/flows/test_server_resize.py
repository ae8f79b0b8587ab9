"""api.server_resize with the vendor kit, on two compute hosts.

Read next to nova/api/openstack/compute/flows/server_resize.py: parse
(policy; disk config), flavor (flavorRef looked up, 400 if unknown),
check_quota (the cores and RAM a bigger flavor adds, 403), resize (the
compute API starts the conductor's resize). Nothing is written before
resize, so nothing reverts here; the move's own flows undo a failed
move.
"""

from __future__ import annotations

from nova.compute import vm_states
from nova.tests.unit.api.openstack.compute.flows import kit
from nova.tests.unit.compute.flows import kit as compute_kit

FLOW = 'api.server_resize'
STAGES = ['parse', 'flavor', 'check_quota', 'resize']


class TestResize(kit.ApiKitTestCase):

    cloud_options = {'compute_hosts': ('compute1', 'compute2')}
    watching = (FLOW, '1.2', STAGES, lambda state: (
        state.flavor and state.flavor['flavorid'], dict(state.kwargs)))

    def resize(self, uuid: str, **resize: str) -> tuple[int, object]:
        return self.cloud.api('POST', f'/servers/{uuid}/action',
                              {'resize': resize})

    def test_stages_and_effect(self):
        uuid = self.server()['uuid']
        code, body = self.resize(uuid, flavorRef=compute_kit.TO_FLAVOR,
                                 **{'OS-DCF:diskConfig': 'MANUAL'})
        self.assertEqual(202, code, body)
        self.assertEqual(STAGES, list(self.seen))
        self.assertEqual((None, {'auto_disk_config': False}),
                         self.seen['parse'])
        self.assertEqual(compute_kit.TO_FLAVOR, self.seen['flavor'][0])
        resized = self.cloud.wait_for_state(uuid, vm_states.RESIZED)
        self.assertEqual(compute_kit.TO_FLAVOR,
                         resized['flavor']['flavorid'])

    def test_an_unknown_flavor_is_400_at_flavor(self):
        uuid = self.server()['uuid']
        code, body = self.resize(uuid, flavorRef='no-such-flavor')
        self.assertEqual(400, code, body)
        self.assertEqual(['parse'], list(self.seen))
        self.assertEqual(vm_states.ACTIVE,
                         self.cloud.instance(uuid)['vm_state'])

    def test_over_the_ram_quota_is_403_at_check_quota(self):
        uuid = self.server()['uuid']
        code, body = self.cloud.api(
            'PUT', '/os-quota-sets/demo', {'quota_set': {'ram': 1024}},
            token=kit.ADMIN)
        self.assertEqual(200, code, body)
        code, body = self.resize(uuid, flavorRef=compute_kit.TO_FLAVOR)
        self.assertEqual(403, code, body)
        self.assertEqual(['parse', 'flavor'], list(self.seen))
        self.assertEqual([], self.cloud.migrations(uuid))
