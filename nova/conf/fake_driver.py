"""[fake_driver]: the fake hypervisor's resources, delays and faults."""

from oslo_config import cfg

GROUP = 'fake_driver'


def _group() -> cfg.OptGroup:
    # A new OptGroup per registration: oslo.config shallow-copies a
    # registered group, so one shared object would share its option
    # overrides between ConfigOpts instances (e.g. between tests).
    return cfg.OptGroup(
        GROUP,
        title='Fake virt driver options',
        help='Options of nova.virt.fake.FakeDriver ([DEFAULT] '
             'compute_driver = fake.FakeDriver), a hypervisor that runs no '
             'guests. The fault options (delay, failure, blocking) exist '
             'for tests and benchmarks.'
         ' This group is this nova\'s own: upstream\'s fake driver has no '
         'options.')


fake_driver_opts = [
    cfg.StrOpt(
        'state_path',
        help='Directory where the fake hypervisor keeps its guests, one JSON '
             'file per guest, so that they outlive a nova-compute process '
             'the way a real hypervisor\'s guests do (crash-recovery tests '
             'rely on this). Created if missing. One nova-compute per '
             'directory. Unset: guests live in memory and vanish with the '
             'process.'),
    cfg.IntOpt('vcpus', default=1000, min=1,
               help='vCPUs the fake host reports.'),
    cfg.IntOpt('memory_mb', default=800000, min=1,
               help='RAM (MiB) the fake host reports.'),
    cfg.IntOpt('local_gb', default=600000, min=1,
               help='Local disk (GiB) the fake host reports.'),
    cfg.DictOpt(
        'delay_seconds',
        default={},
        help='Seconds a driver method takes, per method name, for example '
             '"spawn:0.2,reboot:1". The delay is a (green) sleep, so other '
             'operations go on meanwhile.'),
    cfg.ListOpt(
        'fail_methods',
        default=[],
        help='Driver methods (e.g. "spawn") that always fail with '
             'VirtDriverError, before touching the guest.'),
    cfg.ListOpt(
        'block_methods',
        default=[],
        help='Driver methods that never return, for crash tests: the call '
             'writes the marker file "<state_path>/blocked-<method>-<uuid>" '
             'and blocks forever, so a test can kill nova-compute while it '
             'is inside that call. "spawn" blocks after the call took effect '
             '(the guest exists), "spawn:before" before it did. Requires '
             'state_path.'),
    cfg.BoolOpt(
        'host_down',
        default=False,
        help='Start with the whole fake hypervisor down: every driver call '
             'raises HypervisorUnavailable (the guests are kept), as a host '
             'that died does; tests switch it with '
             'FakeDriver.set_host_down().'),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    group = _group()
    conf.register_group(group)
    conf.register_opts(fake_driver_opts, group=group)


def list_opts() -> dict:
    return {_group(): fake_driver_opts}
