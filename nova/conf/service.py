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
    cfg.IntOpt(
        'graceful_shutdown_timeout',
        default=60,
        min=0,
        help='Seconds a stopping service waits for the requests it took '
             'to end, for each of the services of one process (nova-all '
             'stops them one at a time). Past it, the stack of every '
             'thread of the process is logged (at ERROR) so the request '
             'that did not end can be found, and the stop goes on without '
             'it. 0 waits without end.'),
]


def register_opts(conf):
    conf.register_opts(service_opts)


def list_opts():
    return {'DEFAULT': service_opts}
