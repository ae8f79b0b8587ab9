"""oslo.policy defaults of every API rule, and the enforcer.

``list_rules`` feeds ``oslopolicy-sample-generator --namespace nova`` and
the enforcer; an operator overrides any rule in ``[oslo_policy]
policy_file`` (policy.yaml) without restarting anything but the API.
"""

from __future__ import annotations

import itertools

from oslo_policy import policy

from nova.policies import (
    base,
    image,
    migrations,
    networking,
    remote_consoles,
    resources,
    server_groups,
    servers,
    volumes,
)


def list_rules() -> list[policy.RuleDefault]:
    return list(itertools.chain(base.list_rules(), servers.list_rules(),
                                resources.list_rules(),
                                migrations.list_rules(),
                                server_groups.list_rules(),
                                volumes.list_rules(),
                                networking.list_rules(),
                                image.list_rules(),
                                remote_consoles.list_rules()))
