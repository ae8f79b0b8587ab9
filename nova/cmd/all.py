"""nova-all: API, conductor and compute in one process.

The embedded default: with no ``transport_url`` set the services talk
through the in-process transport (``nova-inprocess:/``) and, with no
``[database] connection`` set, store everything in a SQLite file under
``[DEFAULT] state_path``.  Set both to run the same services against
RabbitMQ and MariaDB/PostgreSQL while other hosts run nova-compute.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import nova.cmd  # noqa: F401  (concurrency set-up before anything else)
from nova import rpc, service
from nova.cmd import common

CONF = common.CONF

#: Workers of each RPC server in nova-all, unless nova.conf sets
#: ``[DEFAULT] executor_thread_pool_size``.  oslo.messaging's default (64)
#: is per server: with the conductor's and the compute's, nova-all ran up
#: to 150 native threads under NOVA_CONCURRENCY=threading, contending for
#: one interpreter lock for work that is mostly Python.  Every worker
#: that has work at the same moment adds interpreter-lock hand-offs (a
#: sleep and a wake-up in the kernel each) without adding throughput, as
#: the work runs one thread at a time anyway.  8 each, against 16, in
#: bench/boot.py under native threads, 20 boots in flight, same run:
#: 117 context switches per boot instead of 191, ~8% less CPU per boot,
#: 1.5 MiB less peak memory, no less throughput; under eventlet (one
#: native thread) no difference.  8 concurrent operations per host stays
#: close to upstream's ``max_concurrent_builds`` (10); a deployment whose
#: driver calls block for long (real hypervisors) may want more.
EXECUTOR_THREADS = 8


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv if argv is None else argv)
    rpc.register_opts(CONF)
    CONF.set_default('executor_thread_pool_size', EXECUTOR_THREADS)
    common.parse_args(argv, 'nova-all',
                      default_transport_url=rpc.IN_PROCESS_URL)
    if not common.api_auth_allowed():
        return 2
    return common.serve(service.build_services(CONF.host))


if __name__ == '__main__':
    sys.exit(main())
