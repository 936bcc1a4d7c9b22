"""Timestamps as stored in the transactions table: ISO-8601 UTC with milliseconds and a `Z`, so that they
sort as strings in the same order as in time (the GSIs' range key relies on that)."""

from __future__ import annotations

from datetime import datetime, timezone


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def iso_timestamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
