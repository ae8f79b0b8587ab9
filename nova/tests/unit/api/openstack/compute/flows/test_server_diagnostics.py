"""api.server_diagnostics with the vendor kit.

Read next to nova/api/openstack/compute/flows/server_diagnostics.py:
authorize, get_diagnostics (an RPC call to the server's host, answered
by its fake driver), view (upstream's standard format from 2.48, the
driver's own dictionary before); nothing is written, so nothing
reverts.
"""

from __future__ import annotations

from typing import Any

from nova.flow import hooks
from nova.tests.unit.api.openstack.compute.flows import kit

FLOW = 'api.server_diagnostics'
STAGES = ['authorize', 'get_diagnostics', 'view']


class Firmware(hooks.Hook):
    """A vendor field added after the view."""

    supports = {FLOW: '1.0'}

    @hooks.after(f'{FLOW}.view')
    def firmware(self, ctx: Any, state: Any) -> None:
        state.body['x:firmware'] = 'uefi'


class TestDiagnostics(kit.ApiKitTestCase):

    watching = (FLOW, '1.0', STAGES, lambda state: (
        state.diagnostics is not None, state.body is not None))

    def diagnostics(self, uuid: str, version: str,
                    token: str = kit.ADMIN) -> tuple[int, Any]:
        return self.cloud.api('GET', f'/servers/{uuid}/diagnostics',
                              token=token, version=version)

    def test_stages_and_the_standard_format(self):
        uuid = self.server()['uuid']
        code, body = self.diagnostics(uuid, '2.48')
        self.assertEqual(200, code, body)
        self.assertEqual(STAGES, list(self.seen))
        self.assertEqual([(False, False), (True, False), (True, True)],
                         list(self.seen.values()))
        self.assertEqual('running', body['state'])
        for count in ('num_cpus', 'num_nics', 'num_disks'):
            self.assertIsInstance(body[count], int, count)

    def test_before_2_48_the_drivers_own_keys(self):
        uuid = self.server()['uuid']
        code, body = self.diagnostics(uuid, '2.47')
        self.assertEqual(200, code, body)
        self.assertNotIn('num_cpus', body)

    def test_not_an_admin_is_403_at_authorize(self):
        uuid = self.server()['uuid']
        code, body = self.diagnostics(uuid, '2.48', token='demo:demo')
        self.assertEqual(403, code, body)
        # The watching hook notes a stage once it ends: none did.
        self.assertEqual({}, self.seen)


class TestDiagnosticsHooked(kit.ApiKitTestCase):

    hooks = (Firmware,)

    def test_a_vendor_field_after_the_view(self):
        uuid = self.server()['uuid']
        code, body = self.cloud.api('GET', f'/servers/{uuid}/diagnostics',
                                    token=kit.ADMIN, version='2.48')
        self.assertEqual(200, code, body)
        self.assertEqual('uefi', body['x:firmware'])
