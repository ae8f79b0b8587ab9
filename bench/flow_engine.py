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

Then what the read-only guard costs (nova.flow.contract.guard: a hook may
not change a read-only field of the state, in place either): the same
chain on a state holding a realistic instance record (a dict of 62 keys,
some of them dicts and lists, as the compute flows' ``instance``), with
no hook, then with a hook on every stage - an ``around`` reading the
record, or a stage inserted ``after`` it - each with the record
read-only (guard on) and the same record writable (a state type that
differs only in that: guard off).  Printed side by side, per stage:
the median cost, the overhead over no hook, and the guard's share of it
(guard on minus guard off).  No target: figures to compare a change of
the guard with (run it before and after).

Usage: python bench/flow_engine.py [--rounds N] [--guard-only]
(default 31 rounds, about 25 s; --guard-only: the guard case alone)
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import gc
import os
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

from nova.flow import Flow, FlowEngine, InMemoryRecorder, NullRecorder, hooks
from nova.flow.contract import READ_ONLY

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


# -- the read-only guard -------------------------------------------------

GUARD_FLOW = 'bench.record_chain'


def instance_record() -> dict[str, Any]:
    """An instance record as the compute flows hold it: the columns of
    nova's instances table with upstream's other fields, 62 keys, the
    flavor, metadata, system_metadata, tags and security groups in it."""
    stamp = datetime.datetime(2026, 1, 1, 12, 0, 0)
    flavor = {'id': 2, 'flavorid': '2', 'name': 'm1.small',
              'memory_mb': 2048, 'vcpus': 1, 'root_gb': 20,
              'ephemeral_gb': 0, 'swap': 0, 'rxtx_factor': 1.0,
              'vcpu_weight': 0, 'disabled': False, 'is_public': True,
              'description': None,
              'extra_specs': {'hw:cpu_policy': 'shared',
                              'hw_rng:allowed': 'True'}}
    record: dict[str, Any] = {
        'id': 7, 'uuid': 'f5b2d3a4-0e44-4c8e-9a0b-3b2f1c7d9e10',
        'user_id': 'bench-user', 'project_id': 'bench-project',
        'display_name': 'web-1', 'display_description': 'web-1',
        'hostname': 'web-1', 'host': 'compute1', 'node': 'compute1',
        'launched_on': 'compute1', 'vm_state': 'active',
        'task_state': None, 'power_state': 1, 'memory_mb': 2048,
        'vcpus': 1, 'root_gb': 20, 'ephemeral_gb': 0, 'swap': 0,
        'flavor': flavor,
        'image_ref': '5c9a3e8e-9b1f-4a53-8f26-0d6e3a1b2c4d',
        'kernel_id': '', 'ramdisk_id': '', 'availability_zone': 'nova',
        'key_name': 'default', 'key_data': 'ssh-ed25519 AAAA bench',
        'user_data': None,
        'metadata': {'role': 'web', 'owner': 'team-a'},
        'system_metadata': {
            'image_base_image_ref': '5c9a3e8e-9b1f-4a53-8f26-0d6e3a1b2c4d',
            'image_disk_format': 'qcow2', 'image_container_format': 'bare',
            'image_min_disk': '20', 'image_min_ram': '0',
            'image_os_distro': 'ubuntu', 'image_hw_machine_type': 'q35',
            'owner_user_name': 'bench-user',
            'owner_project_name': 'bench-project',
            'boot_roles': 'member,reader', 'clean_attempts': '0',
            'password_0': ''},
        'config_drive': False, 'access_ip_v4': None, 'access_ip_v6': None,
        'locked': False, 'locked_by': None, 'launch_index': 0,
        'reservation_id': 'r-bench01', 'progress': 100,
        'tags': ['web', 'prod'], 'security_groups': ['default'],
        'launched_at': stamp, 'terminated_at': None,
        'created_at': stamp, 'updated_at': stamp, 'deleted_at': None,
        'deleted': 0, 'os_type': None, 'architecture': 'x86_64',
        'vm_mode': None, 'root_device_name': '/dev/vda',
        'default_ephemeral_device': None, 'default_swap_device': None,
        'shutdown_terminate': False, 'disable_terminate': False,
        'cell_name': None, 'cleaned': False, 'auto_disk_config': False,
        'ephemeral_key_uuid': None, 'compute_id': 1, 'hidden': False,
        'trusted_certs': None, 'numa_topology': None, 'vcpu_model': None,
        'migration_context': None}
    assert len(record) == 62, len(record)
    return record


@dataclasses.dataclass
class GuardedState:
    """Read-only ``instance``: hooks' stages run guarded."""

    instance: dict[str, Any] = dataclasses.field(
        default_factory=instance_record, metadata=READ_ONLY)
    count: int = 0


@dataclasses.dataclass
class OpenState:
    """GuardedState with a writable ``instance``: no guard."""

    instance: dict[str, Any] = dataclasses.field(
        default_factory=instance_record)
    count: int = 0


def record_flow(state_type: type) -> Flow[Any]:
    flow: Flow[Any] = Flow(GUARD_FLOW, '1.0', state_type)
    flow.stages(*STAGE_NAMES)
    for fn in STAGE_FUNCTIONS:
        flow.stage(fn)
        flow.revert(fn.__name__)(_undo)
    return flow


def _record_hook_class(kind: str) -> type[hooks.Hook]:
    """A hook reading the instance record at every stage of the chain:
    an ``around`` it, or a stage inserted ``after`` it."""
    namespace: dict[str, Any] = {'supports': {GUARD_FLOW: '1.0'},
                                 'seen': 0}
    for name in STAGE_NAMES:
        target = f'{GUARD_FLOW}.{name}'
        if kind == 'around':
            def wrap(self: Any, ctx: Any, state: Any,
                     proceed: Callable[[], Any]) -> Any:
                if state.instance['host']:
                    self.seen += 1
                return proceed()
            namespace[f'wrap_{name}'] = hooks.around(target)(wrap)
        else:
            def look(self: Any, ctx: Any, state: Any) -> None:
                if state.instance['host']:
                    self.seen += 1
            namespace[f'look_{name}'] = hooks.after(target)(look)
    return type(f'Record{kind.title()}Hook', (hooks.Hook,), namespace)


def guard_way(label: str, state_type: type, hook_kind: str | None) -> Way:
    hook_objects: list[Any] = (
        [_record_hook_class(hook_kind)()] if hook_kind else [])
    engine = FlowEngine.load(flows=[record_flow(state_type)],
                             hook_objects=hook_objects,
                             recorder=NullRecorder())
    runner = engine.runner(GUARD_FLOW)
    state = runner.run(CTX, state_type())
    assert state.count == STAGES, (label, state.count)
    if hook_objects:
        assert hook_objects[0].seen == STAGES, label
    # A record of its own for every run, as each run of a flow loads its
    # instance; made between batches, so that what is timed is the guard,
    # not building records.
    runs_per_batch = 300
    records: list[dict[str, Any]] = []

    def batch(runs: int) -> None:
        run = runner.run
        for record in records[:runs]:
            run(CTX, state_type(instance=record))

    def reset() -> None:
        records[:] = [instance_record() for _ in range(runs_per_batch)]
    reset()
    return Way(label, batch, runs_per_batch, reset)


def guard_report(rounds: int) -> None:
    none = guard_way('record, no hook', GuardedState, None)
    pairs = []
    for kind in ('around', 'after'):
        off = guard_way(f'record, {kind}/stage, guard off', OpenState, kind)
        on = guard_way(f'record, {kind}/stage, guard on', GuardedState,
                       kind)
        pairs.append((kind, off, on))
    ways = [none] + [w for _, off, on in pairs for w in (off, on)]
    load_before = os.getloadavg()[0]
    measure(ways, rounds)
    load_after = os.getloadavg()[0]
    print(f'read-only guard: the {STAGES}-stage chain on a state holding '
          f'a 62-key instance record\n(read-only: guard on; writable: '
          f'guard off), a hook on every stage; NullRecorder;\nmedian of '
          f'{rounds} batches per way; load average {load_before:.2f} '
          f'before, {load_after:.2f} after, {os.cpu_count() or 1} cores')
    header = (f'{"way":<36} {"us/stage":>9} {"over no hook":>13} '
              f'{"guard share":>12}')
    print(header)
    print('-' * len(header))
    print(f'{none.label:<36} {none.median_us:>9.3f} {"":>13} {"":>12}')
    for _, off, on in pairs:
        print(f'{off.label:<36} {off.median_us:>9.3f} '
              f'{off.median_us - none.median_us:>13.3f} {"":>12}')
        print(f'{on.label:<36} {on.median_us:>9.3f} '
              f'{on.median_us - none.median_us:>13.3f} '
              f'{on.median_us - off.median_us:>12.3f}')
    for kind, off, on in pairs:
        print(f'guard cost per guarded {kind} call: '
              f'{on.median_us - off.median_us:.3f} us')


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
    parser.add_argument('--guard-only', action='store_true',
                        help='only the read-only guard case')
    args = parser.parse_args(argv)
    if args.guard_only:
        guard_report(args.rounds)
        return 0

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
    print()
    guard_report(args.rounds)
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == '__main__':
    sys.exit(main())
