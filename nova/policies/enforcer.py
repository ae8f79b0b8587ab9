"""The policy enforcer the API checks every operation with.

A failed check raises PolicyNotAuthorized (403); controllers that must not
reveal a resource of another project check that separately and answer 404
first (see ``nova.api.openstack.compute.helpers.get_instance``).
"""

from __future__ import annotations

import threading
from typing import Any

from oslo_policy import policy

import nova.conf
from nova import exception
from nova.policies import list_rules

CONF = nova.conf.CONF

_ENFORCER: policy.Enforcer | None = None
_LOCK = threading.Lock()


def get_enforcer() -> policy.Enforcer:
    """The process-wide enforcer (also the ``oslo.policy.enforcer`` entry
    point, so oslopolicy-checker sees the defaults)."""
    global _ENFORCER
    with _LOCK:
        if _ENFORCER is None:
            enforcer = policy.Enforcer(CONF)
            enforcer.register_defaults(list_rules())
            _ENFORCER = enforcer
    return _ENFORCER


def reset() -> None:
    global _ENFORCER
    with _LOCK:
        if _ENFORCER is not None:
            _ENFORCER.clear()
        _ENFORCER = None


def authorize(ctx: Any, action: str, target: dict[str, Any] | None = None,
              fatal: bool = True) -> bool:
    """Check ``action`` for ``ctx`` against ``target``.

    The default target is the caller's own project and user, which is what
    "may I do this in my project" checks mean.
    """
    if target is None:
        target = {'project_id': ctx.project_id, 'user_id': ctx.user_id}
    # An unregistered rule raises PolicyNotRegistered: a typo in a rule
    # name is a bug, never a silent allow or deny.
    return get_enforcer().authorize(
        action, target, ctx.to_policy_values(), do_raise=fatal,
        exc=exception.PolicyNotAuthorized, action=action)
