"""nova-compute: runs the compute flows of this host."""

import sys

import nova.cmd  # noqa: F401  (concurrency set-up first)
import nova.conf
from nova import service
from nova.cmd import common
from nova.compute import rpcapi
from nova.db import api as db

CONF = nova.conf.CONF


def main() -> int:
    common.parse_args(sys.argv, 'nova-compute')
    manager = service.make_compute_manager(CONF.host)
    return common.serve([service.Service(CONF.host, 'nova-compute',
                                         rpcapi.TOPIC, manager, db)])


if __name__ == '__main__':
    sys.exit(main())
