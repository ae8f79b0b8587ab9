"""Compiling flows and hooks into the plan that runs, validating everything.

All checking happens here, once, when a service starts: after
:func:`compile_flows` returns without problems nothing about the flows or
hooks can fail for configuration reasons while an operation runs.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import logging
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import partial
from typing import Any, cast

from nova.flow import contract, spec
from nova.flow.errors import Problem
from nova.flow.events import EVENT_NAMES, EventKind
from nova.flow.hooks import Contribution, Gate, Kind, LoadedHook

LOG = logging.getLogger(__name__)

# When a stage's completion is recorded (Leaf.record; see nova.flow.runner).
#: With the run's next write: a crash may lose it.
DEFERRED = 'deferred'
#: Before the next stage starts.
NOW = 'now'
#: In the stage's own transaction, with its effect.
ATOMIC = 'atomic'


@dataclasses.dataclass(eq=False)
class Node:
    id: str
    name: str
    #: Name of the hook that inserted this stage, None for the flow's own.
    hook: str | None
    optional: bool
    disabled: bool = False
    arounds: list[Contribution] = dataclasses.field(default_factory=list)
    #: Former IDs of the stage (declared aliases), still valid targets.
    aliases: tuple[str, ...] = ()


@dataclasses.dataclass(eq=False)
class Leaf(Node):
    execute: spec.ExecuteFn = None  # type: ignore[assignment]
    revert: spec.RevertFn | None = None
    doc: str = ''
    replaced_by: str | None = None
    #: ``execute`` wrapped by the ``around`` hooks, built by compile.
    call: Callable[[Any, Any], Any] = None  # type: ignore[assignment]
    #: The outermost around hook, None without one, and what its
    #: ``proceed()`` runs: the runner calls these two directly, which saves
    #: a call level per hooked stage over going through ``call``.
    around: Callable[[Any, Any, Callable[[], Any]], Any] | None = None
    inner: Callable[[Any, Any], Any] = None  # type: ignore[assignment]
    idempotent: bool = False
    transactional: bool = False
    #: Did its work take effect (spec.Flow.verify)?  None: no check.
    verify: spec.VerifyFn | None = None
    #: Nothing to do for this state (spec.Flow.nothing_to_do)?  None: no
    #: check, or a hook wraps or replaces the stage.
    nothing_to_do: spec.VerifyFn | None = None
    #: Its start is held and recovery reverts it if the run may have
    #: reached it (spec.Flow.revert's ``hold_start``).
    hold_start: bool = False
    #: Its start is written before it runs (unless its nothing_to_do
    #: check says otherwise): it has a revert, and neither holds its
    #: start nor commits it with its completion (see :func:`_plan_starts`).
    writes_start: bool = False
    #: When its completion is recorded: DEFERRED, NOW or ATOMIC.
    record: str = DEFERRED
    #: The stage after it in its group, when this one is transactional
    #: and that one has a revert: that stage's start is written in this
    #: one's transaction (see :func:`_plan_next_starts`).
    starts_next: Leaf | None = None
    #: The flow's last stage, transactional: the run's end is written in
    #: its transaction (see :func:`_plan_run_end`).
    ends_run: bool = False
    #: The flow's point of no return.
    commits: bool = False
    #: At or after the point of no return: never reverted.
    committed: bool = False
    #: A stage a hook inserted from a request version on: skipped below it.
    min_version: str | None = None


@dataclasses.dataclass(eq=False)
class Group(Node):
    children: list[Node] = dataclasses.field(default_factory=list)
    #: children minus the disabled ones, fixed at compile time.
    runnable: tuple[Node, ...] = ()


@dataclasses.dataclass(eq=False)
class Plan:
    """One flow with the enabled hooks in place."""

    flow: spec.Flow[Any]
    root: Group
    leaves: dict[str, Leaf]
    listeners: dict[EventKind, list[tuple[str, Callable[[Any], Any]]]]
    failure_handlers: list[tuple[str, spec.RevertFn]]
    #: Former stage ID (a declared alias) -> the stage's ID.
    aliases: dict[str, str] = dataclasses.field(default_factory=dict)

    def current_ids(self, stage_ids: Iterable[str]) -> list[str]:
        """Recorded stage IDs as the flow names them now: a run recorded
        before a stage was renamed names it by its alias."""
        return [self.aliases.get(s, s) for s in stage_ids]

    def walk(self) -> Iterable[tuple[int, Node]]:
        def visit(group: Group, depth: int) -> Iterable[tuple[int, Node]]:
            for child in group.children:
                yield depth, child
                if isinstance(child, Group):
                    yield from visit(child, depth + 1)
        return visit(self.root, 0)


def compile_flows(flows: Sequence[spec.Flow[Any]], hooks: Sequence[LoadedHook],
                  disabled_stages: Iterable[str] = (),
                  ) -> tuple[dict[str, Plan], list[Problem]]:
    """Build a :class:`Plan` per flow; return every problem found."""
    problems: list[Problem] = []
    plans: dict[str, Plan] = {}
    for flow in flows:
        if flow.name in plans:
            problems.append(Problem(f"two flows are named '{flow.name}'"))
            continue
        tree, flow_problems = flow.resolve()
        problems.extend(flow_problems)
        root = Group(flow.name, flow.name, None, False)
        leaves: dict[str, Leaf] = {}
        root.children = _build(tree, flow.name, leaves)
        plans[flow.name] = Plan(flow, root,
                                leaves, {k: [] for k in EventKind},
                                flow.failure_handlers())
        plans[flow.name].aliases = {
            alias: node.id for _, node in plans[flow.name].walk()
            for alias in node.aliases}

    contributions = [c for hook in hooks for c in hook.contributions()]
    _check_supports(hooks, contributions, plans, problems)
    _check_microversions(hooks, plans, problems)
    _apply(contributions, plans, problems)
    _disable(disabled_stages, plans, problems)
    for plan in plans.values():
        _finish(plan.root)
        _plan_records(plan)
        _plan_starts(plan, problems)
        _plan_next_starts(plan.root)
        _plan_run_end(plan.root)
    return plans, problems


def _plan_records(plan: Plan) -> None:
    """Decide when each stage's completion is recorded.

    Where a crash must not make a stage run twice - every stage of a
    ``resume`` flow, and of a ``revert`` flow from its point of no return
    on - the record must say which stages completed: a transactional
    stage records it in its own transaction, any other stage before the
    next one starts, except an idempotent one, which may run again (its
    completion rides with the run's next write).  Elsewhere a crash
    reverts every started stage, completed or not, so completions wait -
    except a transactional stage's with a revert: written in its
    transaction, the completion also records the start (the runner holds
    it), so recovery reverts the stage exactly when its effect committed,
    for one write where a start written before it ran took a transaction
    of its own.
    """
    flow = plan.flow
    ponr = flow.point_of_no_return
    ponr_id = f'{flow.name}.{ponr}' if ponr else None
    exact = flow.on_interrupt == spec.RESUME
    for _, node in plan.walk():
        if not isinstance(node, Leaf):
            continue
        if node.id == ponr_id:
            node.commits = node.committed = True
            node.record = ATOMIC if node.transactional else NOW
            exact = True
            continue
        node.committed = exact and ponr_id is not None
        if not exact:
            # A transactional stage with a revert records its completion
            # in its transaction all the same: with it, its start, which
            # then needs no write of its own before the stage runs.
            node.record = ATOMIC if node.transactional and \
                node.revert is not None else DEFERRED
        elif node.transactional:
            node.record = ATOMIC
        elif node.idempotent:
            node.record = DEFERRED
        else:
            node.record = NOW


def _plan_starts(plan: Plan, problems: list[Problem]) -> None:
    """Decide which stages write their start before they run.

    A stage with a revert does, so that recovery reverts it after a
    crash - except one whose completion is written in its transaction
    (ATOMIC: the start commits with it and the stage's effect, or not at
    all) and one whose start the flow holds (spec.Flow.revert's
    ``hold_start``: recovery reverts it whenever the run may have
    reached it, Runner._maybe_reached).  A held start is only for a
    stage a crash reverts: before the point of no return of a revert
    flow; from there on a crash resumes the run, and nothing reverts a
    stage the record does not show.
    """
    resumes = plan.flow.on_interrupt == spec.RESUME
    for _, node in plan.walk():
        if not isinstance(node, Leaf):
            continue
        if node.hold_start and (resumes or node.committed):
            problems.append(Problem(
                'a held start (Flow.revert hold_start) is for stages a '
                'crash reverts: before the point of no return of a revert '
                'flow (after it, and in a resume flow, a crash resumes the '
                'run and reverts nothing)', stage_id=node.id))
        node.writes_start = (node.revert is not None and not node.hold_start
                             and node.record != ATOMIC)


def _plan_next_starts(group: Group) -> None:
    """Let a transactional stage write the start of the stage after it.

    The start of a stage with a revert must be on record before the
    stage does anything (recovery reverts what the record shows
    started), so it costs a write of its own, a transaction, just before
    the stage runs.  When the stage before it in the same group is
    transactional, that write joins the earlier stage's transaction
    instead: one commit where there were two.  Durability is the same -
    the start is committed before the stage runs, only earlier, by the
    runner's own bookkeeping between two stages; recovery treats a crash
    in that gap as one just after the start was written and before the
    stage did anything, which reverts must already handle (reverts are
    idempotent).  A rolled-back transaction takes the start with it, and
    the stage does not run.
    """
    runnable = group.runnable
    for index, node in enumerate(runnable):
        following = runnable[index + 1] if index + 1 < len(runnable) \
            else None
        if isinstance(node, Group):
            _plan_next_starts(node)
        elif isinstance(node, Leaf):
            node.starts_next = (
                following if node.transactional
                and isinstance(following, Leaf)
                and following.writes_start else None)


def _plan_run_end(root: Group) -> None:
    """Let a transactional last stage write the end of the run.

    When the flow's last stage (the last of its top-level list, not one
    inside a sub-flow, which an around hook may wrap and run again) is
    transactional, nothing is left to do once it committed but to
    record that the run ended.  That record joins the stage's
    transaction: one commit where there were two, and no window in which
    a crash leaves a run with all its work done recorded as running (its
    recovery would only have finished it).  A rolled-back transaction
    takes the end with it, and the run ends as a failing one does.
    """
    last = root.runnable[-1] if root.runnable else None
    if isinstance(last, Leaf) and last.transactional:
        last.ends_run = True


def _build(tree: Sequence[spec.Stage | spec.SubFlow], prefix: str,
           leaves: dict[str, Leaf]) -> list[Node]:
    nodes: list[Node] = []
    for entry in tree:
        node_id = f'{prefix}.{entry.name}'
        if isinstance(entry, spec.SubFlow):
            group = Group(node_id, entry.name, None, entry.optional,
                          aliases=tuple(f'{prefix}.{a}'
                                        for a in entry.aliases))
            # A resolved tree's sub-flows hold Stage and SubFlow objects
            # only (spec.Flow.resolve replaced the names).
            group.children = _build(
                cast(Sequence[spec.Stage | spec.SubFlow], entry.entries),
                node_id, leaves)
            nodes.append(group)
        else:
            leaf = Leaf(node_id, entry.name, entry.hook, entry.optional,
                        execute=entry.execute, revert=entry.revert,
                        doc=entry.doc, idempotent=entry.idempotent,
                        transactional=entry.transactional,
                        verify=entry.verify,
                        nothing_to_do=entry.nothing_to_do,
                        hold_start=entry.hold_start,
                        aliases=tuple(f'{prefix}.{a}'
                                      for a in entry.aliases))
            leaves[node_id] = leaf
            nodes.append(leaf)
    return nodes


def _index(plan: Plan) -> dict[str, tuple[Node, Group]]:
    """Stage ID -> (node, the group holding it); a stage's aliases (its
    former IDs) lead to it too."""
    found: dict[str, tuple[Node, Group]] = {}
    aliases: dict[str, tuple[Node, Group]] = {}

    def visit(group: Group) -> None:
        for child in group.children:
            found[child.id] = (child, group)
            for alias in child.aliases:
                aliases[alias] = (child, group)
            if isinstance(child, Group):
                visit(child)
    visit(plan.root)
    for alias, entry in aliases.items():
        found.setdefault(alias, entry)
    return found


def _warn_alias(target: str, node: Node, who: str) -> None:
    """A hook or option named a stage by its former ID."""
    if target == node.id:
        return
    message = (f"{who} names stage '{target}', which was renamed to "
               f"'{node.id}'; the old ID is deprecated, use '{node.id}'")
    LOG.warning('%s', message)
    warnings.warn(message, DeprecationWarning, stacklevel=3)


def flow_of(target: str, plans: dict[str, Plan]) -> Plan | None:
    """The plan a stage ID belongs to: the longest flow name prefixing it."""
    best: Plan | None = None
    for name, plan in plans.items():
        if target.startswith(name + '.') and (
                best is None or len(name) > len(best.flow.name)):
            best = plan
    return best


def _check_supports(hooks: Sequence[LoadedHook],
                    contributions: Sequence[Contribution],
                    plans: dict[str, Plan], problems: list[Problem]) -> None:
    for hook in hooks:
        for flow_name, wanted in hook.supports.items():
            plan = plans.get(flow_name)
            if plan is None:
                problems.append(Problem(
                    f"declares support for unknown flow '{flow_name}'",
                    hook=hook.name, entry_point=hook.entry_point))
                continue
            wanted_version = spec.parse_version(str(wanted))
            if wanted_version is None:
                problems.append(Problem(
                    f"declares contract version '{wanted}' for flow "
                    f"'{flow_name}'; expected MAJOR.MINOR",
                    hook=hook.name, entry_point=hook.entry_point))
                continue
            have = spec.parse_version(plan.flow.version)
            if have is None:
                continue  # the flow's bad version is reported on its own
            if wanted_version[0] != have[0] or wanted_version[1] > have[1]:
                targets = sorted({
                    c.point.target for c in contributions
                    if c.hook is hook
                    and c.point.target.startswith(flow_name + '.')})
                acts = (f"; the hook acts at {', '.join(targets)}"
                        if targets else '')
                problems.append(Problem(
                    f"was written for contract {wanted} of flow "
                    f"'{flow_name}', which is at {plan.flow.version} "
                    f"(same major and at least that minor are required)"
                    + _changelog(plan.flow, wanted_version) + acts,
                    hook=hook.name, entry_point=hook.entry_point,
                    stage_id=targets[0] if targets else flow_name))
    for contribution in contributions:
        if contribution.point.kind is Kind.LISTEN:
            flow_name = contribution.point.target
        else:
            plan = flow_of(contribution.point.target, plans)
            if plan is None:
                continue  # reported as an unknown stage by _apply
            flow_name = plan.flow.name
        if flow_name in plans and flow_name not in contribution.hook.supports:
            problems.append(Problem(
                f"acts on flow '{flow_name}' but does not declare it in "
                f"'supports' (method {contribution.method})",
                hook=contribution.hook.name,
                entry_point=contribution.hook.entry_point,
                stage_id=contribution.point.target))


def _changelog(flow: spec.Flow[Any], since: tuple[int, int]) -> str:
    """The flow's changelog entries after version ``since``."""
    entries = sorted(
        (parsed, version, text) for version, text in flow.changes.items()
        if (parsed := spec.parse_version(version)) and parsed > since)
    if not entries:
        return ''
    return '; changelog: ' + '; '.join(
        f'{version}: {text}' for _, version, text in entries)


def _check_microversions(hooks: Sequence[LoadedHook], plans: dict[str, Plan],
                         problems: list[Problem]) -> None:
    """A hook's ``microversions`` (the default ``min_version`` of its
    contributions per flow) must name flows that carry a request version,
    with versions the flow accepts."""
    for hook in hooks:
        declared = getattr(hook.obj, 'microversions', None) or {}

        def problem(message: str, stage_id: str | None = None,
                    hook: LoadedHook = hook) -> None:
            problems.append(Problem(message, hook=hook.name,
                                    entry_point=hook.entry_point,
                                    stage_id=stage_id))

        if not isinstance(declared, Mapping):
            problem('microversions must map flow IDs to the request '
                    'version the hook acts from')
            continue
        for flow_name, text in declared.items():
            plan = plans.get(flow_name)
            if plan is None:
                problem(f"declares microversions for unknown flow "
                        f"'{flow_name}'{_suggest(flow_name, plans)}",
                        flow_name)
                continue
            checker = plan.flow.request_version
            if checker is None:
                problem(f"declares microversions['{flow_name}'], but that "
                        f"flow's runs carry no request version to compare "
                        f"with", flow_name)
                continue
            try:
                checker.parse(str(text))
            except ValueError as exc:
                problem(f"declares microversions['{flow_name}'] = "
                        f"'{text}': {exc}", flow_name)


def _gate_of(c: Contribution, plans: dict[str, Plan],
             problems: list[Problem]) -> tuple[bool, Gate | None]:
    """The version condition of a contribution (see
    :meth:`Contribution.min_version`); False when it is wrong (reported
    here for a decorator's ``min_version``, by _check_microversions for
    the hook's default)."""
    plan = flow_of(c.point.target, plans)
    if plan is None:
        return True, None  # an unknown stage: reported by _apply
    flow = plan.flow
    text = c.min_version(flow.name)
    if text is None:
        return True, None
    explicit = c.point.min_version is not None

    def problem(message: str) -> None:
        if explicit:
            problems.append(Problem(message, hook=c.hook.name,
                                    entry_point=c.hook.entry_point,
                                    stage_id=c.point.target))

    checker = flow.request_version
    if checker is None:
        problem(f"{c.method} declares min_version '{text}', but the runs "
                f"of flow '{flow.name}' carry no request version to "
                f"compare with")
        return False, None
    try:
        threshold = checker.parse(text)
    except ValueError as exc:
        problem(f"{c.method} declares min_version '{text}': {exc}")
        return False, None
    return True, Gate(checker.field, text, threshold)


_ARITY = {Kind.BEFORE: 2, Kind.AFTER: 2, Kind.AROUND: 3, Kind.REPLACE: 2,
          Kind.LISTEN: 1}


def _apply(contributions: Sequence[Contribution], plans: dict[str, Plan],
           problems: list[Problem]) -> None:
    """Put the hooks' contributions in place.

    A contribution may target a stage another hook inserts: insertions
    are made in rounds, each round placing what targets a stage that
    exists by then, until a round places nothing; what is left names a
    stage that no flow and no enabled hook provides.
    """
    replaced: dict[str, Contribution] = {}
    pending: list[Contribution] = []
    for c in sorted(contributions, key=Contribution.sort_key):
        hook, point = c.hook, c.point

        def problem(message: str, stage_id: str | None = point.target,
                    hook: LoadedHook = hook) -> None:
            problems.append(Problem(message, hook=hook.name,
                                    entry_point=hook.entry_point,
                                    stage_id=stage_id))

        if not spec.check_signature(c.fn, _ARITY[point.kind], point.target,
                                    problems, hook=hook.name,
                                    entry_point=hook.entry_point):
            continue
        if point.revert is not None:
            if c.revert is None:
                problem(f"revert method '{point.revert}' does not exist")
                continue
            if not spec.check_signature(c.revert, 3, point.target,
                                        problems, hook=hook.name,
                                        entry_point=hook.entry_point):
                continue
        if point.kind is Kind.LISTEN:
            plan = plans.get(point.target)
            if plan is None:
                problem(f"listens to unknown flow '{point.target}'"
                        f"{_suggest(point.target, plans)}")
                continue
            unknown = sorted(point.events - EVENT_NAMES)
            if unknown:
                problem(f"listens to unknown event(s) {', '.join(unknown)}; "
                        f"known: {', '.join(sorted(EVENT_NAMES))}")
                continue
            for kind in EventKind:
                if not point.events or kind.value in point.events:
                    plan.listeners[kind].append((hook.name, c.fn))
            continue
        ok, gate = _gate_of(c, plans, problems)
        if not ok:
            continue
        if gate is not None:
            c = dataclasses.replace(c, gate=gate)
        pending.append(c)

    while pending:
        indexes = {name: _index(plan) for name, plan in plans.items()}
        ready: list[tuple[Contribution, Plan, Node, Group]] = []
        waiting: list[Contribution] = []
        for c in pending:
            plan = flow_of(c.point.target, plans)
            found = indexes[plan.flow.name].get(c.point.target) \
                if plan else None
            if found is None:
                waiting.append(c)
            else:
                assert plan is not None
                ready.append((c, plan, *found))
        if not ready:
            break
        pending = waiting
        inserts: list[tuple[Contribution, Plan, Node, Group]] = []
        for c, plan, node, parent in ready:
            _warn_alias(c.point.target, node, f"hook '{c.hook.name}'")
            if c.point.kind in (Kind.AROUND, Kind.REPLACE):
                c = _guarded(c, node.id, plan.flow)
            if c.point.kind is Kind.REPLACE:
                _replace(c, node, replaced, problems)
            elif c.point.kind is Kind.AROUND:
                if c.gate is not None:
                    c = dataclasses.replace(
                        c, fn=_gated(c.fn, c.gate, _just_proceed))
                node.arounds.append(c)
            else:
                inserts.append((c, plan, node, parent))
        # Inserting after every target of the round was found keeps its
        # anchors stable; inserting the 'after' ones in reverse leaves all
        # of them in sort order.
        befores = [i for i in inserts if i[0].point.kind is Kind.BEFORE]
        afters = [i for i in inserts if i[0].point.kind is Kind.AFTER]
        for c, plan, node, parent in befores + afters[::-1]:
            _insert(c, plan, node, parent, problems)

    for c in pending:
        target = c.point.target
        problems.append(Problem(
            f"{c.point.kind.value} names unknown stage '{target}'"
            f"{_suggest(target, plans)}", hook=c.hook.name,
            entry_point=c.hook.entry_point, stage_id=target))


def _suggest(target: str, plans: dict[str, Plan]) -> str:
    """'; did you mean ...?' with the nearest flow or stage ID, if any."""
    known = list(plans)
    for plan in plans.values():
        known.extend(_index(plan))
    close = difflib.get_close_matches(target, known, n=1, cutoff=0.75)
    return f"; did you mean '{close[0]}'?" if close else ''


def _replace(c: Contribution, node: Node, replaced: dict[str, Contribution],
             problems: list[Problem]) -> None:
    hook = c.hook

    def problem(message: str) -> None:
        problems.append(Problem(message, hook=hook.name,
                                entry_point=hook.entry_point,
                                stage_id=c.point.target))

    if not isinstance(node, Leaf):
        problem('only a stage can be replaced, not a sub-flow')
        return
    if node.hook is not None:
        problem(f"replaces a stage hook '{node.hook}' inserts; only a "
                f"flow's own stages can be replaced (wrap it with "
                f"'around' instead)")
        return
    if node.id in replaced:
        other = replaced[node.id].hook
        problem(f"is replaced by both hook '{other.name}' and hook "
                f"'{hook.name}'; enable only one of them")
        return
    replaced[node.id] = c
    node.idempotent, node.transactional = spec.flags_of(c.fn)
    if c.gate is None:
        node.execute = c.fn
        if c.revert is not None:
            node.revert = c.revert
    else:
        # Below the hook's version the stage's own function (and revert)
        # runs.
        node.execute = _gated(c.fn, c.gate, node.execute)
        if c.revert is not None:
            node.revert = _gated(c.revert, c.gate, node.revert)
    if c.revert is not None:
        # The flow vouched for its own revert being cheap when the stage
        # never ran, not for the hook's.
        node.hold_start = False
    node.replaced_by = hook.name


def _insert(c: Contribution, plan: Plan, node: Node, parent: Group,
            problems: list[Problem]) -> None:
    new_id = f'{parent.id}.{c.stage_name}'
    c = _guarded(c, new_id, plan.flow)
    if c.gate is not None:
        # Below the hook's version the stage does nothing, so there is
        # nothing to revert either.
        c = dataclasses.replace(
            c, fn=_gated(c.fn, c.gate, None),
            revert=(_gated(c.revert, c.gate, None)
                    if c.revert is not None else None))
    if any(child.name == c.stage_name for child in parent.children):
        problems.append(Problem(
            f"inserts a stage named '{c.stage_name}', which already "
            f"exists there", hook=c.hook.name,
            entry_point=c.hook.entry_point, stage_id=new_id))
        return
    idempotent, transactional = spec.flags_of(c.fn)
    leaf = Leaf(new_id, c.stage_name, c.hook.name, False,
                execute=c.fn, revert=c.revert,
                doc=(c.fn.__doc__ or '').strip().split('\n')[0],
                idempotent=idempotent, transactional=transactional,
                min_version=c.gate.min_version if c.gate else None)
    position = parent.children.index(node)
    if c.point.kind is Kind.AFTER:
        position += 1
    parent.children.insert(position, leaf)
    plan.leaves[new_id] = leaf


def _guarded(c: Contribution, stage_id: str,
             flow: spec.Flow[Any]) -> Contribution:
    """The contribution with its functions held to the state's read-only
    fields (see nova.flow.contract.guard) and to the flow's own rule for
    hooks (``Flow(hook_guard=...)``), if it has one."""
    name = c.hook.name
    state_type = flow.state_type
    wraps = c.point.kind is Kind.AROUND
    fn = contract.guard(c.fn, name, stage_id, state_type, wraps)
    if flow.hook_guard is not None:
        fn = flow.hook_guard(fn, c.hook, stage_id, wraps)
    return dataclasses.replace(
        c, fn=fn,
        revert=(contract.guard(c.revert, name, stage_id, state_type)
                if c.revert is not None else None))


def _just_proceed(ctx: Any, state: Any, proceed: Callable[[], Any]) -> Any:
    """An ``around`` below its version: the wrapped stage just runs."""
    return proceed()


def _gated(fn: Callable[..., Any], gate: Gate,
           otherwise: Callable[..., Any] | None) -> Callable[..., Any]:
    """``fn`` when the run's request version is at or above the gate's,
    else ``otherwise`` (with the same arguments), or nothing.

    Built here, by the engine: the hook's own objects are left as they
    are, so one hook object serves every engine of a process.
    """
    field, threshold = gate.field, gate.threshold

    @functools.wraps(fn)
    def gated(ctx: Any, state: Any, *args: Any) -> Any:
        if getattr(state, field) >= threshold:
            return fn(ctx, state, *args)
        if otherwise is None:
            return None
        return otherwise(ctx, state, *args)
    return gated


def _disable(stage_ids: Iterable[str], plans: dict[str, Plan],
             problems: list[Problem]) -> None:
    for stage_id in stage_ids:
        plan = flow_of(stage_id, plans)
        found = _index(plan).get(stage_id) if plan else None
        if found is None:
            problems.append(Problem(
                '[flow] disabled_stages names an unknown stage',
                stage_id=stage_id))
            continue
        node = found[0]
        _warn_alias(stage_id, node, '[flow] disabled_stages')
        if not node.optional:
            problems.append(Problem(
                '[flow] disabled_stages names a stage that is not optional; '
                'only stages flagged optional may be disabled',
                stage_id=stage_id))
            continue
        node.disabled = True


def _finish(group: Group) -> None:
    group.runnable = tuple(c for c in group.children if not c.disabled)
    for child in group.children:
        if isinstance(child, Group):
            _finish(child)
        else:
            assert isinstance(child, Leaf)
            child.call = wrap(child.execute, child.arounds)
            if child.arounds:
                child.around = child.arounds[0].fn
                child.inner = wrap(child.execute, child.arounds[1:])
            if child.arounds or child.replaced_by or child.revert is None:
                # The check knows the flow's own code only; a stage
                # without a revert has its start held anyway.
                child.nothing_to_do = None


def wrap(execute: spec.ExecuteFn, arounds: Sequence[Contribution],
          ) -> Callable[[Any, Any], Any]:
    """Compose the around hooks so the first enabled one is outermost."""
    call: Callable[[Any, Any], Any] = execute
    for contribution in reversed(arounds):
        call = _around(contribution.fn, call)
    return call


def _around(wrapper: Callable[[Any, Any, Callable[[], Any]], Any],
            inner: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    # proceed() is a partial rather than a lambda: a lambda would make
    # ctx and state closure cells, which costs about twice as much per call.
    def call(ctx: Any, state: Any) -> Any:
        return wrapper(ctx, state, partial(inner, ctx, state))
    return call
