"""Schemas of os-migrations and /servers/{id}/migrations."""

from __future__ import annotations

from typing import Any

from nova.api.validation import parameter_types as types

#: The filters every microversion accepts (a key may repeat; the last
#: value is the one used, as upstream).
_FILTERS = ('hidden', 'host', 'instance_uuid', 'source_compute', 'status',
            'migration_type')


def list_query(version: Any) -> dict[str, Any]:
    """The query string of ``GET /os-migrations`` at ``version``.

    Before 2.59 any other parameter is accepted (and ignored); from 2.59
    only the listed ones, with ``limit``/``marker``/``changes-since``
    checked; 2.66 adds ``changes-before``, 2.80 ``user_id``/``project_id``.
    """
    string = {'type': 'string'}
    properties: dict[str, Any] = {
        key: types.multi_param(string) for key in _FILTERS}
    if version >= '2.59':
        properties.update({
            'limit': types.single_param(types.non_negative_integer),
            'marker': types.single_param(string),
            'changes-since': types.single_param(
                {'type': 'string', 'format': 'date-time'}),
        })
    if version >= '2.66':
        properties['changes-before'] = types.single_param(
            {'type': 'string', 'format': 'date-time'})
    if version >= '2.80':
        properties['user_id'] = types.single_param(string)
        properties['project_id'] = types.single_param(string)
    return {'type': 'object', 'properties': properties,
            'additionalProperties': version < '2.59'}


force_complete: dict[str, Any] = {
    'type': 'object',
    'properties': {'force_complete': {'type': 'null'}},
    'required': ['force_complete'],
    'additionalProperties': False,
}
