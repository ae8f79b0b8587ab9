"""[consoleauth]: the tokens that open a guest's remote console."""

from oslo_config import cfg

GROUP = 'consoleauth'


def _group() -> cfg.OptGroup:
    # A new OptGroup per registration (see nova.conf.fake_driver).
    return cfg.OptGroup(
        GROUP,
        title='Console authorization options',
        help='The tokens nova-compute issues with a console URL and the '
             'console proxies (nova-novncproxy) check. Only a hash of '
             'each token is stored, in the console_auth_tokens table.')


consoleauth_opts = [
    cfg.IntOpt(
        'token_ttl',
        default=600,
        min=0,
        help='Seconds a console token is valid after it was issued. '
             'Within that time it opens the console any number of times '
             '(a browser reconnects with it); then the proxy refuses it. '
             'nova-compute removes expired tokens every so often.'),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    group = _group()
    conf.register_group(group)
    conf.register_opts(consoleauth_opts, group=group)


def list_opts() -> dict:
    return {_group(): consoleauth_opts}
