"""[DEFAULT] options of nova-novncproxy (as upstream's console proxies)."""

from oslo_config import cfg

novnc_opts = [
    cfg.StrOpt(
        'web',
        default='/usr/share/novnc',
        help='Directory of the noVNC web client that nova-novncproxy '
             'serves over HTTP beside its websocket (the page of [vnc] '
             'novncproxy_base_url; Debian\'s "novnc" package installs it '
             'here). Without it the proxy serves websockets only.'),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(novnc_opts)


def list_opts() -> dict:
    return {'DEFAULT': novnc_opts}
