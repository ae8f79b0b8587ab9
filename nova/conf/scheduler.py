from oslo_config import cfg

scheduler_group = cfg.OptGroup(
    'scheduler', title='Scheduler options',
    help='Host selection, done by nova-conductor.')

scheduler_opts = [
    cfg.IntOpt(
        'max_attempts',
        default=3,
        min=1,
        help='Hosts a build may be tried on. When a build fails on a host '
             'for a reason that may be specific to that host, it is '
             'rescheduled to another one until this many were tried; then '
             'the instance goes to ERROR.'),
]


filter_scheduler_group = cfg.OptGroup(
    'filter_scheduler', title='Filter scheduler options',
    help='How hosts are filtered and weighed (upstream nova\'s group; the '
         'options were in [scheduler] here, which still works with a '
         'deprecation warning).')

filter_scheduler_opts = [
    cfg.ListOpt(
        'enabled_filters',
        deprecated_group='scheduler',
        default=['ComputeFilter', 'AvailabilityZoneFilter', 'RamFilter',
                 'DiskFilter', 'CoreFilter', 'RetryFilter',
                 'ServerGroupAntiAffinityFilter',
                 'ServerGroupAffinityFilter'],
        help='Host filters, applied in order. Known: ComputeFilter (service '
             'enabled and alive), AvailabilityZoneFilter, RamFilter, '
             'DiskFilter, CoreFilter, RetryFilter (skip hosts a build '
             'already failed on), ServerGroupAntiAffinityFilter and '
             'ServerGroupAffinityFilter (the server group\'s '
             'anti-affinity and affinity policies), '
             'AggregateInstanceExtraSpecsFilter (flavor extra specs '
             'aggregate_instance_extra_specs:KEY must match the metadata of '
             'an aggregate of the host).'),
    cfg.IntOpt(
        'host_subset_size',
        deprecated_group='scheduler',
        default=1,
        min=1,
        help='How many of the best-weighed hosts a decision chooses from, '
             'at random. 1 (the default) always takes the best host. '
             'A nova-conductor counts each host it chose in that host\'s '
             'usage until the host claims, so the decisions of one '
             'conductor spread a burst of boots even with 1; decisions of '
             'several conductors at the same time do not see each other\'s '
             'choices until the hosts claim, and with 1 may pick the same '
             'best host. A larger value spreads those over that many hosts '
             'at the cost of a less exact ranking. '
             'Upstream nova\'s option of the same name.'),
    cfg.FloatOpt(
        'ram_weight_multiplier',
        deprecated_group='scheduler',
        default=1.0,
        help='Weight of free RAM when ranking hosts; positive spreads '
             'instances, negative stacks them.'),
    cfg.FloatOpt(
        'soft_affinity_weight_multiplier',
        default=1.0,
        min=0.0,
        help='Weight of the soft-affinity policy of a server group: hosts '
             'with more of the group\'s servers rank higher. Each '
             'weigher\'s values are normalized to 0..1 before this '
             'multiplier applies.'),
    cfg.FloatOpt(
        'soft_anti_affinity_weight_multiplier',
        default=1.0,
        min=0.0,
        help='Weight of the soft-anti-affinity policy of a server group: '
             'hosts with fewer of the group\'s servers rank higher.'),
]


def register_opts(conf):
    conf.register_group(scheduler_group)
    conf.register_opts(scheduler_opts, group=scheduler_group)
    conf.register_group(filter_scheduler_group)
    conf.register_opts(filter_scheduler_opts, group=filter_scheduler_group)


def list_opts():
    return {scheduler_group: scheduler_opts,
            filter_scheduler_group: filter_scheduler_opts}
