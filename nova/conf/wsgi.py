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
        help='Requests the API works on at once.  Connections beyond '
             'this stay open and their requests wait for a turn.  Under '
             'NOVA_CONCURRENCY=threading each is a native thread competing '
             'for the interpreter lock, so more than a few buys no '
             'throughput; under eventlet they are green threads.'),
    cfg.BoolOpt(
        'keep_alive',
        default=True,
        help='Keep a client\'s connection open between its requests '
             '(HTTP/1.1 persistent connections), as OpenStack clients '
             'expect.  False closes each connection after one response.'),
    cfg.IntOpt(
        'client_socket_timeout',
        default=900,
        min=0,
        help='Seconds a client connection may stay silent (between '
             'requests or in the middle of one) before nova-api closes '
             'it; 0 waits forever.  Each open connection holds a thread '
             'or green thread.'),
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
