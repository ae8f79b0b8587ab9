"""Flows, recorders and helpers shared by the flow engine's unit tests.

A test flow's stages write what happened to ``state.log``: ``'a'`` when
stage ``a`` ran, ``'revert:a'`` when its revert ran, ``'handler:h'`` when
failure handler ``h`` ran.  ``state.fail`` names the stages that raise (a
count per stage: how many more times it fails), so one flow serves both the
happy and the failing paths.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterable, Sequence
from typing import Any

import fixtures

from nova import test
from nova.flow import Flow, FlowConfigError, SubFlow, sub
from nova.flow import hooks as hooks_mod
from nova.flow.plan import compile_flows


class FlowTestCase(test.TestCase):
    """Captures the engine's log, so tests can assert on what it says."""

    def setUp(self) -> None:
        super().setUp()
        self.logger = self.useFixture(fixtures.FakeLogger('nova.flow'))


class StageFailed(Exception):
    """What a test stage raises when ``state.fail`` names it."""


@dataclasses.dataclass
class LogState:
    log: list[str] = dataclasses.field(default_factory=list)
    #: stage name -> how many more times it raises
    fail: dict[str, int] = dataclasses.field(default_factory=dict)
    #: stage name -> the exception (class or instance) it raises instead of
    #: StageFailed
    raises: dict[str, Any] = dataclasses.field(default_factory=dict)


def failing(*names: str, times: int = 1) -> LogState:
    return LogState(fail={name: times for name in names})


def _names(entries: Iterable[str | SubFlow]) -> list[str]:
    found: list[str] = []
    for entry in entries:
        if isinstance(entry, SubFlow):
            found.extend(_names(entry.entries))  # type: ignore[arg-type]
        else:
            found.append(entry)
    return found


def _execute(name: str) -> Any:
    def execute(ctx: Any, state: LogState) -> None:
        state.log.append(name)
        if name in state.raises:
            raise state.raises[name]
        if state.fail.get(name, 0) > 0:
            state.fail[name] -= 1
            raise StageFailed(name)
    execute.__name__ = name
    execute.__doc__ = f'Test stage {name}.'
    return execute


def _revert(name: str) -> Any:
    def revert(ctx: Any, state: LogState, failure: Any) -> None:
        state.log.append(f'revert:{name}')
    return revert


def _handler(name: str) -> Any:
    def handler(ctx: Any, state: LogState, failure: Any) -> None:
        state.log.append(f'handler:{name}')
    handler.__name__ = name
    return handler


def make_flow(name: str = 'test.demo', version: str = '1.0',
              entries: Sequence[str | SubFlow] = ('a', 'b', 'c', 'd'), *,
              no_revert: Iterable[str] = (), optional: Iterable[str] = (),
              handlers: Sequence[str] = ('h1', 'h2'),
              on_interrupt: Any = 'revert', state_type: type = LogState,
              subject: Any = None, idempotent: Iterable[str] = (),
              transactional: Iterable[str] = (),
              point_of_no_return: str | None = None,
              hold_start: Iterable[str] = ()) -> Flow:
    """A flow whose every stage logs itself and has a logging revert."""
    flow = Flow(name, version, state_type, on_interrupt=on_interrupt,
                subject=subject, point_of_no_return=point_of_no_return,
                doc=f'Test flow {name}.')
    flow.stages(*entries)
    no_revert = set(no_revert)
    optional = set(optional)
    idempotent = set(idempotent)
    transactional = set(transactional)
    hold_start = set(hold_start)
    for stage_name in _names(entries):
        flow.stage(_execute(stage_name), name=stage_name,
                   optional=stage_name in optional,
                   idempotent=stage_name in idempotent,
                   transactional=stage_name in transactional)
        if stage_name not in no_revert:
            flow.revert(stage_name, hold_start=stage_name in hold_start)(
                _revert(stage_name))
    for handler_name in handlers:
        flow.failure_handler(_handler(handler_name))
    flow.on_failure(*handlers)
    return flow


class RecordingRecorder:
    """Records every call the runner makes, to count transitions."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str | None, str | None]] = []
        self.infos: list[Any] = []
        self.failures: list[Any] = []
        #: Stages whose finish the runner asked to be durable.
        self.durable: list[str] = []
        #: Stages whose start the runner let the recorder hold
        #: (``reverts=False``).
        self.held_starts: list[str] = []

    def run_started(self, run: Any) -> None:
        self.infos.append(run)
        self.calls.append(('run_started', None, None))

    def stage_started(self, run: Any, stage_id: str, at: float, *,
                      reverts: bool = True) -> None:
        self.calls.append(('stage_started', stage_id, None))
        if not reverts:
            self.held_starts.append(stage_id)

    def stage_finished(self, run: Any, stage_id: str, result: str,
                       started_at: float, finished_at: float,
                       failure: Any, *, durable: bool = False) -> None:
        self.failures.append(failure)
        self.calls.append(('stage_finished', stage_id, result))
        if durable:
            self.durable.append(stage_id)

    def stage_transaction(self, run: Any, ctx: Any) -> Any:
        self.calls.append(('stage_transaction', None, None))
        return contextlib.nullcontext()

    def run_recovered(self, run: Any, message: str) -> None:
        self.calls.append(('run_recovered', None, message))

    def stage_reverted(self, run: Any, stage_id: str, result: str,
                       started_at: float, finished_at: float,
                       failure: Any) -> None:
        self.calls.append(('stage_reverted', stage_id, result))

    def run_finished(self, run: Any, result: str, finished_at: float,
                     failure: Any) -> None:
        self.failures.append(failure)
        self.calls.append(('run_finished', None, result))


class FakeContext:
    """The three attributes the runner reads from a request context."""

    def __init__(self, request_id: str = 'req-1', user_id: str = 'user-1',
                 project_id: str = 'project-1') -> None:
        self.request_id = request_id
        self.user_id = user_id
        self.project_id = project_id


def entry_point_of(hook_class: type) -> str:
    return f'{hook_class.__module__}:{hook_class.__qualname__}'


def compile_error(flows: Sequence[Flow],
                  hooks: Sequence[tuple[str, type]] = (),
                  disabled_stages: Iterable[str] = (),
                  ) -> FlowConfigError | None:
    """Compile ``flows`` with ``(entry point name, Hook class)`` pairs as
    stevedore would have loaded them, with an entry point each.

    Returns the error a service would stop with, None when there is none.
    The stevedore side itself is proven on real installed entry points in
    test_example_hooks.
    """
    loaded = []
    for order, (name, hook_class) in enumerate(hooks):
        obj = hook_class()
        obj.name = name
        loaded.append(hooks_mod.LoadedHook(name, obj,
                                           entry_point_of(hook_class), order))
    _, problems = compile_flows(flows, loaded, disabled_stages)
    return FlowConfigError(problems) if problems else None


# -- a stand-in for compute.build_instance ----------------------------------
# The real flow's contract 1.0 stage list with trivial stages, so that the
# example vendor hook is proven against the engine whatever the compute
# flow does.

BUILD = 'compute.build_instance'
SAUCE = 'example_special_sauce'
SAUCE_ENTRY_POINT = 'nova_example_hooks.special_sauce:SpecialSauce'


class DriverSpawnFailed(Exception):
    """What the stand-in driver_spawn raises when told to fail."""


@dataclasses.dataclass
class StandInBuildState:
    log: list = dataclasses.field(default_factory=list)
    spawn_fails: bool = False


BUILD_STAGES = [
    'check_instance_not_already_created', 'check_image_size',
    'notify_usage_start', 'update_building', 'claim_resources',
    'allocate_network', 'prep_block_device',
    sub('spawn', ['update_spawning', 'driver_spawn', 'update_active']),
    'notify_usage_end',
]
OPTIONAL = ('notify_usage_start', 'notify_usage_end')


def stand_in_build_flow(version='1.0', stages=BUILD_STAGES):
    """``compute.build_instance`` as its contract 1.0 names the stages."""
    flow = Flow(BUILD, version, StandInBuildState)
    flow.stages(*stages)

    def trivial(name):
        def execute(ctx, state):
            state.log.append(name)
            if name == 'driver_spawn' and state.spawn_fails:
                raise DriverSpawnFailed('hypervisor said no')
        return execute

    def names(entries):
        for entry in entries:
            if isinstance(entry, str):
                yield entry
            else:
                yield from names(entry.entries)
    for name in names(stages):
        flow.stage(trivial(name), name=name, optional=name in OPTIONAL)

    @flow.failure_handler
    def record_fault(ctx, state, failure):
        state.log.append('record_fault')

    @flow.failure_handler
    def reschedule_or_error(ctx, state, failure):
        state.log.append('reschedule_or_error')
    flow.on_failure('record_fault', 'reschedule_or_error')
    return flow
