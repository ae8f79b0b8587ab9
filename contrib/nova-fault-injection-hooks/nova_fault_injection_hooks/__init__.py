"""Fail, or stop for a kill, inside a chosen stage of a compute or
conductor flow.

Every stage of the flows in ``FLOWS`` gets an ``around`` method generated
from the flows' own stage lists, so a new stage is covered without editing
this file.  The fault is read from the environment at each call, so a test
can change it between runs of one process.
"""

from __future__ import annotations

import importlib
import os
import time
from typing import Any

from nova.flow import hooks
from nova.flow.spec import Stage, SubFlow

FLOWS = {
    'compute.build_instance': '1.0',
    'compute.configure_instance': '1.0',
    'compute.power_on_instance': '1.0',
    'compute.unconfigure_instance': '1.0',
    'compute.terminate_instance': '1.0',
    'compute.reboot_instance': '1.0',
    'compute.stop_instance': '1.0',
    'compute.start_instance': '1.0',
    'compute.pause_instance': '1.0',
    'compute.unpause_instance': '1.0',
    'compute.suspend_instance': '1.0',
    'compute.resume_instance': '1.0',
    'compute.rebuild_instance': '1.0',
    'compute.snapshot_instance': '1.0',
    'compute.rescue_instance': '1.0',
    'compute.unrescue_instance': '1.0',
    'compute.shelve_instance': '1.0',
    'compute.shelve_offload_instance': '1.0',
    'compute.unshelve_instance': '1.0',
    'compute.reserve_block_device_name': '1.0',
    'compute.attach_volume': '1.0',
    'compute.detach_volume': '1.0',
    'compute.attach_interface': '1.0',
    'compute.detach_interface': '1.0',
    'compute.trigger_crash_dump': '1.0',
    'compute.prep_resize': '1.0',
    'compute.resize_instance': '1.0',
    'compute.finish_resize': '1.0',
    'compute.confirm_resize': '1.0',
    'compute.revert_resize': '1.0',
    'compute.finish_revert_resize': '1.0',
    'conductor.build_instances': '1.0',
    'conductor.resize_instance': '1.0',
    'conductor.confirm_resize': '1.0',
    'conductor.revert_resize': '1.0',
    'conductor.live_migrate_instance': '2.0',
    'compute.pre_live_migration': '1.0',
    'compute.live_migration': '2.0',
    'compute.post_live_migration_at_source': '1.0',
    'compute.post_live_migration_at_destination': '1.0',
    'compute.rollback_live_migration_at_destination': '1.0',
    'compute.live_migration_abort': '1.0',
    'compute.live_migration_force_complete': '1.0',
    'compute.evacuate_instance': '1.0',
    'compute.destroy_evacuated_instance': '1.0',
    'conductor.evacuate_instance': '1.0',
    'conductor.local_delete_instance': '1.0',
}


class InjectedFault(Exception):
    """The failure a test asked for with NOVA_FAULT_AT=<stage>:fail."""


class FaultInjection(hooks.Hook):
    supports = FLOWS


def _wait_for_kill(stage_id: str) -> None:
    marker_dir = os.environ.get('NOVA_FAULT_MARKER_DIR', '.')
    with open(os.path.join(marker_dir, stage_id), 'w') as marker:
        marker.write(str(os.getpid()))
    while True:  # until SIGKILL: this is the crash being simulated
        time.sleep(3600)


def _fault_point(stage_id: str) -> Any:
    def around(self: FaultInjection, ctx: Any, state: Any,
               proceed: Any) -> Any:
        wanted = os.environ.get('NOVA_FAULT_AT', '')
        if not wanted.startswith(stage_id + ':'):
            return proceed()
        host = os.environ.get('NOVA_FAULT_HOST')
        services = getattr(state, 'compute', None) or getattr(
            state, 'conductor', None)
        if host and getattr(services, 'host', None) != host:
            return proceed()
        kind = wanted[len(stage_id) + 1:]
        if kind == 'fail':
            raise InjectedFault(f'injected failure in {stage_id}')
        if kind == 'refuse':
            raise hooks.RunRefused(f'injected refusal in {stage_id}')
        if kind == 'crash-before':
            _wait_for_kill(stage_id)
        result = proceed()
        if kind == 'crash-after':
            _wait_for_kill(stage_id)
        return result
    around.__name__ = 'fault_' + stage_id.replace('.', '__')
    return around


def _leaf_ids(entries: Any, prefix: str) -> list[str]:
    found = []
    for entry in entries:
        if isinstance(entry, SubFlow):
            found += _leaf_ids(entry.entries, f'{prefix}.{entry.name}')
        elif isinstance(entry, Stage):
            found.append(f'{prefix}.{entry.name}')
    return found


def stage_ids(flow_name: str) -> list[str]:
    """Every stage ID of a compute or conductor flow, in order."""
    namespace, name = flow_name.split('.', 1)
    module = importlib.import_module(f'nova.{namespace}.flows.{name}')
    tree, _ = module.FLOW.resolve()
    return _leaf_ids(tree, flow_name)


for _flow in FLOWS:
    for _stage_id in stage_ids(_flow):
        _method = _fault_point(_stage_id)
        setattr(FaultInjection, _method.__name__,
                hooks.around(_stage_id)(_method))
