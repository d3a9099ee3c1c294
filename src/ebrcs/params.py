"""Query parameter types every domain shares: bounded paging and UTC datetimes."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Query
from pydantic import AfterValidator, BeforeValidator

MAX_OFFSET = 1_000_000
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]
"""How many rows to skip; capped so no database is asked for an absurd offset."""


def _iso_text(value: Any) -> Any:
    """Only ISO 8601 text is a datetime here (pydantic would read ``0.5`` as a Unix time)."""
    if isinstance(value, datetime) or (isinstance(value, str) and ISO_DATE.match(value)):
        return value
    raise ValueError("a datetime is ISO 8601 text, e.g. 2026-01-31T12:00:00Z")


def _in_utc(moment: datetime) -> datetime:
    """The moment in UTC (no zone means UTC); ValueError when UTC cannot represent it."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError as error:
        raise ValueError("the datetime is out of range once converted to UTC") from error


UtcDateTime = Annotated[datetime, BeforeValidator(_iso_text), AfterValidator(_in_utc)]
"""An ISO 8601 datetime, read as UTC when it has no zone, always returned in UTC."""
