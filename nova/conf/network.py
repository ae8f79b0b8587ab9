"""[network]: nova's local flat network (nova.network.local)."""

from oslo_config import cfg

network_group = cfg.OptGroup(
    'network',
    title='Network options',
    help='The network service instances get their ports from. The default '
         'backend, nova.network.local.FlatNetworkAPI, hands out addresses '
         'of one flat network recorded in nova\'s database; it configures '
         'nothing on the host (the virt driver plugs the VIFs into '
         '"flat_network_bridge"). This group is this nova\'s own (its '
         'in-tree network service); upstream nova talks to Neutron '
         'through [neutron].')

network_opts = [
    cfg.StrOpt(
        'backend',
        default='nova.network.local.FlatNetworkAPI',
        help='Import path of the network API class (an implementation of '
             'nova.network.api.NetworkAPI). Replace it to use a real '
             'network service.'),
    cfg.StrOpt(
        'flat_network_name',
        default='private',
        help='Name (label) of the flat network. It is also the network\'s '
             'ID in requests and in the database, so changing it on a '
             'deployment with instances makes their addresses belong to a '
             'network that no longer exists.'),
    cfg.StrOpt(
        'flat_network_cidr',
        default='10.0.0.0/24',
        help='IPv4 or IPv6 CIDR of the flat network. Instances get '
             'addresses from it, except the network and broadcast '
             'addresses and the gateway.'),
    cfg.StrOpt(
        'flat_network_gateway',
        help='Gateway address of the flat network, reported to guests and '
             'never allocated. Default: the first host address of '
             '"flat_network_cidr".'),
    cfg.StrOpt(
        'flat_network_bridge',
        default='br100',
        help='Bridge the virt driver plugs the instances\' interfaces '
             'into; reported in the network info of every port.'),
    cfg.ListOpt(
        'flat_network_dns',
        default=['8.8.8.8'],
        help='DNS servers reported to guests of the flat network.'),
    cfg.IntOpt(
        'allocation_attempts',
        default=64,
        min=1,
        help='How many addresses one port allocation tries before giving '
             'up. Only concurrent allocations from several processes make '
             'an attempt fail (another process took the address first), '
             'so the default is plenty; the network being full is '
             'detected without using attempts up.'),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_group(network_group)
    conf.register_opts(network_opts, group=network_group)


def list_opts() -> dict:
    return {network_group: network_opts}
