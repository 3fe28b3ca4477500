"""Column types shared by the models."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

import sqlalchemy as sa


def enum_column(enum: type[StrEnum], name: str) -> sa.Enum:
    """A portable enum: VARCHAR plus a named CHECK constraint (no native PostgreSQL type)."""
    return sa.Enum(
        enum,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(sa.TypeDecorator[datetime]):
    """Timestamps stored in UTC; SQLite drops the zone, so it is put back on the way out."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


# SQLite only auto-increments an INTEGER PRIMARY KEY, not a BIGINT one.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
