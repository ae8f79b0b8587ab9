"""Finding the flows a service runs: the ``nova.flows`` entry points.

Flows are registered in ``setup.cfg`` like any other plugin, so
``nova-manage flow list`` and a running service see the same set.
"""

from __future__ import annotations

from typing import Any

from stevedore import extension

from nova.flow.errors import Problem
from nova.flow.spec import Flow

NAMESPACE = 'nova.flows'


def discover_flows(namespace: str = NAMESPACE,
                   ) -> tuple[list[Flow[Any]], list[Problem]]:
    """Every flow registered under ``namespace``, sorted by name."""
    problems: list[Problem] = []

    def on_load_failure(manager: Any, entry_point: Any,
                        exc: BaseException) -> None:
        problems.append(Problem(
            f'flow module cannot be imported: {type(exc).__name__}: {exc}',
            entry_point=entry_point.value, stage_id=entry_point.name))

    manager = extension.ExtensionManager(
        namespace, invoke_on_load=False,
        on_load_failure_callback=on_load_failure)
    flows: list[Flow[Any]] = []
    for ext in manager.extensions:
        if not isinstance(ext.plugin, Flow):
            problems.append(Problem(
                f'entry point refers to {ext.plugin!r}, not a Flow',
                entry_point=ext.entry_point.value, stage_id=ext.name))
        elif ext.plugin.name != ext.name:
            problems.append(Problem(
                f"entry point is named '{ext.name}' but the flow is "
                f"'{ext.plugin.name}'", entry_point=ext.entry_point.value))
        else:
            flows.append(ext.plugin)
    return sorted(flows, key=lambda f: f.name), problems
