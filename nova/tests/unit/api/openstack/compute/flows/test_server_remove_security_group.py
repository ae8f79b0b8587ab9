"""api.server_remove_security_group with the vendor kit.

Read next to
nova/api/openstack/compute/flows/server_remove_security_group.py:
authorize, remove_from_ports (the network service; reverted by giving
the group back to the ports), update_instance (the server's list).
"""

from __future__ import annotations

from typing import Any

from nova.flow import hooks
from nova.tests.unit.api.openstack.compute.flows import kit

FLOW = 'api.server_remove_security_group'
STAGES = ['authorize', 'remove_from_ports', 'update_instance']
REMOVE_DEFAULT = {'removeSecurityGroup': {'name': 'default'}}


class Frozen(hooks.Hook):
    """Refuses the change of the server's list, after the ports."""

    supports = {FLOW: '1.0'}

    @hooks.before(f'{FLOW}.update_instance')
    def frozen(self, ctx: Any, state: Any) -> None:
        raise hooks.RunRefused('Security groups are frozen.', code=409)


class TestRemoveSecurityGroup(kit.SecurityGroupTestCase):

    watching = (FLOW, '1.0', STAGES, lambda state: (
        state.group and state.group['name'],
        sorted(state.instance['security_groups'] or [])))

    def test_stages_and_effect(self):
        self.assertEqual((202, None), self.action(REMOVE_DEFAULT))
        self.assertEqual(STAGES, list(self.seen))
        self.assertEqual(('default', ['default']),
                         self.seen['remove_from_ports'])
        self.assertEqual(('default', []), self.seen['update_instance'])
        self.assertEqual([], self.listed())
        self.assertEqual([[]], self.port_groups())

    def test_a_group_no_port_has_is_404(self):
        code, body = self.action({'removeSecurityGroup': {'name': 'web'}})
        self.assertEqual(404, code, body)
        self.assertEqual(['authorize'], list(self.seen))
        self.assertEqual([['default']], self.port_groups())


class TestRemoveSecurityGroupReverted(kit.SecurityGroupTestCase):

    hooks = (Frozen,)

    def test_a_failure_after_the_ports_gives_the_group_back(self):
        code, body = self.action(REMOVE_DEFAULT)
        self.assertEqual(409, code, body)
        self.assertEqual([['default']], self.port_groups())
        self.assertEqual(['default'], self.listed())
