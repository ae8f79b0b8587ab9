"""Declaring flows: the stage list of one operation and its stage functions.

A flow module reads top to bottom as the operation it implements::

    FLOW = Flow('compute.build_instance', '1.0', BuildState,
                on_interrupt=REVERT)
    FLOW.stages(
        'check_instance_not_already_created',
        'claim_resources',
        sub('spawn', ['update_spawning', 'driver_spawn', 'update_active']),
    )
    FLOW.on_failure('record_fault')

    @FLOW.stage
    def check_instance_not_already_created(ctx, state): ...

Stage names in the list are resolved when the flow is first compiled, so the
list can sit at the top of the module, before the functions it names.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final, Generic, Literal, TypeAlias, TypeVar, overload

from nova.flow.errors import Problem

REVERT: Final = 'revert'
RESUME: Final = 'resume'
InterruptPolicy: TypeAlias = Literal['revert', 'resume']

ExecuteFn: TypeAlias = Callable[[Any, Any], Any]
RevertFn: TypeAlias = Callable[[Any, Any, Any], Any]
VerifyFn: TypeAlias = Callable[[Any, Any], bool]

#: The state type of a flow (a dataclass).
S = TypeVar('S')
#: A stage or failure-handler function, kept as declared by the decorators.
F = TypeVar('F', bound=Callable[..., Any])

_NAME_RE = re.compile(r'^[a-z][a-z0-9_]*$')
_FLOW_NAME_RE = re.compile(r'^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$')
_VERSION_RE = re.compile(r'^(\d+)\.(\d+)$')


class StageRef(str, Generic[S]):
    """A stage ID typed with its flow's state: what :meth:`Flow.at`
    returns.  A hook decorator given one makes a type checker check the
    hook's ``state`` parameter against the flow's state type."""

    __slots__ = ()


def parse_version(text: str) -> tuple[int, int] | None:
    """``'1.2'`` -> ``(1, 2)``; ``None`` when it is not MAJOR.MINOR."""
    match = _VERSION_RE.match(text or '')
    if not match:
        return None
    return int(match.group(1)), int(match.group(2))


@dataclasses.dataclass(frozen=True)
class RequestVersion:
    """Where a flow's state carries the version of the request it serves
    (an API microversion), so that a hook contribution may apply from a
    version on (``min_version=`` of the hook decorators).

    The engine, not the hook, checks the condition each time it runs the
    contribution: ``getattr(state, field) >= parse(min_version)``.

    :param field: the state field holding the request's version; its
        values must compare with what ``parse`` returns.
    :param parse: turns a declared ``min_version`` (text) into that
        comparable; raises ``ValueError`` with a message saying what is
        wrong (not ``MAJOR.MINOR``, out of the supported range), which
        the load reports as the hook's problem.
    """

    field: str
    parse: Callable[[str], Any]


#: ``guard(fn, hook, stage_id, wraps) -> fn``: a flow's own rule for the
#: hook functions placed in it, applied at compile like the read-only
#: guard (``hook`` is the :class:`nova.flow.hooks.LoadedHook`; ``wraps``
#: is true for an ``around``, whose ``proceed()`` runs the flow's stages).
HookGuard: TypeAlias = Callable[[Callable[..., Any], Any, str, bool],
                                Callable[..., Any]]


@dataclasses.dataclass(frozen=True)
class Stage:
    """One step: an RPC call, a driver call or a state update.

    ``revert`` must be idempotent and must work from what is in the database,
    because after a crash it runs in a new process with a state rebuilt by
    the flow's ``load_state``.
    """

    name: str
    execute: ExecuteFn
    revert: RevertFn | None = None
    optional: bool = False
    #: Set on stages a hook inserted; None for the flow's own stages.
    hook: str | None = None
    #: Running it again after it completed has no further effect, so a
    #: resumed run may repeat it when a crash lost its completion record.
    idempotent: bool = False
    #: Its only effect is database writes made with the run's context: it
    #: runs in a transaction of its own that also records its completion,
    #: so a crash leaves it either not done and not recorded, or both.
    transactional: bool = False
    #: ``verify(ctx, state) -> bool``: did the stage's work take effect?
    #: Asked when the stage raised, and at recovery when a crash cut it
    #: short; True makes it count as completed (see :meth:`Flow.verify`).
    verify: VerifyFn | None = None
    #: ``nothing_to_do(ctx, state) -> bool``: True when neither the stage
    #: nor its revert has anything to do for this state; its start is then
    #: not written before it runs (see :meth:`Flow.nothing_to_do`).
    nothing_to_do: VerifyFn | None = None
    #: Its start is held, not written before it runs, and recovery runs
    #: its revert whenever the run may have reached it (see
    #: :meth:`Flow.revert`, ``hold_start``).
    hold_start: bool = False
    #: Former names of the stage (renamed within a major contract version):
    #: hooks may still target ``<parent>.<alias>``, with a deprecation
    #: warning naming the new ID.
    aliases: tuple[str, ...] = ()

    @property
    def doc(self) -> str:
        text = inspect.getdoc(self.execute) or ''
        return text.splitlines()[0] if text else ''


@dataclasses.dataclass(frozen=True)
class SubFlow:
    """A named group of stages (``spawn: [...]``) with IDs below its own."""

    name: str
    entries: tuple[str | Stage | SubFlow, ...]
    optional: bool = False
    #: Former names, as for :attr:`Stage.aliases`.
    aliases: tuple[str, ...] = ()


def sub(name: str, entries: Sequence[str | Stage | SubFlow], *,
        optional: bool = False, aliases: Sequence[str] = ()) -> SubFlow:
    """Declare a sub-flow in a stage list."""
    return SubFlow(name, tuple(entries), optional, tuple(aliases))


def stage(name: str, execute: ExecuteFn, revert: RevertFn | None = None, *,
          optional: bool = False, idempotent: bool | None = None,
          transactional: bool | None = None,
          aliases: Sequence[str] = ()) -> Stage:
    """Declare a stage inline, e.g. a parametrised state update.

    ``idempotent`` and ``transactional`` default to what ``execute`` was
    marked with (:func:`mark`); ``aliases`` are the stage's former names.
    """
    return Stage(name, execute, revert, optional,
                 idempotent=_flag(execute, 'idempotent', idempotent),
                 transactional=_flag(execute, 'transactional',
                                     transactional),
                 aliases=tuple(aliases))


#: Function attributes :func:`mark` sets.
_MARKS = {'idempotent': 'nova_stage_idempotent',
          'transactional': 'nova_stage_transactional'}


def mark(fn: ExecuteFn, *, idempotent: bool = False,
         transactional: bool = False) -> ExecuteFn:
    """Flag a stage function wherever it is listed (shared state updates
    and notifications are listed by many flows)."""
    setattr(fn, _MARKS['idempotent'], idempotent)
    setattr(fn, _MARKS['transactional'], transactional)
    return fn


def flags_of(fn: Any) -> tuple[bool, bool]:
    """(idempotent, transactional) as :func:`mark` set them on ``fn``."""
    return _flag(fn, 'idempotent', None), _flag(fn, 'transactional', None)


def _flag(fn: Any, name: str, explicit: bool | None) -> bool:
    if explicit is not None:
        return explicit
    return bool(getattr(fn, _MARKS[name], False))


class Flow(Generic[S]):
    """The definition of one operation: contract, stages, failure handling.

    ``Flow[BuildState]``: generic over its state type, so that stage
    functions and typed hooks are checked against it.

    :param name: dotted flow ID, e.g. ``compute.build_instance``.
    :param version: contract version ``MAJOR.MINOR``.  Bump MINOR when a
        stage or state field is added, MAJOR when one is removed, renamed or
        changes meaning; hooks declare the major they were written against.
    :param state_type: dataclass whose fields are what stages and hooks may
        read and write.
    :param on_interrupt: what a restarted service does with a run that a
        crash cut short: ``revert`` the started stages or ``resume`` from the
        stage that was running.
    :param load_state: rebuilds the state of an interrupted run from the
        database, given ``(ctx, run_record, services)`` (the services the
        flow's stages use, e.g. ComputeServices); required for recovery.
    :param subject: returns the ID of what the run acts on (an instance
        UUID) from the state; recorded with the run.
    :param point_of_no_return: in a ``revert`` flow, the path of the stage
        (``'spawn.update_active'``) once whose completion the operation is
        done: the stages after it only finish it, so they are never
        reverted (a failure among them is recorded and the rest still
        run), and a run interrupted after it is resumed, not reverted.
        The stage must be ``transactional``, so that its completion is
        recorded with its own effect.
    :param changes: the contract's changelog, version -> what changed
        (``'1.0'`` needs no entry); published in the contract snapshot and
        quoted when a hook written for an older major is refused.
    :param request_version: where the state carries the request's version
        (:class:`RequestVersion`); only then may hook contributions to the
        flow declare a ``min_version``.
    :param hook_guard: a rule of the flow's own for the hook functions
        placed in it (:data:`HookGuard`), e.g. which response keys a hook
        may add.
    """

    def __init__(self, name: str, version: str, state_type: type[S], *,
                 on_interrupt: InterruptPolicy = REVERT,
                 load_state: Callable[[Any, Any, Any], S] | None = None,
                 subject: Callable[[S], str | None] | None = None,
                 point_of_no_return: str | None = None,
                 doc: str = '',
                 changes: Mapping[str, str] | None = None,
                 request_version: RequestVersion | None = None,
                 hook_guard: HookGuard | None = None) -> None:
        self.name = name
        self.request_version = request_version
        self.hook_guard = hook_guard
        self.version = version
        self.state_type = state_type
        self.changes: dict[str, str] = dict(changes or {})
        self.on_interrupt = on_interrupt
        self.point_of_no_return = point_of_no_return
        self.load_state = load_state
        self.subject = subject
        self.doc = doc
        self._entries: tuple[str | Stage | SubFlow, ...] = ()
        self._failure_handlers: tuple[str, ...] = ()
        self._functions: dict[str, Callable[..., Any]] = {}
        self._reverts: dict[str, RevertFn] = {}
        self._verifiers: dict[str, VerifyFn] = {}
        self._idle_checks: dict[str, VerifyFn] = {}
        self._held_starts: set[str] = set()
        self._optional: set[str] = set()
        self._idempotent: set[str] = set()
        self._transactional: set[str] = set()
        self._aliases: dict[str, tuple[str, ...]] = {}

    def __repr__(self) -> str:
        return f'<Flow {self.name} {self.version}>'

    @property
    def version_tuple(self) -> tuple[int, int]:
        parsed = parse_version(self.version)
        if parsed is None:
            raise ValueError(f'flow {self.name}: bad version {self.version}')
        return parsed

    def at(self, path: str) -> StageRef[S]:
        """The ID of the stage at ``path`` (``'spawn.driver_spawn'``),
        typed with this flow's state, for hook decorators::

            @hooks.before(build_instance.FLOW.at('spawn.driver_spawn'))
            def add_sauce(self, ctx: Any, state: BuildState) -> None: ...

        It is checked with the hooks, when the service starts.
        """
        return StageRef(f'{self.name}.{path}')

    # -- declaration -------------------------------------------------------

    def stages(self, *entries: str | Stage | SubFlow) -> None:
        """Set the ordered stage list."""
        self._entries = tuple(entries)

    def on_failure(self, *handlers: str | RevertFn) -> None:
        """Functions ``(ctx, state, failure)`` run after the reverts.

        Each is a name registered with :meth:`failure_handler` or a function
        shared between flows (registered here under its ``__name__``).
        """
        names = []
        for handler in handlers:
            if callable(handler):
                self._functions[handler.__name__] = handler
                handler = handler.__name__
            names.append(handler)
        self._failure_handlers = tuple(names)

    @overload
    def stage(self, fn: F, *, name: str | None = None,
              optional: bool = False, idempotent: bool = False,
              transactional: bool = False,
              aliases: Sequence[str] = ()) -> F: ...

    @overload
    def stage(self, fn: None = None, *, name: str | None = None,
              optional: bool = False, idempotent: bool = False,
              transactional: bool = False,
              aliases: Sequence[str] = ()) -> Callable[[F], F]: ...

    def stage(self, fn: F | None = None, *, name: str | None = None,
              optional: bool = False, idempotent: bool = False,
              transactional: bool = False,
              aliases: Sequence[str] = ()) -> F | Callable[[F], F]:
        """Decorator registering ``fn(ctx, state)`` as the stage ``name``
        (flags: see :class:`Stage`; ``aliases``: its former names)."""
        def register(func: F) -> F:
            stage_name = name or func.__name__
            self._functions[stage_name] = func
            if aliases:
                self._aliases[stage_name] = tuple(aliases)
            if optional:
                self._optional.add(stage_name)
            if idempotent:
                self._idempotent.add(stage_name)
            if transactional:
                self._transactional.add(stage_name)
            return func
        return register(fn) if fn is not None else register

    def revert(self, stage_name: str, *, hold_start: bool = False
               ) -> Callable[[RevertFn], RevertFn]:
        """Decorator registering ``fn(ctx, state, failure)`` as the revert
        of the named stage.

        The start of a stage with a revert is written, a transaction of
        its own, before the stage runs, so that recovery knows to revert
        it after a crash.  ``hold_start=True`` trades that write for a
        revert at recovery whenever the run may have reached the stage:
        its start is held and written with the run's next write, and
        when a crash leaves a record that stops before the stage, with
        no later write that would have carried the held start, recovery
        runs this revert as if the start were on record (a stage whose
        start is always written before it runs, or a transactional one,
        after it in the record shows it was not reached).  Every revert
        must already handle a stage that never did anything (a crash
        just after its start was written); use this where that costs
        little (freeing ports of an instance that has none).  Only for
        stages before the point of no return of a ``revert`` flow: a
        resumed run never reverts.
        """
        def register(func: RevertFn) -> RevertFn:
            self._reverts[stage_name] = func
            if hold_start:
                self._held_starts.add(stage_name)
            else:
                self._held_starts.discard(stage_name)
            return func
        return register

    def verify(self, stage_name: str) -> Callable[[VerifyFn], VerifyFn]:
        """Decorator registering ``fn(ctx, state) -> bool`` as the check
        of whether the named stage's work took effect.

        For a stage whose effect outside the database (a guest that left
        its host) can happen although the stage did not return - its
        host died, or the call's answer was lost.  When the stage raises,
        or a crash cut it short, a true answer makes it count as
        completed: the run goes on (or, recovered, resumes) after it
        instead of reverting it.  A stage with a check may be the point
        of no return although it is not transactional.  A check that
        raises counts as false.
        """
        def register(func: VerifyFn) -> VerifyFn:
            self._verifiers[stage_name] = func
            return func
        return register

    def nothing_to_do(self, stage_name: str
                      ) -> Callable[[VerifyFn], VerifyFn]:
        """Decorator registering ``fn(ctx, state) -> bool``: True when
        neither the named stage nor its revert has anything to do for
        this state (a boot with no volume to attach).

        The start of a stage with a revert is written, a transaction of
        its own, before the stage runs, so that recovery reverts it after
        a crash.  When this says there is nothing to do, the start is held
        instead and written with the run's next write, as for a stage
        without a revert: a crash before that write leaves nothing to
        revert.  Asked just before the stage runs; a check that raises
        counts as false (the start is written).  Ignored for a stage an
        ``around`` hook wraps or a hook replaces, whose code may do what
        the check does not know of.
        """
        def register(func: VerifyFn) -> VerifyFn:
            self._idle_checks[stage_name] = func
            return func
        return register

    def failure_handler(self, fn: RevertFn) -> RevertFn:
        """Decorator registering a failure handler's function by its name."""
        self._functions[fn.__name__] = fn
        return fn

    # -- resolution --------------------------------------------------------

    def resolve(self) -> tuple[tuple[Stage | SubFlow, ...], list[Problem]]:
        """The stage tree with names replaced by Stage objects."""
        problems: list[Problem] = []
        if not _FLOW_NAME_RE.match(self.name):
            problems.append(Problem(
                f"flow name '{self.name}' is not a dotted lower-case ID"))
        if parse_version(self.version) is None:
            problems.append(Problem(
                f"flow '{self.name}' version '{self.version}' is not "
                f"MAJOR.MINOR"))
        if self.on_interrupt not in (REVERT, RESUME):
            problems.append(Problem(
                f"flow '{self.name}' on_interrupt must be 'revert' or "
                f"'resume', not '{self.on_interrupt}'"))
        if not dataclasses.is_dataclass(self.state_type):
            problems.append(Problem(
                f"flow '{self.name}' state type must be a dataclass"))
        tree = self._resolve_entries(self._entries, self.name, problems)
        self._check_point_of_no_return(tree, problems)
        for handler in self._failure_handlers:
            fn = self._functions.get(handler)
            if fn is None:
                problems.append(Problem(
                    f'failure handler {handler!r} is not defined',
                    stage_id=f'{self.name}.{handler}'))
            else:
                check_signature(fn, 3, f'{self.name}.{handler}', problems)
        return tree, problems

    def _check_point_of_no_return(self, tree: tuple[Stage | SubFlow, ...],
                                  problems: list[Problem]) -> None:
        path = self.point_of_no_return
        if path is None:
            return
        where = f'{self.name}.{path}'
        if self.on_interrupt != REVERT:
            problems.append(Problem(
                'a point of no return is for revert flows (a resume flow '
                'never reverts)', stage_id=where))
            return
        found = find_stage(tree, path)
        if found is None:
            problems.append(Problem(
                'the point of no return names no stage of the flow',
                stage_id=where))
        elif not found.transactional and found.verify is None:
            problems.append(Problem(
                'the point of no return must be a transactional stage (its '
                'completion is recorded with its effect) or have a check '
                'of its effect (Flow.verify)', stage_id=where))

    def failure_handlers(self) -> list[tuple[str, RevertFn]]:
        return [(n, self._functions[n]) for n in self._failure_handlers
                if n in self._functions]

    def _resolve_entries(self, entries: Iterable[str | Stage | SubFlow],
                         prefix: str, problems: list[Problem],
                         ) -> tuple[Stage | SubFlow, ...]:
        resolved: list[Stage | SubFlow] = []
        seen: set[str] = set()
        for entry in entries:
            if isinstance(entry, str):
                fn = self._functions.get(entry)
                if fn is None:
                    problems.append(Problem(
                        f'stage {entry!r} is listed but no function is '
                        f'registered for it', stage_id=f'{prefix}.{entry}'))
                    continue
                entry = Stage(
                    entry, fn, self._reverts.get(entry),
                    entry in self._optional,
                    idempotent=_flag(fn, 'idempotent',
                                     entry in self._idempotent or None),
                    transactional=_flag(fn, 'transactional',
                                        entry in self._transactional
                                        or None),
                    verify=self._verifiers.get(entry),
                    nothing_to_do=self._idle_checks.get(entry),
                    hold_start=entry in self._held_starts,
                    aliases=self._aliases.get(entry, ()))
            elif isinstance(entry, SubFlow):
                children = self._resolve_entries(
                    entry.entries, f'{prefix}.{entry.name}', problems)
                entry = SubFlow(entry.name, children, entry.optional,
                                entry.aliases)
            elif not isinstance(entry, Stage):
                problems.append(Problem(
                    f'stage list entry {entry!r} is not a name, Stage or '
                    f'SubFlow', stage_id=prefix))
                continue
            stage_id = f'{prefix}.{entry.name}'
            if not _NAME_RE.match(entry.name):
                problems.append(Problem(
                    f"stage name '{entry.name}' must be lower-case "
                    f"letters, digits and underscores", stage_id=stage_id))
            if entry.name in seen:
                problems.append(Problem(
                    'duplicate stage name', stage_id=stage_id))
            seen.add(entry.name)
            if isinstance(entry, Stage):
                check_signature(entry.execute, 2, stage_id, problems)
                if entry.revert is not None:
                    check_signature(entry.revert, 3, stage_id + ' (revert)',
                                    problems)
            resolved.append(entry)
        aliases: set[str] = set()
        for entry in resolved:
            for alias in entry.aliases:
                if alias in seen or alias in aliases or \
                        not _NAME_RE.match(alias):
                    problems.append(Problem(
                        f"alias '{alias}' is not a free stage name",
                        stage_id=f'{prefix}.{entry.name}'))
                aliases.add(alias)
        return tuple(resolved)


def find_stage(tree: Iterable[str | Stage | SubFlow],
               path: str) -> Stage | None:
    """The stage at ``path`` (``'spawn.update_active'``) in a resolved
    stage tree."""
    head, _, rest = path.partition('.')
    for entry in tree:
        if isinstance(entry, str) or entry.name != head:
            continue
        if isinstance(entry, Stage):
            return entry if not rest else None
        return find_stage(entry.entries, rest) if rest else None
    return None


def check_signature(fn: Callable[..., Any], arity: int, where: str,
                    problems: list[Problem], hook: str | None = None,
                    entry_point: str | None = None) -> bool:
    """Record a problem unless ``fn`` accepts ``arity`` positional args."""
    if not callable(fn):
        problems.append(Problem(f'{fn!r} is not callable', hook=hook,
                                entry_point=entry_point, stage_id=where))
        return False
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return True  # builtins without introspection: trust them
    try:
        signature.bind(*range(arity))
    except TypeError:
        problems.append(Problem(
            f'{getattr(fn, "__qualname__", fn)}{signature} must accept '
            f'{arity} positional arguments', hook=hook,
            entry_point=entry_point, stage_id=where))
        return False
    return True
