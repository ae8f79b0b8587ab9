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


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv if argv is None else argv)
    common.parse_args(argv, 'nova-all',
                      default_transport_url=rpc.IN_PROCESS_URL)
    return common.serve(service.build_services(CONF.host))


if __name__ == '__main__':
    sys.exit(main())
