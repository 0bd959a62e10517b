"""Daily lists: which papers were put on which day, by whom."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from papersift.records import PaperRecord
from papersift.store.db import insert_ignore
from papersift.store.schema import DailyEntry, Paper, User, utcnow


@dataclass(frozen=True)
class DailyRow:
    day: date
    paper_num: int
    submitter: str | None
    source: str
    submitted_at: datetime


def add_entry(
    s: Session, day: date, paper_num: int, submitter_id: int | None, source: str = "user"
) -> bool:
    """Put a paper on a day's list; False when it is already there (once per day)."""
    values = {
        "day": day,
        "paper_num": paper_num,
        "submitter_id": submitter_id,
        "source": source,
        "created_at": utcnow(),
    }
    return insert_ignore(s, DailyEntry, values)


def entries(s: Session, start: date, end: date, submitter: str | None = None) -> list[DailyRow]:
    """Entries with ``start <= day <= end``, optionally only one user's submissions."""
    q = (
        select(DailyEntry, User.username)
        .outerjoin(User, User.id == DailyEntry.submitter_id)
        .where(DailyEntry.day >= start, DailyEntry.day <= end)
        .order_by(DailyEntry.day.desc(), DailyEntry.id)
    )
    if submitter is not None:
        q = q.where(func.lower(User.username) == submitter.lower())
    return [DailyRow(e.day, e.paper_num, name, e.source, e.created_at) for e, name in s.execute(q)]


def first_days(s: Session, nums: Iterable[int]) -> dict[int, date]:
    """The first day each paper appeared on a daily list (its community "age")."""
    q = (
        select(DailyEntry.paper_num, func.min(DailyEntry.day))
        .where(DailyEntry.paper_num.in_(list(nums)))
        .group_by(DailyEntry.paper_num)
    )
    return {num: day for num, day in s.execute(q)}


def days_with_entries(s: Session, start: date, end: date) -> dict[date, int]:
    q = (
        select(DailyEntry.day, func.count())
        .where(DailyEntry.day >= start, DailyEntry.day <= end)
        .group_by(DailyEntry.day)
    )
    return {day: int(n) for day, n in s.execute(q)}


def latest_day(s: Session, on_or_before: date | None = None) -> date | None:
    """The most recent day that has a list (up to ``on_or_before``, when given)."""
    q = select(func.max(DailyEntry.day))
    if on_or_before is not None:
        q = q.where(DailyEntry.day <= on_or_before)
    return s.scalar(q)


IMPORTED_SOURCE = "import:hf-daily"


def add_listed(s: Session, records: Iterable[PaperRecord]) -> int:
    """Put papers that came from another site's daily list on the same day's list here.

    A Hugging Face daily-papers file says which day each paper was listed (``hf_daily_date``);
    importing it therefore imports the list too, marked with its source and no submitter.
    """
    added = 0
    for r in records:
        raw = (r.extra or {}).get("hf_daily_date")
        if not raw or not r.arxiv_id:
            continue
        try:
            day = date.fromisoformat(str(raw)[:10])
        except ValueError:
            continue
        num = s.scalar(select(Paper.num).where(Paper.arxiv_id == r.arxiv_id))
        if num is not None:
            added += add_entry(s, day, num, None, IMPORTED_SOURCE)
    return added
