"""nova-manage: operator commands, one category per module.

Each category module in ``CATEGORIES`` defines ``register(subparsers)``,
which adds its sub-commands; a sub-command parser sets ``func`` to a
callable ``func(args) -> int`` (the exit code).
"""

from __future__ import annotations

import argparse
import importlib
import sys

from oslo_config import cfg

import nova.conf

CONF = nova.conf.CONF

CATEGORIES: tuple[tuple[str, str], ...] = (
    ('db', 'nova.cmd.manage_db'),
    ('image', 'nova.cmd.manage_image'),
    ('flavor', 'nova.cmd.manage_flavor'),
    ('flow', 'nova.cmd.manage_flow'),
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog='nova-manage', description='nova operator commands')
    parser.add_argument('--config-file', action='append', default=[],
                        help='nova.conf to read (may be repeated)')
    categories = parser.add_subparsers(dest='category', metavar='CATEGORY')
    categories.required = True
    for name, module_name in CATEGORIES:
        module = importlib.import_module(module_name)
        summary = (module.__doc__ or name).split('\n')[0]
        category = categories.add_parser(name, help=summary)
        commands = category.add_subparsers(dest='command', metavar='COMMAND')
        commands.required = True
        module.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        # A sub-command may take --config-file after its name too.
        files = args.config_file + getattr(args, 'command_config_file', [])
        CONF([], project='nova', default_config_files=files or None)
        return int(args.func(args) or 0)
    except cfg.Error as exc:
        print(f'nova-manage: configuration error: {exc}', file=sys.stderr)
        return 2


if __name__ == '__main__':
    sys.exit(main())
