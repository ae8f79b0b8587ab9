"""``nova-manage flow contract``: a flow's public contract and its snapshot.

``flow contract FLOW [--format text|json]`` prints what hooks may rely on:
the contract version and changelog, the stage IDs in order (sub-flow
stages and former IDs included) and the state fields with their types,
meaning and whether a hook may assign them.

``flow contract [FLOW] --check`` compares the code with the committed
snapshots (``nova/*/flows/contracts/*.json``) and says what changed and
which version bump that requires; ``--write`` regenerates the snapshots,
refusing (exit status 1) when the code's version does not match the
change.  ``tools/update-flow-contracts`` runs ``--write`` for every flow.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from nova.flow import contract, registry
from nova.flow.spec import Flow

#: Exit status when a contract differs from its snapshot or a snapshot
#: cannot be written.
CONTRACT_MISMATCH = 1
#: Exit status when the flows cannot be loaded or FLOW does not exist.
NOT_FOUND = 1
CONFIG_ERROR = 2


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        'contract', help="print a flow's contract; check or write the "
                         "contract snapshots",
        description=__doc__.split('\n\n', 1)[1] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('flow', nargs='?',
                        help='flow ID, e.g. compute.build_instance '
                             '(--check and --write: default every flow)')
    parser.add_argument('--format', choices=('text', 'json'),
                        default='text', help='output format (default: text)')
    action = parser.add_mutually_exclusive_group()
    action.add_argument('--check', action='store_true',
                        help='compare with the committed snapshots')
    action.add_argument('--write', action='store_true',
                        help='regenerate the snapshots (refused when the '
                             'version does not match the change)')
    parser.add_argument('--tree', default=contract.TREE,
                        help='top of the source tree holding the '
                             'snapshots (default: %(default)s)')
    parser.set_defaults(func=contract_command)


def _flows(name: str | None) -> list[Flow[Any]] | None:
    flows, problems = registry.discover_flows()
    if problems:
        for problem in problems:
            print(f'nova-manage: {problem}', file=sys.stderr)
        return None
    if name is None:
        return flows
    chosen = [f for f in flows if f.name == name]
    if not chosen:
        known = ', '.join(f.name for f in flows) or '(none registered)'
        print(f"nova-manage: no flow named '{name}'; known flows: {known}",
              file=sys.stderr)
    return chosen


def contract_command(args: argparse.Namespace) -> int:
    if not (args.check or args.write) and not args.flow:
        print('nova-manage: name a FLOW, or use --check or --write',
              file=sys.stderr)
        return CONFIG_ERROR
    flows = _flows(args.flow)
    if not flows:
        return CONFIG_ERROR if flows is None else NOT_FOUND
    if args.check:
        return _check(flows, args.tree)
    if args.write:
        return _write(flows, args.tree)
    (flow,) = flows
    found = contract.contract_of(flow)
    if args.format == 'json':
        sys.stdout.write(contract.as_json(found))
    else:
        sys.stdout.write(contract.as_text(found))
    return 0


def _check(flows: list[Flow[Any]], tree: str) -> int:
    status = 0
    for flow in flows:
        verdict, path = contract.check_flow(flow, tree)
        if path is None:
            continue  # a flow of no known family (tests')
        if verdict is None:
            print(f'flow {flow.name}: no snapshot at {path}; run '
                  f'tools/update-flow-contracts')
            status = CONTRACT_MISMATCH
        elif not verdict.identical:
            print(verdict.report())
            if not verdict.problems:
                print('  the version is right: run tools/update-flow-'
                      'contracts to update the snapshot')
            status = CONTRACT_MISMATCH
    if status == 0:
        print(f'{len(flows)} flow contract(s) match their snapshots')
    return status


def _write(flows: list[Flow[Any]], tree: str) -> int:
    status = 0
    written = 0
    for flow in flows:
        verdict, path = contract.check_flow(flow, tree)
        if path is None:
            continue
        if verdict is not None:
            if verdict.identical:
                continue
            if verdict.problems:
                print(verdict.report())
                print(f'  snapshot {path} NOT written')
                status = CONTRACT_MISMATCH
                continue
            print(verdict.report())
        contract.write_snapshot(path, contract.contract_of(flow))
        print(f'wrote {path}')
        written += 1
    if status == 0 and not written:
        print('every snapshot is up to date')
    return status
