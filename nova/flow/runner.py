"""Running a compiled plan: execute, revert, recover.

Semantics, in one place:

* Stages run in order.  A stage counts as *started* from the moment it is
  recorded as started, because a crash or an exception may have left part of
  its work done.  The start of a stage with a revert is written before the
  stage runs - unless its check (spec.Flow.nothing_to_do) says neither it
  nor its revert has anything to do this time: then it is held, as for a
  stage without a revert, and written with the run's next write; so is
  the start of a stage whose revert recovery runs whenever the run may
  have reached it (spec.Flow.revert's ``hold_start``; see
  :meth:`Runner._maybe_reached`), and of a transactional stage that
  records its completion in its own transaction: the start commits
  with the completion and the stage's effect, or not at all.  A
  transactional stage records the start of the next stage of its group,
  when that one has a revert, in its own transaction (one commit for
  both; see nova.flow.plan._plan_next_starts): a crash
  between the two is then one just after that start was recorded.  A
  transactional last stage records the run's end in its transaction
  (nova.flow.plan._plan_run_end).
* When a stage raises, every started stage of the enclosing sub-flow is
  reverted in reverse order, the failing one first; the exception then
  leaves the sub-flow, so an ``around`` hook wrapping a sub-flow may retry it
  from a clean slate.  At the top, the flow's failure handlers run and the
  original exception is re-raised unchanged.
* A flow may declare a *point of no return* (a transactional stage): once
  it completed, the operation is done.  The stages after it only finish
  it: one that raises is recorded and logged, nothing is reverted and the
  remaining stages still run; the run ends as a success.
* A revert or failure handler that raises is recorded and logged; it never
  replaces the original exception.
* Only ``Exception`` triggers reverts.  ``BaseException`` (process exit,
  interrupt) leaves the run unfinished in the record for recovery at
  restart, which is the same path a SIGKILL takes.
* A recorder that raises (its database unreachable for longer than its
  retries) stops the run where it is, unfinished in the record; while
  the process lives, :func:`is_running` tells that no thread runs it any
  more, and the service recovers it (nova.flow.recovery.abandoned_runs)
  as a restart would.
* Recovery of an interrupted run (:meth:`Runner.recover`) applies the
  flow's policy: a ``resume`` flow, or a ``revert`` flow whose point of no
  return is recorded as completed, runs again from the stage after the
  last one recorded as completed (repeating the idempotent stages before
  it, which rebuild the in-memory state later stages read); any other
  ``revert`` flow runs the
  reverts of every started stage, and of every stage with a held start
  it may have reached.  Which stages completed is exact where
  it matters (see :func:`nova.flow.plan._plan_records`): a transactional
  stage records its completion in its own transaction, another before the
  next stage starts; only an idempotent stage may run twice.  What
  recovery did is recorded with the run (``run_recovered``).
"""

from __future__ import annotations

import itertools
import logging
import os
import time
from collections.abc import Iterable
from functools import partial
from typing import Any

from nova.flow import records
from nova.flow.events import EventKind, FlowEvent
from nova.flow.plan import ATOMIC, NOW, Group, Leaf, Plan, wrap
from nova.flow.records import Failure, Recorder, RunInfo

LOG = logging.getLogger(__name__)


# Looked up once: the per-stage path calls it twice per stage.
_now = time.time


class _RunIds:
    """Run IDs in the textual form of random (version 4) UUIDs, cheaply.

    ``str(uuid.uuid4())`` costs more than the rest of a short run's
    bookkeeping together.  A run ID only has to be unique, so each process
    draws the first 74 random bits once (again after a fork, so that
    children never share them) and counts up in the last 48 bits, from a
    random start: unique across processes and hosts as a UUID is, at a
    fraction of the cost.
    """

    def __init__(self) -> None:
        self._reseed()
        os.register_at_fork(after_in_child=self._reseed)

    def _reseed(self) -> None:
        digits = os.urandom(10).hex()
        variant = '89ab'[int(digits[16], 16) & 3]
        self._prefix = (f'{digits[:8]}-{digits[8:12]}-4{digits[13:16]}-'
                        f'{variant}{digits[17:20]}-')
        self._counter = itertools.count(int.from_bytes(os.urandom(4)))

    def __call__(self) -> str:
        return f'{self._prefix}{next(self._counter):012x}'


new_run_id = _RunIds()


#: The runs this process is running now, by run ID: registered before a
#: run's record is first written and removed after its last write, so a
#: run recorded as running on this host that is not here was abandoned:
#: its process died, or its record could not be written (see
#: nova.flow.recovery.abandoned_runs).
_running: set[str] = set()


def is_running(run_id: str) -> bool:
    """True while a thread of this process runs (or recovers) the run."""
    return run_id in _running


class _Run:
    """What one run carries from stage to stage."""

    __slots__ = ('info', 'ctx', 'state', 'recorder', 'started', 'failure',
                 'skip', 'committed', 'late_failures', 'ended')

    def __init__(self, info: RunInfo, ctx: Any, state: Any,
                 recorder: Recorder, skip: frozenset[str] | None) -> None:
        self.info = info
        self.ctx = ctx
        self.state = state
        self.recorder = recorder
        #: Leaves started and not yet reverted, in start order.
        self.started: list[Leaf] = []
        self.failure: Failure | None = None
        #: Stage IDs a resumed run must not run again.
        self.skip = skip
        #: True once the flow's point of no return completed.
        self.committed = False
        #: Failures of stages after the point of no return.
        self.late_failures: list[Failure] = []
        #: True once the run's end is recorded (by its last stage, in
        #: that stage's transaction: Leaf.ends_run).
        self.ended = False


class Runner:
    """Executes one :class:`Plan`; one instance serves every run of it."""

    def __init__(self, plan: Plan, recorder: Recorder,
                 host: str | None = None) -> None:
        self.plan = plan
        self.flow = plan.flow
        self.recorder = recorder
        self.host = host
        listeners = plan.listeners
        self._listeners = listeners
        # Plain attributes rather than a dict keyed by EventKind: the stage
        # loop tests two of them per stage, and most flows have no listener.
        self._on_run_start = bool(listeners[EventKind.RUN_START])
        self._on_stage_start = bool(listeners[EventKind.STAGE_START])
        self._on_stage_end = bool(listeners[EventKind.STAGE_END])
        self._on_stage_revert = bool(listeners[EventKind.STAGE_REVERT])
        self._on_run_success = bool(listeners[EventKind.RUN_SUCCESS])
        self._on_run_failure = bool(listeners[EventKind.RUN_FAILURE])

    # -- entry points ------------------------------------------------------

    def run(self, ctx: Any, state: Any, *, run_id: str | None = None,
            recorder: Recorder | None = None) -> Any:
        """Run the flow; returns ``state``; re-raises a stage's error."""
        info = self._info(ctx, state, run_id, recovering=False)
        run = _Run(info, ctx, state, recorder or self.recorder, None)
        return self._run(run)

    def recover(self, ctx: Any, state: Any, run_id: str,
                started: Iterable[str], completed: Iterable[str],
                recorder: Recorder | None = None, *,
                occasion: str = 'on restart') -> str:
        """Finish or undo an interrupted run by the flow's policy (see the
        module docstring); returns ``'resume'`` or ``'revert'``.  A
        resumed run that fails again is handled as any failing run (and
        its error is not raised here)."""
        completed = self.plan.current_ids(completed)
        started = self.plan.current_ids(started)
        checked = self._first_checked_after(started + completed)
        if checked is not None and self._took_effect(
                checked, ctx, state, run_id, None):
            completed.append(checked.id)
        ponr = self.flow.point_of_no_return
        if self.flow.on_interrupt == 'resume' or (
                ponr and f'{self.flow.name}.{ponr}' in completed):
            try:
                self.resume(ctx, state, run_id, completed, recorder,
                            started=started, occasion=occasion)
            except Exception:
                LOG.exception('Resumed run %s of %s failed', run_id,
                              self.flow.name)
            return 'resume'
        self.revert_interrupted(ctx, state, run_id, started, recorder,
                                occasion=occasion)
        return 'revert'

    def _first_checked_after(self, recorded: list[str]) -> Leaf | None:
        """The first stage with a check of its effect (spec.Flow.verify)
        at or after the last one ``recorded`` as started or completed:
        the one the crash may have cut short (a stage's start may be held
        back, so it may be further on).  Its check answers from the effect
        itself, so a stage that never ran answers no."""
        order = [node for _, node in self.plan.walk()
                 if isinstance(node, Leaf) and not node.disabled]
        seen = set(recorded)
        last = max((i for i, leaf in enumerate(order) if leaf.id in seen),
                   default=0)
        return next((leaf for leaf in order[last:]
                     if leaf.verify is not None), None)

    def resume(self, ctx: Any, state: Any, run_id: str,
               completed: Iterable[str],
               recorder: Recorder | None = None, *,
               started: Iterable[str] = (),
               occasion: str = 'on restart') -> Any:
        """Continue an interrupted run after its last completed stage
        (``occasion``: when, for the record's message)."""
        info = self._info(ctx, state, run_id, recovering=True)
        done = self._done_through(self.plan.current_ids(completed))
        # Idempotent stages run again: they rebuild what later stages
        # read from the state and the database does not hold (connection
        # info, ports, network info).  Not a transactional one: its
        # effect is on record, and the instance may have moved on since
        # (a request that came after the crash).
        skip = [s for s in done if not self.plan.leaves[s].idempotent
                or self.plan.leaves[s].transactional]
        run = _Run(info, ctx, state, recorder or self.recorder,
                   frozenset(skip))
        started = self.plan.current_ids(started)
        last_done = done[-1] if done else None
        cut = next((s for s in reversed(started) if s not in done), None)
        message = (
            f'{self.flow.name} was interrupted '
            + (f'in stage {cut}' if cut else 'between stages')
            + f'; resumed {occasion} '
            + (f'after stage {last_done}' if last_done
               else 'from its first stage'))
        return self._run(run, recovered=message)

    def _done_through(self, completed: Iterable[str]) -> list[str]:
        """Every stage up to the last completed one, in run order: a stage
        before it whose completion was held back (an idempotent one) is
        done too, or the later stage could not have started."""
        order = [node.id for _, node in self.plan.walk()
                 if isinstance(node, Leaf)]
        done = set(completed)
        last = max((i for i, stage_id in enumerate(order)
                    if stage_id in done), default=-1)
        return order[:last + 1]

    def revert_interrupted(self, ctx: Any, state: Any, run_id: str,
                           started: Iterable[str],
                           recorder: Recorder | None = None, *,
                           occasion: str = 'on restart') -> Failure:
        """Revert the started stages of an interrupted run, newest first,
        then run the failure handlers.  Returns the failure it recorded
        (``occasion``: when, for its message)."""
        info = self._info(ctx, state, run_id, recovering=True)
        run = _Run(info, ctx, state, recorder or self.recorder, None)
        started = self.plan.current_ids(started)
        reached = self._maybe_reached(started)
        # The last stage the record shows started: the one that was
        # running, unless the recorder holds back starts of stages without
        # a revert (then it ran at or after that stage).
        failure = Failure(records.Interrupted(
            f'{self.flow.name} was interrupted; last stage recorded as '
            f'started: {started[-1] if started else "(none)"}; reverted '
            f'{occasion}'), started[-1] if started else None)
        run.failure = failure
        run.recorder.run_started(info)
        run.recorder.run_recovered(info, str(failure.exc))
        leaves = [self.plan.leaves[s] for s in [*started, *reached]
                  if s in self.plan.leaves]
        for leaf in reversed(leaves):
            self._revert_leaf(leaf, run, failure)
        self._failure_handlers(run, failure)
        run.recorder.run_finished(info, records.REVERTED, _now(), failure)
        if self._on_run_failure:
            self._emit(run, EventKind.RUN_FAILURE, failure=failure)
        return failure

    def _maybe_reached(self, recorded: list[str]) -> list[str]:
        """The stages with a held start (spec.Flow.revert's
        ``hold_start``) an interrupted run may have reached although its
        record stops before them: those after the last stage ``recorded``
        up to the first one whose running writes the record (its start
        written before it runs, or its completion or the next start
        written when it ends, or the run's end).  Had the run got past
        that one, the held starts would have been written with it; a
        crash while it ran leaves them unwritten but reached."""
        order = [node for _, node in self.plan.walk()
                 if isinstance(node, Leaf) and not node.disabled]
        seen = set(recorded)
        last = max((i for i, leaf in enumerate(order) if leaf.id in seen),
                   default=-1)
        reached = []
        for leaf in order[last + 1:]:
            if leaf.hold_start:
                reached.append(leaf.id)
            elif (leaf.writes_start and leaf.nothing_to_do is None) \
                    or leaf.record in (NOW, ATOMIC) \
                    or leaf.starts_next is not None or leaf.ends_run:
                break
        return reached

    # -- internals ---------------------------------------------------------

    def _info(self, ctx: Any, state: Any, run_id: str | None,
              recovering: bool) -> RunInfo:
        subject = self.flow.subject(state) if self.flow.subject else None
        return RunInfo(
            run_id or new_run_id(), self.flow.name, self.flow.version,
            getattr(ctx, 'request_id', None), getattr(ctx, 'user_id', None),
            getattr(ctx, 'project_id', None), subject, self.host,
            _now(), recovering)

    def _run(self, run: _Run, recovered: str | None = None) -> Any:
        run_id = run.info.run_id
        _running.add(run_id)
        try:
            return self._run_recorded(run, recovered)
        finally:
            _running.discard(run_id)

    def _run_recorded(self, run: _Run, recovered: str | None) -> Any:
        run.recorder.run_started(run.info)
        if recovered is not None:
            LOG.warning('Run %s: %s', run.info.run_id, recovered)
            run.recorder.run_recovered(run.info, recovered)
        if run.skip and self.flow.point_of_no_return and any(
                self.plan.leaves[s].commits for s in run.skip
                if s in self.plan.leaves):
            run.committed = True
        if self._on_run_start:
            self._emit(run, EventKind.RUN_START)
        try:
            self._run_group(self.plan.root, run)
        except Exception as exc:
            failure = run.failure
            if failure is None or failure.exc is not exc:
                # Raised by an around hook outside proceed(), not by a stage.
                failure = Failure(exc, None)
            self._failure_handlers(run, failure)
            run.recorder.run_finished(run.info, records.ERROR, _now(),
                                      failure)
            if self._on_run_failure:
                self._emit(run, EventKind.RUN_FAILURE, failure=failure)
            raise
        if not run.ended:
            run.recorder.run_finished(run.info, records.SUCCESS, _now(),
                                      None)
        if self._on_run_success:
            self._emit(run, EventKind.RUN_SUCCESS)
        return run.state

    def _run_group(self, group: Group, run: _Run) -> None:
        # The stage loop is the engine's hot path: a leaf is run inline
        # rather than through a method per stage, and what every stage
        # needs is held in locals.
        started = run.started
        mark = len(started)
        recorder = run.recorder
        stage_started = recorder.stage_started
        stage_finished = recorder.stage_finished
        stage_transaction = recorder.stage_transaction
        info = run.info
        ctx = run.ctx
        state = run.state
        skip = run.skip
        now = _now
        success = records.SUCCESS
        on_stage_start = self._on_stage_start
        on_stage_end = self._on_stage_end
        # The stage whose start the one before wrote in its transaction
        # (Leaf.starts_next), and when.
        prestarted: str | None = None
        prestarted_at = 0.0
        try:
            for node in group.runnable:
                if not isinstance(node, Leaf):
                    assert isinstance(node, Group)
                    if node.arounds:
                        self._run_wrapped_group(node, run)
                    else:
                        self._run_group(node, run)
                    continue
                stage_id = node.id
                if skip is not None and stage_id in skip:
                    # Completed before the interruption: not run again, but
                    # reverted with the others if a later stage fails.
                    started.append(node)
                    continue
                if prestarted == stage_id:
                    started_at = prestarted_at
                else:
                    started_at = now()
                    stage_started(info, stage_id, started_at,
                                  reverts=node.writes_start and (
                                      node.nothing_to_do is None
                                      or not self._nothing_to_do(
                                          node, ctx, state, info.run_id)))
                prestarted = None
                started.append(node)
                if on_stage_start:
                    self._emit(run, EventKind.STAGE_START, stage_id)
                record = node.record
                following = node.starts_next
                if following is not None and skip is not None and \
                        following.id in skip:
                    following = None
                ends_run = node.ends_run
                in_transaction = (record == ATOMIC or following is not None
                                  or ends_run)
                try:
                    if in_transaction:
                        # The stage's writes and its completion commit
                        # together (see Recorder.stage_transaction), and
                        # so does the start of the next stage, when that
                        # one has a revert (see plan._plan_next_starts).
                        with stage_transaction(info, ctx):
                            self._call(node, ctx, state)
                            finished_at = now()
                            stage_finished(info, stage_id, success,
                                           started_at, finished_at, None,
                                           durable=record == ATOMIC)
                            if following is not None:
                                stage_started(info, following.id,
                                              finished_at, reverts=True)
                            if ends_run:
                                recorder.run_finished(
                                    info, success, finished_at, None)
                        if following is not None:
                            prestarted = following.id
                            prestarted_at = finished_at
                        run.ended = ends_run
                    else:
                        self._call(node, ctx, state)
                        finished_at = now()
                        stage_finished(info, stage_id, success, started_at,
                                       finished_at, None,
                                       durable=record == NOW)
                except Exception as exc:
                    if (node.verify is None or in_transaction
                            or not self._took_effect(
                                node, ctx, state, info.run_id, exc)):
                        self._stage_failed(node, run, exc, started_at)
                        if run.committed:
                            # Past the point of no return: finish, don't
                            # undo.
                            started.pop()
                            late, run.failure = run.failure, None
                            if late is not None:
                                run.late_failures.append(late)
                            continue
                        raise
                    # Its work took effect all the same: completed.
                    finished_at = now()
                    stage_finished(info, stage_id, success, started_at,
                                   finished_at, None, durable=True)
                if node.commits:
                    run.committed = True
                if on_stage_end:
                    self._emit(run, EventKind.STAGE_END, stage_id, success,
                               finished_at - started_at)
        except Exception as exc:
            failure = run.failure
            if failure is None or failure.exc is not exc:
                failure = run.failure = Failure(exc, group.id)
            for leaf in reversed(started[mark:]):
                self._revert_leaf(leaf, run, failure)
            del started[mark:]
            raise

    @staticmethod
    def _nothing_to_do(node: Leaf, ctx: Any, state: Any,
                       run_id: str) -> bool:
        """Ask a stage's check (spec.Flow.nothing_to_do) whether neither
        it nor its revert has anything to do; a check that raises counts
        as no (the start is written, as without a check)."""
        assert node.nothing_to_do is not None
        try:
            return bool(node.nothing_to_do(ctx, state))
        except Exception:
            LOG.exception('The check of whether stage %s has anything to '
                          'do failed (run %s); its start is written',
                          node.id, run_id)
            return False

    @staticmethod
    def _took_effect(node: Leaf, ctx: Any, state: Any, run_id: str,
                     exc: Exception | None) -> bool:
        """Ask a stage's check (spec.Flow.verify) whether its work took
        effect although it raised ``exc`` (None: a crash cut it short).
        A check that raises counts as no."""
        assert node.verify is not None
        try:
            done = bool(node.verify(ctx, state))
        except Exception:
            LOG.exception('The check of stage %s failed (run %s); the stage '
                          'counts as not done', node.id, run_id)
            return False
        if done:
            LOG.warning('Stage %s %s, but its work took effect: it counts '
                        'as completed (run %s)', node.id,
                        f'raised {exc!r}' if exc is not None
                        else 'was interrupted', run_id)
        return done

    @staticmethod
    def _call(node: Leaf, ctx: Any, state: Any) -> None:
        around = node.around
        if around is None:
            node.call(ctx, state)
        else:
            around(ctx, state, partial(node.inner, ctx, state))

    def _run_wrapped_group(self, group: Group, run: _Run) -> None:
        def inner(ctx: Any, state: Any) -> None:
            self._run_group(group, run)
        wrap(inner, group.arounds)(run.ctx, run.state)

    def _stage_failed(self, leaf: Leaf, run: _Run, exc: Exception,
                      started_at: float) -> None:
        stage_id = leaf.id
        failure = run.failure = Failure(exc, stage_id)
        finished_at = _now()
        run.recorder.stage_finished(run.info, stage_id, records.ERROR,
                                    started_at, finished_at, failure)
        LOG.warning('Stage %s failed (run %s): %s', stage_id,
                    run.info.run_id, failure.message)
        if self._on_stage_end:
            self._emit(run, EventKind.STAGE_END, stage_id, records.ERROR,
                       finished_at - started_at, failure)

    def _revert_leaf(self, leaf: Leaf, run: _Run, failure: Failure) -> None:
        if leaf.revert is None:
            return
        started_at = _now()
        try:
            leaf.revert(run.ctx, run.state, failure)
        except Exception as exc:
            failed = Failure(exc, leaf.id)
            revert_failure: Failure | None = failed
            result = records.REVERT_FAILED
            LOG.error('Revert of stage %s failed (run %s); the original '
                      'error was %s\n%s', leaf.id, run.info.run_id,
                      failure.message, failed.traceback)
        else:
            revert_failure = None
            result = records.REVERTED
        finished_at = _now()
        run.recorder.stage_reverted(run.info, leaf.id, result, started_at,
                                    finished_at, revert_failure)
        if self._on_stage_revert:
            self._emit(run, EventKind.STAGE_REVERT, leaf.id, result,
                       finished_at - started_at, revert_failure)

    def _failure_handlers(self, run: _Run, failure: Failure) -> None:
        for name, handler in self.plan.failure_handlers:
            try:
                handler(run.ctx, run.state, failure)
            except Exception as exc:
                LOG.error('Failure handler %s.%s failed (run %s)\n%s',
                          self.flow.name, name, run.info.run_id,
                          Failure(exc, None).traceback)

    def _emit(self, run: _Run, kind: EventKind, stage_id: str | None = None,
              result: str | None = None, elapsed: float | None = None,
              failure: Failure | None = None) -> None:
        event = FlowEvent(kind, self.flow.name, run.info.run_id, run.ctx,
                          run.state, stage_id, result, elapsed, failure)
        for hook_name, listener in self._listeners[kind]:
            try:
                listener(event)
            except Exception as exc:
                LOG.error('Listener of hook %s failed on %s of %s\n%s',
                          hook_name, kind.value, stage_id or self.flow.name,
                          Failure(exc, None).traceback)
