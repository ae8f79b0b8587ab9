"""[volume]: nova's local volume service (nova.volume.local)."""

from oslo_config import cfg

volume_group = cfg.OptGroup(
    'volume',
    title='Volume options',
    help='The block storage service volumes come from. The default '
         'backend, nova.volume.local.LocalVolumeAPI, keeps each volume as '
         'a sparse file on this host and its state in nova\'s database, '
         'with cinder\'s states (available, reserved, attaching, in-use, '
         'detaching).'
         ' This group is this nova\'s own (its in-tree volume service); '
         'upstream nova talks to Cinder through [cinder].')

volume_opts = [
    cfg.StrOpt(
        'backend',
        default='nova.volume.local.LocalVolumeAPI',
        help='Import path of the volume API class (an implementation of '
             'nova.volume.api.VolumeAPI). Replace it to use a real block '
             'storage service.'),
    cfg.StrOpt(
        'volumes_path',
        default='$state_path/volumes',
        help='Directory of the local volumes\' files, one sparse file per '
             'volume named after its ID. Created when first needed. Every '
             'service that attaches volumes must see the same directory.'),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_group(volume_group)
    conf.register_opts(volume_opts, group=volume_group)


def list_opts() -> dict:
    return {volume_group: volume_opts}
