"""The policy enforcer the API checks every operation with.

A failed check raises PolicyNotAuthorized (403); controllers that must not
reveal a resource of another project check that separately and answer 404
first (see ``nova.api.openstack.compute.helpers.get_instance``).
"""

from __future__ import annotations

import threading
import time
from typing import Any

from oslo_policy import policy

import nova.conf
from nova import exception
from nova.policies import list_rules

CONF = nova.conf.CONF

_ENFORCER: policy.Enforcer | None = None
_LOCK = threading.Lock()

#: How long the enforcer trusts the rules it merged from the policy file,
#: the policy directories and the registered defaults.
RULES_TTL = 1.0


class Enforcer(policy.Enforcer):
    """oslo.policy's enforcer, looking at its files at most once a second.

    On every check oslo.policy looks for a policy file it has not found
    (the usual case: nova's defaults are in code) and for each of
    ``policy_dirs``, searching every configuration directory each time;
    then it stats the files it found and walks every registered rule to
    merge the defaults in.  With several checks per API request the
    search was 3% of the CPU of a boot and the rest another 7% of the API
    request's.  Here both happen at most once per RULES_TTL seconds
    (overriding only oslo.policy's public methods): a file an operator
    adds or changes is picked up within that time, as is a rule
    registered later; ``load_rules(force_reload=True)`` and ``clear()``
    act at once, as before.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._nova_rules_loaded_at: float | None = None

    def load_rules(self, force_reload: bool = False) -> None:
        now = time.monotonic()
        if not force_reload and self._nova_rules_loaded_at is not None and \
                now - self._nova_rules_loaded_at <= RULES_TTL:
            return
        super().load_rules(force_reload)
        self._nova_rules_loaded_at = now

    def register_default(self, default: policy.RuleDefault) -> None:
        super().register_default(default)
        self._nova_rules_loaded_at = None

    def set_rules(self, *args: Any, **kwargs: Any) -> None:
        super().set_rules(*args, **kwargs)
        self._nova_rules_loaded_at = None

    def clear(self) -> None:
        super().clear()
        self._nova_rules_loaded_at = None


def get_enforcer() -> policy.Enforcer:
    """The process-wide enforcer (also the ``oslo.policy.enforcer`` entry
    point, so oslopolicy-checker sees the defaults)."""
    global _ENFORCER
    with _LOCK:
        if _ENFORCER is None:
            enforcer = Enforcer(CONF)
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
