"""Helpers shared by the controllers: states, paging, links, times."""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from typing import Any

import webob.exc
from oslo_utils import timeutils

import nova.conf
from nova import servicegroup

CONF = nova.conf.CONF

# vm_state / task_state as stored (the values of nova.compute.vm_states
# and task_states; spelled out so the API has no import-time dependency
# on the compute package).
ACTIVE, BUILDING, PAUSED, SUSPENDED = 'active', 'building', 'paused', \
    'suspended'
STOPPED, RESCUED, RESIZED, SOFT_DELETED = 'stopped', 'rescued', 'resized', \
    'soft-delete'
DELETED, ERROR, SHELVED, SHELVED_OFFLOADED = 'deleted', 'error', 'shelved', \
    'shelved_offloaded'

_REBOOT = ('rebooting', 'reboot_pending', 'reboot_started')
_HARD_REBOOT = ('rebooting_hard', 'reboot_pending_hard',
                'reboot_started_hard')
_REBUILD = ('rebuilding', 'rebuild_block_device_mapping',
            'rebuild_spawning')
_RESIZE = ('resize_prep', 'resize_migrating', 'resize_migrated',
           'resize_finish')

# vm_state -> {task_state: status}, 'default' when no task overrides it.
_STATE_MAP: dict[str, dict[str, str]] = {
    ACTIVE: {
        'default': 'ACTIVE',
        **dict.fromkeys(_REBOOT, 'REBOOT'),
        **dict.fromkeys(_HARD_REBOOT, 'HARD_REBOOT'),
        'updating_password': 'PASSWORD',
        **dict.fromkeys(_REBUILD, 'REBUILD'),
        'migrating': 'MIGRATING',
        **dict.fromkeys(_RESIZE, 'RESIZE'),
    },
    BUILDING: {'default': 'BUILD'},
    STOPPED: {
        'default': 'SHUTOFF',
        **dict.fromkeys(_RESIZE, 'RESIZE'),
        **dict.fromkeys(_REBUILD, 'REBUILD'),
    },
    RESIZED: {'default': 'VERIFY_RESIZE',
              'resize_reverting': 'REVERT_RESIZE'},
    PAUSED: {'default': 'PAUSED', 'migrating': 'MIGRATING'},
    SUSPENDED: {'default': 'SUSPENDED'},
    RESCUED: {'default': 'RESCUE'},
    ERROR: {'default': 'ERROR', **dict.fromkeys(_REBUILD, 'REBUILD')},
    DELETED: {'default': 'DELETED'},
    SOFT_DELETED: {'default': 'SOFT_DELETED'},
    SHELVED: {'default': 'SHELVED'},
    SHELVED_OFFLOADED: {'default': 'SHELVED_OFFLOADED'},
}

VALID_STATUSES = frozenset({
    'ACTIVE', 'BUILD', 'DELETED', 'ERROR', 'HARD_REBOOT', 'MIGRATING',
    'PASSWORD', 'PAUSED', 'REBOOT', 'REBUILD', 'RESCUE', 'RESIZE',
    'REVERT_RESIZE', 'SHELVED', 'SHELVED_OFFLOADED', 'SHUTOFF',
    'SOFT_DELETED', 'SUSPENDED', 'VERIFY_RESIZE', 'UNKNOWN'})

POWER_STATES = {0: 'NOSTATE', 1: 'RUNNING', 3: 'PAUSED', 4: 'SHUTDOWN',
                6: 'CRASHED', 7: 'SUSPENDED'}


def status_from_state(vm_state: str | None,
                      task_state: str | None = None) -> str:
    """The API ``status`` of a server (clients poll for ACTIVE/ERROR)."""
    task_map = _STATE_MAP.get(vm_state or '', {'default': 'UNKNOWN'})
    status = task_map.get(task_state or '', task_map['default'])
    if status == 'UNKNOWN':
        return 'UNKNOWN'
    return status


def states_from_status(status: str) -> tuple[list[str], list[str] | None]:
    """(vm_states, task_states or None for any) matching a status filter.

    Raises 400 for a status no server can have (upstream since 2.38).
    """
    status = status.upper()
    if status not in VALID_STATUSES:
        raise webob.exc.HTTPBadRequest(
            explanation=f'Invalid status value: {status}')
    vm_states: list[str] = []
    task_states: set[str] = set()
    any_task = False
    for vm_state, task_map in _STATE_MAP.items():
        for task, mapped in task_map.items():
            if mapped != status:
                continue
            if vm_state not in vm_states:
                vm_states.append(vm_state)
            if task == 'default':
                # The default applies when no listed task overrides it.
                any_task = True
            else:
                task_states.add(task)
    if any_task:
        return vm_states, None
    return vm_states, sorted(task_states)


# -- values of instances (ORM rows or dicts) ------------------------------

# Shared with the services (nova.servicegroup reads service rows).
get = servicegroup.get
as_datetime = servicegroup.as_datetime


def isotime(value: Any) -> str | None:
    """``2012-08-20T21:11:09Z``: the server ``created``/``updated`` form."""
    when = as_datetime(value)
    if when is None:
        return None
    if when.tzinfo is not None:
        when = timeutils.normalize_time(when)
    return when.strftime('%Y-%m-%dT%H:%M:%SZ')


def usage_time(value: Any) -> str | None:
    """``2013-09-23T13:53:12.000000``: the launched_at/start_time form."""
    when = as_datetime(value)
    if when is None:
        return None
    if when.tzinfo is not None:
        when = timeutils.normalize_time(when)
    return when.strftime('%Y-%m-%dT%H:%M:%S.%f')


def parse_time(value: str, name: str) -> datetime.datetime:
    try:
        return timeutils.normalize_time(timeutils.parse_isotime(value))
    except (ValueError, OverflowError):
        # OverflowError: a time zone offset moves it past year 1 or 9999.
        raise webob.exc.HTTPBadRequest(
            explanation=f'Invalid {name} value: {value}') from None


# -- paging -----------------------------------------------------------------

def pagination_params(req: Any) -> tuple[int, str | None]:
    """(limit capped by [api] max_limit, marker)."""
    limit = CONF.api.max_limit
    text = req.GET.get('limit')
    if text is not None:
        try:
            limit = int(text)
        except ValueError:
            raise webob.exc.HTTPBadRequest(
                explanation='limit param must be an integer') from None
        if limit < 0:
            raise webob.exc.HTTPBadRequest(
                explanation='limit param must be positive')
        limit = min(limit, CONF.api.max_limit)
    return limit, req.GET.get('marker')


def limited(items: Sequence[Any], req: Any, key: str = 'id',
            ) -> list[Any]:
    """Apply ``marker``/``limit`` to an in-memory list (flavors,
    key pairs...); 400 if the marker is unknown."""
    limit, marker = pagination_params(req)
    start = 0
    if marker is not None:
        for index, item in enumerate(items):
            if str(get(item, key)) == marker:
                start = index + 1
                break
        else:
            raise webob.exc.HTTPBadRequest(
                explanation=f'marker [{marker}] not found')
    return list(items[start:start + limit])


def next_link(req: Any, collection: str, items: Sequence[Mapping[str, Any]],
              limit_used: int | None, key: str = 'id',
              ) -> list[dict[str, str]]:
    """The ``*_links`` next link when a full page was returned."""
    if not items or limit_used is None or len(items) < limit_used:
        return []
    params = {k: v for k, v in req.GET.items() if k != 'marker'}
    params['marker'] = str(items[-1][key])
    from urllib import parse
    query = parse.urlencode(params)
    return [{'rel': 'next',
             'href': req.application_url_for(collection) + '?' + query}]


def self_links(req: Any, collection: str, ident: Any,
               ) -> list[dict[str, str]]:
    """``self`` (versioned) and ``bookmark`` (unversioned) links."""
    versioned = req.application_url_for(collection, str(ident))
    root = req.host_url
    prefix = CONF.api.compute_link_prefix
    base = prefix.rstrip('/') if prefix else root
    script = req.script_name
    # The bookmark drops the version segment of the script name.
    unversioned_script = script.rsplit('/v2.1', 1)[0]
    bookmark = '/'.join([base + unversioned_script, collection,
                         str(ident)])
    return [{'rel': 'self', 'href': versioned},
            {'rel': 'bookmark', 'href': bookmark}]


#: The largest value of a database integer column (upstream's db.MAX_INT).
MAX_INT = 0x7FFFFFFF


def int_param(text: Any, name: str) -> int:
    """``text`` as an integer a database column can hold; 400 otherwise
    (a larger one would fail in the database with a 500)."""
    value = str(text).strip()
    if not value.lstrip('-').isdigit() or len(value) > 11 or \
            abs(int(value)) > MAX_INT:
        raise webob.exc.HTTPBadRequest(
            explanation=f'Invalid {name} {value[:40]!r}: an integer '
                        f'between -{MAX_INT} and {MAX_INT} is required')
    return int(value)


def bool_from_string(value: Any) -> bool:
    return str(value).strip().lower() in ('1', 't', 'true', 'on', 'y',
                                          'yes')
