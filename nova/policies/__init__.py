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
    migrations,
    resources,
    server_groups,
    servers,
)


def list_rules() -> list[policy.RuleDefault]:
    return list(itertools.chain(base.list_rules(), servers.list_rules(),
                                resources.list_rules(),
                                migrations.list_rules(),
                                server_groups.list_rules()))
