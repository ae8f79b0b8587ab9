"""[console]: what the console proxies accept from browsers."""

from oslo_config import cfg

GROUP = 'console'


def _group() -> cfg.OptGroup:
    # A new OptGroup per registration (see nova.conf.fake_driver).
    return cfg.OptGroup(
        GROUP,
        title='Console proxy options',
        help='Options of the console proxies (nova-novncproxy).')


console_opts = [
    cfg.ListOpt(
        'allowed_origins',
        default=[],
        help='Host names, besides the one the proxy is reached by (the '
             'request\'s Host header), that a websocket request\'s Origin '
             'header may name. A request from a page of any other origin '
             'is refused, so that another site cannot open a console with '
             'a token it got hold of.'),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    group = _group()
    conf.register_group(group)
    conf.register_opts(console_opts, group=group)


def list_opts() -> dict:
    return {_group(): console_opts}
