"""nova-api: serve the OpenStack Compute API over HTTP."""

from __future__ import annotations

import sys
from collections.abc import Sequence

import nova.cmd  # noqa: F401  (concurrency set-up before anything else)
from nova import service
from nova.cmd import common

CONF = common.CONF


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv if argv is None else argv)
    common.parse_args(argv, 'nova-api')
    if not common.api_auth_allowed():
        return 2
    return common.serve([service.make_api_server()])


if __name__ == '__main__':
    sys.exit(main())
