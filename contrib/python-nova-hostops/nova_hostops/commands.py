"""``openstack compute host evacuate|drain|servers``."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from openstack import exceptions as sdk_exc
from osc_lib import exceptions
from osc_lib.command import command

from nova_hostops import engine

LOG = logging.getLogger(__name__)

FORBIDDEN_HELP = (
    'The Compute API refused the request (HTTP 403: {details}). Host-wide '
    'operations are admin operations: listing compute services and the '
    'servers of every project, migrating, live-migrating and evacuating '
    'servers are allowed to the admin role only by default policy. Use '
    'credentials with the admin role (or ask your cloud operator).')


def _forbidden(exc: sdk_exc.HttpException) -> exceptions.CommandError:
    return exceptions.CommandError(FORBIDDEN_HELP.format(
        details=exc.details or exc.message))


def _compute(app: Any) -> Any:
    return app.client_manager.hostops.compute


def _compute_service(compute: Any, host: str) -> Any:
    found = [s for s in compute.services(binary='nova-compute', host=host)
             if s.host == host]
    if not found:
        raise exceptions.CommandError(
            f'No nova-compute service on host {host} (see openstack '
            'compute service list --service nova-compute)')
    return found[0]


def _host_servers(compute: Any, host: str) -> list[Any]:
    servers = compute.servers(details=True, all_projects=True,
                              compute_host=host)
    # Filtered here as well: a cloud that ignores the filter must not
    # make this act on other hosts' servers.
    return sorted((s for s in servers
                   if getattr(s, 'compute_host', None) == host),
                  key=lambda s: (s.name or '', s.id))


class ListHostServers(command.Lister):
    _description = 'List the servers on a compute host (admin only)'

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument(
            'host', metavar='<host>',
            help='Compute host to list the servers of')
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> Any:
        compute = _compute(self.app)
        try:
            servers = _host_servers(compute, parsed_args.host)
        except sdk_exc.ForbiddenException as exc:
            raise _forbidden(exc) from None
        columns = ('ID', 'Name', 'Status', 'Task State', 'Power State',
                   'Project ID')
        rows = [(s.id, s.name, s.status, getattr(s, 'task_state', None),
                 getattr(s, 'power_state', None), s.project_id)
                for s in servers]
        return columns, rows


class _HostOperation(command.Lister):
    """Common options, confirmation, state file and report."""

    #: 'evacuate' or 'drain': the state file's command.
    operation = ''

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument(
            'host', metavar='<host>', help='Compute host to act on')
        parser.add_argument(
            '--target', metavar='<host>', default=None,
            help='Move the servers to this compute host (default: the '
                 'scheduler chooses one per server)')
        parser.add_argument(
            '--concurrency', metavar='<count>', type=_positive_int,
            default=2,
            help='Servers moved at the same time (default: 2)')
        parser.add_argument(
            '--dry-run', action='store_true',
            help='Show the plan (which server, which action) and change '
                 'nothing')
        wait = parser.add_mutually_exclusive_group()
        wait.add_argument(
            '--wait', dest='wait', action='store_true', default=True,
            help='Wait for each move to finish (default)')
        wait.add_argument(
            '--no-wait', dest='wait', action='store_false',
            help="Only request the moves; their result stays 'moving' "
                 '(cold migrations are then not confirmed)')
        parser.add_argument(
            '--timeout', metavar='<seconds>', type=float, default=600.0,
            help='With --wait, how long to wait for each server before it '
                 'is reported failed (default: 600)')
        parser.add_argument(
            '--poll-interval', metavar='<seconds>', type=float,
            default=2.0,
            help='Seconds between two reads of a moving server (default: 2)')
        parser.add_argument(
            '--yes', action='store_true',
            help='Do not ask for confirmation (needed when standard input '
                 'is not a terminal)')
        parser.add_argument(
            '--state-file', metavar='<path>', default=None,
            help='Where the plan and each server\'s progress are written '
                 '(default: ~/.cache/nova-hostops/<command>-<host>.json)')
        parser.add_argument(
            '--resume', action='store_true',
            help='Continue the run recorded in the state file, without '
                 'moving any server twice')
        parser.add_argument(
            '--retry-failed', action='store_true',
            help='Continue the run recorded in the state file and try its '
                 'failed servers again')
        return parser

    # subclasses

    def check_host(self, compute: Any, parsed_args: argparse.Namespace,
                   service: Any) -> None:
        raise NotImplementedError

    def plan_options(self, parsed_args: argparse.Namespace
                     ) -> dict[str, Any]:
        return {'target': parsed_args.target}

    def before_moves(self, compute: Any, parsed_args: argparse.Namespace,
                     service: Any) -> None:
        pass

    def describe(self, state: dict[str, Any]) -> str:
        raise NotImplementedError

    # the run

    def run(self, parsed_args: argparse.Namespace) -> int:
        self.failed = False
        result = super().run(parsed_args)
        return 1 if self.failed and not result else result

    def take_action(self, parsed_args: argparse.Namespace) -> Any:
        compute = _compute(self.app)
        try:
            return self._take_action(compute, parsed_args)
        except sdk_exc.ForbiddenException as exc:
            raise _forbidden(exc) from None
        except engine.PlanError as exc:
            raise exceptions.CommandError(str(exc)) from None

    def _take_action(self, compute: Any,
                     parsed_args: argparse.Namespace) -> Any:
        host = parsed_args.host
        if parsed_args.target == host:
            raise exceptions.CommandError(
                f'--target {host} is the host the servers are on')
        path = parsed_args.state_file or engine.default_state_file(
            self.operation, host)
        state_file = engine.StateFile(path)
        service = _compute_service(compute, host)
        resume = parsed_args.resume or parsed_args.retry_failed
        if resume:
            state = engine.prepare_resume(
                state_file.load(), self.operation, host,
                parsed_args.retry_failed)
        else:
            if state_file.exists() and not parsed_args.dry_run:
                previous = state_file.load()
                if engine.unfinished(previous):
                    raise exceptions.CommandError(
                        f'A previous run left unfinished work in {path}: '
                        'continue it with --resume, or remove the file '
                        'to start over')
            self.check_host(compute, parsed_args, service)
            state = engine.plan(self.operation, host,
                                _host_servers(compute, host),
                                self.plan_options(parsed_args))
        if parsed_args.dry_run:
            rows = [row[:5] + ('planned' if row[5] in (
                engine.QUEUED, engine.MOVING) else row[5],) + row[6:]
                for row in engine.report_rows(state)]
            return engine.REPORT_COLUMNS, rows
        todo = engine.unfinished(state)
        if todo:
            self._confirm(parsed_args, state, len(todo))
            self.before_moves(compute, parsed_args, service)
            runner = engine.Runner(
                compute, state, state_file, engine.Progress(),
                concurrency=parsed_args.concurrency,
                wait=parsed_args.wait, timeout=parsed_args.timeout,
                poll_interval=parsed_args.poll_interval)
            try:
                runner.run()
            except KeyboardInterrupt:
                raise exceptions.CommandError(
                    f'Interrupted. The progress so far is in {path}; '
                    'continue with the same command and --resume') from None
        self.failed = any(e['status'] == engine.FAILED
                          for e in state['servers'])
        return engine.REPORT_COLUMNS, engine.report_rows(state)

    def _confirm(self, parsed_args: argparse.Namespace,
                 state: dict[str, Any], count: int) -> None:
        if parsed_args.yes:
            return
        question = f'{self.describe(state)} ({count} server(s))?'
        if not sys.stdin.isatty():
            raise exceptions.CommandError(
                f'{question[:-1]}: refusing without --yes when standard '
                'input is not a terminal')
        sys.stderr.write(f'{question} [y/N] ')
        sys.stderr.flush()
        answer = sys.stdin.readline().strip().lower()
        if answer not in ('y', 'yes'):
            raise exceptions.CommandError('Cancelled; nothing was changed')


class EvacuateHost(_HostOperation):
    _description = (
        'Evacuate every server of a failed compute host to other hosts '
        '(admin only). The host\'s nova-compute service must be down or '
        'forced down.')
    operation = 'evacuate'

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument(
            '--on-shared-storage', action='store_true',
            help='The servers\' disks are on storage shared with the '
                 'target (only for compute API versions before 2.14; later '
                 'versions detect it)')
        return parser

    def plan_options(self, parsed_args: argparse.Namespace
                     ) -> dict[str, Any]:
        return {'target': parsed_args.target,
                'on_shared_storage': parsed_args.on_shared_storage}

    def check_host(self, compute: Any, parsed_args: argparse.Namespace,
                   service: Any) -> None:
        if service.state == 'down' or service.is_forced_down:
            return
        host = parsed_args.host
        raise exceptions.CommandError(
            f'The nova-compute service of {host} is up: evacuate moves '
            'servers away from a host that is dead. If it is, fence it, '
            'then force its service down with:\n'
            f'  openstack --os-compute-api-version 2.11 compute service set '
            f'--down {host} nova-compute\n'
            f'To move servers off a running host use: openstack compute '
            f'host drain {host}')

    def describe(self, state: dict[str, Any]) -> str:
        return f"Evacuate every server of {state['host']}"


class DrainHost(_HostOperation):
    _description = (
        'Move every server off a compute host, for maintenance (admin '
        'only): live migration by default (servers that are not running '
        'are cold migrated), cold migration with --cold. Cold migrations '
        'are confirmed once the server runs on its new host.')
    operation = 'drain'

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument(
            '--live', dest='mode', action='store_const', const='live',
            default='live',
            help='Live-migrate running servers (default); a failed live '
                 'migration is reported, never retried as a cold one')
        mode.add_argument(
            '--cold', dest='mode', action='store_const', const='cold',
            help='Cold-migrate every server (running ones are shut down '
                 'and started again on their new host)')
        parser.add_argument(
            '--disable-service', action='store_true',
            help='Disable the host\'s nova-compute service first, so that '
                 'no new server is scheduled to it')
        parser.add_argument(
            '--disable-reason', metavar='<reason>', default=None,
            help='Reason recorded with --disable-service (default: '
                 '"drained by openstack compute host drain")')
        return parser

    def plan_options(self, parsed_args: argparse.Namespace
                     ) -> dict[str, Any]:
        return {'target': parsed_args.target, 'mode': parsed_args.mode}

    def check_host(self, compute: Any, parsed_args: argparse.Namespace,
                   service: Any) -> None:
        if service.state == 'down' or service.is_forced_down:
            host = parsed_args.host
            raise exceptions.CommandError(
                f'The nova-compute service of {host} is down: its servers '
                'cannot be migrated. Evacuate them with: openstack compute '
                f'host evacuate {host}')

    def before_moves(self, compute: Any, parsed_args: argparse.Namespace,
                     service: Any) -> None:
        if parsed_args.disable_service and service.status != 'disabled':
            compute.disable_service(
                service, disabled_reason=parsed_args.disable_reason or
                'drained by openstack compute host drain')

    def describe(self, state: dict[str, Any]) -> str:
        how = 'Cold-migrate' if state['options'].get('mode') == 'cold' \
            else 'Live-migrate'
        return f"{how} every server off {state['host']}"


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError('must be at least 1')
    return value
