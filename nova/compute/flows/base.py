"""What every compute flow's state carries, and the shared state updates.

``ComputeServices`` is part of each compute flow's contract: stages and
vendor hooks reach the hypervisor, network, volume and image services and
the database through it, never through globals, so a hook sees exactly
what the flow's own stages see.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

from oslo_log import log as logging
from oslo_utils import timeutils

from nova import notifications
from nova.compute import vm_states
from nova.flow import contract, spec

LOG = logging.getLogger(__name__)

UNSET: Any = object()


@dataclasses.dataclass
class ComputeServices:
    """The host-side services a compute flow calls."""

    host: str
    driver: Any
    network: Any
    volume: Any
    image: Any
    db: Any
    resource_tracker: Any
    conductor: Any
    notifier: Any

    def __repr__(self) -> str:
        return f'<ComputeServices host={self.host}>'


def instance_update(ctx: Any, state: Any, *, expected_task_state: Any = UNSET,
                    expected_vm_state: Any = UNSET, **values: Any) -> None:
    """Write ``values`` to the instance with one compare-and-swap UPDATE.

    The in-memory instance copy is updated to match, so later stages and
    hooks see what the database holds without reading it back.
    """
    instance = state.instance
    kwargs = {}
    if expected_task_state is not UNSET:
        kwargs['expected_task_state'] = expected_task_state
    if expected_vm_state is not UNSET:
        kwargs['expected_vm_state'] = expected_vm_state
    values.setdefault('updated_at', timeutils.utcnow())
    state.compute.db.instance_update(ctx, instance['uuid'], values, **kwargs)
    instance.update(values)


def set_state(name: str, **values: Any) -> Callable[[Any, Any], None]:
    """A stage function setting instance fields, for stage lists like
    ``stage('update_active', set_state('update_active', vm_state=ACTIVE))``.
    """
    expected = values.pop('expected_task_state', UNSET)

    def update(ctx: Any, state: Any) -> None:
        instance_update(ctx, state, expected_task_state=expected,
                        **dict(values))
    update.__name__ = name
    update.__doc__ = 'Set ' + ', '.join(
        f'{k}={v}' for k, v in values.items() if k != 'updated_at') + '.'
    # One compare-and-swap UPDATE with the run's context: its completion
    # is recorded in the same transaction (see nova.flow.runner).
    return spec.mark(update, transactional=True)


def notify(ctx: Any, state: Any, event: str) -> None:
    """Send the ``instance.<event>`` notifications (versioned and/or
    legacy ``compute.instance.<event>``, by ``[notifications]
    notification_format``; see nova.notifications).

    Nothing is built unless notifications are enabled. The payloads never
    carry user_data, key data or passwords.
    """
    notify_from(state.compute, ctx, state, event)


def notify_from(services: Any, ctx: Any, state: Any, event: str) -> None:
    """:func:`notify` from the host of ``services`` (a compute host's,
    or a conductor's ConductorServices), with its notifier."""
    notifications.notify_instance_action(
        ctx, services.notifier, services.host, state.instance,
        event, network_info=getattr(state, 'network_info', None))


# -- failure handlers shared by the compute flows ---------------------------

def record_fault(ctx: Any, state: Any, failure: Any) -> None:
    """Store the error as an instance fault (what `server show` reports)."""
    record_fault_from(state.compute, ctx, state, failure)


def record_fault_from(services: Any, ctx: Any, state: Any,
                      failure: Any) -> None:
    """:func:`record_fault` with the database and host of ``services``."""
    services.db.instance_fault_create(
        ctx, state.instance['uuid'], failure.exc, services.host)


def clear_task_state(ctx: Any, state: Any, failure: Any) -> None:
    """Back to the state before the action: only the task is dropped."""
    instance_update(ctx, state, task_state=None)


def set_error(ctx: Any, state: Any, failure: Any) -> None:
    """The guest's state is unknown after this failure: ERROR.

    An instance the flow already marked DELETED stays deleted: a failure
    after the delete itself (a closing notification) does not bring it
    back as ERROR.
    """
    if state.instance.get('vm_state') == vm_states.DELETED:
        return
    instance_update(ctx, state, vm_state=vm_states.ERROR, task_state=None)


# -- the state of single-instance actions -----------------------------------

@dataclasses.dataclass
class InstanceState:
    """Contract of the single-instance action flows (stop, start, reboot...).

    ``network_info`` is read by ``load_network_info`` only in flows that
    need it for the driver call.
    """

    #: The compute services the stages call (DB, driver, network, volume, image
    #: APIs).
    compute: ComputeServices = dataclasses.field(metadata=contract.READ_ONLY)
    #: The instance (its database row as a dict); stages keep it current after
    #: each update.
    instance: dict[str, Any] = dataclasses.field(metadata=contract.READ_ONLY)
    #: The instance's network info (VIFs), filled in by load_network_info in
    #: the flows whose driver call needs it.
    network_info: list[dict[str, Any]] = dataclasses.field(
        default_factory=list)


def instance_subject(state: Any) -> str:
    return state.instance['uuid']


def load_instance_state(ctx: Any, run: Any,
                        compute: ComputeServices) -> InstanceState:
    """Rebuild an interrupted action's state from the database."""
    return InstanceState(compute=compute,
                         instance=compute.db.instance_get_by_uuid(
                             ctx, run.subject))


@functools.partial(spec.mark, idempotent=True)
def load_network_info(ctx: Any, state: Any) -> None:
    """Read the instance's VIFs, which the hypervisor call needs."""
    state.network_info = state.compute.network.get_instance_nw_info(
        ctx, state.instance['uuid'])


def notifier(event: str) -> Callable[[Any, Any], None]:
    """A stage function sending ``compute.instance.<event>``."""
    def send(ctx: Any, state: Any) -> None:
        notify(ctx, state, event)
    send.__name__ = 'notify_' + event.replace('.', '_')
    send.__doc__ = f'compute.instance.{event} notification.'
    # Sent again if a crash cut the run before its completion was
    # recorded: notifications are delivered at least once.
    return spec.mark(send, idempotent=True)
