"""What the single-host action flows share beyond ``base``.

* ``set_state_once``: the final state update of a flow whose interrupted
  runs are resumed.  A resumed run repeats the stage that was cut; if that
  was this update and its UPDATE had been committed, the compare-and-swap
  on the task state now fails although the work is done.  This update
  accepts that case (the instance already shows the values) and fails
  only on a real conflict.
* ``restore_state``: the revert of a state update, for flows that must
  leave the instance exactly as it was when a later stage fails.
* ``block_device_info``: the volumes of an instance as virt drivers want
  them, from its block device mappings.
* shelved-image bookkeeping kept in the instance's ``system_metadata``
  (upstream's ``shelved_*`` keys).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from oslo_log import log as logging

from nova import exception
from nova.compute import power_state, vm_states
from nova.compute.flows import base
from nova.flow import spec

LOG = logging.getLogger(__name__)

# Columns whose value tells whether an update already happened; others
# (timestamps, system_metadata) are written along but not compared.
_COMPARED = ('vm_state', 'task_state', 'power_state', 'host', 'node')

SHELVED_KEYS = ('shelved_at', 'shelved_image_id', 'shelved_host')

#: The power state a guest has in a stable vm_state (for reverts).
POWER_OF = {vm_states.ACTIVE: power_state.RUNNING,
            vm_states.STOPPED: power_state.SHUTDOWN,
            vm_states.PAUSED: power_state.PAUSED,
            vm_states.SUSPENDED: power_state.SUSPENDED,
            vm_states.RESCUED: power_state.RUNNING,
            vm_states.SHELVED: power_state.SHUTDOWN,
            vm_states.SHELVED_OFFLOADED: power_state.SHUTDOWN}


def set_state_once(name: str, **values: Any) -> Callable[[Any, Any], None]:
    """A stage function like ``base.set_state`` that a resumed run may
    repeat: when the compare-and-swap fails because a previous run already
    wrote these values, it succeeds without writing.

    Values may be callables ``(state) -> value``, evaluated when the stage
    runs (e.g. the system metadata to write).
    """
    expected = values.pop('expected_task_state')

    def update(ctx: Any, state: Any) -> None:
        resolved = {k: v(state) if callable(v) else v
                    for k, v in values.items()}
        instance_update_once(ctx, state, expected, **resolved)
    update.__name__ = name
    update.__doc__ = 'Set ' + ', '.join(
        f'{k}={"..." if callable(v) else v}' for k, v in values.items()
        if k != 'updated_at') + '.'
    return spec.mark(update, idempotent=True, transactional=True)


def instance_update_once(ctx: Any, state: Any, expected_task_state: Any,
                         **values: Any) -> None:
    """``base.instance_update`` that accepts an update already made."""
    try:
        base.instance_update(ctx, state,
                             expected_task_state=expected_task_state,
                             **values)
    except exception.UnexpectedTaskStateError:
        current = state.compute.db.instance_get_by_uuid(
            ctx, state.instance['uuid'])
        if any(current.get(k) != values[k] for k in _COMPARED
               if k in values):
            raise
        LOG.info('Instance %s already shows %s: a previous run of this '
                 'flow made the update', state.instance['uuid'],
                 {k: values[k] for k in _COMPARED if k in values})
        state.instance.update(current)


def restore_state(**values: Any) -> Callable[[Any, Any, Any], None]:
    """The revert of a state update: write ``values`` back without a
    compare-and-swap (the flow still holds the instance: its task state
    is cleared only by the failure handlers that follow).

    Values may be callables ``(state) -> value``.
    """
    def revert(ctx: Any, state: Any, failure: Any) -> None:
        base.instance_update(ctx, state, **{
            k: v(state) if callable(v) else v for k, v in values.items()})
    return revert


def system_metadata(instance: dict[str, Any], drop: tuple[str, ...] = (),
                    **add: Any) -> dict[str, Any]:
    """The instance's system metadata with keys dropped and added (the
    column is one JSON value, written whole)."""
    meta = {k: v for k, v in (instance.get('system_metadata') or {}).items()
            if k not in drop}
    meta.update(add)
    return meta


def volume_bdms(bdms: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The mappings that are volumes attached to the instance."""
    return [b for b in bdms if b.get('destination_type') == 'volume'
            and b.get('volume_id')]


def block_device_info(bdms: list[dict[str, Any]],
                      connections: dict[str, Any] | None = None,
                      ) -> dict[str, Any]:
    """``{'block_device_mapping': [...]}`` as drivers take it.

    ``connections`` (volume ID -> connection info) overrides what the
    mappings recorded.
    """
    volumes = []
    for bdm in volume_bdms(bdms):
        connection_info = (connections or {}).get(bdm['volume_id']) or \
            bdm.get('connection_info') or {}
        volumes.append({'volume_id': bdm['volume_id'],
                        'mount_device': bdm.get('device_name'),
                        'connection_info': connection_info,
                        'boot_index': bdm.get('boot_index'),
                        'delete_on_termination':
                            bdm.get('delete_on_termination')})
    return {'block_device_mapping': volumes}


def get_image_or_none(ctx: Any, image_api: Any,
                      image_id: str | None) -> dict[str, Any] | None:
    if not image_id:
        return None
    try:
        return image_api.get(ctx, image_id)
    except exception.ImageNotFound:
        return None
