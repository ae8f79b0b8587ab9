"""The default run's share of a generated list of cases.

The crash and failure tests generate their cases from the flows' stage
lists. Every case runs in the crash matrix (test_crash_matrix.py, a CI
step of its own with a time budget: tools/run-crash-matrix.sh); the
default test command, which must stay inside its own budget, runs a
share of each list, taken by :func:`spread`: the same cases every run,
so that a failure seen in the default run reproduces with the same
command.
"""

from __future__ import annotations

from typing import TypeVar

T = TypeVar('T')


def spread(cases: list[T], count: int) -> list[T]:
    """``count`` of ``cases``, evenly spaced from the first to the last
    (all of them when there are no more than ``count``)."""
    if count <= 0:
        raise ValueError(f'count must be positive, not {count}')
    if len(cases) <= count:
        return list(cases)
    if count == 1:
        return [cases[-1]]
    step = (len(cases) - 1) / (count - 1)
    return [cases[round(i * step)] for i in range(count)]
