"""[vnc]: VNC consoles of guests, and the nova-novncproxy service."""

from oslo_config import cfg

GROUP = 'vnc'


def _group() -> cfg.OptGroup:
    # A new OptGroup per registration (see nova.conf.fake_driver).
    return cfg.OptGroup(
        GROUP,
        title='VNC options',
        help='Virtual Network Computer (VNC) consoles of guests. A user '
             'asks the compute API for a console '
             '(POST /servers/{id}/remote-consoles, "openstack console url '
             'show"); the answer is a URL of nova-novncproxy with a '
             'one-off token, and the proxy relays the browser\'s websocket '
             'to the guest\'s VNC server on its compute host.')


vnc_opts = [
    cfg.BoolOpt(
        'enabled',
        default=True,
        help='Give new guests a VNC console and answer console requests. '
             'Read by nova-compute: with it off, guests get no VNC device '
             'and a console request is refused as unavailable (400).'),
    cfg.HostAddressOpt(
        'server_listen',
        default='127.0.0.1',
        help='The address the VNC servers of guests listen on, on the '
             'compute host (libvirt: the graphics device\'s listen '
             'address). Must be reachable from nova-novncproxy; '
             '"0.0.0.0" or "::" keeps a guest reachable after a live '
             'migration to a host with another address.'),
    cfg.HostAddressOpt(
        'server_proxyclient_address',
        default='127.0.0.1',
        help='The address of this compute host that nova-novncproxy '
             'connects to for the VNC consoles of its guests (stored in '
             'each console token).'),
    cfg.URIOpt(
        'novncproxy_base_url',
        default='http://127.0.0.1:6080/vnc_lite.html',
        help='Public URL of the noVNC page served by nova-novncproxy, as '
             'users\' browsers reach it. Console URLs are this URL with '
             'the token in a "path" query parameter '
             '("?path=%3Ftoken%3D..."). Read by nova-compute, which makes '
             'the URL, so a compute host can send its users to a proxy of '
             'its own.'),
    cfg.HostAddressOpt(
        'novncproxy_host',
        default='0.0.0.0',
        help='The address nova-novncproxy listens on.'),
    cfg.PortOpt(
        'novncproxy_port',
        default=6080,
        help='The port nova-novncproxy listens on.'),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    group = _group()
    conf.register_group(group)
    conf.register_opts(vnc_opts, group=group)


def list_opts() -> dict:
    return {_group(): vnc_opts}
