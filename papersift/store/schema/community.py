"""What people do with papers: votes, daily lists, comments, libraries, tags, saved searches.

Papers are referenced by ``papers.num`` (the compact key that survives an id upgrade from
``title:`` to ``arxiv:``), users by ``users.id``; deleting a user deletes everything of theirs.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
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


def _user_fk() -> Mapped[int]:
    return mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)


def _paper_fk(*, primary_key: bool = False) -> Mapped[int]:
    return mapped_column(
        ForeignKey("papers.num", ondelete="CASCADE"), primary_key=primary_key, nullable=False
    )


class Vote(Base):
    """One upvote per user per paper; undoing a vote deletes the row."""

    __tablename__ = "votes"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    paper_num: Mapped[int] = _paper_fk(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)


class DailyEntry(Base):
    """A paper on a day's list: submitted by a user, or added by an automatic feed."""

    __tablename__ = "daily_entries"
    __table_args__ = (UniqueConstraint("day", "paper_num", name="uq_daily_day_paper"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    day: Mapped[date] = mapped_column(Date, index=True, nullable=False)
    paper_num: Mapped[int] = _paper_fk()
    submitter_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # "user", or "auto:<feed name>" for papers an automatic feed put on the list.
    source: Mapped[str] = mapped_column(String(80), default="user", nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)


class Comment(Base):
    """A markdown comment; deleted ones keep their row so replies stay threaded."""

    __tablename__ = "comments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    paper_num: Mapped[int] = mapped_column(
        ForeignKey("papers.num", ondelete="CASCADE"), index=True, nullable=False
    )
    user_id: Mapped[int] = _user_fk()
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"))
    body: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    edited_at: Mapped[datetime | None] = mapped_column(DateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Set when an admin removed it (as opposed to the author deleting it).
    removed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class LibraryEntry(Base):
    """A user's own state for one paper: saved, read, a private note."""

    __tablename__ = "library_entries"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    paper_num: Mapped[int] = _paper_fk(primary_key=True)
    saved_at: Mapped[datetime | None] = mapped_column(DateTime)
    read_at: Mapped[datetime | None] = mapped_column(DateTime)
    note: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)


class Tag(Base):
    """A named collection of saved papers; private unless made public."""

    __tablename__ = "tags"
    __table_args__ = (UniqueConstraint("user_id", "slug", name="uq_tags_user_slug"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True, nullable=False
    )
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    slug: Mapped[str] = mapped_column(String(100), nullable=False)
    is_public: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)


class TagItem(Base):
    __tablename__ = "tag_items"

    tag_id: Mapped[int] = mapped_column(ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True)
    paper_num: Mapped[int] = _paper_fk(primary_key=True)
    added_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)


class SavedSearch(Base):
    """A query a user follows like a tag (feed, digest, recommendations filter)."""

    __tablename__ = "saved_searches"
    __table_args__ = (UniqueConstraint("user_id", "slug", name="uq_saved_searches_user_slug"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True, nullable=False
    )
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    slug: Mapped[str] = mapped_column(String(100), nullable=False)
    query: Mapped[str] = mapped_column(Text, nullable=False)
    is_public: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)


Index("ix_votes_paper", Vote.paper_num)
Index("ix_tag_items_paper", TagItem.paper_num)
Index("ix_library_saved", LibraryEntry.paper_num, LibraryEntry.saved_at)
