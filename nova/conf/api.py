"""Options of the compute REST API ([api] group)."""

from oslo_config import cfg

api_group = cfg.OptGroup(
    'api',
    title='API options',
    help='Options of the OpenStack Compute REST API served by nova-api.')

api_opts = [
    cfg.StrOpt(
        'auth_strategy',
        default='keystone',
        choices=[
            ('noauth2', 'X-Auth-Token "user:project"; user "admin" has the '
                        'admin role. For tests and the embedded cloud only: '
                        'nova-api and nova-all refuse it unless [DEFAULT] '
                        'osapi_compute_listen is a loopback address.'),
            ('keystone', 'keystonemiddleware authtoken, configured in '
                         '[keystone_authtoken].'),
        ],
        help='Which authentication pipeline of api-paste.ini serves the '
             'API. The paste file names one pipeline per strategy.'),
    cfg.IntOpt(
        'max_limit',
        default=1000,
        min=1,
        help='Largest number of items a collection returns in one page, '
             'whatever "limit" the request asks for.'),
    cfg.StrOpt(
        'compute_link_prefix',
        help='Replaces scheme, host and port of the compute links in '
             'responses, for an API behind a proxy.'),
    cfg.StrOpt(
        'glance_link_prefix',
        help='Replaces scheme, host and port of the image links in '
             'responses, for an API behind a proxy.'),
    cfg.BoolOpt(
        'use_forwarded_for',
        default=False,
        help='Take the client address from X-Forwarded-For. Enable only '
             'behind a proxy that sets it.'),
    cfg.BoolOpt(
        'hide_server_address_states',
        default=False,
        help='Hide server addresses while the server is building.'),
    cfg.StrOpt(
        'max_api_version',
        help='Advertise and accept no microversion above this one (for '
             'example "2.79" to mimic an older cloud). Defaults to the '
             'highest microversion this API implements.'),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_group(api_group)
    conf.register_opts(api_opts, group=api_group)


def list_opts() -> dict:
    return {api_group: api_opts}
