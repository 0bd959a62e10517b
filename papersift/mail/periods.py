"""Digest periods: the unit of "at most one digest", named so a person can read the log.

A daily period is a UTC date (``2026-11-23``), a weekly one an ISO week (``2026-W48``, Monday to
Sunday). The digest of a period is sent during it and *covers* the period before, which is
complete by then: the daily digest of 2026-11-23 carries the daily list of 2026-11-22 and what
trended that day; the weekly digest of 2026-W48 carries week 47. So re-composing a period later
(a retry, ``--date`` in the past) gives the same sections.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal

Frequency = Literal["daily", "weekly"]
FREQUENCIES: tuple[Frequency, ...] = ("daily", "weekly")
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


@dataclass(frozen=True)
class Period:
    frequency: Frequency
    key: str  # "2026-11-23" or "2026-W48"
    start: date  # first day of the period
    end: date  # last day of the period

    @property
    def covers(self) -> tuple[date, date]:
        """The days this period's digest reports on: the previous period."""
        length = self.end - self.start + timedelta(days=1)
        return self.start - length, self.start - timedelta(days=1)

    @property
    def as_of(self) -> datetime:
        """The moment the covered days end (naive UTC): trending is computed as of then."""
        return datetime.combine(self.start, time.min) - timedelta(microseconds=1)

    def label(self) -> str:
        first, last = self.covers
        if self.frequency == "daily":
            return f"{first:%A, %d %B %Y}"
        return f"week of {first:%d %B} to {last:%d %B %Y}"


def period_of(day: date, frequency: Frequency) -> Period:
    """The period of ``frequency`` that contains ``day``."""
    if frequency == "daily":
        return Period("daily", day.isoformat(), day, day)
    if frequency == "weekly":
        year, week, weekday = day.isocalendar()
        monday = day - timedelta(days=weekday - 1)
        return Period("weekly", f"{year}-W{week:02d}", monday, monday + timedelta(days=6))
    raise ValueError(f"unknown digest frequency {frequency!r} (daily or weekly)")


def parse_period(key: str) -> Period:
    """The period a key names (``2026-11-23`` or ``2026-W48``)."""
    m = _WEEK.match(key)
    if m:
        return period_of(date.fromisocalendar(int(m.group(1)), int(m.group(2)), 1), "weekly")
    try:
        return period_of(date.fromisoformat(key), "daily")
    except ValueError:
        raise ValueError(f"not a digest period: {key!r} (e.g. 2026-11-23 or 2026-W48)") from None
