"""The engine a service holds: every flow compiled with its hooks.

Build one at start-up with :meth:`FlowEngine.from_conf`; it raises
:class:`~nova.flow.errors.FlowConfigError` listing every problem before any
operation can run.

There is one validation, :func:`validate`, for every service and for
``nova-manage flow check|hooks|list|show``: it checks the enabled hooks
against every registered flow - compute, conductor and API flows at
once - with the engine's rules and the API's own (schema fragments,
microversions, view hooks), so nova-compute refuses a configuration
nova-api would refuse, and all problems of all kinds come in one report.

A process running several services (nova-all) creates each enabled hook
once: :func:`sharing_hooks` makes the engines built inside it use the
same hook objects.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from oslo_config import cfg

from nova.flow import hooks as hooks_mod
from nova.flow.errors import FlowConfigError, Problem, UnknownFlow
from nova.flow.plan import Plan, compile_flows
from nova.flow.records import InMemoryRecorder, Recorder
from nova.flow.registry import discover_flows
from nova.flow.runner import Runner
from nova.flow.spec import Flow

#: The hooks the engines built inside sharing_hooks() use.
_shared: list[tuple[list[hooks_mod.LoadedHook], list[Problem]]] = []


@contextlib.contextmanager
def sharing_hooks(conf: cfg.ConfigOpts,
                  hook_objects: Sequence[Any] = ()) -> Iterator[None]:
    """Load ``[flow] enabled_hooks`` once; every engine built from
    ``conf`` inside the block (``FlowEngine.from_conf``, the API's) gets
    those same hook objects, so a hook's state is one per process.

    ``hook_objects`` are hooks given directly (``nova.flow.testing``),
    after the enabled ones.  Inside an enclosing block, the enclosing
    block's hooks are used.
    """
    if _shared:
        yield
        return
    _shared.append(_load_enabled(conf, hook_objects))
    try:
        yield
    finally:
        _shared.pop()


def enabled_hooks(conf: cfg.ConfigOpts,
                  ) -> tuple[list[hooks_mod.LoadedHook], list[Problem]]:
    """The hooks ``[flow] enabled_hooks`` names, loaded (or shared)."""
    if _shared:
        loaded, problems = _shared[-1]
        return list(loaded), list(problems)
    return _load_enabled(conf)


def _load_enabled(conf: cfg.ConfigOpts, hook_objects: Sequence[Any] = (),
                  ) -> tuple[list[hooks_mod.LoadedHook], list[Problem]]:
    loaded, problems = hooks_mod.load_hooks(conf.flow.enabled_hooks)
    if hook_objects:
        extra, extra_problems = hooks_mod.hooks_from_objects(hook_objects)
        for hook in extra:
            hook.order += len(loaded)
        loaded.extend(extra)
        problems.extend(extra_problems)
    problems.extend(hooks_mod.register_options(loaded, conf))
    return loaded, problems


def validate(flows: Sequence[Flow[Any]], hooks: Sequence[hooks_mod.LoadedHook],
             disabled_stages: Iterable[str] = (),
             ) -> tuple[dict[str, Plan], list[Problem]]:
    """Compile ``flows`` with ``hooks``; every problem, the API's rules
    included (they only read what hooks declare, whichever flows are
    given)."""
    # Imported here: the API package builds on this module.
    from nova.api.openstack.compute import flows as api_flows
    problems = api_flows.check_hooks(hooks)
    plans, compile_problems = compile_flows(flows, hooks, disabled_stages)
    return plans, problems + compile_problems


@dataclasses.dataclass
class Checked:
    """What :func:`check_conf` found."""

    hooks: list[hooks_mod.LoadedHook]
    plans: dict[str, Plan]
    problems: list[Problem]

    def problems_of(self, hook: str) -> list[Problem]:
        return [p for p in self.problems if p.hook == hook]


def check_conf(conf: cfg.ConfigOpts, *,
               flows: Iterable[Flow[Any]] | None = None) -> Checked:
    """The whole validation a service does at start, without raising."""
    problems: list[Problem] = []
    if flows is None:
        found, flow_problems = discover_flows()
        problems.extend(flow_problems)
    else:
        found = list(flows)
    loaded, hook_problems = enabled_hooks(conf)
    problems.extend(hook_problems)
    plans, compile_problems = validate(found, loaded,
                                       conf.flow.disabled_stages)
    return Checked(loaded, plans, problems + compile_problems)


class FlowEngine:

    def __init__(self, plans: dict[str, Plan],
                 hooks: Sequence[hooks_mod.LoadedHook],
                 recorder: Recorder | None = None,
                 host: str | None = None) -> None:
        self.plans = plans
        self.hooks = list(hooks)
        self.recorder: Recorder = recorder or InMemoryRecorder()
        self.host = host
        self._runners = {name: Runner(plan, self.recorder, host)
                         for name, plan in plans.items()}

    @classmethod
    def load(cls, *, flows: Iterable[Flow[Any]] | None = None,
             hook_names: Iterable[str] = (),
             hook_objects: Sequence[Any] = (),
             disabled_stages: Iterable[str] = (),
             recorder: Recorder | None = None,
             host: str | None = None,
             hooks: Sequence[hooks_mod.LoadedHook] | None = None,
             ) -> FlowEngine:
        """Load, validate and compile; all problems raise together.

        ``flows`` defaults to the installed ``nova.flows`` entry points;
        ``hook_names`` are loaded with stevedore, ``hook_objects`` are hooks
        given directly (tests, embedding); ``hooks`` are hooks already
        loaded (instead of ``hook_names``).
        """
        problems: list[Problem] = []
        if flows is None:
            found, flow_problems = discover_flows()
            problems.extend(flow_problems)
        else:
            found = list(flows)
        if hooks is not None:
            loaded = list(hooks)
        else:
            loaded, hook_problems = hooks_mod.load_hooks(hook_names)
            problems.extend(hook_problems)
        if hook_objects:
            extra, extra_problems = hooks_mod.hooks_from_objects(hook_objects)
            for hook in extra:
                hook.order += len(loaded)
            loaded.extend(extra)
            problems.extend(extra_problems)
        plans, compile_problems = validate(found, loaded, disabled_stages)
        problems.extend(compile_problems)
        if problems:
            raise FlowConfigError(problems)
        return cls(plans, loaded, recorder, host)

    @classmethod
    def from_conf(cls, conf: cfg.ConfigOpts, *,
                  flows: Iterable[Flow[Any]] | None = None,
                  recorder: Recorder | None = None,
                  host: str | None = None) -> FlowEngine:
        """The engine of ``[flow]``: raises every problem
        :func:`check_conf` finds."""
        checked = check_conf(conf, flows=flows)
        if checked.problems:
            raise FlowConfigError(checked.problems)
        return cls(checked.plans, checked.hooks, recorder, host)

    def names(self) -> list[str]:
        return sorted(self.plans)

    def plan(self, name: str) -> Plan:
        try:
            return self.plans[name]
        except KeyError:
            raise UnknownFlow(name) from None

    def runner(self, name: str) -> Runner:
        try:
            return self._runners[name]
        except KeyError:
            raise UnknownFlow(name) from None

    def run(self, name: str, ctx: Any, state: Any, **kwargs: Any) -> Any:
        return self.runner(name).run(ctx, state, **kwargs)
