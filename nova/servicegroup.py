"""Whether a service is up: what the heartbeats in the database say.

Each service writes a heartbeat every ``[DEFAULT] report_interval``
seconds (``nova.service``); a service is up when it is not forced down
and its last heartbeat is no older than ``[DEFAULT] service_down_time``,
as upstream nova's database servicegroup driver decides.  The REST API
(os-services, os-hypervisors, availability zones), ``nova-status`` and
the compute API (before an RPC call that would otherwise wait for the
full RPC timeout) all ask here.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from oslo_utils import timeutils

import nova.conf

CONF = nova.conf.CONF


def _get(service: Any, key: str) -> Any:
    if isinstance(service, Mapping):
        return service.get(key)
    return getattr(service, key, None)


def _as_datetime(value: Any) -> datetime.datetime | None:
    if value is None or value == '':
        return None
    if isinstance(value, datetime.datetime):
        return value
    if isinstance(value, (int, float)):
        return datetime.datetime.fromtimestamp(value, datetime.UTC)
    return timeutils.parse_isotime(str(value))


def service_is_up(service: Any) -> bool:
    """Up if not forced down and its last heartbeat is recent enough.

    ``service``: a services row, as a dict or an object.
    """
    if _get(service, 'forced_down'):
        return False
    last = _as_datetime(_get(service, 'last_seen_up')
                        or _get(service, 'updated_at')
                        or _get(service, 'created_at'))
    if last is None:
        return False
    if last.tzinfo is not None:
        last = timeutils.normalize_time(last)
    age = timeutils.utcnow() - last
    return age <= datetime.timedelta(seconds=CONF.service_down_time)
