"""flow-extensions: what the enabled vendor hooks add to this cloud's API.

``GET /v2.1/flow-extensions`` (read-only, any authenticated user; policy
``os_compute_api:flow-extensions:index``) lists each enabled hook with the
flows it extends, the namespaced request fields it accepts and response
fields it adds (each with its JSON schema) and the microversion from
which each applies, so that a client can discover the vendor fields of a
cloud instead of guessing them.  The standard API is the same on every
cloud; only these namespaced fields differ.
"""

from __future__ import annotations

from typing import Any

from nova.api.openstack import wsgi
from nova.api.openstack.compute.flows import ApiFlows
from nova.policies import enforcer

POLICY = 'os_compute_api:flow-extensions:index'


class FlowExtensionsController:

    def __init__(self, flows: ApiFlows) -> None:
        self.flows = flows

    def index(self, req: wsgi.Request) -> dict[str, Any]:
        """``{"flow_extensions": [{"name", "flows": [...]}, ...]}``."""
        enforcer.authorize(req.context, POLICY)
        return {'flow_extensions': self.flows.extensions()}
