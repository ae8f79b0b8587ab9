"""What every conductor flow's state carries.

``ConductorServices`` is part of each conductor flow's contract, as
``ComputeServices`` is of the compute flows': stages and vendor hooks
reach the network, volume and image services, the database and the
notifier through it, never through globals.  The conductor has no
hypervisor and no resource tracker: its flows work on records and on
the services around the hosts.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from oslo_utils import timeutils

from nova.compute import vm_states
from nova.compute.flows import base as compute_base


@dataclasses.dataclass
class ConductorServices:
    """The services a conductor flow calls."""

    host: str
    network: Any
    volume: Any
    image: Any
    db: Any
    notifier: Any
    #: The compute hosts' RPC API (nova.compute.rpcapi.ComputeAPI): the
    #: stages of a move are calls to them.
    compute_rpcapi: Any = None
    #: nova.scheduler.host_manager.Scheduler.
    scheduler: Any = None

    def __repr__(self) -> str:
        return f'<ConductorServices host={self.host}>'



def notify(ctx: Any, state: Any, event: str) -> None:
    """Send the ``instance.<event>`` notifications from this conductor
    (see nova.notifications: nothing is built when they are disabled)."""
    compute_base.notify_from(state.conductor, ctx, state, event)


# -- failure handlers shared by the conductor flows -------------------------

def record_fault(ctx: Any, state: Any, failure: Any) -> None:
    """Store the error as an instance fault (what `server show` reports)."""
    compute_base.record_fault_from(state.conductor, ctx, state, failure)


def set_error(ctx: Any, state: Any, failure: Any) -> None:
    """ERROR with the task cleared, unless the flow already marked the
    instance DELETED (a failing closing notification does not bring a
    deleted instance back)."""
    if state.instance.get('vm_state') == vm_states.DELETED:
        return
    values = {'vm_state': vm_states.ERROR, 'task_state': None,
              'updated_at': timeutils.utcnow()}
    state.conductor.db.instance_update(ctx, state.instance['uuid'], values)
    state.instance.update(values)


# -- moves ---------------------------------------------------------------


def create_migration(ctx: Any, state: Any, migration_type: str,
                     status: str,
                     new_flavor: dict[str, Any] | None = None) -> None:
    """Write ``state.migration``: the move of ``state.instance`` from its
    host and node to ``state.dest_host`` / ``state.dest_node`` (the
    flavor stays unless ``new_flavor``)."""
    instance = state.instance
    old = instance.get('flavor') or {}
    new = old if new_flavor is None else new_flavor
    state.migration = state.conductor.db.migration_create(ctx, {
        'instance_uuid': instance['uuid'],
        'source_compute': instance['host'],
        'source_node': instance['node'],
        'dest_compute': state.dest_host, 'dest_node': state.dest_node,
        'dest_host': state.dest_host,
        'old_instance_type_id': old.get('id'),
        'new_instance_type_id': new.get('id'),
        'old_flavor': old, 'new_flavor': new,
        'status': status, 'migration_type': migration_type,
        'user_id': ctx.user_id, 'project_id': ctx.project_id})


def newest_migration(ctx: Any, services: ConductorServices,
                     instance_uuid: str) -> dict[str, Any]:
    """The instance's newest migration ({} if none): the one an
    interrupted run of a move worked on."""
    found = services.db.migration_get_all_by_filters(
        ctx, {'instance_uuid': instance_uuid}, limit=1)
    return found[0] if found else {}
