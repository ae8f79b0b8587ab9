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
    cfg.IntOpt(
        'max_concurrent_recoveries',
        default=10,
        min=1,
        help='How many instances nova-conductor recovers at the same time '
             'at start (the runs of one instance are always recovered one '
             'after another). The conductor recovers before it takes '
             'requests: its flows hold no per-instance lock a new request '
             'could wait on.'),
    cfg.IntOpt(
        'max_concurrent_configures',
        default=10,
        min=1,
        help='How many compute hosts one multi-create request (a server '
             'create with min_count/max_count above 1) configures at the '
             'same time, and powers on at the same time: nova-conductor '
             'calls compute.configure_instance for every instance of the '
             'request, then compute.power_on_instance for every instance '
             'configured, at most this many calls under way at once. Each '
             'call holds one of the conductor\'s RPC worker threads '
             '([DEFAULT] executor_thread_pool_size) for as long as the '
             'host takes.'),
    cfg.IntOpt(
        'lost_build_timeout',
        default=300,
        min=0,
        help='Seconds after which nova-conductor treats a server still '
             'waiting to be scheduled, that no service ever took (no flow '
             'run is recorded for its create request: nova-api stopped '
             'between writing the server and sending it on, or a '
             'conductor stopped between receiving the request and '
             'handing it to a compute host), as lost: it is set to ERROR '
             'with a fault saying so and its create action is finished, '
             'rather than staying in BUILD forever. Checked at start and '
             'every half of this period. 0 disables the check. Must be '
             'longer than scheduling ever takes under load.'),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_group(conductor_group)
    conf.register_opts(conductor_opts, group=conductor_group)


def list_opts() -> dict:
    return {conductor_group: conductor_opts}
