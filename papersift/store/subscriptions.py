"""Subscriptions and the digest delivery log in SQL.

The delivery log's writes are compare-and-set statements, so two runs (cron and the scheduler in
``serve``) can work on the same period at once: the database, not a read-then-write in Python,
decides which run owns a (subscription, period) row. See papersift.mail.delivery for the protocol.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from papersift.store.db import insert_ignore
from papersift.store.schema import DigestDelivery, SavedSearch, Subscription, User

RETRYABLE = ("pending", "failed")


# -- subscriptions --------------------------------------------------------------------------------
def by_email(s: Session, email: str) -> Subscription | None:
    return s.scalar(select(Subscription).where(Subscription.email == email))


def by_id(s: Session, subscription_id: int) -> Subscription | None:
    return s.get(Subscription, subscription_id)


def add(
    s: Session,
    *,
    email: str,
    frequency: str,
    content: list[str],
    options: dict[str, Any],
    user_id: int | None,
    now: datetime,
) -> Subscription:
    sub = Subscription(
        email=email,
        frequency=frequency,
        content=content,
        options=options,
        user_id=user_id,
        created_at=now,
        token_version=0,
    )
    s.add(sub)
    s.flush()
    return sub


def active_filter() -> Any:
    return and_(Subscription.confirmed_at.is_not(None), Subscription.unsubscribed_at.is_(None))


def is_active(s: Session, subscription_id: int) -> bool:
    q = select(Subscription.id).where(Subscription.id == subscription_id, active_filter())
    return s.scalar(q) is not None


def user_id_for_email(s: Session, email: str) -> int | None:
    return s.scalar(select(User.id).where(User.email == email))


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


def saved_searches(s: Session, user_ids: Iterable[int]) -> dict[int, list[tuple[str, str, str]]]:
    """(slug, name, query) of each user's saved searches."""
    ids = sorted(set(user_ids))
    out: dict[int, list[tuple[str, str, str]]] = {}
    if not ids:
        return out
    q = (
        select(SavedSearch.user_id, SavedSearch.slug, SavedSearch.name, SavedSearch.query)
        .where(SavedSearch.user_id.in_(ids))
        .order_by(SavedSearch.user_id, SavedSearch.name)
    )
    for uid, slug, name, query in s.execute(q):
        out.setdefault(uid, []).append((slug, name, query))
    return out


def users(s: Session, user_ids: Iterable[int]) -> dict[int, tuple[str, bool]]:
    """(username, is_admin) per user id."""
    ids = sorted(set(user_ids))
    if not ids:
        return {}
    q = select(User.id, User.username, User.is_admin).where(User.id.in_(ids))
    return {uid: (name, bool(admin)) for uid, name, admin in s.execute(q)}


# -- the delivery log ------------------------------------------------------------------------------
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
    stmt = (
        update(DigestDelivery)
        .where(
            DigestDelivery.subscription_id == subscription_id,
            DigestDelivery.period == period,
            DigestDelivery.claimed_by == owner,
        )
        .values(claimed_by=None, claimed_until=None, status="failed", next_attempt_at=None,
                last_error="unsubscribed before sending", updated_at=now)
        .execution_options(synchronize_session=False)
    )  # fmt: skip
    return bool(getattr(s.execute(stmt), "rowcount", 0))


# -- listing ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SubscriptionRow:
    id: int
    email: str
    username: str | None
    frequency: str
    content: list[str]
    state: str  # "unconfirmed", "active", "unsubscribed"
    created_at: datetime
    last_period: str | None
    last_status: str | None
    failures: int


def listing(s: Session, limit: int = 1000) -> list[SubscriptionRow]:
    last = (
        select(DigestDelivery.subscription_id, func.max(DigestDelivery.id).label("last_id"))
        .group_by(DigestDelivery.subscription_id)
        .subquery()
    )
    failures = (
        select(DigestDelivery.subscription_id, func.count().label("n"))
        .where(DigestDelivery.status == "failed")
        .group_by(DigestDelivery.subscription_id)
        .subquery()
    )
    q = (
        select(Subscription, User.username, DigestDelivery.period, DigestDelivery.status,
               failures.c.n)
        .outerjoin(User, User.id == Subscription.user_id)
        .outerjoin(last, last.c.subscription_id == Subscription.id)
        .outerjoin(DigestDelivery, DigestDelivery.id == last.c.last_id)
        .outerjoin(failures, failures.c.subscription_id == Subscription.id)
        .order_by(Subscription.id)
        .limit(limit)
    )  # fmt: skip
    out = []
    for sub, username, period, status, n in s.execute(q):
        state = (
            "unsubscribed"
            if sub.unsubscribed_at is not None
            else "active"
            if sub.confirmed_at is not None
            else "unconfirmed"
        )
        out.append(
            SubscriptionRow(
                id=sub.id,
                email=sub.email,
                username=username,
                frequency=sub.frequency,
                content=list(sub.content or []),
                state=state,
                created_at=sub.created_at,
                last_period=period,
                last_status=status,
                failures=int(n or 0),
            )
        )
    return out


def delivery(s: Session, subscription_id: int, period: str) -> DigestDelivery | None:
    return s.scalar(
        select(DigestDelivery).where(
            DigestDelivery.subscription_id == subscription_id, DigestDelivery.period == period
        )
    )
