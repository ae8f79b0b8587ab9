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


def get(obj: Any, key: str, default: Any = None) -> Any:
    """``obj[key]`` for dicts, ``obj.key`` for ORM rows."""
    if isinstance(obj, Mapping):
        return obj.get(key, default)
    return getattr(obj, key, default)


def as_datetime(value: Any) -> datetime.datetime | None:
    """A datetime from a datetime, a timestamp or an ISO 8601 string."""
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
    if get(service, 'forced_down'):
        return False
    last = as_datetime(get(service, 'last_seen_up')
                        or get(service, 'updated_at')
                        or get(service, 'created_at'))
    if last is None:
        return False
    if last.tzinfo is not None:
        last = timeutils.normalize_time(last)
    age = timeutils.utcnow() - last
    return age <= datetime.timedelta(seconds=CONF.service_down_time)
