"""Subscription records in SQL: lookup, creation, the active filter, the admin listing.

Also the per-user data a digest needs in bulk (usernames, saved searches). The per-period
delivery ledger that digest runs claim and record in is papersift.store.deliveries.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from papersift.store.schema import DigestDelivery, SavedSearch, Subscription, User


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


# -- what a digest needs about each subscriber's account ------------------------------------------
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
