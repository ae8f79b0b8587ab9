"""The engine a service holds: every flow compiled with its hooks.

Build one at start-up with :meth:`FlowEngine.from_conf`; it raises
:class:`~nova.flow.errors.FlowConfigError` listing every problem before any
operation can run.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from oslo_config import cfg

from nova.flow import hooks as hooks_mod
from nova.flow.errors import FlowConfigError, Problem, UnknownFlow
from nova.flow.plan import Plan, compile_flows
from nova.flow.records import InMemoryRecorder, Recorder
from nova.flow.registry import discover_flows
from nova.flow.runner import Runner
from nova.flow.spec import Flow


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
             host: str | None = None) -> FlowEngine:
        """Load, validate and compile; all problems raise together.

        ``flows`` defaults to the installed ``nova.flows`` entry points;
        ``hook_names`` are loaded with stevedore, ``hook_objects`` are hooks
        given directly (tests, embedding).
        """
        problems: list[Problem] = []
        if flows is None:
            found, flow_problems = discover_flows()
            problems.extend(flow_problems)
        else:
            found = list(flows)
        loaded, hook_problems = hooks_mod.load_hooks(hook_names)
        problems.extend(hook_problems)
        if hook_objects:
            extra, extra_problems = hooks_mod.hooks_from_objects(hook_objects)
            for hook in extra:
                hook.order += len(loaded)
            loaded.extend(extra)
            problems.extend(extra_problems)
        plans, compile_problems = compile_flows(found, loaded,
                                                disabled_stages)
        problems.extend(compile_problems)
        if problems:
            raise FlowConfigError(problems)
        return cls(plans, loaded, recorder, host)

    @classmethod
    def from_conf(cls, conf: cfg.ConfigOpts, *,
                  flows: Iterable[Flow[Any]] | None = None,
                  recorder: Recorder | None = None,
                  host: str | None = None) -> FlowEngine:
        return cls.load(flows=flows, hook_names=conf.flow.enabled_hooks,
                        disabled_stages=conf.flow.disabled_stages,
                        recorder=recorder, host=host)

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
