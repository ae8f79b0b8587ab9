"""Which HTTP APIs a nova process serves, and where.

nova-api and nova-all serve every API in ``[DEFAULT] enabled_apis`` on
one listener: the Compute API at the root, the in-tree image, volume and
network services under the prefixes devstack gives Glance, Cinder and
Neutron behind one web server (``/image``, ``/volume``,
``/networking``).  One port keeps the embedded cloud a single process
with a single address; a service catalog (or a clouds.yaml endpoint
override) points clients at the prefixes.  nova-image-api, nova-volume
and nova-network serve one API each at the root of their own port (the
standard ports of Glance, Cinder and Neutron), for deployments that scale
them apart.

Each API is a paste composite of etc/nova/api-paste.ini, so its pipeline
(authentication included) is the operator's to change like the compute
API's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from nova.api.openstack import urlmap
from nova.api.openstack.compute import wsgi_app


class ServiceAPI(NamedTuple):
    paste_app: str     # the composite in api-paste.ini
    prefix: str        # its path under nova-api's listener
    binary: str        # the process that serves it alone


#: ``[DEFAULT] enabled_apis`` names -> how each is served.
APIS: dict[str, ServiceAPI] = {
    'osapi_compute': ServiceAPI('osapi_compute', '', 'nova-api'),
    'image': ServiceAPI('image_api', '/image', 'nova-image-api'),
    'volume': ServiceAPI('volume_api', '/volume', 'nova-volume'),
    'network': ServiceAPI('network_api', '/networking', 'nova-network'),
}


def load_apis(conf: Any, names: Sequence[str]) -> Any:
    """One WSGI app serving the named APIs, each under its prefix; a
    single API that has no prefix (the compute API) is served as is."""
    if not names:
        raise ValueError('[DEFAULT] enabled_apis is empty: nova-api would '
                         'serve nothing')
    prefixes = [(APIS[name].prefix,
                 wsgi_app.load_app(conf, APIS[name].paste_app))
                for name in names]
    if len(prefixes) == 1 and not prefixes[0][0]:
        return prefixes[0][1]
    return urlmap.URLMap({}, prefixes)


def load_api(conf: Any, name: str) -> Any:
    """One API at the root of its own listener (nova-image-api ...)."""
    return wsgi_app.load_app(conf, APIS[name].paste_app)
