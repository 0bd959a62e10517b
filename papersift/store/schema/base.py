"""The declarative base shared by every table, so one ``Base.metadata`` drives the migrations."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass


def utcnow() -> datetime:
    """Naive UTC, the one time convention of the store (SQLite keeps no time zones)."""
    return datetime.now(UTC).replace(tzinfo=None)
