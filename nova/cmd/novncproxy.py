"""nova-novncproxy: relays noVNC's websockets to guests' VNC consoles.

Listens on ``[vnc] novncproxy_host``:``novncproxy_port`` and serves the
noVNC client of ``[DEFAULT] web``; needs the database (the console
tokens) and the message bus (to ask an instance's nova-compute whether a
token's console is still there).  See nova.console.websocketproxy.
"""

import sys

import nova.cmd  # noqa: F401  (concurrency set-up first)
import nova.conf
from nova.cmd import common
from nova.console import websocketproxy

CONF = nova.conf.CONF


def main() -> int:
    common.parse_args(sys.argv, 'nova-novncproxy')
    return common.serve([websocketproxy.NoVNCProxyService()])


if __name__ == '__main__':
    sys.exit(main())
