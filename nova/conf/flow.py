from oslo_config import cfg

flow_group = cfg.OptGroup(
    'flow',
    title='Flow engine options',
    help='Stage hooks and stage switches of the compute and API flows. '
         'See "nova-manage flow show FLOW" for the effective stage lists.'
         ' This group is this nova\'s own: upstream nova has no flows or '
         'hooks.')

flow_opts = [
    cfg.ListOpt(
        'enabled_hooks',
        default=[],
        help='Ordered list of hooks to enable, by entry point name in the '
             '"nova.flow.hooks" namespace of installed packages. A name no '
             'package provides, or a hook that does not fit the flows it '
             'names, stops the service at start with a message naming it. '
             'Where two hooks act at the same stage, the one listed first '
             'runs first (outermost for "around" hooks).'),
    cfg.ListOpt(
        'disabled_stages',
        default=[],
        help='Stage IDs (for example '
             '"compute.build_instance.notify_usage_start") to skip. Only '
             'stages flagged optional may be disabled; any other stage ID '
             'stops the service at start. Disabling a stage of an API '
             'flow (e.g. "api.server_create.tags") disables its '
             'behaviour only: its request fields are still accepted, '
             'and ignored (logged at INFO), so the standard API stays '
             'the same on every cloud.'),
    cfg.StrOpt(
        'record_stage_starts',
        default='reverting',
        choices=[
            ('reverting', 'write the start of a stage that has a revert '
                          'before it runs; the start of any other stage '
                          'with the next write of its run'),
            ('all', 'write the start of every stage before it runs'),
        ],
        help='When the database recorder writes a stage\'s start. Recovery '
             'of a run cut by a crash needs the start of every stage with a '
             'revert (the stage may have done part of its work, which the '
             'revert undoes) and nothing more: a stage without one has '
             'nothing to undo (where a crash must not repeat a stage, '
             'its completion is written before the next stage, whatever '
             'this says). With "reverting" such a start is written '
             'together with the next stage that has a revert, a failure or '
             'the end of the run, which saves a write per stage (a '
             'seventh of the CPU of a boot); a crash then loses which of '
             'those stages was running. "all" keeps it, for a host whose '
             'crashes are being investigated.'),
    cfg.IntOpt(
        'abandoned_run_check_interval',
        default=60,
        min=0,
        help='Seconds between two checks, by nova-compute and '
             'nova-conductor, for flow runs recorded as running on their '
             'host that none of their threads runs any more: runs that '
             'stopped because their record could not be written (the '
             'database unreachable for longer than the retries of '
             '[database] db_max_retries). Each is finished or reverted as '
             'at a restart (the flow\'s interrupted-run policy), once the '
             'database is back. 0 turns the check off: such runs then wait '
             'for the next start of the service. Only when the service '
             'recovers interrupted runs at start ([compute] / [conductor] '
             'recover_interrupted_flows).'),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_group(flow_group)
    conf.register_opts(flow_opts, group=flow_group)


def list_opts() -> dict:
    return {flow_group: flow_opts}
