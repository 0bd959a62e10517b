"""Reading the day/week/month a list is asked for: ``2026-11-23``, ``2026-W48``, ``2026-11``."""

from __future__ import annotations

import calendar
import re
from datetime import date, timedelta

from papersift.index.query import QueryError

_WEEK = re.compile(r"^(\d{4})-W(\d{1,2})$")
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")


def parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise QueryError(f"not a date (YYYY-MM-DD): {text[:40]!r}") from None


def week_range(text: str) -> tuple[date, date]:
    m = _WEEK.match(text.strip())
    try:
        if not m:
            raise ValueError
        start = date.fromisocalendar(int(m.group(1)), int(m.group(2)), 1)
    except ValueError:
        raise QueryError(f"not an ISO week (YYYY-Www, e.g. 2026-W48): {text[:40]!r}") from None
    return start, start + timedelta(days=6)


def month_range(text: str) -> tuple[date, date]:
    m = _MONTH.match(text.strip())
    if not m or not 1 <= int(m.group(2)) <= 12 or int(m.group(1)) < 1:
        raise QueryError(f"not a month (YYYY-MM): {text[:40]!r}")
    year, month = int(m.group(1)), int(m.group(2))
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def period_range(
    day: str | None, week: str | None, month: str | None, today: date
) -> tuple[date, date]:
    """The first and last day asked for; at most one of day/week/month may be given."""
    given = [v for v in (day, week, month) if v]
    if len(given) > 1:
        raise QueryError("give one of date, week or month")
    if week:
        return week_range(week)
    if month:
        return month_range(month)
    d = parse_day(day) if day else today
    return d, d
