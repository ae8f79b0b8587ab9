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


#: The largest integer a database integer column holds (upstream nova's
#: ``db.MAX_INT``): bigger values are refused with 400 before any query.
MAX_INT = 0x7FFFFFFF


def _number_of(instance: Any) -> float | int | None:
    """The number a numeric string spells (JSON Schema's bounds apply only
    to numbers, so ``"0"`` would slip past ``minimum: 1``), else None.
    Absurdly long digit strings count as infinitely large."""
    if isinstance(instance, bool):
        return None
    if isinstance(instance, (int, float)):
        return instance
    if not isinstance(instance, str):
        return None
    text = instance.strip()
    if len(text) > 40:
        return float('inf') if text[:1].isdigit() else None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        return None
    return value


def _bound(keyword: str, check: Any) -> Any:
    def validate_bound(validator: Any, bound: Any, instance: Any,
                       schema: Any) -> Any:
        number = _number_of(instance)
        if number is None:
            return
        if not check(number, bound):
            shown = instance if not isinstance(instance, str) or \
                len(instance) <= 40 else instance[:40] + '...'
            yield jsonschema.ValidationError(
                f'{shown!r} is {_BOUND_WORDS[keyword]} {bound}')
    return validate_bound


_BOUND_WORDS = {'minimum': 'less than the minimum of',
                'maximum': 'greater than the maximum of',
                'exclusiveMinimum': 'less than or equal to the minimum of',
                'exclusiveMaximum': 'greater than or equal to the maximum of'}

#: Draft 2020-12, with numeric bounds applied to numeric strings too.
Validator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator, {
        'minimum': _bound('minimum', lambda n, b: n >= b),
        'maximum': _bound('maximum', lambda n, b: n <= b),
        'exclusiveMinimum': _bound('exclusiveMinimum', lambda n, b: n > b),
        'exclusiveMaximum': _bound('exclusiveMaximum', lambda n, b: n < b),
    })


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
    validator = Validator(schema, format_checker=FORMAT_CHECKER)
    error = jsonschema.exceptions.best_match(validator.iter_errors(instance))
    if error is not None:
        raise exception.ValidationError(detail=_message(error, query))


def check_schema(schema: dict[str, Any]) -> None:
    """Raise jsonschema.SchemaError if ``schema`` itself is malformed."""
    jsonschema.Draft202012Validator.check_schema(schema)
