"""nova-conductor: schedules builds onto compute hosts."""

import sys

import nova.cmd  # noqa: F401  (concurrency set-up first)
import nova.conf
from nova import service
from nova.cmd import common
from nova.conductor import rpcapi
from nova.db import api as db

CONF = nova.conf.CONF


def main() -> int:
    common.parse_args(sys.argv, 'nova-conductor')
    return common.serve([service.Service(
        CONF.host, 'nova-conductor', rpcapi.TOPIC,
        service.make_conductor_manager(CONF.host), db)])


if __name__ == '__main__':
    sys.exit(main())
