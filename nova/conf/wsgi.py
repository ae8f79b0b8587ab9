"""Options of the WSGI server that nova-api runs ([wsgi] group)."""

from oslo_config import cfg

wsgi_group = cfg.OptGroup(
    'wsgi',
    title='WSGI server options',
    help='The HTTP server of nova-api (and of the API inside nova-all), '
         'and the paste file. Under an external WSGI server (uWSGI, '
         'mod_wsgi, gunicorn) loading nova.wsgi.osapi_compute, only '
         'api_paste_config applies.')

#: Upstream nova's [DEFAULT] options for the API's address and workers
#: (they were [wsgi] listen, port and workers here).
api_service_opts = [
    cfg.HostAddressOpt(
        'osapi_compute_listen',
        default='0.0.0.0',
        deprecated_name='listen', deprecated_group='wsgi',
        help='Address nova-api (and the API of nova-all) listens on.'),
    cfg.PortOpt(
        'osapi_compute_listen_port',
        default=8774,
        deprecated_name='port', deprecated_group='wsgi',
        help='TCP port nova-api listens on; 0 picks a free port (it is '
             'logged and written to [wsgi] port_file when set).'),
    cfg.IntOpt(
        'osapi_compute_workers',
        default=16,
        min=1,
        deprecated_name='workers', deprecated_group='wsgi',
        help='Worker threads of nova-api\'s WSGI server under native '
             'threads (OS_NOVA_DISABLE_EVENTLET_PATCHING=1, waitress): the '
             'requests it works on at once (waitress buffers each request '
             'whole before a worker takes it, so connections beyond this '
             'only wait).  Each competes for the interpreter lock, so more '
             'than a few buys no throughput.  Under eventlet see [wsgi] '
             'default_pool_size.  (Upstream nova counts processes here; '
             'this nova-api is one process.)'),
    cfg.ListOpt(
        'enabled_apis',
        item_type=cfg.types.String(
            choices=['osapi_compute', 'image', 'volume', 'network']),
        default=['osapi_compute', 'image', 'volume', 'network'],
        help='The HTTP APIs nova-api (and nova-all) serve on '
             'osapi_compute_listen(_port): the Compute API at /, and the '
             'in-tree image (Image API v2, at /image), volume (Block '
             'Storage API v3, at /volume) and network (Networking API '
             'v2.0, at /networking) services, as devstack mounts Glance, '
             'Cinder and Neutron. Drop a service here when it runs as its '
             'own process (nova-image-api, nova-volume, nova-network) or '
             'when the real Glance, Cinder or Neutron serves it. Upstream '
             'nova\'s option of this name lists osapi_compute and '
             'metadata; the metadata API is not served by this nova.'),
]

#: Where each in-tree service listens when it runs as its own process
#: (the standard ports of Glance, Cinder and Neutron).
service_api_opts = [
    opt
    for name, port, binary in (('image_api', 9292, 'nova-image-api'),
                               ('volume_api', 8776, 'nova-volume'),
                               ('network_api', 9696, 'nova-network'))
    for opt in (
        cfg.HostAddressOpt(
            f'{name}_listen',
            default='0.0.0.0',
            help=f'Address {binary} listens on.'),
        cfg.PortOpt(
            f'{name}_listen_port',
            default=port,
            help=f'TCP port {binary} listens on; 0 picks a free port '
                 f'(written to [wsgi] port_file when set).'),
    )
]

wsgi_opts = [
    cfg.StrOpt(
        'api_paste_config',
        default='api-paste.ini',
        deprecated_group='api',
        help='PasteDeploy file of the API: an absolute path, or a name '
             'looked up next to the configuration files, in /etc/nova and '
             'in etc/nova of the installation or source tree.'),
    cfg.StrOpt(
        'port_file',
        help='File to write the port actually bound to, for callers that '
             'started the API on port 0.'),
    cfg.IntOpt(
        'default_pool_size',
        default=1000,
        min=1,
        help='Under eventlet (the default concurrency mode), the requests '
             'nova-api\'s server (eventlet.wsgi) works on at once.  A '
             'request takes one of these slots only once its body has '
             'arrived, so clients slow to send it do not hold one; open '
             'connections are bounded at ten times this, further ones '
             'wait in the listen backlog.  Not used under native threads, '
             'where waitress serves connections with '
             '[DEFAULT] osapi_compute_workers worker threads.'),
    cfg.BoolOpt(
        'keep_alive',
        default=True,
        help='Keep client connections open between requests (HTTP/1.1 '
             'keep-alive); false closes each after its response.  Under '
             'native threads it is ignored, with a warning, when false: '
             'waitress keeps connections open as the client asks.'),
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
    conf.register_opts(api_service_opts)
    conf.register_opts(service_api_opts)
    conf.register_group(wsgi_group)
    conf.register_opts(wsgi_opts, group=wsgi_group)


def list_opts() -> dict:
    return {'DEFAULT': api_service_opts + service_api_opts,
            wsgi_group: wsgi_opts}
