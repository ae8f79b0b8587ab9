"""oslo.policy's plugin check kinds, imported when a rule uses one.

Installed when :mod:`nova.policies` is imported, before any rule default
is parsed (oslo.policy loads its plugins while parsing its first rule).
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Iterator, Mapping
from typing import Any

from oslo_policy import _checks

#: Where oslo.policy finds the check kinds that are plugins ("http:",
#: "https:" and whatever a deployment installs).
RULE_CHECKS_NAMESPACE = 'oslo.policy.rule_checks'


class LazyRuleChecks(Mapping[str, Any]):
    """oslo.policy's plugin check kinds, each imported the first time a
    rule uses it.

    oslo.policy imports every ``oslo.policy.rule_checks`` plugin when it
    parses its first rule.  Its own ``http``/``https`` checks import
    ``requests`` with urllib3: 6 MiB of every API process, for check
    kinds nova's default rules never use.  Here the entry points are
    listed (which imports nothing) and a kind's class is imported when a
    rule names it, so an operator's ``http:`` rule works as before.
    """

    def __init__(self, namespace: str = RULE_CHECKS_NAMESPACE) -> None:
        self._entry_points = {
            ep.name: ep
            for ep in importlib.metadata.entry_points(group=namespace)}
        self._loaded: dict[str, Any] = {}

    def __getitem__(self, kind: str) -> Any:
        check = self._loaded.get(kind)
        if check is None:
            check = self._loaded[kind] = self._entry_points[kind].load()
        return check

    def __contains__(self, kind: object) -> bool:
        return kind in self._entry_points

    def __iter__(self) -> Iterator[str]:
        return iter(self._entry_points)

    def __len__(self) -> int:
        return len(self._entry_points)


def install() -> None:
    """Give oslo.policy a :class:`LazyRuleChecks` (idempotent).

    ``extension_checks`` is private to oslo.policy (its cache of the
    plugins, filled on first use); if a release renames it, this sets an
    attribute nothing reads and oslo.policy loads its plugins as before.
    """
    if getattr(_checks, 'extension_checks', None) is None:
        _checks.extension_checks = LazyRuleChecks()
