"""api.server_add_security_group with the vendor kit.

Read next to
nova/api/openstack/compute/flows/server_add_security_group.py:
authorize, add_to_ports (the network service; reverted by taking the
group from the ports again), update_instance (the server's list).
"""

from __future__ import annotations

from typing import Any

from nova.flow import hooks
from nova.tests.unit.api.openstack.compute.flows import kit

FLOW = 'api.server_add_security_group'
STAGES = ['authorize', 'add_to_ports', 'update_instance']
ADD_WEB = {'addSecurityGroup': {'name': 'web'}}


class Frozen(hooks.Hook):
    """Refuses the change of the server's list, after the ports."""

    supports = {FLOW: '1.0'}

    @hooks.before(f'{FLOW}.update_instance')
    def frozen(self, ctx: Any, state: Any) -> None:
        raise hooks.RunRefused('Security groups are frozen.', code=409)


class TestAddSecurityGroup(kit.SecurityGroupTestCase):

    watching = (FLOW, '1.0', STAGES, lambda state: (
        state.group and state.group['name'],
        sorted(state.instance['security_groups'] or [])))

    def test_stages_and_effect(self):
        self.assertEqual((202, None), self.action(ADD_WEB))
        self.assertEqual(STAGES, list(self.seen))
        self.assertEqual(('web', ['default']), self.seen['add_to_ports'])
        self.assertEqual(('web', ['default', 'web']),
                         self.seen['update_instance'])
        self.assertEqual(['default', 'web'], self.listed())
        self.assertEqual([['default', 'web']], self.port_groups())

    def test_a_group_the_ports_have_is_400_and_changes_nothing(self):
        self.action(ADD_WEB)
        code, body = self.action(ADD_WEB)
        self.assertEqual(400, code, body)
        self.assertEqual([['default', 'web']], self.port_groups())

    def test_an_unknown_group_is_404(self):
        code, body = self.action({'addSecurityGroup': {'name': 'nope'}})
        self.assertEqual(404, code, body)
        self.assertEqual(['authorize'], list(self.seen))


class TestAddSecurityGroupReverted(kit.SecurityGroupTestCase):

    hooks = (Frozen,)

    def test_a_failure_after_the_ports_takes_the_group_off_them(self):
        code, body = self.action(ADD_WEB)
        self.assertEqual(409, code, body)
        self.assertEqual('Security groups are frozen.',
                         body['conflictingRequest']['message'])
        self.assertEqual([['default']], self.port_groups())
        self.assertEqual(['default'], self.listed())
