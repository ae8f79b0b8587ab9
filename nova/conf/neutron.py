"""[neutron]: how nova.network.neutron.NeutronNetworkAPI reaches a
Networking API (Neutron's, or nova-network's).

Upstream nova's group: keystoneauth's session options (cafile,
insecure, timeout ...), its auth options (auth_type and the plugin's
options, e.g. ``admin_token`` with ``endpoint``/``token`` or
``password`` with Keystone) and its adapter options (service_type,
valid_interfaces, region_name, endpoint_override ...).
"""

from keystoneauth1 import loading as ks_loading
from oslo_config import cfg

neutron_group = cfg.OptGroup(
    'neutron',
    title='Neutron options',
    help='The Networking API the REST network backend '
         '(nova.network.neutron.NeutronNetworkAPI, chosen by [network] '
         'backend) talks to, and the credentials it acts with. nova-compute '
         'uses these service credentials for every port operation (they '
         'bind ports to hosts, which needs an admin); without them it '
         'uses the token of the request, if any, against '
         'endpoint_override.')

DEFAULT_SERVICE_TYPE = 'network'


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_group(neutron_group)
    ks_loading.register_session_conf_options(conf, neutron_group.name)
    ks_loading.register_auth_conf_options(conf, neutron_group.name)
    ks_loading.register_adapter_conf_options(conf, neutron_group.name,
                                             include_deprecated=False)
    conf.set_default('service_type', DEFAULT_SERVICE_TYPE,
                     group=neutron_group.name)
    conf.set_default('valid_interfaces', ['internal', 'public'],
                     group=neutron_group.name)


def list_opts() -> dict:
    return {neutron_group: (
        ks_loading.get_session_conf_options()
        + ks_loading.get_auth_common_conf_options()
        + ks_loading.get_auth_plugin_conf_options('password')
        + ks_loading.get_adapter_conf_options(include_deprecated=False))}
