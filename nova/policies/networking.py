"""Defaults of the Networking API (nova.api.openstack.network).

The rule names are Neutron's, so an operator's Neutron policy knowledge
carries over.  Networks and subnets belong to a project (the flat
network, shared, to none: any authenticated user may see it and its
subnet, only an admin may try to change it); only an admin makes a
shared network.  Ports are
project-scoped like servers: readers see, members act in their project,
admins everywhere; the port binding's host is for admins only.
Security groups and their rules are project-scoped as ports are.
"""

from oslo_policy import policy

from nova.policies import base


def _op(name: str, check: str, method: str, path: str,
        description: str) -> policy.DocumentedRuleDefault:
    return policy.DocumentedRuleDefault(
        name, check, description, [{'method': method, 'path': path}])


rules: list[policy.RuleDefault] = [
    _op('get_network', base.PROJECT_READER_OR_ADMIN, 'GET',
        '/v2.0/networks/{id}',
        'Show or list the networks of a project (shared networks, the '
        'flat one among them, are everyone\'s to see)'),
    _op('create_network', base.PROJECT_MEMBER_OR_ADMIN, 'POST',
        '/v2.0/networks', 'Create a network in a project'),
    _op('create_network:shared', base.ADMIN, 'POST', '/v2.0/networks',
        'Create a network shared with every project (shared)'),
    _op('update_network', base.PROJECT_MEMBER_OR_ADMIN, 'PUT',
        '/v2.0/networks/{id}', 'Rename a network'),
    _op('delete_network', base.PROJECT_MEMBER_OR_ADMIN, 'DELETE',
        '/v2.0/networks/{id}', 'Delete a network no port is on'),
    _op('get_subnet', base.PROJECT_READER_OR_ADMIN, 'GET',
        '/v2.0/subnets/{id}',
        'Show or list the subnets of a project (those of shared networks '
        'are everyone\'s to see)'),
    _op('create_subnet', base.PROJECT_MEMBER_OR_ADMIN, 'POST',
        '/v2.0/subnets', 'Create a subnet on a network of the project'),
    _op('delete_subnet', base.PROJECT_MEMBER_OR_ADMIN, 'DELETE',
        '/v2.0/subnets/{id}',
        'Delete a subnet of a network of the project, no address of '
        'which a port has'),
    _op('get_port', base.PROJECT_READER_OR_ADMIN, 'GET',
        '/v2.0/ports/{id}', 'Show or list the ports of a project'),
    _op('get_port:binding:host_id', base.ADMIN, 'GET', '/v2.0/ports/{id}',
        'See the host a port is bound to (binding:host_id)'),
    _op('create_port', base.PROJECT_MEMBER_OR_ADMIN, 'POST', '/v2.0/ports',
        'Create a port in a project'),
    _op('create_port:binding:host_id', base.ADMIN, 'POST', '/v2.0/ports',
        'Bind a new port to a host (binding:host_id)'),
    _op('update_port', base.PROJECT_MEMBER_OR_ADMIN, 'PUT',
        '/v2.0/ports/{id}', 'Rename a port, give it to a server (device_id) '
                            'or take it back'),
    _op('update_port:binding:host_id', base.ADMIN, 'PUT',
        '/v2.0/ports/{id}', 'Bind a port to a host (binding:host_id)'),
    _op('delete_port', base.PROJECT_MEMBER_OR_ADMIN, 'DELETE',
        '/v2.0/ports/{id}', 'Delete a port no server has'),
    _op('get_security_group', base.PROJECT_READER_OR_ADMIN, 'GET',
        '/v2.0/security-groups/{id}',
        'Show or list the security groups of a project'),
    _op('create_security_group', base.PROJECT_MEMBER_OR_ADMIN, 'POST',
        '/v2.0/security-groups', 'Create a security group in a project'),
    _op('update_security_group', base.PROJECT_MEMBER_OR_ADMIN, 'PUT',
        '/v2.0/security-groups/{id}', 'Rename a security group'),
    _op('delete_security_group', base.PROJECT_MEMBER_OR_ADMIN, 'DELETE',
        '/v2.0/security-groups/{id}', 'Delete a security group no port has'),
    _op('get_security_group_rule', base.PROJECT_READER_OR_ADMIN, 'GET',
        '/v2.0/security-group-rules/{id}',
        'Show or list the rules of the security groups of a project'),
    _op('create_security_group_rule', base.PROJECT_MEMBER_OR_ADMIN, 'POST',
        '/v2.0/security-group-rules', 'Add a rule to a security group'),
    _op('delete_security_group_rule', base.PROJECT_MEMBER_OR_ADMIN,
        'DELETE', '/v2.0/security-group-rules/{id}',
        'Delete a rule of a security group'),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
