"""What the flow engine costs per stage, next to plain calls and TaskFlow.

Runs one 10-stage chain, each stage a trivial state update, in these ways,
in the same process, interleaved round by round so that any drift of the
machine hits every way alike:

* plain      the 10 stage functions called in a loop: the floor;
* engine     nova.flow with no hook;
* engine+2   nova.flow with 2 hooks on every stage (see HOOKS_MEANING);
* listener   nova.flow with an around and a stage_end listener per stage;
* taskflow   TaskFlow's serial engine on the same chain.

Each way runs with nova.flow's InMemoryRecorder (what tests and embedding
use; emptied between batches so memory stays flat, as a service's recorder
writes to its database instead) and with NullRecorder (the engine alone).

Prints the median per-stage cost in microseconds, the ratios to plain calls
and to TaskFlow, and PASS/FAIL against the targets:

* <= 3 us per stage with 2 hooks per stage (InMemoryRecorder);
* >= 300x less per stage than TaskFlow's serial engine.

Usage: python bench/flow_engine.py [--rounds N]   (default 31, about 20 s)
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import os
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

from nova.flow import Flow, FlowEngine, InMemoryRecorder, NullRecorder, hooks

STAGES = 10
FLOW_NAME = 'bench.chain'
TARGET_US_PER_STAGE = 3.0
TARGET_TIMES_FASTER_THAN_TASKFLOW = 300.0

HOOKS_MEANING = (
    "2 hooks per stage = for each of the 10 stages, one 'around' hook (a\n"
    "  timing wrapper calling proceed() once) and one stage inserted\n"
    "  'before' it (a trivial state update with its own revert). This is\n"
    "  the costlier of the representative choices: the inserted stage is a\n"
    "  stage in its own right (recorded, reverted on failure), so the run\n"
    "  executes 20 recorded stages; cost is still divided by the flow's\n"
    "  10 stages. The 'listener' rows show the other choice (an around and\n"
    "  a stage_end listener per stage).")


@dataclasses.dataclass
class ChainState:
    count: int = 0


@dataclasses.dataclass
class BenchContext:
    """What the engine reads from a RequestContext for the run record."""

    request_id: str = 'req-bench'
    user_id: str = 'bench-user'
    project_id: str = 'bench-project'


CTX = BenchContext()


def _make_stage(index: int) -> Callable[[Any, ChainState], None]:
    def update(ctx: Any, state: ChainState) -> None:
        state.count += 1
    update.__name__ = f'stage_{index}'
    return update


STAGE_FUNCTIONS = tuple(_make_stage(i) for i in range(STAGES))
STAGE_NAMES = tuple(fn.__name__ for fn in STAGE_FUNCTIONS)


def chain_flow() -> Flow:
    flow = Flow(FLOW_NAME, '1.0', ChainState)
    flow.stages(*STAGE_NAMES)
    for fn in STAGE_FUNCTIONS:
        flow.stage(fn)
        flow.revert(fn.__name__)(_undo)
    return flow


def _undo(ctx: Any, state: ChainState, failure: Any) -> None:
    state.count -= 1


def _hook_class(with_insert: bool, with_listener: bool) -> type[hooks.Hook]:
    """A hook acting at every stage of the chain."""
    namespace: dict[str, Any] = {'supports': {FLOW_NAME: '1.0'}}
    for name in STAGE_NAMES:
        target = f'{FLOW_NAME}.{name}'

        def timed(self: Any, ctx: Any, state: Any,
                  proceed: Callable[[], Any]) -> Any:
            started = time.perf_counter()
            result = proceed()
            self.elapsed += time.perf_counter() - started
            return result
        namespace[f'time_{name}'] = hooks.around(target)(timed)
        if with_insert:
            def sauce(self: Any, ctx: Any, state: ChainState) -> None:
                state.count += 1
            namespace[f'sauce_{name}'] = hooks.before(
                target, revert='unsauce')(sauce)
    if with_insert:
        namespace['unsauce'] = _undo_method
    if with_listener:
        def observe(self: Any, event: Any) -> None:
            self.events += 1
        namespace['observe'] = hooks.listen(FLOW_NAME, 'stage_end')(observe)
    namespace['elapsed'] = 0.0
    namespace['events'] = 0
    return type('BenchHook', (hooks.Hook,), namespace)


def _undo_method(self: Any, ctx: Any, state: ChainState,
                 failure: Any) -> None:
    state.count -= 1


@dataclasses.dataclass
class Way:
    label: str
    #: runs the chain ``runs`` times
    batch: Callable[[int], None]
    runs_per_batch: int
    #: called between batches, outside the timing
    reset: Callable[[], None] = lambda: None
    samples: list[float] = dataclasses.field(default_factory=list)

    @property
    def median_us(self) -> float:
        return statistics.median(self.samples)


def plain_way() -> Way:
    def batch(runs: int) -> None:
        functions = STAGE_FUNCTIONS
        for _ in range(runs):
            state = ChainState()
            for fn in functions:
                fn(CTX, state)
    return Way('plain calls', batch, 2000)


def engine_way(label: str, hook_objects: list[Any], recorder: Any,
               expected_count: int) -> Way:
    engine = FlowEngine.load(flows=[chain_flow()], hook_objects=hook_objects,
                             recorder=recorder)
    runner = engine.runner(FLOW_NAME)
    state = runner.run(CTX, ChainState())
    assert state.count == expected_count, (label, state.count)

    def batch(runs: int) -> None:
        run = runner.run
        for _ in range(runs):
            run(CTX, ChainState())

    def reset() -> None:
        if isinstance(recorder, InMemoryRecorder):
            recorder.runs.clear()
    return Way(label, batch, 300, reset)


def taskflow_ways() -> list[Way]:
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        from taskflow import engines, task
        from taskflow.patterns import linear_flow

    class UpdateTask(task.Task):
        def execute(self, state: ChainState) -> None:
            state.count += 1

        def revert(self, state: ChainState, **kwargs: Any) -> None:
            state.count -= 1

    def make_flow() -> Any:
        flow = linear_flow.Flow(FLOW_NAME)
        for name in STAGE_NAMES:
            flow.add(UpdateTask(name=name))
        return flow

    # Loaded, compiled and prepared once, outside the timing; each run is
    # reset() + run() on a fresh state: the cheapest way TaskFlow allows
    # to run one flow many times.
    holder = {'state': ChainState()}
    reused = engines.load(make_flow(), store=holder, engine='serial')
    reused.compile()
    reused.prepare()
    reused.run()
    assert holder['state'].count == STAGES
    # A reset engine runs again on the state injected since.
    again = ChainState()
    reused.storage.inject({'state': again})
    reused.reset()
    reused.run()
    assert again.count == STAGES, again.count

    def batch_reused(runs: int) -> None:
        for _ in range(runs):
            reused.storage.inject({'state': ChainState()})
            reused.reset()
            reused.run()

    # The way a service would typically use it: load per operation.
    flow = make_flow()

    def batch_loaded(runs: int) -> None:
        for _ in range(runs):
            engines.load(flow, store={'state': ChainState()},
                         engine='serial').run()

    return [Way('taskflow serial (reset+run)', batch_reused, 5),
            Way('taskflow serial (load+run)', batch_loaded, 5)]


def measure(ways: list[Way], rounds: int) -> None:
    for way in ways:  # warm-up: caches, first-call costs
        way.batch(max(1, way.runs_per_batch // 10))
        way.reset()
    for _ in range(rounds):
        for way in ways:
            gc.collect()
            started = time.perf_counter()
            way.batch(way.runs_per_batch)
            elapsed = time.perf_counter() - started
            # Drop this batch's records at once, so that they do not sit
            # in the heap (and in every garbage collection) while the other
            # ways are measured.
            way.reset()
            way.samples.append(
                elapsed / (way.runs_per_batch * STAGES) * 1e6)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--rounds', type=int, default=31,
                        help='batches per way; the median is reported')
    args = parser.parse_args(argv)

    two_hooks = _hook_class(with_insert=True, with_listener=False)
    around_listener = _hook_class(with_insert=False, with_listener=True)
    plain = plain_way()
    ways = [plain]
    rows: dict[tuple[str, str], Way] = {}
    for recorder_cls in (InMemoryRecorder, NullRecorder):
        short = recorder_cls.__name__
        for key, hook_objects, expected in (
                ('engine, 0 hooks', [], STAGES),
                ('engine, 2 hooks/stage', [two_hooks], 2 * STAGES),
                ('engine, around+listener', [around_listener], STAGES)):
            way = engine_way(f'{key} [{short}]', hook_objects,
                             recorder_cls(), expected)
            rows[(key, short)] = way
            ways.append(way)
    taskflow = taskflow_ways()
    ways.extend(taskflow)

    load_at_start = os.getloadavg()[0]
    started = time.perf_counter()
    measure(ways, args.rounds)
    total = time.perf_counter() - started

    best_taskflow = min(way.median_us for way in taskflow)
    print(f'flow engine benchmark: {STAGES}-stage chain, trivial state '
          f'update per stage; median of {args.rounds} batches per way; '
          f'Python {sys.version.split()[0]}')
    load_before, load_after = load_at_start, os.getloadavg()[0]
    cores = os.cpu_count() or 1
    print(f'load average {load_before:.2f} before, {load_after:.2f} after, '
          f'{cores} cores')
    if max(load_before, load_after) > cores / 2:
        print('WARNING: the machine was busy with other work: absolute '
              'figures are inflated\n  (the ratios, measured interleaved, '
              'hold better); rerun on an idle machine.')
    print(HOOKS_MEANING)
    print()
    header = (f'{"way":<48} {"us/stage":>9} {"x plain":>8} '
              f'{"TaskFlow/this":>14}')
    print(header)
    print('-' * len(header))
    for way in ways:
        median = way.median_us
        print(f'{way.label:<48} {median:>9.3f} '
              f'{median / plain.median_us:>8.1f} '
              f'{best_taskflow / median:>14.0f}')
    print()
    print('"x plain": cost relative to calling the 10 functions directly; '
          '"TaskFlow/this":\nhow many times less than the faster TaskFlow '
          'way each way costs.')
    print()

    hooked = rows[('engine, 2 hooks/stage', 'InMemoryRecorder')]
    speedup = best_taskflow / hooked.median_us
    checks = [
        (f'2 hooks/stage with InMemoryRecorder: {hooked.median_us:.2f} us '
         f'per stage <= {TARGET_US_PER_STAGE:g} us',
         hooked.median_us <= TARGET_US_PER_STAGE),
        (f'2 hooks/stage with InMemoryRecorder is {speedup:.0f}x cheaper '
         f'per stage than TaskFlow serial >= '
         f'{TARGET_TIMES_FASTER_THAN_TASKFLOW:g}x',
         speedup >= TARGET_TIMES_FASTER_THAN_TASKFLOW),
    ]
    for text, ok in checks:
        print(f'{"PASS" if ok else "FAIL"}  {text}')
    print(f'(measured in {total:.1f} s)')
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == '__main__':
    sys.exit(main())
