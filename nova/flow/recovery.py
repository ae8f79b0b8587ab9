"""Recovery at start: finish or revert the runs a crash left unfinished.

Every service that runs recorded flows (nova-compute, nova-conductor)
recovers once at start, before it takes requests for the instances
concerned (see nova.service), so a new operation never races the
recovery of an old one on the same instance.  Each unfinished run of the
service's own flows on its host gets its flow's policy:

* ``resume`` (or ``revert`` past its point of no return): run again
  after the last stage recorded as completed;
* ``revert``: revert every started stage, newest first, then run the
  failure handlers.

(:meth:`nova.flow.runner.Runner.recover` decides and records which.)

A run whose subject is gone (the flow's ``load_state`` raises one of
``gone``) is closed as an orphan; a flow without ``load_state`` cannot be
recovered and is logged.  Services sharing a host name (nova-all: one
name for all) each recover only the flows of their ``namespace``.

The runs of one subject (an instance) are recovered one after another,
oldest first; different subjects may be recovered at the same time: a
service passes ``concurrently`` (a bounded map, e.g. nova.concurrency's
``map_bounded``), so a host with many cut runs and a slow hypervisor is
not recovering for minutes.  :func:`interrupted_runs` and
:func:`recover_runs` are the two halves, for a service that locks the
subjects first and recovers in the background while it takes new work
for other subjects (nova-compute).

Abandoned runs, while the service runs
--------------------------------------

A run can also stop without its process dying: its recorder could not
write (the database unreachable for longer than oslo.db's retries, see
nova.db.api.retry_on_disconnect).  Its record says ``running``, and no
thread runs it (nova.flow.runner.is_running).  A service checks for
such runs every ``[flow] abandoned_run_check_interval`` seconds
(:func:`recover_abandoned_runs`) and recovers them with the same policy
as at start, so a lost record is repaired by the running service, not
only by a restart.  A run is taken as abandoned only if it is not
running here both before and after its record is read again under its
subject's lock: a run that ended meanwhile reads as finished, and one
running here holds the lock or is seen running.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Sequence
from typing import Any

from nova.flow import records
from nova.flow.engine import FlowEngine
from nova.flow.runner import is_running

LOG = logging.getLogger(__name__)


def interrupted_runs(recorder: Any, ctx: Any, *, host: str,
                     namespace: str) -> list[list[Any]]:
    """The unfinished runs of ``namespace``'s flows (``compute``:
    ``compute.*``) that a crash on ``host`` left behind, grouped by
    subject, each group in the recorder's order (oldest first)."""
    prefix = namespace + '.'
    groups: dict[Any, list[Any]] = {}
    for run in recorder.unfinished_runs(ctx, host):
        if run.flow.startswith(prefix):
            groups.setdefault(run.subject, []).append(run)
    return list(groups.values())


def recover_runs(engine: FlowEngine, recorder: Any, services: Any,
                 runs: Sequence[Any], *, run_context: Callable[[Any], Any],
                 gone: tuple[type[Exception], ...] = (),
                 occasion: str = 'on restart') -> list[Any]:
    """Finish or revert ``runs`` (one subject's), one after another; the
    records of those it recovered (not the orphans it closed).

    :param recorder: where the runs are recorded; its ``close_orphan``
        (nova.db.recorder.DBRecorder).
    :param services: handed to each flow's ``load_state``.
    :param run_context: the context a recovered run continues under,
        from the run's record (its user, project and request ID, so the
        record and the instance action stay linked).
    :param occasion: when, for the messages recorded with each run
        ("reverted on restart").
    """
    recovered = []
    for run in runs:
        run_ctx = run_context(run)
        runner = engine.runner(run.flow)
        flow = runner.flow
        if flow.load_state is None:
            LOG.error('Interrupted run %s of %s cannot be recovered: the '
                      'flow declares no load_state', run.run_id, run.flow)
            continue
        try:
            state = flow.load_state(run_ctx, run, services)
        except gone:
            LOG.warning('Interrupted run %s of %s: %s is gone; closing the '
                        'run', run.run_id, run.flow, run.subject)
            recorder.close_orphan(run_ctx, run)
            continue
        LOG.warning('Recovering run %s of %s for %s, interrupted in stage '
                    '%s: %s', run.run_id, run.flow, run.subject,
                    run.started_stage_ids[-1:] or '(none)',
                    flow.on_interrupt)
        runner.recover(run_ctx, state, run.run_id, run.started_stage_ids,
                       run.completed_stage_ids, occasion=occasion)
        recovered.append(run)
    return recovered


#: ``concurrently(fn, items)``: ``[fn(item) for item in items]``, in the
#: items' order, some at the same time; raises the first error once all
#: ended.
Concurrently = Callable[[Callable[[Any], Any], Sequence[Any]], list[Any]]


def recover_interrupted_runs(
        engine: FlowEngine, recorder: Any, ctx: Any, services: Any, *,
        host: str, namespace: str, run_context: Callable[[Any], Any],
        gone: tuple[type[Exception], ...] = (),
        lock: Callable[[Any], contextlib.AbstractContextManager[Any]]
        | None = None,
        concurrently: Concurrently | None = None) -> list[Any]:
    """Finish or revert every run of ``namespace``'s flows that a crash
    on ``host`` left behind (:func:`interrupted_runs`,
    :func:`recover_runs`); the records of those it recovered.

    :param lock: per-subject lock the service's own runs take, held
        while that subject's runs are recovered.
    :param concurrently: recovers different subjects at the same time
        (default: one after another).
    """
    def recover(group: list[Any]) -> list[Any]:
        with (lock(group[0].subject) if lock is not None
              else contextlib.nullcontext()):
            return recover_runs(engine, recorder, services, group,
                                run_context=run_context, gone=gone)

    groups = interrupted_runs(recorder, ctx, host=host, namespace=namespace)
    results = (concurrently(recover, groups) if concurrently is not None
               else [recover(group) for group in groups])
    return [run for result in results for run in result]


def abandoned_runs(recorder: Any, ctx: Any, *, host: str,
                   namespace: str) -> list[list[Any]]:
    """:func:`interrupted_runs` that no thread of this process runs:
    candidates, to be confirmed by :func:`still_abandoned`."""
    groups = []
    for group in interrupted_runs(recorder, ctx, host=host,
                                  namespace=namespace):
        left = [run for run in group if not is_running(run.run_id)]
        if left:
            groups.append(left)
    return groups


def still_abandoned(recorder: Any, ctx: Any,
                    runs: Sequence[Any]) -> list[Any]:
    """Of ``runs`` (from :func:`abandoned_runs`), those still recorded
    as running and still not running here, as recorded now.

    Not running here is checked before the record is read again: a run
    that ended in between has its end written by then, and one that has
    not ended is running here or was abandoned.
    """
    left = []
    for run in runs:
        if is_running(run.run_id):
            continue
        current = recorder.get_run(ctx, run.run_id)
        if current.status == records.RUNNING:
            left.append(current)
    return left


def recover_abandoned_runs(
        engine: FlowEngine, recorder: Any, ctx: Any, services: Any, *,
        host: str, namespace: str, run_context: Callable[[Any], Any],
        gone: tuple[type[Exception], ...] = (),
        lock: Callable[[Any], contextlib.AbstractContextManager[Any]]
        | None = None) -> list[Any]:
    """Finish or revert the runs of ``namespace``'s flows on ``host``
    that this process abandoned (see the module's docstring), one
    subject after another; the records of those it recovered."""
    recovered: list[Any] = []
    for group in abandoned_runs(recorder, ctx, host=host,
                                namespace=namespace):
        with (lock(group[0].subject) if lock is not None
              else contextlib.nullcontext()):
            runs = still_abandoned(recorder, ctx, group)
            if not runs:
                continue
            LOG.warning('%d run(s) of %s on %s stopped without ending '
                        '(their record could not be written); recovering '
                        'them', len(runs), runs[0].subject, host)
            recovered.extend(recover_runs(
                engine, recorder, services, runs, run_context=run_context,
                gone=gone, occasion='by the running service (its record '
                                    'could not be written)'))
    return recovered
