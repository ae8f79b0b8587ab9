"""Column types shared by the models and the migrations.

Migrations import these too, so a type used by a released migration must
keep its meaning for good.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql


def DateTime() -> sa.types.TypeEngine:  # noqa: N802 (reads like a type)
    """Naive UTC timestamps with microseconds on every backend.

    MySQL's DATETIME drops fractions of a second unless told otherwise;
    stage durations of a few milliseconds would then read as zero.
    """
    return sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql',
                                      'mariadb')


def MediumText() -> sa.types.TypeEngine:  # noqa: N802
    """Text for values over 64 KiB (user data, tracebacks, JSON blobs).

    TEXT is already unbounded on PostgreSQL and SQLite; only MySQL needs
    the bigger type.
    """
    return sa.Text().with_variant(mysql.MEDIUMTEXT(), 'mysql', 'mariadb')


class JSONEncoded(sa.types.TypeDecorator):
    """A JSON document stored as text.

    Text rather than the native JSON types: the three backends' JSON types
    differ (MariaDB's is LONGTEXT with a check constraint), nothing here
    queries inside the documents except by substring, and text keeps the
    schema identical everywhere.  ``None`` is stored as NULL.
    """

    impl = sa.Text
    cache_ok = True

    def load_dialect_impl(self, dialect: sa.Dialect) -> sa.types.TypeEngine:
        if dialect.name in ('mysql', 'mariadb'):
            return dialect.type_descriptor(mysql.MEDIUMTEXT())
        return dialect.type_descriptor(sa.Text())

    def process_bind_param(self, value: Any, dialect: sa.Dialect
                           ) -> str | None:
        if value is None:
            return None
        return json.dumps(value, separators=(',', ':'), sort_keys=True,
                          default=str)

    def process_result_value(self, value: str | None,
                             dialect: sa.Dialect) -> Any:
        if value is None:
            return None
        return json.loads(value)
