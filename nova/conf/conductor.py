from oslo_config import cfg

conductor_group = cfg.OptGroup(
    'conductor', title='Conductor options',
    help='Options of the nova-conductor service.')

conductor_opts = [
    cfg.BoolOpt(
        'recover_interrupted_flows',
        default=True,
        help='At start, finish or revert every conductor flow run that a '
             'previous nova-conductor on this host ([DEFAULT] host) left '
             'unfinished (each flow\'s interrupted-run policy decides '
             'which). Turn off only to inspect a crashed conductor by '
             'hand.'),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_group(conductor_group)
    conf.register_opts(conductor_opts, group=conductor_group)


def list_opts() -> dict:
    return {conductor_group: conductor_opts}
