"""nova-status: checks an operator runs before and after an upgrade.

``nova-status upgrade check`` runs every check below and prints a table
of results (``--json`` for machine-readable output), exiting with
oslo.upgradecheck's codes: 0 when every check succeeded, 1 when one
warned (the deployment runs, but needs a look), 2 when one failed (do not
start, or do not go on with, the upgrade).  Built on oslo.upgradecheck,
as upstream nova's command is; the checks are the ones that apply to
this nova:

* **Database schema**: the database is at the newest schema revision this
  code knows (``nova-manage db sync`` brings it there).
* **Compute services**: at least one nova-compute service is registered,
  and every registered one is up (heartbeat within ``[DEFAULT]
  service_down_time``, not forced down).  A warning otherwise: a fresh
  deployment has none yet, and a host down for maintenance is normal.
* **Flow hooks**: the hooks ``[flow] enabled_hooks`` names load and
  validate against every flow, exactly as a service checks them when it
  starts (the same report as ``nova-manage flow hooks``).
"""

from __future__ import annotations

import sys
from typing import Any

from oslo_upgradecheck import upgradecheck

import nova.conf

CONF = nova.conf.CONF

Code = upgradecheck.Code
Result = upgradecheck.Result


def _service_is_up(service: dict[str, Any]) -> bool:
    from nova.servicegroup import service_is_up
    return service_is_up(service)


class UpgradeCommands(upgradecheck.UpgradeCommands):
    """The checks of ``nova-status upgrade check``."""

    def _check_db_schema(self) -> Result:
        from nova.db import migration
        try:
            current = migration.db_version()
        except Exception as exc:  # noqa: BLE001 - any reason to fail
            return Result(Code.FAILURE,
                          f'Cannot read the database schema revision from '
                          f'[database] connection: {exc}')
        head = migration.head_version()
        if current is None:
            return Result(Code.FAILURE, 'The database has no schema: run '
                                        '"nova-manage db sync".')
        if current != head:
            return Result(Code.FAILURE,
                          f'The database schema is at revision {current}; '
                          f'this code needs {head}: run '
                          f'"nova-manage db sync".')
        return Result(Code.SUCCESS, f'Schema at revision {current}.')

    def _check_compute_services(self) -> Result:
        from nova import context as nova_context
        from nova.db import api as db_api
        try:
            services = db_api.service_get_all(
                nova_context.get_admin_context(), binary='nova-compute')
        except Exception as exc:  # noqa: BLE001 - any reason to fail
            return Result(Code.FAILURE,
                          f'Cannot read the services table: {exc}')
        if not services:
            return Result(Code.WARNING,
                          'No nova-compute service is registered yet: no '
                          'server can be built until one starts.')
        down = sorted(s['host'] for s in services if not _service_is_up(s))
        if down:
            return Result(Code.WARNING,
                          f'{len(down)} of {len(services)} nova-compute '
                          f'services are down: {", ".join(down)}.')
        return Result(Code.SUCCESS,
                      f'{len(services)} nova-compute service(s), all up.')

    def _check_flow_hooks(self) -> Result:
        from nova.flow import FlowConfigError, FlowEngine
        try:
            FlowEngine.from_conf(CONF)
        except FlowConfigError as exc:
            return Result(Code.FAILURE, str(exc))
        enabled = list(CONF.flow.enabled_hooks)
        if not enabled:
            return Result(Code.SUCCESS, 'No hook enabled.')
        return Result(Code.SUCCESS,
                      f'{len(enabled)} hook(s) load and validate: '
                      f'{", ".join(enabled)}.')

    _upgrade_checks = (
        ('Database schema', _check_db_schema),
        ('Compute services', _check_compute_services),
        ('Flow hooks', _check_flow_hooks),
    )


def main(argv: list[str] | None = None) -> int:
    return upgradecheck.main(
        CONF, project='nova', upgrade_command=UpgradeCommands(),
        argv=sys.argv[1:] if argv is None else argv)


if __name__ == '__main__':
    sys.exit(main())
