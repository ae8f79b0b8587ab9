"""A server's security groups through the REST API, on a whole cloud
in-process: create with security_groups, the addSecurityGroup and
removeSecurityGroup actions and GET os-security-groups, with the local
network service's groups and ports behind them."""

from __future__ import annotations

from oslo_policy import policy

from nova.compute import vm_states
from nova.policies import enforcer
from nova.tests.functional.api import base as api_base

USER = api_base.USER
ADMIN = api_base.ADMIN
OTHER = 'alt:alt'


class TestSecurityGroupsAPI(api_base.APITestCase):

    def setUp(self):
        super().setUp()
        self.network = self.cloud.compute_api.network_api
        self.web = self.network.create_security_group(
            self.cloud.user_context(), 'demo', 'web', 'web servers')

    def boot(self, **server):
        body = {'name': 'vm', 'flavorRef': '1',
                'imageRef': self.cloud.image['id'], 'networks': 'auto',
                **server}
        code, data = self.call('POST', '/servers', {'server': body})
        self.assertEqual(202, code, data)
        uuid = data['server']['id']
        self.cloud.wait_for_state(uuid, vm_states.ACTIVE)
        return uuid

    def action(self, uuid, body, token=USER):
        return self.call('POST', f'/servers/{uuid}/action', body, token)

    def shown(self, uuid, token=USER):
        code, data = self.call('GET', f'/servers/{uuid}', token=token)
        self.assertEqual(200, code, data)
        return sorted(g['name'] for g in
                      data['server'].get('security_groups', []))

    def port_groups(self, uuid):
        ctx = self.cloud.user_context()
        ports = [vif['id'] for vif in
                 self.network.get_instance_nw_info(ctx, uuid)]
        ids = self.network.port_security_groups(ctx, ports)
        names = {g['id']: g['name'] for g in
                 self.network.list_security_groups(ctx)}
        return [sorted(names[i] for i in ids[p]) for p in ports]

    def assert_fault(self, result, code, kind, message):
        status, data = result
        self.assertEqual(code, status, data)
        self.assertEqual({kind: {'code': code, 'message': message}}, data)

    def test_create_with_groups_gives_the_ports_the_groups(self):
        uuid = self.boot(security_groups=[{'name': 'web'}])
        self.assertEqual(['web'], self.shown(uuid))
        self.assertEqual([['web']], self.port_groups(uuid))

    def test_create_without_groups_gets_default(self):
        uuid = self.boot()
        self.assertEqual(['default'], self.shown(uuid))
        self.assertEqual([['default']], self.port_groups(uuid))

    def test_create_with_unknown_group_is_400(self):
        body = {'name': 'vm', 'flavorRef': '1',
                'imageRef': self.cloud.image['id'], 'networks': 'auto',
                'security_groups': [{'name': 'nope'}]}
        self.assert_fault(
            self.call('POST', '/servers', {'server': body}), 400,
            'badRequest', "Unable to find security_group with name or id "
                          "'nope'")
        _, data = self.call('GET', '/servers')
        self.assertEqual([], data['servers'])

    def test_add_and_remove(self):
        uuid = self.boot()
        self.assertEqual((202, None), self.action(
            uuid, {'addSecurityGroup': {'name': 'web'}}))
        self.assertEqual(['default', 'web'], self.shown(uuid))
        self.assertEqual([['default', 'web']], self.port_groups(uuid))
        self.assert_fault(
            self.action(uuid, {'addSecurityGroup': {'name': 'web'}}), 400,
            'badRequest', f'Security group web is already associated with '
                          f'the instance {uuid}')

        self.assertEqual((202, None), self.action(
            uuid, {'removeSecurityGroup': {'name': 'default'}}))
        self.assertEqual(['web'], self.shown(uuid))
        self.assertEqual([['web']], self.port_groups(uuid))
        # Upstream's answer for a group the server does not have: 404.
        self.assert_fault(
            self.action(uuid, {'removeSecurityGroup': {'name': 'default'}}),
            404, 'itemNotFound', f'Security group default not associated '
                                 f'with the instance {uuid}')

    def test_add_by_id_lists_the_name(self):
        uuid = self.boot()
        self.assertEqual(202, self.action(
            uuid, {'addSecurityGroup': {'name': self.web['id']}})[0])
        self.assertEqual(['default', 'web'], self.shown(uuid))
        self.assertEqual(202, self.action(
            uuid, {'removeSecurityGroup': {'name': self.web['id']}})[0])
        self.assertEqual(['default'], self.shown(uuid))

    def test_unknown_group_is_404(self):
        uuid = self.boot()
        for action in ('addSecurityGroup', 'removeSecurityGroup'):
            self.assert_fault(
                self.action(uuid, {action: {'name': 'nope'}}), 404,
                'itemNotFound',
                'Security group nope is not found for project demo')
        self.assertEqual(['default'], self.shown(uuid))

    def test_server_without_ports_is_404(self):
        uuid = self.boot(networks='none')
        self.assert_fault(
            self.action(uuid, {'addSecurityGroup': {'name': 'web'}}), 404,
            'itemNotFound', f'instance_id {uuid} could not be found as '
                            f'device id on any ports')

    def test_bad_bodies_are_400(self):
        uuid = self.boot()
        for body in ({'addSecurityGroup': {}},
                     {'addSecurityGroup': {'name': ''}},
                     {'addSecurityGroup': {'name': 'web', 'x': 1}},
                     {'removeSecurityGroup': None}):
            code, data = self.action(uuid, body)
            self.assertEqual(400, code, (body, data))
        self.assert_fault(
            self.action(uuid, {'addSecurityGroup': {'name': '  '}}), 400,
            'badRequest', 'Security group name cannot be empty')

    def test_ambiguous_name_is_409(self):
        self.network.create_security_group(self.cloud.user_context(),
                                           'demo', 'web')
        uuid = self.boot()
        code, data = self.action(uuid, {'addSecurityGroup': {'name': 'web'}})
        self.assertEqual(409, code, data)
        self.assertIn("Multiple security_group matches found for name "
                      "'web'", data['conflictingRequest']['message'])

    def test_admin_acts_on_a_members_server_in_its_project(self):
        uuid = self.boot()
        self.assertEqual(202, self.action(
            uuid, {'addSecurityGroup': {'name': 'web'}}, ADMIN)[0])
        self.assertEqual(['default', 'web'], self.shown(uuid))
        self.assertEqual(202, self.action(
            uuid, {'removeSecurityGroup': {'name': 'web'}}, ADMIN)[0])
        self.assertEqual(['default'], self.shown(uuid))

    def test_another_projects_server_is_404(self):
        uuid = self.boot()
        for action in ('addSecurityGroup', 'removeSecurityGroup'):
            self.assert_fault(
                self.action(uuid, {action: {'name': 'web'}}, OTHER), 404,
                'itemNotFound', f'Instance {uuid} could not be found.')
        code, _ = self.call('GET', f'/servers/{uuid}/os-security-groups',
                            token=OTHER)
        self.assertEqual(404, code)
        self.assertEqual(['default'], self.shown(uuid))
        self.assertEqual([['default']], self.port_groups(uuid))

    def test_policies_are_checked(self):
        uuid = self.boot()
        policies = enforcer.get_enforcer()
        policies.load_rules()
        policies.set_rules(policy.Rules.from_dict({
            f'os_compute_api:os-security-groups:{name}': 'role:nobody'
            for name in ('add', 'remove', 'list')}), overwrite=False,
            use_conf=False)
        for action in ('addSecurityGroup', 'removeSecurityGroup'):
            code, data = self.action(uuid, {action: {'name': 'default'}})
            self.assertEqual(403, code, data)
        code, _ = self.call('GET', f'/servers/{uuid}/os-security-groups')
        self.assertEqual(403, code)
        self.assertEqual(['default'], self.shown(uuid))
        self.assertEqual([['default']], self.port_groups(uuid))

    def test_list_server_security_groups(self):
        ctx = self.cloud.user_context()
        rule = self.network.create_security_group_rule(ctx, {
            'security_group_id': self.web['id'], 'direction': 'ingress',
            'ethertype': 'IPv4', 'protocol': 'tcp', 'port_range_min': 22,
            'port_range_max': 22, 'remote_ip_prefix': '0.0.0.0/0'})
        uuid = self.boot(security_groups=[{'name': 'web'},
                                          {'name': 'default'}])
        code, data = self.call('GET', f'/servers/{uuid}/os-security-groups')
        self.assertEqual(200, code, data)
        groups = data['security_groups']
        self.assertEqual(['default', 'web'], [g['name'] for g in groups])
        web = groups[1]
        self.assertEqual({'id': self.web['id'], 'name': 'web',
                          'description': 'web servers', 'tenant_id': 'demo',
                          'rules': [{'id': rule['id'],
                                     'parent_group_id': self.web['id'],
                                     'ip_protocol': 'tcp', 'from_port': 22,
                                     'to_port': 22, 'group': {},
                                     'ip_range': {'cidr': '0.0.0.0/0'}}]},
                         web)
        default = groups[0]
        self.assertEqual(
            [{'name': 'default', 'tenant_id': 'demo'}] * 2,
            [r['group'] for r in default['rules']])

