"""nova-image-api, nova-volume, nova-network: one in-tree service API
each, in its own process, for deployments that run and scale them apart
from nova-api (which serves them too while ``[DEFAULT] enabled_apis``
lists them).

They share nova's configuration file and database; each listens on its
``[DEFAULT] <service>_api_listen`` / ``_listen_port`` (Glance's,
Cinder's and Neutron's standard ports by default).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import nova.cmd  # noqa: F401  (concurrency set-up before anything else)
from nova import service
from nova.api.openstack import service_apis
from nova.cmd import common

CONF = common.CONF


def _main(name: str, argv: Sequence[str] | None) -> int:
    argv = list(sys.argv if argv is None else argv)
    common.parse_args(argv, service_apis.APIS[name].binary)
    if not common.api_auth_allowed(f'{name}_api_listen'):
        return 2
    return common.serve([service.make_service_api_server(name)])


def main_image(argv: Sequence[str] | None = None) -> int:
    """nova-image-api: the Image API v2."""
    return _main('image', argv)


def main_volume(argv: Sequence[str] | None = None) -> int:
    """nova-volume: the Block Storage API v3."""
    return _main('volume', argv)


def main_network(argv: Sequence[str] | None = None) -> int:
    """nova-network: the Networking API v2.0."""
    return _main('network', argv)
