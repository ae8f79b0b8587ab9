"""[quota]: the per-project limits the compute API enforces.

Names and defaults are upstream nova's (``[quota] instances = 10`` ...);
per-project and per-user overrides are stored in the database
(``os-quota-sets``) and win over these defaults.  -1 means unlimited.
"""

from oslo_config import cfg

quota_group = cfg.OptGroup(
    'quota', title='Quota options',
    help='Default limits of each project (overridden per project and per '
         'user through the os-quota-sets API), and how they are '
         'enforced.')

quota_opts = [
    cfg.IntOpt(
        'instances', default=10, min=-1,
        help='The number of servers a project may have. -1 for '
             'unlimited.'),
    cfg.IntOpt(
        'cores', default=20, min=-1,
        help='The number of vCPUs the servers of a project may have in '
             'total. -1 for unlimited.'),
    cfg.IntOpt(
        'ram', default=50 * 1024, min=-1,
        help='The MiB of RAM the servers of a project may have in total. '
             '-1 for unlimited.'),
    cfg.IntOpt(
        'metadata_items', default=128, min=-1,
        help='The number of metadata key/value pairs one server may '
             'have. -1 for unlimited.'),
    cfg.IntOpt(
        'key_pairs', default=100, min=-1,
        help='The number of key pairs one user may have. -1 for '
             'unlimited.'),
    cfg.IntOpt(
        'server_groups', default=10, min=-1,
        help='The number of server groups a project may have. -1 for '
             'unlimited.'),
    cfg.IntOpt(
        'server_group_members', default=10, min=-1,
        help='The number of servers one server group may have. -1 for '
             'unlimited.'),
    cfg.IntOpt(
        'injected_files', default=5, min=-1,
        help='Shown by os-quota-sets before microversion 2.57 (file '
             'injection, "personality", is gone from 2.57); not '
             'enforced.'),
    cfg.IntOpt(
        'injected_file_content_bytes', default=10 * 1024, min=-1,
        help='Shown by os-quota-sets before microversion 2.57; not '
             'enforced.'),
    cfg.IntOpt(
        'injected_file_path_length', default=255, min=-1,
        help='Shown by os-quota-sets before microversion 2.57; not '
             'enforced.'),
    cfg.StrOpt(
        'driver', default='nova.quota.DbQuotaDriver',
        choices=[('nova.quota.DbQuotaDriver',
                  'Limits from the database (os-quota-sets) and the '
                  'defaults above; usage counted from the resources '
                  'themselves.'),
                 ('nova.quota.NoopQuotaDriver',
                  'No limits at all: every limit reads as -1 and nothing '
                  'is refused.')],
        help='How quotas are enforced.'),
    cfg.BoolOpt(
        'recheck_quota', default=True,
        help='Count usage again after the server records are written and '
             'fail the servers of a request that raced another one past '
             'the limit (upstream\'s "recheck"). Without it two '
             'concurrent requests may together exceed a quota. Not '
             'done for a request whose project and user had no '
             'instances, cores or ram limit when it was checked: no '
             'race can pass a limit that is not there.'),
    cfg.IntOpt(
        'max_instances_per_request', default=1000, min=1,
        help='The largest max_count one POST /servers may ask for, '
             'whatever the instances quota (even unlimited, -1): a larger '
             'max_count is reduced to this, a larger min_count refused '
             'with 403. Bounds the rows one request inserts.'),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_group(quota_group)
    conf.register_opts(quota_opts, group=quota_group)


def list_opts() -> dict:
    return {quota_group: quota_opts}
