"""The JSON-schema validator and its error messages."""

from __future__ import annotations

import re
import uuid
from typing import Any

import jsonschema
from oslo_utils import timeutils

from nova import exception

FORMAT_CHECKER = jsonschema.FormatChecker()


@FORMAT_CHECKER.checks('uuid')
def _is_uuid(value: object) -> bool:
    if not isinstance(value, str):
        return True
    try:
        return str(uuid.UUID(value)).replace('-', '') == \
            value.replace('-', '').lower()
    except ValueError:
        return False


@FORMAT_CHECKER.checks('date-time')
def _is_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    try:
        timeutils.parse_isotime(value)
    except ValueError:
        return False
    return True


@FORMAT_CHECKER.checks('regex')
def _is_regex(value: object) -> bool:
    if not isinstance(value, str):
        return True
    try:
        re.compile(value)
    except re.error:
        return False
    return True


def _path(error: jsonschema.ValidationError) -> str:
    return '/'.join(str(p) for p in error.absolute_path)


def _message(error: jsonschema.ValidationError, query: bool) -> str:
    # anyOf/oneOf report their least helpful member; the deepest error
    # inside the best match names the field that is actually wrong.
    best = jsonschema.exceptions.best_match([error]) or error
    path = _path(best)
    what = 'query parameter' if query else 'field/attribute'
    if best.validator == 'additionalProperties':
        return _additional(best, path, query)
    if best.validator == 'required':
        return f"Invalid input: {best.message}" + (
            f' in {path}' if path else '')
    value = best.instance
    if isinstance(value, str) and len(value) > 255:
        value = value[:255] + '...'
    return (f'Invalid input for {what} {path or "body"}. '
            f'Value: {value!r}. {best.message}')


def _additional(error: jsonschema.ValidationError, path: str,
                query: bool) -> str:
    where = f' in {path}' if path else ''
    kind = 'Query parameters' if query else 'Additional properties'
    return f'{kind} are not allowed{where}: {error.message}'


def validate(schema: dict[str, Any], instance: Any, *,
             query: bool = False) -> None:
    """Raise ValidationError (400) unless ``instance`` fits ``schema``."""
    validator = jsonschema.Draft202012Validator(
        schema, format_checker=FORMAT_CHECKER)
    error = jsonschema.exceptions.best_match(validator.iter_errors(instance))
    if error is not None:
        raise exception.ValidationError(detail=_message(error, query))


def check_schema(schema: dict[str, Any]) -> None:
    """Raise jsonschema.SchemaError if ``schema`` itself is malformed."""
    jsonschema.Draft202012Validator.check_schema(schema)
