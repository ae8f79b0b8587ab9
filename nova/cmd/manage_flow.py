"""Flows: the stage lists of nova's operations, and the hooks changing them.

``nova-manage flow list`` prints every registered flow; ``flow show FLOW``
prints one flow's effective stage list (enabled hooks in place, disabled
stages marked) as text or Graphviz DOT; ``flow hooks`` compares the hooks
installed in the ``nova.flow.hooks`` entry point namespace with those
enabled in ``[flow] enabled_hooks`` (STATUS ``loads`` only for a hook
without any problem); ``flow check`` prints every problem of the hooks
and options a nova.conf enables, as a service would report them at start,
and exits 1 if there is any (for a vendor's CI and an operator's
pre-upgrade check); ``flow runs`` prints what the
database recorded of the runs: without ``--instance``, one line per run of
the whole cloud, by default those unfinished or failed (``--host``,
``--flow``, ``--state``, ``--older-than`` and ``--limit`` narrow them);
with ``--instance UUID``, that instance's runs stage by stage.

``list``, ``show`` and ``hooks`` load the flows and hooks exactly as a
service does at start, so a configuration that would stop a service makes
them print the same problems and exit with status 2.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import math
import sys
from collections.abc import Iterable, Sequence
from typing import Any

import nova.conf
from nova.cmd import manage_flow_contract
from nova.flow import FlowConfigError, FlowEngine, records, render
from nova.flow import engine as engine_mod
from nova.flow import hooks as flow_hooks
from nova.flow.plan import Group, Leaf, Plan

CONF = nova.conf.CONF

#: Exit status when the flows or hooks are misconfigured (argparse uses 2
#: for usage errors too: both mean "fix what you gave me").
CONFIG_ERROR = 2
#: Exit status when the flow asked for does not exist.
NOT_FOUND = 1

#: ``flow runs --state`` values: each names the run statuses it selects.
STATES: dict[str, tuple[str, ...]] = {
    records.RUNNING: (records.RUNNING,),
    records.ERROR: (records.ERROR,),
    records.REVERTED: (records.REVERTED,),
    records.REVERT_FAILED: (records.REVERT_FAILED,),
    records.SUCCESS: (records.SUCCESS,),
    'unfinished': (records.RUNNING,),
    'failed': (records.ERROR, records.REVERTED, records.REVERT_FAILED),
}
#: What ``flow runs`` lists without --instance or --state.
DEFAULT_STATES = ('unfinished', 'failed')
#: The longest MESSAGE a line of the ``flow runs`` table shows.
MESSAGE_WIDTH = 80


def register(commands: argparse._SubParsersAction) -> None:
    listing = commands.add_parser(
        'list', help='list the registered flows')
    listing.set_defaults(func=list_command)
    show = commands.add_parser(
        'show', help="print a flow's effective stage list")
    show.add_argument('flow', help='flow ID, e.g. compute.build_instance')
    show.add_argument('--format', choices=('text', 'dot'), default='text',
                      help='text for reading, dot for Graphviz '
                           '(default: text)')
    show.set_defaults(func=show_command)
    hooks = commands.add_parser(
        'hooks', help='installed hooks versus [flow] enabled_hooks')
    hooks.set_defaults(func=hooks_command)
    check = commands.add_parser(
        'check', help='validate the hooks a nova.conf enables, as every '
                      'service does at start; exit 1 on any problem',
        description='Loads the hooks [flow] enabled_hooks names and checks '
                    'them, and [flow] disabled_stages, against every '
                    'registered flow (compute, conductor and API) with '
                    "every service's rules; prints every problem. Exit "
                    'status 0 when there is none, 1 otherwise.')
    check.add_argument('--config-file', dest='command_config_file',
                       action='append', default=[], metavar='PATH',
                       help='nova.conf to check (may be repeated; same as '
                            "nova-manage's own --config-file)")
    check.set_defaults(func=check_command)
    runs = commands.add_parser(
        'runs', help='recorded runs: unfinished and failed ones cloud-wide, '
                     'or those of an instance stage by stage',
        description='Without --instance: one line per run, by default the '
                    'unfinished and failed runs of the whole cloud. With '
                    '--instance: the runs of that instance, every stage '
                    'with its result. The filters combine; runs are '
                    'listed newest first.')
    runs.add_argument('--instance', metavar='UUID',
                      help='the instance the runs acted on (prints each '
                           'run stage by stage)')
    runs.add_argument('--host', help='runs recorded by this host')
    runs.add_argument('--flow', metavar='FLOW',
                      help='runs of this flow, e.g. compute.build_instance')
    runs.add_argument('--state', action='append', choices=tuple(STATES),
                      help='runs in this state (may be repeated): '
                           'unfinished = running, failed = error, reverted '
                           'or revert_failed (default: unfinished and '
                           'failed without --instance, any with it)')
    runs.add_argument('--older-than', type=_seconds, metavar='SECONDS',
                      help='runs started more than SECONDS ago')
    runs.add_argument('--limit', type=_positive_int, default=None,
                      metavar='N',
                      help='only the newest N runs')
    runs.set_defaults(func=runs_command)
    manage_flow_contract.register(commands)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f'{text!r} is not a number of seconds') from None
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(
            f'{text!r}: the age must be 0 seconds or more')
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f'{text!r} is not a whole number') from None
    if value < 1:
        raise argparse.ArgumentTypeError(f'{text!r}: must be 1 or more')
    return value


def _load_engine() -> FlowEngine | None:
    """The engine as a service would build it; None after printing the
    problems when it cannot be built."""
    try:
        return FlowEngine.from_conf(CONF)
    except FlowConfigError as exc:
        _print_problems(exc)
        return None


def _print_problems(exc: FlowConfigError) -> None:
    print(f'nova-manage: {exc}', file=sys.stderr)


def _runnable_stages(group: Group) -> int:
    count = 0
    for node in group.runnable:
        if isinstance(node, Leaf):
            count += 1
        else:
            assert isinstance(node, Group)
            count += _runnable_stages(node)
    return count


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    rows = [list(header)] + [list(row) for row in rows]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ['  '.join(cell.ljust(width)
                       for cell, width in zip(row, widths, strict=True))
             for row in rows]
    return '\n'.join(line.rstrip() for line in lines) + '\n'


def list_command(args: argparse.Namespace) -> int:
    engine = _load_engine()
    if engine is None:
        return CONFIG_ERROR
    if not engine.plans:
        print('No flows are registered (entry point namespace '
              "'nova.flows').")
        return 0
    rows = []
    for name in engine.names():
        plan: Plan = engine.plan(name)
        hooks = ', '.join(render.hooks_acting(plan)) or '-'
        rows.append([name, plan.flow.version, plan.flow.on_interrupt,
                     str(_runnable_stages(plan.root)), hooks])
    sys.stdout.write(_table(
        ['FLOW', 'VERSION', 'ON INTERRUPT', 'STAGES', 'HOOKS'], rows))
    print('STAGES counts the stages that run: hooks\' stages included, '
          'disabled ones not.')
    return 0


def show_command(args: argparse.Namespace) -> int:
    engine = _load_engine()
    if engine is None:
        return CONFIG_ERROR
    if args.flow not in engine.plans:
        known = ', '.join(engine.names()) or '(none registered)'
        print(f"nova-manage: no flow named '{args.flow}'; known flows: "
              f"{known}", file=sys.stderr)
        return NOT_FOUND
    plan = engine.plan(args.flow)
    if args.format == 'dot':
        sys.stdout.write(render.as_dot(plan))
    else:
        sys.stdout.write(render.as_text(plan))
    return 0


def _installed_hooks() -> dict[str, importlib.metadata.EntryPoint]:
    """Entry point name -> entry point, the first one found winning as it
    does for stevedore."""
    found: dict[str, importlib.metadata.EntryPoint] = {}
    for entry_point in importlib.metadata.entry_points(
            group=flow_hooks.NAMESPACE):
        found.setdefault(entry_point.name, entry_point)
    return found


def _provider(entry_point: importlib.metadata.EntryPoint) -> str:
    dist = getattr(entry_point, 'dist', None)
    if dist is None:
        return entry_point.value
    return f'{entry_point.value}  ({dist.name} {dist.version})'


def _load_status(name: str, installed: bool,
                 checked: engine_mod.Checked) -> str:
    if not installed:
        return 'NOT INSTALLED'
    if name not in {hook.name for hook in checked.hooks}:
        return 'FAILS TO LOAD'
    problems = checked.problems_of(name)
    if problems:
        return f'{len(problems)} PROBLEM(S)'
    return 'loads'


def hooks_command(args: argparse.Namespace) -> int:
    installed = _installed_hooks()
    enabled = list(CONF.flow.enabled_hooks)
    # The validation every service does at start, once: STATUS says
    # 'loads' only for a hook with no problem at all.
    checked = engine_mod.check_conf(CONF)
    positions: dict[str, str] = {}
    for index, name in enumerate(enabled, 1):
        positions.setdefault(name, str(index))
    rows = []
    for name in sorted(set(installed) | set(enabled)):
        is_enabled = name in positions
        status = (_load_status(name, name in installed, checked)
                  if is_enabled else '-')
        provider = _provider(installed[name]) if name in installed else '-'
        rows.append([name, positions.get(name, '-'), status, provider])
    print(f"Hooks installed in entry point namespace "
          f"'{flow_hooks.NAMESPACE}'; ENABLED is the position in "
          f"[flow] enabled_hooks.")
    if rows:
        sys.stdout.write(_table(['HOOK', 'ENABLED', 'STATUS', 'ENTRY POINT'],
                                rows))
    else:
        print('(none installed, none enabled)')
    if checked.problems:
        _print_problems(FlowConfigError(checked.problems))
        return CONFIG_ERROR
    if enabled:
        print('The enabled hooks load and fit the registered flows.')
    return 0


def check_command(args: argparse.Namespace) -> int:
    """Every problem a service would stop with, one per line; exit 1."""
    checked = engine_mod.check_conf(CONF)
    enabled = list(CONF.flow.enabled_hooks)
    if checked.problems:
        for problem in checked.problems:
            print(f'ERROR: {problem}')
        print(f'{len(checked.problems)} problem(s) in flow configuration '
              f'({len(enabled)} hook(s) enabled, {len(checked.plans)} '
              f'flow(s) registered).')
        return 1
    print(f'OK: {len(enabled)} hook(s) enabled ({", ".join(enabled) or "none"}'
          f'), {len(checked.plans)} flow(s) registered, no problems.')
    return 0


def runs_command(args: argparse.Namespace) -> int:
    from nova import context as nova_context
    from nova.db import recorder as db_recorder
    ctx = nova_context.get_admin_context()
    ctx.read_deleted = 'yes'
    states = args.state or (None if args.instance else DEFAULT_STATES)
    statuses = None if states is None else {
        status for state in states for status in STATES[state]}
    runs = db_recorder.DBRecorder().find_runs(
        ctx, host=args.host, flow=args.flow, statuses=statuses,
        older_than=args.older_than, instance=args.instance,
        limit=args.limit, stages=bool(args.instance))
    if args.instance:
        return _print_stages(args.instance, runs)
    if not runs:
        print(f'No {" or ".join(states or ())} runs found'
              f'{_filters(args)}.')
        return 0
    rows = [[run.run_id, run.flow, run.subject or '-', run.host or '-',
             run.status + (' (recovering)' if run.recovering and
                           run.status == records.RUNNING else ''),
             _when(run.started_at), run.current_stage or '-',
             _one_line(run.message)] for run in runs]
    sys.stdout.write(_table(['RUN', 'FLOW', 'INSTANCE', 'HOST', 'STATUS',
                             'STARTED', 'STAGE', 'MESSAGE'], rows))
    return 0


def _filters(args: argparse.Namespace) -> str:
    given = [f'{name} {value}' for name, value in (
        ('host', args.host), ('flow', args.flow),
        ('started more than', None if args.older_than is None
         else f'{args.older_than:g} s ago')) if value is not None]
    return f' ({", ".join(given)})' if given else ''


def _when(moment: datetime.datetime | None) -> str:
    return moment.isoformat(timespec='seconds') if moment else '-'


def _one_line(message: str | None) -> str:
    """A message's first line, cut to MESSAGE_WIDTH characters."""
    if not message:
        return '-'
    line = message.strip().splitlines()[0] if message.strip() else '-'
    if len(line) > MESSAGE_WIDTH:
        line = line[:MESSAGE_WIDTH - 3] + '...'
    return line


def _print_stages(instance: str, runs: Sequence[Any]) -> int:
    if not runs:
        print(f'no recorded runs for instance {instance}')
        return NOT_FOUND
    for run in runs:
        finished = run.finished_at.isoformat() if run.finished_at else '-'
        print(f'{run.flow} {run.version}  run {run.run_id}  host '
              f'{run.host}  {run.status}  '
              f'{run.started_at.isoformat() if run.started_at else "-"} -> '
              f'{finished}' + ('  (recovered)' if run.recovering else ''))
        if run.message:
            print(f'  message: {run.message}')
        for stage in run.stages:
            took = ('%.3fs' % (stage.finished_at - stage.started_at)
                    if stage.finished_at is not None else 'unfinished')
            revert = f'  revert: {stage.revert_result}' if (
                stage.revert_result) else ''
            print(f'  {stage.stage_id:<60} {stage.result:<8} {took}'
                  f'{revert}')
    return 0
