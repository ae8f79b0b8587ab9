"""The openstackclient plugin module (``openstack.cli.extension``).

The commands need nothing but the SDK connection openstackclient already
made; this module exists so that openstackclient loads the
``openstack.hostops.v1`` command group.
"""

from __future__ import annotations

import argparse
from typing import Any

API_NAME = 'hostops'
API_VERSION_OPTION = 'os_hostops_api_version'
DEFAULT_API_VERSION = '1'
API_VERSIONS = ('1',)


def make_client(instance: Any) -> Any:
    """The client of this plugin: openstackclient's SDK connection (the
    commands use its ``compute`` proxy only)."""
    return instance.sdk_connection


def build_option_parser(
        parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument(
        '--os-hostops-api-version',
        metavar='<hostops-api-version>',
        default=None,
        help='Host operations plugin API version, default='
             f'{DEFAULT_API_VERSION} (Env: OS_HOSTOPS_API_VERSION)')
    return parser
