"""[image]: nova's local image store (nova.image.local)."""

from oslo_config import cfg

image_group = cfg.OptGroup(
    'image',
    title='Image options',
    help='The image service instances boot from and snapshots go to. The '
         'default backend, nova.image.local.LocalImageAPI, stores image '
         'data as files on this host and their records (glance v2 fields) '
         'in nova\'s database. "nova-manage image create" adds images.'
         ' This group is this nova\'s own (its in-tree image service); '
         'upstream nova talks to Glance through [glance].')

image_opts = [
    cfg.StrOpt(
        'backend',
        default='nova.image.local.LocalImageAPI',
        help='Import path of the image API class (an implementation of '
             'nova.image.api.ImageAPI). nova.image.glance.GlanceImageAPI '
             'reaches an Image API v2 service over REST (Glance, or '
             'nova-image-api in a split deployment), configured by '
             '[glance].'),
    cfg.StrOpt(
        'images_path',
        default='$state_path/images',
        help='Directory of the local images\' data, one file per image '
             'named after its ID. Created when first needed. Every service '
             'that reads images (API, compute) must see the same '
             'directory.'),
    cfg.ListOpt(
        'disk_formats',
        default=['ami', 'ari', 'aki', 'vhd', 'vhdx', 'vmdk', 'raw', 'qcow2',
                 'vdi', 'iso', 'ploop'],
        help='Disk formats an image may have (glance\'s defaults).'),
    cfg.ListOpt(
        'container_formats',
        default=['ami', 'ari', 'aki', 'bare', 'ovf', 'ova', 'docker',
                 'compressed'],
        help='Container formats an image may have (glance\'s defaults).'),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_group(image_group)
    conf.register_opts(image_opts, group=image_group)


def list_opts() -> dict:
    return {image_group: image_opts}
