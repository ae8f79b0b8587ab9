"""[DEFAULT] options choosing and tuning the virt driver."""

from oslo_config import cfg

virt_opts = [
    cfg.StrOpt(
        'compute_driver',
        default='fake.FakeDriver',
        help='The hypervisor driver nova-compute manages guests with, as '
             '"module.Class" under nova.virt (for example '
             '"fake.FakeDriver") or as a full dotted path to a class of an '
             'installed package (for example "acme_nova.driver.AcmeDriver"). '
             'The class must subclass nova.virt.driver.ComputeDriver. A '
             'driver that cannot be loaded stops nova-compute at start. '
             'The default, the fake driver, keeps guests in memory or in '
             '[fake_driver] state_path and is meant for tests and '
             'demonstrations.'),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(virt_opts)


def list_opts() -> dict:
    return {'DEFAULT': virt_opts}
