"""[cinder]: how nova reaches a Block Storage (Cinder v3) API.

Read by :class:`nova.volume.cinder.CinderVolumeAPI`, the ``[volume]
backend`` that talks to Cinder, or to nova-volume / nova-api's
``/volume/v3``, over REST.  keystoneauth's own options, as upstream nova
registers them: the session's (TLS, timeout), the auth plugin's (used when
a request carries no token of its own: periodic tasks, noauth2) and the
adapter's (``endpoint_override``, ``service_type``, ``valid_interfaces``,
``region_name``...).
"""

from keystoneauth1 import loading as ks_loading
from oslo_config import cfg

cinder_group = cfg.OptGroup(
    'cinder',
    title='Cinder options',
    help='Configuration of the Block Storage API client '
         '(nova.volume.cinder.CinderVolumeAPI): where the API is and how '
         'to authenticate to it when the request has no token.')

cinder_opts = [
    cfg.IntOpt(
        'http_retries',
        default=3,
        min=0,
        help='How many times a request to the Block Storage API is retried '
             'when the connection fails (keystoneauth connect_retries).'),
]


def _adapter_opts() -> list[cfg.Opt]:
    """keystoneauth's adapter options, defaulting to Cinder's service
    type and the interfaces upstream nova prefers (defaults of the option
    objects themselves, so a ConfigOpts.reset keeps them)."""
    opts = ks_loading.get_adapter_conf_options()
    cfg.set_defaults(opts, service_type='block-storage',
                     valid_interfaces=['internal', 'public'])
    return opts


adapter_opts = _adapter_opts()


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_group(cinder_group)
    conf.register_opts(cinder_opts, group=cinder_group)
    ks_loading.register_session_conf_options(conf, cinder_group.name)
    ks_loading.register_auth_conf_options(conf, cinder_group.name)
    conf.register_opts(adapter_opts, group=cinder_group)


def list_opts() -> dict:
    opts = (cinder_opts + ks_loading.get_session_conf_options()
            + ks_loading.get_auth_common_conf_options() + adapter_opts
            + ks_loading.get_auth_plugin_conf_options('admin_token')
            + ks_loading.get_auth_plugin_conf_options('password'))
    # One option of each name (the plugins share some).
    unique = {opt.dest: opt for opt in opts}
    return {cinder_group: list(unique.values())}
