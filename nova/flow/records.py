"""Recording flow runs: the interface the runner calls, and a memory store.

The runner calls a recorder once per transition (run start, stage start,
stage end, stage revert, run finish) and never more, so a recorder that
writes each call to a database costs exactly one write per transition.  The
record is what crash recovery reads, so it must say which stages started and
which finished.
"""

from __future__ import annotations

import contextlib
import dataclasses
import traceback
from collections.abc import Iterable
from typing import Any, Final, Protocol, TypeAlias

from oslo_utils import strutils

# Stage and run results, as stored and shown (os-instance-actions uses
# 'Success' / 'Error' for events; these map onto those).
SUCCESS: Final = 'success'
ERROR: Final = 'error'
REVERTED: Final = 'reverted'
REVERT_FAILED: Final = 'revert_failed'
RUNNING: Final = 'running'
SKIPPED: Final = 'skipped'


class Interrupted(Exception):
    """Stands for the unknown error of a run a crash cut short."""


@dataclasses.dataclass(frozen=True, slots=True)
class Failure:
    """An exception raised by a stage, with where and what it was."""

    exc: BaseException
    stage_id: str | None

    # Both masked (passwords, tokens): an exception's text can quote the
    # request that failed, and these go to logs and records.
    @property
    def traceback(self) -> str:
        return strutils.mask_password(
            ''.join(traceback.format_exception(self.exc)))

    @property
    def message(self) -> str:
        return strutils.mask_password(f'{type(self.exc).__name__}: '
                                      f'{self.exc}')

    def __str__(self) -> str:
        return self.message


@dataclasses.dataclass(slots=True)
class RunInfo:
    """Identity of one run, handed to every recorder call."""

    run_id: str
    flow: str
    version: str
    request_id: str | None
    user_id: str | None
    project_id: str | None
    subject: str | None
    host: str | None
    started_at: float
    #: True when this run continues an interrupted one (recovery).
    recovering: bool = False
    #: The recorder's own reference to where this run is kept (a database
    #: recorder: the run's row ID), set by ``run_started`` so that the
    #: per-stage calls need no lookup.  Opaque to everyone else.
    handle: Any = dataclasses.field(default=None, repr=False, compare=False)


class Recorder(Protocol):
    def run_started(self, run: RunInfo) -> None: ...

    def stage_started(self, run: RunInfo, stage_id: str, at: float, *,
                      reverts: bool = True) -> None:
        """``reverts``: the stage has a revert, so recovery needs to know
        it started before it runs (a recorder may write the start of one
        without, with a later write of the run)."""

    def stage_finished(self, run: RunInfo, stage_id: str, result: str,
                       started_at: float, finished_at: float,
                       failure: Failure | None, *,
                       durable: bool = False) -> None:
        """``durable``: the finish must be on record when this returns
        (recovery of the run relies on it); otherwise a recorder may hold
        a success back and write it with the run's next write."""

    def stage_transaction(self, run: RunInfo,
                          ctx: Any) -> contextlib.AbstractContextManager[Any]:
        """A transaction for a transactional stage: the stage's own
        database writes made with ``ctx`` join it, and so do the
        recorder calls made inside it (its ``stage_finished``, the next
        stage's ``stage_started``, a last stage's ``run_finished``), so
        they all commit together."""

    def stage_reverted(self, run: RunInfo, stage_id: str, result: str,
                       started_at: float, finished_at: float,
                       failure: Failure | None) -> None: ...

    def run_finished(self, run: RunInfo, result: str, finished_at: float,
                     failure: Failure | None) -> None: ...

    def run_recovered(self, run: RunInfo, message: str) -> None:
        """Say what recovery did with an interrupted run (resumed from
        which stage, or reverted), where users see the run's stages."""


class NullRecorder:
    """Records nothing: for flows that need no history (and benchmarks)."""

    def run_started(self, run: RunInfo) -> None:
        pass

    def stage_started(self, run: RunInfo, stage_id: str, at: float, *,
                      reverts: bool = True) -> None:
        pass

    def stage_finished(self, run: RunInfo, stage_id: str, result: str,
                       started_at: float, finished_at: float,
                       failure: Failure | None, *,
                       durable: bool = False) -> None:
        pass

    def stage_transaction(self, run: RunInfo,
                          ctx: Any) -> contextlib.AbstractContextManager[Any]:
        return contextlib.nullcontext()

    def run_recovered(self, run: RunInfo, message: str) -> None:
        pass

    def stage_reverted(self, run: RunInfo, stage_id: str, result: str,
                       started_at: float, finished_at: float,
                       failure: Failure | None) -> None:
        pass

    def run_finished(self, run: RunInfo, result: str, finished_at: float,
                     failure: Failure | None) -> None:
        pass


@dataclasses.dataclass(slots=True)
class StageRecord:
    stage_id: str
    started_at: float
    finished_at: float | None = None
    result: str = RUNNING
    traceback: str | None = None
    revert_result: str | None = None
    revert_traceback: str | None = None


#: How InMemoryRecorder stores a stage: the fields of StageRecord, in order,
#: in an exact tuple of strings, floats and None.  The garbage collector
#: stops tracking such a tuple after its first pass, whereas a StageRecord
#: object per stage would stay tracked, and every full collection of a busy
#: process would walk every stage ever recorded (measured: a third of the
#: recording cost).
StageRow: TypeAlias = tuple[str, float, float | None, str, str | None,
                            str | None, str | None]


class RunRecord:
    """One run and its stages, as InMemoryRecorder keeps it."""

    __slots__ = ('info', 'rows', 'result', 'finished_at', 'message')

    def __init__(self, info: RunInfo, stages: Iterable[StageRecord] = (),
                 result: str = RUNNING, finished_at: float | None = None,
                 message: str | None = None) -> None:
        self.info = info
        self.rows: list[StageRow] = [
            (s.stage_id, s.started_at, s.finished_at, s.result, s.traceback,
             s.revert_result, s.revert_traceback) for s in stages]
        self.result = result
        self.finished_at = finished_at
        self.message = message

    def __repr__(self) -> str:
        return (f'<RunRecord {self.info.flow} {self.info.run_id} '
                f'{self.result} stages={len(self.rows)}>')

    @property
    def stages(self) -> list[StageRecord]:
        """The stage records, in start order.

        A snapshot: changing it does not change the record (only the
        recorder writes records).
        """
        return [StageRecord(*row) for row in self.rows]

    @property
    def run_id(self) -> str:
        return self.info.run_id

    @property
    def flow(self) -> str:
        return self.info.flow

    @property
    def started_stage_ids(self) -> list[str]:
        return [row[0] for row in self.rows]

    @property
    def completed_stage_ids(self) -> list[str]:
        return [row[0] for row in self.rows if row[3] == SUCCESS]

    def stage(self, stage_id: str) -> StageRecord | None:
        """The latest record of ``stage_id`` (a resumed run may hold two)."""
        index = _last_index(self.rows, stage_id)
        return None if index is None else StageRecord(*self.rows[index])


def _last_index(rows: list[StageRow], stage_id: str) -> int | None:
    for index in range(len(rows) - 1, -1, -1):
        if rows[index][0] == stage_id:
            return index
    return None


class InMemoryRecorder:
    """Keeps runs in a dict; the engine's default outside a service."""

    def __init__(self) -> None:
        self.runs: dict[str, RunRecord] = {}

    def run_started(self, run: RunInfo) -> None:
        # setdefault is atomic, so a run recovered by two green threads at
        # once still gets one record.
        record = self.runs.setdefault(run.run_id, RunRecord(run))
        if record.info is not run:
            record.result = RUNNING  # recovery continues an earlier record
        # The rows list, not the record: the record refers to the RunInfo,
        # and a cycle would outlive the record until a full collection.
        run.handle = record.rows

    def _rows(self, run: RunInfo) -> list[StageRow]:
        rows: list[StageRow] | None = run.handle
        if rows is None:  # a RunInfo this recorder did not start
            rows = run.handle = self.runs[run.run_id].rows
        return rows

    def stage_started(self, run: RunInfo, stage_id: str, at: float, *,
                      reverts: bool = True) -> None:
        rows = run.handle
        if rows is None:
            rows = self._rows(run)
        rows.append((stage_id, at, None, RUNNING, None, None, None))

    def stage_finished(self, run: RunInfo, stage_id: str, result: str,
                       started_at: float, finished_at: float,
                       failure: Failure | None, *,
                       durable: bool = False) -> None:
        rows = run.handle
        if rows is None:
            rows = self._rows(run)
        # Stages of a run are sequential: the one finishing is the one
        # started last, so the search is only a fallback.
        last = len(rows) - 1
        index = last if last >= 0 and rows[last][0] == stage_id \
            else _last_index(rows, stage_id)
        if index is None:
            return
        row = rows[index]
        rows[index] = (stage_id, row[1], finished_at, result,
                       None if failure is None else failure.traceback,
                       row[5], row[6])

    def stage_reverted(self, run: RunInfo, stage_id: str, result: str,
                       started_at: float, finished_at: float,
                       failure: Failure | None) -> None:
        rows = self._rows(run)
        index = _last_index(rows, stage_id)
        if index is None:
            return
        rows[index] = rows[index][:5] + (
            result, None if failure is None else failure.traceback)

    def stage_transaction(self, run: RunInfo,
                          ctx: Any) -> contextlib.AbstractContextManager[Any]:
        return contextlib.nullcontext()

    def run_recovered(self, run: RunInfo, message: str) -> None:
        self.runs[run.run_id].message = message

    def run_finished(self, run: RunInfo, result: str, finished_at: float,
                     failure: Failure | None) -> None:
        record = self.runs[run.run_id]
        record.result = result
        record.finished_at = finished_at
        if failure is not None or not run.recovering:
            record.message = failure.message if failure else None

    # -- queries ------------------------------------------------------------

    def unfinished(self, host: str | None = None) -> list[RunRecord]:
        return [r for r in self.runs.values() if r.result == RUNNING
                and (host is None or r.info.host == host)]

    def for_subject(self, subject: str) -> list[RunRecord]:
        return [r for r in self.runs.values() if r.info.subject == subject]

    def get(self, run_id: str) -> RunRecord:
        return self.runs[run_id]
