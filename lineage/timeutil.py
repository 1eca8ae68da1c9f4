"""Parsing the times users and files give for when content was generated."""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any


def parse_time(value: Any) -> datetime | None:
    """A UTC datetime from an ISO date or datetime, epoch seconds, or a datetime; None for empty.

    A time with no zone is taken to be UTC. Raises ValueError for anything else.
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        # Milliseconds since the epoch are common in exported logs; seconds otherwise.
        seconds = value / 1000 if value > 10**11 else value
        try:
            return datetime.fromtimestamp(seconds, tz=timezone.utc)
        except (OverflowError, OSError, ValueError):
            raise ValueError(f"not a time in seconds or milliseconds since 1970: {value!r}") from None
    elif isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"not an ISO 8601 date or time: {value!r}") from None
    else:
        raise ValueError(f"not a date or time: {value!r}")
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    try:
        return moment.astimezone(timezone.utc)
    except OverflowError:
        raise ValueError(f"a time out of range: {value!r}") from None
