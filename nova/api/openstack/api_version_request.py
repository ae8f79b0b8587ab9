"""Microversions: parsing, comparing, and the range this API serves.

Every change of a request or response shape is gated on a microversion;
docs/api/microversions.md lists each one that concerns a resource served
here and the code that implements it.  The maximum is 2.100 because that
is what openstackclient and openstacksdk cap servers at and every change
up to it that touches a served resource is implemented (the doc says which
ones concern resources this API does not serve).
"""

from __future__ import annotations

import functools
import re

from nova import exception

MIN_VERSION = '2.1'
MAX_VERSION = '2.100'

# At most 9 digits a part: a longer number is never a served version, and
# int() of thousands of digits raises instead of comparing.
_VERSION_RE = re.compile(r'^([1-9]\d{0,8})\.([1-9]\d{0,8}|0)$')


@functools.total_ordering
class APIVersionRequest:
    """A ``MAJOR.MINOR`` microversion; compares with others and strings."""

    __slots__ = ('major', 'minor')

    def __init__(self, version: str) -> None:
        match = _VERSION_RE.match(version or '')
        if match is None:
            raise exception.InvalidAPIVersionString(version=version)
        self.major = int(match.group(1))
        self.minor = int(match.group(2))

    @staticmethod
    def _coerce(other: object) -> tuple[int, int]:
        if isinstance(other, APIVersionRequest):
            return other.major, other.minor
        if isinstance(other, str):
            parsed = APIVersionRequest(other)
            return parsed.major, parsed.minor
        raise TypeError(f'cannot compare a microversion with {other!r}')

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, (APIVersionRequest, str)):
            return NotImplemented
        return (self.major, self.minor) == self._coerce(other)

    def __lt__(self, other: object) -> bool:
        return (self.major, self.minor) < self._coerce(other)

    def __hash__(self) -> int:
        return hash((self.major, self.minor))

    def __str__(self) -> str:
        return f'{self.major}.{self.minor}'

    def __repr__(self) -> str:
        return f'APIVersionRequest({str(self)!r})'

    def matches(self, min_version: str | None = None,
                max_version: str | None = None) -> bool:
        """True if ``min_version <= self <= max_version`` (bounds optional).
        """
        if min_version is not None and self < min_version:
            return False
        if max_version is not None and self > max_version:
            return False
        return True


def min_api_version() -> APIVersionRequest:
    return APIVersionRequest(MIN_VERSION)


def max_api_version() -> APIVersionRequest:
    """The highest microversion served: MAX_VERSION, or lower if the
    operator capped it with ``[api] max_api_version``."""
    import nova.conf
    cap = nova.conf.CONF.api.max_api_version
    highest = APIVersionRequest(MAX_VERSION)
    if cap:
        capped = APIVersionRequest(cap)
        if min_api_version() <= capped < highest:
            return capped
    return highest


def is_supported(version: APIVersionRequest) -> bool:
    return min_api_version() <= version <= max_api_version()
