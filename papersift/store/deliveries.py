"""The digest delivery ledger in SQL: one ``digest_deliveries`` row per (subscription, period).

What a run reads (the subscriptions due for a period, earlier failures whose backoff has
elapsed, what each subscriber was already sent) and the writes that move a row through
pending -> sent / failed / empty. The writes are compare-and-set statements, so two runs (cron
and the scheduler in ``serve``) can work on the same period at once: the database, not a
read-then-write in Python, decides which run owns a (subscription, period) row. See
papersift.mail.delivery for the protocol. The subscription records themselves are in
papersift.store.subscriptions.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from papersift.store.db import insert_ignore
from papersift.store.schema import DigestDelivery, Subscription
from papersift.store.subscriptions import active_filter

RETRYABLE = ("pending", "failed")


# -- what is due -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class DueRow:
    """An active subscription and, if any, its delivery row for the period being sent."""

    id: int
    email: str
    user_id: int | None
    content: list[str]
    options: dict[str, Any]
    token_version: int
    status: str | None = None
    attempts: int = 0
    claimed_by: str | None = None
    claimed_until: datetime | None = None
    next_attempt_at: datetime | None = None


_DUE_COLUMNS = (
    Subscription.id,
    Subscription.email,
    Subscription.user_id,
    Subscription.content,
    Subscription.options,
    Subscription.token_version,
    DigestDelivery.status,
    DigestDelivery.attempts,
    DigestDelivery.claimed_by,
    DigestDelivery.claimed_until,
    DigestDelivery.next_attempt_at,
)


def _due_query(frequency: str, period: str) -> Any:
    joined = and_(
        DigestDelivery.subscription_id == Subscription.id, DigestDelivery.period == period
    )
    return (
        select(*_DUE_COLUMNS)
        .outerjoin(DigestDelivery, joined)
        .where(
            Subscription.frequency == frequency,
            active_filter(),
            or_(DigestDelivery.id.is_(None), DigestDelivery.status.in_(RETRYABLE)),
        )
    )


def _row(r: Sequence[Any]) -> DueRow:
    return DueRow(
        id=r[0],
        email=r[1],
        user_id=r[2],
        content=list(r[3] or []),
        options=dict(r[4] or {}),
        token_version=r[5],
        status=r[6],
        attempts=r[7] or 0,
        claimed_by=r[8],
        claimed_until=r[9],
        next_attempt_at=r[10],
    )


Shard = tuple[int, int]  # (index, count): the subscriptions with id % count == index


def _sharded(q: Any, shard: Shard | None) -> Any:
    return q if shard is None else q.where(Subscription.id % shard[1] == shard[0])


def due_batch(
    s: Session,
    frequency: str,
    period: str,
    *,
    after_id: int = 0,
    limit: int = 1000,
    shard: Shard | None = None,
) -> list[DueRow]:
    """Active subscriptions of ``frequency`` with no finished delivery for ``period``, by id."""
    q = (
        _sharded(_due_query(frequency, period), shard)
        .where(Subscription.id > after_id)
        .order_by(Subscription.id)
        .limit(limit)
    )
    return [_row(r) for r in s.execute(q)]


def due_count(s: Session, frequency: str, period: str, shard: Shard | None = None) -> int:
    q = select(func.count()).select_from(_sharded(_due_query(frequency, period), shard).subquery())
    return int(s.scalar(q) or 0)


def due_for(s: Session, subscription_id: int, period: str) -> DueRow | None:
    """One subscription's state for a period (for retries of an earlier period)."""
    sub = s.get(Subscription, subscription_id)
    if sub is None or sub.confirmed_at is None or sub.unsubscribed_at is not None:
        return None
    q = _due_query(sub.frequency, period).where(Subscription.id == subscription_id)
    r = s.execute(q).first()
    return _row(r) if r is not None else None


def retries_due(
    s: Session, now: datetime, *, created_after: datetime, skip_periods: Iterable[str]
) -> list[tuple[int, str]]:
    """Failed deliveries (of other periods) whose backoff has elapsed: (subscription, period)."""
    q = (
        select(DigestDelivery.subscription_id, DigestDelivery.period)
        .where(
            DigestDelivery.status == "failed",
            DigestDelivery.next_attempt_at <= now,
            DigestDelivery.created_at >= created_after,
            DigestDelivery.period.not_in(list(skip_periods)),
        )
        .order_by(DigestDelivery.period, DigestDelivery.subscription_id)
    )
    return [(int(a), str(b)) for a, b in s.execute(q)]


@dataclass(frozen=True)
class History:
    sent_ids: set[str]
    last_sent_at: datetime | None


def history(s: Session, subscription_ids: Sequence[int], since: datetime) -> dict[int, History]:
    """Paper ids already mailed to each subscription (digests sent since ``since``)."""
    out: dict[int, History] = {}
    if not subscription_ids:
        return out
    q = select(
        DigestDelivery.subscription_id, DigestDelivery.paper_ids, DigestDelivery.sent_at
    ).where(
        DigestDelivery.subscription_id.in_(list(subscription_ids)),
        DigestDelivery.status == "sent",
        DigestDelivery.created_at >= since,
    )
    for sub_id, ids, sent_at in s.execute(q):
        h = out.get(sub_id)
        if h is None:
            h = out[sub_id] = History(set(), sent_at)
        elif sent_at is not None and (h.last_sent_at is None or sent_at > h.last_sent_at):
            h = out[sub_id] = History(h.sent_ids, sent_at)
        h.sent_ids.update(ids or [])
    return out


# -- claiming and recording ------------------------------------------------------------------------
def claim(
    s: Session,
    *,
    subscription_id: int,
    period: str,
    owner: str,
    until: datetime,
    now: datetime,
    message_id: str,
    paper_ids: list[str],
    status: str = "pending",
    stale_owner: str | None = None,
) -> bool:
    """Take the (subscription, period) row for this run; True when it is ours.

    A new row is inserted (a unique key decides between racing runs); an existing one is taken
    only while it is unfinished ("pending"/"failed"), its lease has expired (or was held by
    ``stale_owner``, a run known to be dead) and, for a failed one, its backoff has elapsed.
    With ``status="empty"`` the row is settled in the same statement (nothing to send).
    """
    finished = status != "pending"
    values = {
        "subscription_id": subscription_id,
        "period": period,
        "status": status,
        "message_id": None if finished else message_id,
        "attempts": 0 if finished else 1,
        "created_at": now,
        "updated_at": now,
        "claimed_by": None if finished else owner,
        "claimed_until": None if finished else until,
        "paper_ids": paper_ids,
    }
    if insert_ignore(s, DigestDelivery, values):
        return True
    lease_free = [DigestDelivery.claimed_until.is_(None), DigestDelivery.claimed_until < now]
    if stale_owner is not None:
        lease_free.append(DigestDelivery.claimed_by == stale_owner)
    stmt = (
        update(DigestDelivery)
        .where(
            DigestDelivery.subscription_id == subscription_id,
            DigestDelivery.period == period,
            DigestDelivery.status.in_(RETRYABLE),
            or_(*lease_free),
            or_(DigestDelivery.status == "pending", DigestDelivery.next_attempt_at <= now),
        )
        .values(
            status=status,
            message_id=values["message_id"],
            attempts=DigestDelivery.attempts + (0 if finished else 1),
            updated_at=now,
            claimed_by=values["claimed_by"],
            claimed_until=values["claimed_until"],
            next_attempt_at=None,
            paper_ids=paper_ids,
        )
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(s.execute(stmt), "rowcount", 0))


def settle_empty_new(
    s: Session, subscription_ids: Sequence[int], period: str, now: datetime
) -> int:
    """Log "nothing new" for subscriptions with no row yet for ``period``, in one statement;
    returns how many rows were added (a racing run may have added some first)."""
    if not subscription_ids:
        return 0
    rows = [
        {"subscription_id": i, "period": period, "status": "empty", "attempts": 0,
         "created_at": now, "updated_at": now, "paper_ids": []}
        for i in subscription_ids
    ]  # fmt: skip
    if s.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    taken = s.scalar(
        select(func.count()).where(
            DigestDelivery.period == period,
            DigestDelivery.subscription_id.in_(list(subscription_ids)),
        )
    )
    s.execute(insert(DigestDelivery).on_conflict_do_nothing(), rows)
    return len(rows) - int(taken or 0)  # (executemany reports no reliable rowcount)


def _finish(s: Session, subscription_id: int, period: str, owner: str, **values: Any) -> bool:
    stmt = (
        update(DigestDelivery)
        .where(
            DigestDelivery.subscription_id == subscription_id,
            DigestDelivery.period == period,
            DigestDelivery.claimed_by == owner,
        )
        .values(claimed_by=None, claimed_until=None, **values)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(s.execute(stmt), "rowcount", 0))


def mark_sent(s: Session, subscription_id: int, period: str, owner: str, now: datetime) -> bool:
    """Record that SMTP accepted the message; False when our lease had been taken over."""
    return _finish(
        s, subscription_id, period, owner, status="sent", sent_at=now, updated_at=now,
        last_error=None,
    )  # fmt: skip


def mark_failed(
    s: Session,
    subscription_id: int,
    period: str,
    owner: str,
    now: datetime,
    error: str,
    next_attempt_at: datetime | None,
) -> bool:
    return _finish(
        s, subscription_id, period, owner, status="failed", updated_at=now,
        last_error=error[:2000], next_attempt_at=next_attempt_at,
    )  # fmt: skip


def release(s: Session, subscription_id: int, period: str, owner: str, now: datetime) -> bool:
    """Give a claimed row back untouched (the subscription was unsubscribed meanwhile)."""
    return _finish(
        s, subscription_id, period, owner, status="failed", next_attempt_at=None,
        last_error="unsubscribed before sending", updated_at=now,
    )  # fmt: skip


def delivery(s: Session, subscription_id: int, period: str) -> DigestDelivery | None:
    return s.scalar(
        select(DigestDelivery).where(
            DigestDelivery.subscription_id == subscription_id, DigestDelivery.period == period
        )
    )
