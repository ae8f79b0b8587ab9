"""Instance notifications: what Ceilometer-style consumers read.

The compute flows' ``notify_usage_start`` / ``notify_usage_end`` stages
call :func:`notify_instance_action`, which sends, by ``[notifications]
notification_format``:

* the legacy **unversioned** notification ``compute.instance.<action>.
  <phase>`` (publisher ``compute.<host>``) on the
  ``[oslo_messaging_notifications] topics``, with the flat payload upstream
  nova's legacy notifications carry;
* the **versioned** notification ``instance.<action>.<phase>`` (publisher
  ``nova-compute:<host>``) on ``[notifications]
  versioned_notifications_topics``, its payload in upstream's envelope
  (``nova_object.name``, ``.namespace``, ``.version``, ``.data``; see
  :mod:`nova.notifications.payloads`).

Nothing is built when the notifier is disabled (no
``[oslo_messaging_notifications] driver``, the default), so the stages
cost nothing then.  Payloads never carry user data, key data or admin
passwords.
"""

from __future__ import annotations

from typing import Any

import nova.conf
from nova.notifications import payloads

CONF = nova.conf.CONF

ERROR_PHASE = 'error'


def _enabled(notifier: Any) -> bool:
    is_enabled = getattr(notifier, 'is_enabled', None)
    return bool(is_enabled()) if is_enabled is not None else True


def notify_instance_action(ctx: Any, notifier: Any, host: str,
                           instance: dict[str, Any], event: str, *,
                           network_info: list[dict[str, Any]] | None = None,
                           fault: BaseException | None = None) -> None:
    """Send the notifications of ``event`` (``'create.start'``,
    ``'delete.end'``, ``'power_off.start'`` ...) about ``instance``.

    ``notifier`` is the compute service's legacy notifier
    (``nova.rpc.get_notifier('compute', host)``); the versioned one comes
    from :func:`nova.rpc.get_versioned_notifier`.
    """
    if not _enabled(notifier):
        return
    fmt = CONF.notifications.notification_format
    error = event.endswith('.' + ERROR_PHASE)
    if fmt in ('unversioned', 'both'):
        legacy = payloads.legacy_payload(instance, host, network_info)
        send = notifier.error if error else notifier.info
        send(ctx, f'compute.instance.{event}', legacy)
    if fmt in ('versioned', 'both'):
        from nova import rpc
        versioned = rpc.get_versioned_notifier(f'nova-compute:{host}')
        body = payloads.versioned_payload(
            ctx, instance, host, event, network_info=network_info,
            fault=fault)
        send = versioned.error if error else versioned.info
        send(ctx, f'instance.{event}', body)


__all__ = ['notify_instance_action']
