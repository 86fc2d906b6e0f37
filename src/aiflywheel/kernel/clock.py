"""Timestamps: always timezone-aware UTC, so SQLite and PostgreSQL agree."""

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator


def now() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes for UTC values; make them aware again."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


UtcDatetime = Annotated[datetime, AfterValidator(as_utc)]
