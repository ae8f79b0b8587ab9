"""Options of the WSGI server that nova-api runs ([wsgi] group)."""

from oslo_config import cfg

wsgi_group = cfg.OptGroup(
    'wsgi',
    title='WSGI server options',
    help='The HTTP server of nova-api (and of the API inside nova-all). '
         'Under an external WSGI server (uwsgi, mod_wsgi) use '
         'nova.api.openstack.compute.wsgi_app instead and these do not '
         'apply.')

wsgi_opts = [
    cfg.HostAddressOpt(
        'listen',
        default='0.0.0.0',
        help='Address nova-api listens on.'),
    cfg.PortOpt(
        'port',
        default=8774,
        help='TCP port nova-api listens on; 0 picks a free port (it is '
             'logged and written to [wsgi] port_file when set).'),
    cfg.StrOpt(
        'port_file',
        help='File to write the port actually bound to, for callers that '
             'started the API on port 0.'),
    cfg.IntOpt(
        'workers',
        default=16,
        min=1,
        help='Requests served at once (threads or green threads).'),
    cfg.BoolOpt(
        'log_requests',
        default=True,
        help='Log one line per request: method, path, status, time.'),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_group(wsgi_group)
    conf.register_opts(wsgi_opts, group=wsgi_group)


def list_opts() -> dict:
    return {wsgi_group: wsgi_opts}
