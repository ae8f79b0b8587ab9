"""The flow engine's database recorder: runs and stages, and recovery.

:class:`DBRecorder` implements :class:`nova.flow.records.Recorder`:

* a run is a ``flow_runs`` row (status ``running`` until it ends);
* each stage is an ``instance_actions_events`` row (``event`` = the stage
  ID, with ``run_id`` and ``seq``, its position in the run), hung off the
  instance action of the request, so ``openstack server event show``
  lists a flow's stages.

Cost: at most one statement per stage
-------------------------------------

A successful finish is not written when it happens: it is kept and
written *with* the run's next write, as one multi-row upsert
(``INSERT .. ON CONFLICT (run_id, seq) DO UPDATE`` on PostgreSQL and
SQLite, ``ON DUPLICATE KEY UPDATE`` on MariaDB/MySQL).  So is the start of
a stage that has no revert, unless ``[flow] record_stage_starts = all``:
only the start of a stage with a revert is written before the stage runs
(unless the flow holds it: nova.flow.spec.Flow.nothing_to_do, and
Flow.revert's ``hold_start``).
A run of S stages, R of them with a revert, therefore costs 1 INSERT
(run) + R upserts + at the end, in one transaction, what is still held,
the run's UPDATE and the action's UPDATE: R + 4 statements (S + 4 with
``all``).  The start of a stage with a revert that follows a
transactional stage is written inside that stage's transaction (see
nova.flow.plan._plan_next_starts): a statement, but no commit, of its
own.  Failures, reverts and the run's end are written at once; what
is held rides along with whichever write comes first.

Holding rows back is crash-safe, because recovery needs nothing more:

* a ``revert`` flow reverts every started stage that has a revert; those
  starts are in the database before the stages run, so a crash can never
  hide a stage whose work would need undoing.  A started stage without a
  recorded finish counts as interrupted and is reverted too, which is
  what the engine would do for the stage that really was running (reverts
  are idempotent).  A stage whose start the flow holds (Flow.revert's
  ``hold_start``) is reverted whenever the record stops before it
  (nova.flow.runner.Runner._maybe_reached).  A stage without a revert
  has nothing to undo;
* where a crash must not repeat a stage (a ``resume`` flow, a
  ``revert`` flow past its point of no return), the runner asks for a
  *durable* finish: written before the next stage starts, or, for a
  transactional stage, inside the stage's own transaction
  (:meth:`DBRecorder.stage_transaction`), together with every row still
  held.  Only the finish of an idempotent stage is still held there: a
  resumed run may repeat it, harmlessly.

What a crash loses is the record of the stages without a revert since
the last write: which of them had run, and which was running.  ``all``
keeps that, at the cost of a write per such stage.

Each write is its own transaction, separate from whatever the stage does:
a record survives the rollback of the stage's own work.  A write that
finds the database unreachable (a server restart, a lost connection) is
retried for a bounded time (nova.db.api.retry_on_disconnect, oslo.db's
``[database] db_max_retries``); past that the error propagates and the
run stops where it is, its record unfinished.  The service then finds it
among the runs recorded as running on its host that none of its threads
runs, and recovers it as a restart would
(nova.flow.recovery.abandoned_runs), once the database is back.

Linking runs to instance actions
--------------------------------

The API records the action (``nova.db.api.action_start``) with the
request ID; the run of that request on the compute host carries the same
request ID in its context.  ``run_started`` finds the action with a
scalar subquery inside its own INSERT (and reads the ID back with
``RETURNING``), so linking costs no extra statement.  A caller that knows
the action ID passes it instead: ``recorder.for_action(action_id)`` gives
a recorder bound to it, for ``engine.run(..., recorder=...)``.

A move is one request whose runs start long after it, on several hosts,
while other requests on the same instance may come (a live migration's
abort or force-complete): the conductor links its run to the move's
action when it starts and passes that action's ID in the context of
its RPC calls (``RequestContext.action_id``), and each host's part is
recorded under it (``recorder.as_part(action_id)``), not under whichever
action is newest for the request ID then.

Secrets: tracebacks and messages are stored with passwords and user
data masked (:func:`nova.db.api.mask_secrets`); nothing here logs them,
and the state (which holds user data and admin passwords) is never
recorded.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import threading
from collections.abc import Iterable, Iterator
from typing import Any

import sqlalchemy as sa
from oslo_utils import timeutils

import nova.conf
from nova.db import api as db_api
from nova.db import models
from nova.flow import records
from nova.flow.records import Failure, RunInfo, StageRecord

CONF = nova.conf.CONF

_RUNS = db_api.table_of(models.FlowRun)
_EVENTS = db_api.table_of(models.InstanceActionEvent)
_ACTIONS = db_api.table_of(models.InstanceAction)

# Upstream's event results.
_EVENT_RESULTS = {records.SUCCESS: 'Success', records.ERROR: 'Error'}
_RECORD_RESULTS = {v: k for k, v in _EVENT_RESULTS.items()}

# Columns an upsert may fill in on an existing event row; the others are
# set once, by the stage's start.
_MUTABLE = ('finish_time', 'result', 'traceback', 'revert_result',
            'details')

# Keep tracebacks to what matters (their end) and within any column.
_MAX_TEXT = 60000

#: The event recording what recovery did with a run is named
#: ``<flow><RECOVERY_EVENT>``: never a stage ID (those have no colon).
RECOVERY_EVENT = ':recovery'


def _dt(timestamp: float) -> datetime.datetime:
    """An engine timestamp (time.time()) as a naive UTC datetime."""
    return datetime.datetime.fromtimestamp(
        timestamp, datetime.UTC).replace(tzinfo=None)


def _ts(moment: datetime.datetime | None) -> float | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=datetime.UTC).timestamp()


def _clean(text: str | None) -> str | None:
    if text is None:
        return None
    text = db_api.mask_secrets(text) or ''
    if len(text) > _MAX_TEXT:
        text = '...\n' + text[-_MAX_TEXT:]
    return text


class _RunState:
    """What the recorder remembers about a run between calls."""

    __slots__ = ('seq', 'seqs', 'action_id', 'pending', 'last_stage',
                 'context', 'finishes_action')

    def __init__(self, action_id: int | None = None) -> None:
        #: The last ``seq`` used in the run.
        self.seq = 0
        #: Stage ID -> ``seq`` of its newest event row.
        self.seqs: dict[str, int] = {}
        self.action_id = action_id
        #: Event rows not written yet, each the newest state of its stage
        #: (successful finishes, and starts of stages without a revert).
        self.pending: list[dict[str, Any]] = []
        self.last_stage: str | None = None
        #: The context of an open stage transaction, which writes join.
        self.context: Any = None
        #: False for a run that is one part of another's work (see
        #: DBRecorder.as_part): the action finishes with the other run.
        self.finishes_action = True


@dataclasses.dataclass
class RecordedRun:
    """A run as the database has it, for recovery and introspection.

    Shaped like :class:`nova.flow.records.RunRecord` (``stages``,
    ``started_stage_ids``, ``completed_stage_ids``, ``info``) with the
    run's identity also as plain attributes.
    """

    run_id: str
    flow: str
    version: str | None
    subject: str | None
    request_id: str | None
    user_id: str | None
    project_id: str | None
    host: str | None
    status: str
    started_at: datetime.datetime | None
    finished_at: datetime.datetime | None
    message: str | None
    action_id: int | None
    recovering: bool
    current_stage: str | None
    #: Every event row of the run, in start order.
    stages: list[StageRecord] = dataclasses.field(default_factory=list)

    @property
    def result(self) -> str:
        return self.status

    @property
    def info(self) -> RunInfo:
        return RunInfo(self.run_id, self.flow, self.version or '',
                       self.request_id, self.user_id, self.project_id,
                       self.subject, self.host,
                       _ts(self.started_at) or 0.0, self.recovering)

    def _newest(self) -> dict[str, StageRecord]:
        newest: dict[str, StageRecord] = {}
        for stage in self.stages:
            newest[stage.stage_id] = stage
        return newest

    @property
    def started_stage_ids(self) -> list[str]:
        """Stages that may have done work not undone yet, in the order
        they first started: each stage once, leaving out those whose
        newest attempt was reverted."""
        newest = self._newest()
        seen: list[str] = []
        for stage in self.stages:
            if stage.stage_id not in seen and \
                    newest[stage.stage_id].revert_result is None:
                seen.append(stage.stage_id)
        return seen

    @property
    def completed_stage_ids(self) -> list[str]:
        """Stages whose newest attempt has a recorded success and was not
        reverted, in start order (what a resumed run skips)."""
        newest = self._newest()
        return [stage_id for stage_id in self.started_stage_ids
                if newest[stage_id].result == records.SUCCESS]

    def stage(self, stage_id: str) -> StageRecord | None:
        return self._newest().get(stage_id)

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> RecordedRun:
        run = cls(
            run_id=row['id'], flow=row['flow'], version=row['version'],
            subject=row['instance_uuid'], request_id=row['request_id'],
            user_id=row['user_id'], project_id=row['project_id'],
            host=row['host'], status=row['status'],
            started_at=row['started_at'], finished_at=row['finished_at'],
            message=row['message'], action_id=row['action_id'],
            recovering=bool(row['recovering']),
            current_stage=row['current_stage'])
        for event in row.get('events', ()):
            if event['event'].endswith(RECOVERY_EVENT):
                continue  # not a stage
            run.stages.append(StageRecord(
                stage_id=event['event'],
                started_at=_ts(event['start_time']) or 0.0,
                finished_at=_ts(event['finish_time']),
                result=_RECORD_RESULTS.get(event['result'],
                                           event['result']
                                           or records.RUNNING),
                traceback=event['traceback'],
                revert_result=event['revert_result'],
                revert_traceback=event['details']))
        return run


class DBRecorder:
    """Records flow runs in the database (see the module docstring).

    :param host: recorded for runs whose engine has no host (the
        engine's own host wins).
    :param link_actions: find each run's instance action by (subject,
        request ID) inside the run's INSERT.
    :param finish_actions: stamp the linked action's ``finish_time`` (and
        ``message = 'Error'`` on failure) when the run ends.
    :param defer_finish: write a successful stage's finish together with
        the next write of the run (one statement per stage) rather than on
        its own (two).
    :param record_starts: ``'reverting'`` or ``'all'``: the stages whose
        start is written before they run (see ``[flow]
        record_stage_starts``, the default).
    """

    def __init__(self, host: str | None = None, *,
                 link_actions: bool = True, finish_actions: bool = True,
                 defer_finish: bool = True,
                 record_starts: str | None = None) -> None:
        self.host = host
        self.link_actions = link_actions
        self.finish_actions = finish_actions
        self.defer_finish = defer_finish
        if record_starts is None:
            record_starts = CONF.flow.record_stage_starts
        if record_starts not in ('reverting', 'all'):
            raise ValueError(f'record_starts: {record_starts!r}')
        self.all_starts = record_starts == 'all'
        # Run ID -> state.  Each run is driven by one thread, so entries
        # are never shared; the lock only guards lazy loading.
        self._runs: dict[str, _RunState] = {}
        self._lock = threading.Lock()

    def for_action(self, action_id: int | None) -> _ActionRecorder:
        """This recorder, with runs linked to ``action_id`` (no lookup)."""
        return _ActionRecorder(self, action_id)

    def as_part(self, action_id: int | None = None) -> _PartRecorder:
        """This recorder, for runs that do one part of a run elsewhere
        (a compute host's step of a move the conductor orchestrates):
        their events join the request's action - ``action_id`` when the
        caller knows it, else the one found by request ID - but ending
        does not finish it: the orchestrating run does, when the whole
        request is done."""
        return _PartRecorder(self, action_id)

    # -- Recorder protocol ---------------------------------------------

    def run_started(self, run: RunInfo) -> None:
        self._run_started(run, None, explicit=False)

    def stage_started(self, run: RunInfo, stage_id: str, at: float, *,
                      reverts: bool = True) -> None:
        state = self._state(run)
        state.seq += 1
        state.seqs[stage_id] = state.seq
        state.last_stage = stage_id
        row = self._event(run, state, state.seq, stage_id, start=at)
        if reverts or self.all_starts:
            self._write_events(state, [row])
        else:
            state.pending.append(row)

    def stage_finished(self, run: RunInfo, stage_id: str, result: str,
                       started_at: float, finished_at: float,
                       failure: Failure | None, *,
                       durable: bool = False) -> None:
        state = self._state(run)
        seq = state.seqs.get(stage_id)
        if seq is None:
            # Never recorded as started (cannot happen with the engine):
            # record it now rather than lose the result.
            state.seq += 1
            seq = state.seqs[stage_id] = state.seq
        row = self._event(
            run, state, seq, stage_id, start=started_at, finish=finished_at,
            result=_EVENT_RESULTS.get(result, result),
            traceback=_clean(failure.traceback) if failure else None)
        pending = state.pending
        if pending and pending[-1]['seq'] == seq:
            # The start was not written yet: the finish replaces it.
            pending.pop()
        if result == records.SUCCESS and self.defer_finish and not durable:
            pending.append(row)
            return
        self._write_events(state, [row])

    def stage_transaction(self, run: RunInfo, ctx: Any
                          ) -> contextlib.AbstractContextManager[Any]:
        """A writer transaction for ``ctx`` that the stage's own writes
        join (nova.db.api joins a transaction open for the same context),
        and so does the durable finish written inside it, with every row
        still held: one commit for the stage's effect and its record."""
        return self._stage_transaction(run.run_id, self._state(run), ctx)

    @contextlib.contextmanager
    def _stage_transaction(self, run_id: str, state: _RunState,
                           ctx: Any) -> Iterator[Any]:
        held = list(state.pending)
        try:
            with db_api.writer(ctx) as connection:
                state.context = ctx
                try:
                    yield connection
                finally:
                    state.context = None
        except BaseException:
            # Rolled back: what it wrote of the held rows is not written,
            # nor the run's end (a last stage's, see run_finished).
            state.pending = held
            self._runs[run_id] = state
            raise

    def run_recovered(self, run: RunInfo, message: str) -> None:
        """An event ``<flow>:recovery`` (result Success, the message as
        its details) in the run's action, and the message on the run."""
        state = self._state(run)
        state.seq += 1
        now = timeutils.utcnow().timestamp()
        row = self._event(run, state, state.seq, run.flow + RECOVERY_EVENT,
                          start=now, finish=now, result='Success',
                          details=_clean(message))
        rows = [*state.pending, row]
        state.pending = []
        db_api.write_idempotent([
            _upsert_write(rows),
            ('recorder_run_message', _update_run_statement,
             {'message': _clean(message), 'b_id': run.run_id})])

    def stage_reverted(self, run: RunInfo, stage_id: str, result: str,
                       started_at: float, finished_at: float,
                       failure: Failure | None) -> None:
        state = self._state(run)
        seq = state.seqs.get(stage_id)
        if seq is None:
            state.seq += 1
            seq = state.seqs[stage_id] = state.seq
        row = self._event(
            run, state, seq, stage_id, start=started_at,
            revert_result=result,
            details=_clean(f'{failure.message}\n{failure.traceback}')
            if failure else None)
        pending = state.pending
        if pending and pending[-1]['seq'] == seq:
            # The finish and the revert of one stage: one row.
            held = pending.pop()
            row.update({k: held[k] for k in ('start_time', 'finish_time',
                                             'result', 'traceback')})
        self._write_events(state, [row])

    def run_finished(self, run: RunInfo, result: str, finished_at: float,
                     failure: Failure | None) -> None:
        """The run's end, in one transaction with what is still held:
        its own, or the stage transaction open for the run (a
        transactional last stage's: nova.flow.plan._plan_run_end)."""
        state = self._state(run)
        self._runs.pop(run.run_id, None)
        finish = _dt(finished_at)
        writes = []
        if state.pending:
            writes.append(_upsert_write(state.pending))
        values: dict[str, Any] = {'status': result, 'finished_at': finish}
        if failure is not None or not run.recovering:
            # A recovered run keeps what recovery said of it.
            values['message'] = _clean(failure.message) if failure else None
        stage = (failure.stage_id if failure and failure.stage_id
                 else state.last_stage)
        if stage is not None:
            values['current_stage'] = stage
        # The SET clauses come from the parameters' column names.
        writes.append(('recorder_run_finished', _update_run_statement,
                       dict(values, b_id=run.run_id)))
        if self.finish_actions and state.action_id is not None and \
                state.finishes_action:
            action: dict[str, Any] = {'finish_time': finish,
                                      'updated_at': finish}
            if result != records.SUCCESS:
                action['message'] = 'Error'
            writes.append(('recorder_action_finished',
                           _update_action_statement,
                           dict(action, b_id=state.action_id)))
        db_api.write_idempotent(writes, state.context)

    # -- queries (recovery, nova-manage) -----------------------------------

    def unfinished_runs(self, ctx: Any, host: str | None) -> list[RecordedRun]:
        """Runs on ``host`` that never finished, oldest first, each with
        its stages in start order: what a restarted service recovers."""
        return [RecordedRun.from_row(row) for row in
                db_api.flow_runs_get_unfinished(ctx, host)]

    def runs_for_subject(self, ctx: Any, subject: str,
                         limit: int | None = None) -> list[RecordedRun]:
        """Runs about one instance, newest first."""
        return [RecordedRun.from_row(row) for row in
                db_api.flow_runs_get_by_instance(ctx, subject, limit)]

    @db_api.retry_on_disconnect
    def find_runs(self, ctx: Any, *, host: str | None = None,
                  flow: str | None = None,
                  statuses: Iterable[str] | None = None,
                  older_than: float | None = None,
                  instance: str | None = None,
                  limit: int | None = None,
                  stages: bool = False) -> list[RecordedRun]:
        """Runs matching every filter given, newest first, cloud-wide
        unless ``host`` or ``instance`` narrows them (``nova-manage flow
        runs``).

        :param statuses: any of these run statuses (``running``,
            ``success``, ``error``, ``reverted``, ``revert_failed``).
        :param older_than: runs started more than this many seconds ago.
        :param stages: also load each run's stages (one more query);
            without them ``stages`` is empty.

        ``current_stage`` is where the run is: the stage a finished run
        ended in, and for a running run its newest recorded stage (a run
        writes its current stage only when it ends).  One statement,
        two with ``stages``, whatever the number of runs.
        """
        r, e = _RUNS, _EVENTS
        newest_stage = sa.select(e.c.event).where(
            e.c.run_id == r.c.id).order_by(e.c.seq.desc()).limit(
            1).correlate(r).scalar_subquery()
        conditions: list[sa.ColumnElement[bool]] = []
        if host is not None:
            conditions.append(r.c.host == host)
        if flow is not None:
            conditions.append(r.c.flow == flow)
        if instance is not None:
            conditions.append(r.c.instance_uuid == instance)
        if statuses is not None:
            conditions.append(r.c.status.in_(sorted(set(statuses))))
        if older_than is not None:
            conditions.append(r.c.started_at < timeutils.utcnow()
                              - datetime.timedelta(seconds=older_than))
        query = sa.select(r, newest_stage.label('newest_stage')).where(
            *conditions).order_by(r.c.started_at.desc(), r.c.id.desc())
        if limit is not None:
            query = query.limit(limit)
        with db_api.reader(ctx) as connection:
            rows = [dict(row._mapping) for row in connection.execute(query)]
            by_id: dict[str, dict[str, Any]] = {}
            for row in rows:
                newest = row.pop('newest_stage')
                if row['status'] == records.RUNNING or \
                        not row['current_stage']:
                    row['current_stage'] = newest
                row['events'] = []
                by_id[row['id']] = row
            if stages and by_id:
                for event in connection.execute(
                        sa.select(e).where(e.c.run_id.in_(list(by_id)))
                        .order_by(e.c.run_id, e.c.seq)):
                    by_id[event.run_id]['events'].append(
                        dict(event._mapping))
        return [RecordedRun.from_row(row) for row in rows]

    def get_run(self, ctx: Any, run_id: str) -> RecordedRun:
        """:raises FlowRunNotFound:"""
        return RecordedRun.from_row(db_api.flow_run_get(ctx, run_id))

    def close_orphan(self, ctx: Any, run: RecordedRun | RunInfo,
                     message: str | None = None) -> None:
        """End a run that cannot be recovered because its subject is gone
        (status ``error``)."""
        run_id = run.run_id
        self._runs.pop(run_id, None)
        db_api.flow_run_close(
            ctx, run_id, records.ERROR,
            message or f'Closed at recovery: {run.subject} no longer '
                       f'exists')

    # InMemoryRecorder's query names, for code written against it.

    def unfinished(self, host: str | None = None) -> list[RecordedRun]:
        return self.unfinished_runs(None, host)

    def for_subject(self, subject: str) -> list[RecordedRun]:
        return self.runs_for_subject(None, subject)

    def get(self, run_id: str) -> RecordedRun:
        return self.get_run(None, run_id)

    # -- internals -----------------------------------------------------------

    def _run_started(self, run: RunInfo, action_id: int | None,
                     explicit: bool) -> None:
        if run.recovering:
            self._runs[run.run_id] = self._resume_state(run, action_id,
                                                        explicit)
            return
        state = _RunState(action_id)
        values = self._run_values(run)
        linked = not explicit and self._linkable(run)

        def insert(connection: Any) -> int | None:
            if not linked:
                connection.execute(_insert_run_statement(),
                                   dict(values, action_id=action_id))
                return action_id
            if connection.dialect.insert_returning:
                return connection.execute(
                    _insert_linked_run_statement(), dict(
                        values, b_subject=run.subject,
                        b_request_id=run.request_id)).scalar()
            # No RETURNING (MySQL proper): look the action up first.
            found = connection.execute(_action_query_statement(), {
                'b_subject': run.subject,
                'b_request_id': run.request_id}).scalar()
            connection.execute(_insert_run_statement(),
                               dict(values, action_id=found))
            return found

        state.action_id = db_api.transaction(insert)
        self._runs[run.run_id] = state

    def _linkable(self, run: RunInfo) -> bool:
        return bool(self.link_actions and run.subject and run.request_id)

    def _run_values(self, run: RunInfo) -> dict[str, Any]:
        return {
            'id': run.run_id, 'flow': run.flow, 'version': run.version,
            'instance_uuid': run.subject, 'request_id': run.request_id,
            'user_id': run.user_id, 'project_id': run.project_id,
            'host': run.host or self.host, 'status': records.RUNNING,
            'started_at': _dt(run.started_at),
            'recovering': run.recovering,
        }

    @db_api.retry_on_disconnect
    def _resume_state(self, run: RunInfo, action_id: int | None,
                      explicit: bool) -> _RunState:
        """Continue the record of an interrupted run (recovery): mark it
        running again and reload where its stage numbering stands."""
        with db_api.writer_connection() as connection:
            updated = connection.execute(sa.update(_RUNS).where(
                _RUNS.c.id == run.run_id).values(
                status=records.RUNNING, recovering=True, finished_at=None,
                **({'action_id': action_id} if explicit else {}))).rowcount
            if not updated:
                values = self._run_values(run)
                values['action_id'] = action_id
                connection.execute(sa.insert(_RUNS).values(values))
            return self._load_state(connection, run.run_id)

    def _load_state(self, connection: sa.Connection,
                    run_id: str) -> _RunState:
        state = _RunState(connection.execute(
            sa.select(_RUNS.c.action_id).where(_RUNS.c.id == run_id),
        ).scalar())
        for seq, event in connection.execute(
                sa.select(_EVENTS.c.seq, _EVENTS.c.event).where(
                    _EVENTS.c.run_id == run_id).order_by(_EVENTS.c.seq)):
            state.seq = max(state.seq, seq or 0)
            state.seqs[event] = seq
            state.last_stage = event
        return state

    @db_api.retry_on_disconnect
    def _state(self, run: RunInfo) -> _RunState:
        state = self._runs.get(run.run_id)
        if state is None:
            # A run this recorder did not start (another recorder object
            # began it): pick up its numbering from the database.
            with self._lock, db_api.writer_connection() as connection:
                state = self._runs.get(run.run_id)
                if state is None:
                    state = self._runs[run.run_id] = self._load_state(
                        connection, run.run_id)
        return state

    def _event(self, run: RunInfo, state: _RunState, seq: int,
               stage_id: str, *,
               start: float | None = None, finish: float | None = None,
               result: str | None = None, traceback: str | None = None,
               revert_result: str | None = None,
               details: str | None = None) -> dict[str, Any]:
        now = timeutils.utcnow()
        return {
            'run_id': run.run_id, 'seq': seq, 'event': stage_id,
            'action_id': state.action_id, 'host': run.host or self.host,
            'start_time': _dt(start) if start is not None else None,
            'finish_time': _dt(finish) if finish is not None else None,
            'result': result, 'traceback': traceback,
            'revert_result': revert_result, 'details': details,
            'created_at': now, 'updated_at': now, 'deleted': 0,
        }

    def _write_events(self, state: _RunState,
                      rows: list[dict[str, Any]]) -> None:
        """One statement: the pending rows, then ``rows``."""
        if state.pending:
            rows = [*state.pending, *rows]
            state.pending = []
        if not rows:
            return
        db_api.write_idempotent([_upsert_write(rows)], state.context)


def _insert_run_statement() -> Any:
    """INSERT a run, its values as parameters (a template, see
    nova.db.api)."""
    return db_api._template('recorder_insert_run',
                            lambda: sa.insert(_RUNS))


def _action_query() -> Any:
    """The newest action of an instance and request (``b_subject``,
    ``b_request_id``)."""
    return sa.select(_ACTIONS.c.id).where(
        _ACTIONS.c.instance_uuid == sa.bindparam('b_subject'),
        _ACTIONS.c.request_id == sa.bindparam('b_request_id'),
    ).order_by(_ACTIONS.c.id.desc()).limit(1)


def _action_query_statement() -> Any:
    return db_api._template('recorder_action_query', _action_query)


def _insert_linked_run_statement() -> Any:
    """INSERT a run whose action_id is the newest action of its instance
    and request (``b_subject``, ``b_request_id``), RETURNING it."""
    return db_api._template(
        'recorder_insert_linked_run',
        lambda: sa.insert(_RUNS).values(
            action_id=_action_query().scalar_subquery()).returning(
            _RUNS.c.action_id))


_EVENT_COLUMNS = ('run_id', 'seq', 'event', 'action_id', 'host',
                  'start_time', 'finish_time', 'result', 'traceback',
                  'revert_result', 'details', 'created_at', 'updated_at',
                  'deleted')

# (dialect name, number of rows) -> the upsert statement.  Written as
# text with typed parameters because SQLAlchemy does not cache the
# compiled form of multi-row INSERT constructs: compiling one again for
# every stage cost more CPU than the rest of the recording.
_UPSERTS: dict[tuple[str, int], sa.TextClause] = {}


def _upsert_statement(dialect: sa.Dialect, count: int) -> sa.TextClause:
    """INSERT ``count`` event rows; a row whose (run_id, seq) exists gets
    the non-NULL ones of its mutable columns instead (PostgreSQL and
    SQLite: ON CONFLICT .. DO UPDATE; MariaDB/MySQL: ON DUPLICATE KEY
    UPDATE)."""
    key = (dialect.name, count)
    statement = _UPSERTS.get(key)
    if statement is not None:
        return statement
    t = _EVENTS
    quote = dialect.identifier_preparer.quote
    table = quote(t.name)
    columns = ', '.join(quote(c) for c in _EVENT_COLUMNS)
    rows = ', '.join(
        '(' + ', '.join(f':{c}_{i}' for c in _EVENT_COLUMNS) + ')'
        for i in range(count))
    if dialect.name in ('mysql', 'mariadb'):
        def new(column: str) -> str:
            return f'VALUES({quote(column)})'
        conflict = 'ON DUPLICATE KEY UPDATE'
    elif dialect.name in ('postgresql', 'sqlite'):
        def new(column: str) -> str:
            return f'excluded.{quote(column)}'
        conflict = (f'ON CONFLICT ({quote("run_id")}, {quote("seq")}) '
                    f'DO UPDATE SET')
    else:
        raise NotImplementedError(
            f'The flow recorder does not support {dialect.name} databases')
    updates = [f'{quote(c)} = COALESCE({new(c)}, {table}.{quote(c)})'
               for c in _MUTABLE]
    updates.append(f'{quote("updated_at")} = {new("updated_at")}')
    statement = sa.text(
        f'INSERT INTO {table} ({columns}) VALUES {rows} {conflict} '
        + ', '.join(updates)
    ).bindparams(*(sa.bindparam(f'{c}_{i}', type_=t.c[c].type)
                   for i in range(count) for c in _EVENT_COLUMNS))
    _UPSERTS[key] = statement
    return statement


def _upsert_write(rows: list[dict[str, Any]]) -> db_api.Write:
    """The upsert of ``rows`` as an idempotent write (it may run twice:
    the second finds the rows and sets the same values)."""
    count = len(rows)
    return (('recorder_upsert', count),
            lambda dialect: _upsert_statement(dialect, count),
            {f'{c}_{i}': row[c] for i, row in enumerate(rows)
             for c in _EVENT_COLUMNS})


def _update_run_statement(dialect: sa.Dialect) -> Any:
    return sa.update(_RUNS).where(_RUNS.c.id == sa.bindparam('b_id'))


def _update_action_statement(dialect: sa.Dialect) -> Any:
    return sa.update(_ACTIONS).where(_ACTIONS.c.id == sa.bindparam('b_id'))


class _ActionRecorder:
    """A :class:`DBRecorder` whose runs belong to a known action."""

    def __init__(self, parent: DBRecorder, action_id: int | None) -> None:
        self._parent = parent
        self.action_id = action_id

    def run_started(self, run: RunInfo) -> None:
        self._parent._run_started(run, self.action_id, explicit=True)

    def stage_started(self, run: RunInfo, stage_id: str, at: float, *,
                      reverts: bool = True) -> None:
        self._parent.stage_started(run, stage_id, at, reverts=reverts)

    def stage_finished(self, run: RunInfo, stage_id: str, result: str,
                       started_at: float, finished_at: float,
                       failure: Failure | None, *,
                       durable: bool = False) -> None:
        self._parent.stage_finished(run, stage_id, result, started_at,
                                    finished_at, failure, durable=durable)

    def stage_transaction(self, run: RunInfo, ctx: Any
                          ) -> contextlib.AbstractContextManager[Any]:
        return self._parent.stage_transaction(run, ctx)

    def run_recovered(self, run: RunInfo, message: str) -> None:
        self._parent.run_recovered(run, message)

    def stage_reverted(self, run: RunInfo, stage_id: str, result: str,
                       started_at: float, finished_at: float,
                       failure: Failure | None) -> None:
        self._parent.stage_reverted(run, stage_id, result, started_at,
                                    finished_at, failure)

    def run_finished(self, run: RunInfo, result: str, finished_at: float,
                     failure: Failure | None) -> None:
        self._parent.run_finished(run, result, finished_at, failure)

    def __getattr__(self, name: str) -> Any:
        # The query methods are the parent's.
        return getattr(self._parent, name)


class _PartRecorder(_ActionRecorder):
    """A :class:`DBRecorder` whose runs do not finish their action."""

    def run_started(self, run: RunInfo) -> None:
        self._parent._run_started(run, self.action_id,
                                  explicit=self.action_id is not None)
        state = self._parent._runs.get(run.run_id)
        if state is not None:
            state.finishes_action = False
