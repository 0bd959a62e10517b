"""Digest subscriptions and the delivery log that makes sending exactly-once per period."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from papersift.store.schema.base import Base, utcnow


class Subscription(Base):
    """An email address that asked for digests; nothing is sent until ``confirmed_at`` is set."""

    __tablename__ = "subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(String(320), unique=True, nullable=False)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    frequency: Mapped[str] = mapped_column(String(10), default="daily", nullable=False)
    # Which sections the digest has: "trending", "daily", "searches", "recommendations".
    content: Mapped[list[str]] = mapped_column(JSON, default=list, nullable=False)
    # Anything else a section needs (categories for trending, ...).
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Bumped on unsubscribe/re-subscribe so links in older mails stop working.
    token_version: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    # When the last confirmation (or "already subscribed") mail went out: re-sending is
    # rate-limited per address, so the subscribe form cannot be used to flood an inbox.
    confirm_sent_at: Mapped[datetime | None] = mapped_column(DateTime)


class DigestDelivery(Base):
    """One digest for one subscriber and period ("2026-11-23" or "2026-W48").

    The unique key is what makes a re-run safe: a period has at most one row per subscriber, and
    its ``status`` says how far it got (see papersift.mail for the exact guarantee).
    """

    __tablename__ = "digest_deliveries"
    __table_args__ = (
        UniqueConstraint("subscription_id", "period", name="uq_delivery_subscription_period"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="CASCADE"), nullable=False
    )
    period: Mapped[str] = mapped_column(String(20), index=True, nullable=False)
    # "pending" (claimed, not yet accepted by SMTP), "sent", "empty" (nothing new), "failed".
    status: Mapped[str] = mapped_column(String(10), nullable=False)
    message_id: Mapped[str | None] = mapped_column(String(250))
    attempts: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Set on failure: the earliest time a later run retries (exponential backoff); NULL on a
    # failed row means it was given up after papersift.mail.delivery.MAX_ATTEMPTS.
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime)
    # The lease: which run holds the row ("host:pid:nonce") and until when. A run claims a row
    # (and commits) before it talks to SMTP; another run takes it over only once the lease has
    # expired or, on the same host, once the holder's process is gone.
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime)
    # The paper ids the digest contained, so the next digest only carries what is new.
    paper_ids: Mapped[list[str]] = mapped_column(JSON, default=list, nullable=False)


Index("ix_delivery_retry", DigestDelivery.status, DigestDelivery.next_attempt_at)
