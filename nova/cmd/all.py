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
#: one interpreter lock for work that is mostly Python.  16 each: 56
#: threads, 8 MiB less peak memory and no less throughput in
#: bench/boot.py (one host's builds rarely need more at once; upstream's
#: max_concurrent_builds is 10).
EXECUTOR_THREADS = 16


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv if argv is None else argv)
    rpc.register_opts(CONF)
    CONF.set_default('executor_thread_pool_size', EXECUTOR_THREADS)
    common.parse_args(argv, 'nova-all',
                      default_transport_url=rpc.IN_PROCESS_URL)
    return common.serve(service.build_services(CONF.host))


if __name__ == '__main__':
    sys.exit(main())
