"""Errors raised by the flow engine.

Configuration problems are collected, never raised one at a time: an operator
who enabled three broken hooks learns about all three from one start-up
error, each line naming the hook, its entry point and the stage ID involved.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Problem:
    """One thing wrong with the flow definitions, hooks or configuration."""

    message: str
    hook: str | None = None
    entry_point: str | None = None
    stage_id: str | None = None

    def __str__(self) -> str:
        where = []
        if self.hook:
            where.append(f"hook '{self.hook}'")
        if self.entry_point:
            where.append(f"entry point '{self.entry_point}'")
        if self.stage_id:
            where.append(f"stage '{self.stage_id}'")
        prefix = ', '.join(where)
        return f'{prefix}: {self.message}' if prefix else self.message


class FlowError(Exception):
    """Base class of the engine's own errors."""


class FlowConfigError(FlowError):
    """Flows, hooks or [flow] options are inconsistent; nothing was run."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        lines = '\n'.join(f'  - {p}' for p in self.problems)
        super().__init__(
            f'{len(self.problems)} problem(s) in flow configuration:\n'
            f'{lines}')


class UnknownFlow(FlowError, KeyError):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name

    def __str__(self) -> str:
        return f"no flow named '{self.name}'"
