from oslo_config import cfg

service_opts = [
    cfg.IntOpt(
        'malloc_arena_max',
        default=2,
        min=0,
        help='Most malloc arenas glibc may create in a nova service '
             'process (mallopt M_ARENA_MAX); 0 leaves glibc\'s default of '
             'eight per CPU. Every native thread that allocates may get an '
             'arena of its own, and memory freed in one is not given back '
             'to the others: with NOVA_CONCURRENCY=threading and the RPC '
             'executor\'s threads, nova-all held about 5 MiB more with '
             'glibc\'s default. Ignored where the C library is not glibc, '
             'and when the MALLOC_ARENA_MAX environment variable is set '
             '(it wins).'),
]


def register_opts(conf):
    conf.register_opts(service_opts)


def list_opts():
    return {'DEFAULT': service_opts}
