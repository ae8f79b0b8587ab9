"""Recovery at start: finish or revert the runs a crash left unfinished.

Every service that runs recorded flows (nova-compute, nova-conductor)
calls :func:`recover_interrupted_runs` once at start, before it takes
requests (see nova.service), so a new operation never races the recovery
of an old one on the same instance.  Each unfinished run of the service's
own flows on its host gets its flow's policy:

* ``resume`` (or ``revert`` past its point of no return): run again
  after the last stage recorded as completed;
* ``revert``: revert every started stage, newest first, then run the
  failure handlers.

(:meth:`nova.flow.runner.Runner.recover` decides and records which.)

A run whose subject is gone (the flow's ``load_state`` raises one of
``gone``) is closed as an orphan; a flow without ``load_state`` cannot be
recovered and is logged.  Services sharing a host name (nova-all: one
name for all) each recover only the flows of their ``namespace``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import Any

from nova.flow.engine import FlowEngine

LOG = logging.getLogger(__name__)


def recover_interrupted_runs(
        engine: FlowEngine, recorder: Any, ctx: Any, services: Any, *,
        host: str, namespace: str, run_context: Callable[[Any], Any],
        gone: tuple[type[Exception], ...] = (),
        lock: Callable[[Any], contextlib.AbstractContextManager[Any]]
        | None = None) -> list[Any]:
    """Finish or revert every run of ``namespace``'s flows (``compute``:
    ``compute.*``) that a crash on ``host`` left behind; the records of
    those it recovered.

    :param recorder: where the runs are recorded; its ``unfinished_runs``
        and ``close_orphan`` (nova.db.recorder.DBRecorder).
    :param services: handed to each flow's ``load_state``.
    :param run_context: the context a recovered run continues under,
        from the run's record (its user, project and request ID, so the
        record and the instance action stay linked).
    :param lock: per-subject lock the service's own runs take.
    """
    prefix = namespace + '.'
    recovered = []
    for run in recorder.unfinished_runs(ctx, host):
        if not run.flow.startswith(prefix):
            continue  # another service's run on this host
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
        with (lock(run.subject) if lock is not None
              else contextlib.nullcontext()):
            runner.recover(run_ctx, state, run.run_id,
                           run.started_stage_ids, run.completed_stage_ids)
        recovered.append(run)
    return recovered
