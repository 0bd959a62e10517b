"""Upvotes and saves counted per paper: the raw signals trending is computed from."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from papersift.store.db import insert_ignore
from papersift.store.schema import LibraryEntry, Vote, utcnow


def add_vote(s: Session, user_id: int, paper_num: int) -> bool:
    """Record a vote; False when the user had already voted (a second vote is a no-op)."""
    values = {"user_id": user_id, "paper_num": paper_num, "created_at": utcnow()}
    return insert_ignore(s, Vote, values)


def remove_vote(s: Session, user_id: int, paper_num: int) -> bool:
    result = s.execute(delete(Vote).where(Vote.user_id == user_id, Vote.paper_num == paper_num))
    return bool(getattr(result, "rowcount", 0))


def vote_counts(
    s: Session, nums: Iterable[int] | None = None, since: datetime | None = None
) -> dict[int, int]:
    """Votes per paper (for ``nums``, or every voted paper), optionally only those since a time."""
    q = select(Vote.paper_num, func.count()).group_by(Vote.paper_num)
    if nums is not None:
        q = q.where(Vote.paper_num.in_(list(nums)))
    if since is not None:
        q = q.where(Vote.created_at >= since)
    return {num: int(n) for num, n in s.execute(q)}


def save_counts(s: Session, nums: Iterable[int] | None = None) -> dict[int, int]:
    q = (
        select(LibraryEntry.paper_num, func.count())
        .where(LibraryEntry.saved_at.is_not(None))
        .group_by(LibraryEntry.paper_num)
    )
    if nums is not None:
        q = q.where(LibraryEntry.paper_num.in_(list(nums)))
    return {num: int(n) for num, n in s.execute(q)}


def voted_by(s: Session, user_id: int, nums: Iterable[int]) -> set[int]:
    q = select(Vote.paper_num).where(Vote.user_id == user_id, Vote.paper_num.in_(list(nums)))
    return set(s.scalars(q))
