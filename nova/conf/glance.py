"""[glance]: how nova reaches an Image API v2 service over REST.

Used by nova.image.glance.GlanceImageAPI (``[image] backend =
nova.image.glance.GlanceImageAPI``): a real Glance, or this nova's own
image API (nova-image-api, or /image on nova-api).  Upstream nova's group
and option names: keystoneauth's session, auth and adapter options.
"""

from keystoneauth1 import loading as ks_loading
from oslo_config import cfg

glance_group = cfg.OptGroup(
    'glance',
    title='Glance options',
    help='Configuration options for the Image service client: its '
         'endpoint (from the service catalog, or endpoint_override), TLS '
         'settings, and the credentials used when a request has no user '
         'token (periodic tasks, noauth2 deployments).')

glance_opts = [
    cfg.IntOpt(
        'num_retries',
        default=3,
        min=0,
        help='How many times a request to the image service is retried '
             'after a connection error before it fails.'),
]

DEFAULT_SERVICE_TYPE = 'image'


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_group(glance_group)
    conf.register_opts(glance_opts, group=glance_group)
    ks_loading.register_session_conf_options(conf, glance_group.name)
    ks_loading.register_auth_conf_options(conf, glance_group.name)
    ks_loading.register_adapter_conf_options(conf, glance_group.name,
                                             include_deprecated=False)
    conf.set_default('service_type', DEFAULT_SERVICE_TYPE,
                     group=glance_group.name)
    conf.set_default('valid_interfaces', ['internal', 'public'],
                     group=glance_group.name)


def list_opts() -> dict:
    return {glance_group: (
        glance_opts
        + ks_loading.get_session_conf_options()
        + ks_loading.get_auth_common_conf_options()
        + ks_loading.get_auth_plugin_conf_options('password')
        + ks_loading.get_auth_plugin_conf_options('admin_token')
        + ks_loading.get_adapter_conf_options(include_deprecated=False))}
