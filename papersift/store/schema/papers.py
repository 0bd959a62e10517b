"""Papers and their derived data: the source of truth every index is rebuilt from.

One schema for SQLite (laptop) and PostgreSQL (community server). Papers carry two keys: ``id``,
the stable public id (``arxiv:2403.12345``, ``doi:...``, ``title:<hash>``), and ``num``, a compact
integer that the vector and keyword indexes use as their document key (usearch needs integer
keys, and an integer survives an id upgrade from ``title:`` to ``arxiv:``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from papersift.store.schema.base import Base


class Paper(Base):
    __tablename__ = "papers"

    num: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(200), unique=True, nullable=False)
    arxiv_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    arxiv_version: Mapped[int | None] = mapped_column(Integer)
    doi: Mapped[str | None] = mapped_column(String(300), index=True)
    title: Mapped[str] = mapped_column(Text, nullable=False)
    title_key: Mapped[str] = mapped_column(String(1000), index=True)
    abstract: Mapped[str] = mapped_column(Text, default="")
    authors: Mapped[list[str]] = mapped_column(JSON, default=list)
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    primary_category: Mapped[str | None] = mapped_column(String(40), index=True)
    published: Mapped[date | None] = mapped_column(Date, index=True)
    updated: Mapped[date | None] = mapped_column(Date)
    comment: Mapped[str | None] = mapped_column(Text)
    journal_ref: Mapped[str | None] = mapped_column(Text)
    abs_url: Mapped[str | None] = mapped_column(Text)
    pdf_url: Mapped[str | None] = mapped_column(Text)
    code_urls: Mapped[list[str]] = mapped_column(JSON, default=list)
    sources: Mapped[list[str]] = mapped_column(JSON, default=list)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # sha1 of the embedded text; an embedding is stale when its text_hash differs.
    text_hash: Mapped[str] = mapped_column(String(40))
    ingested_at: Mapped[datetime] = mapped_column(DateTime)
    # Bumped on every change; indexes catch up from their stored watermark.
    modified_at: Mapped[datetime] = mapped_column(DateTime, index=True)

    @property
    def has_code(self) -> bool:
        return bool(self.code_urls)

    @property
    def year(self) -> int | None:
        return self.published.year if self.published else None


class Embedding(Base):
    """A cached vector per (paper, model); float16 bytes, L2-normalised."""

    __tablename__ = "embeddings"

    paper_num: Mapped[int] = mapped_column(
        ForeignKey("papers.num", ondelete="CASCADE"), primary_key=True
    )
    model_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    text_hash: Mapped[str] = mapped_column(String(40))
    vector: Mapped[bytes] = mapped_column(LargeBinary)


class IngestRun(Base):
    """One `papersift ingest` invocation, so a user can see what landed and what was skipped."""

    __tablename__ = "ingest_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(40))
    location: Mapped[str] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    inserted: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    problems: Mapped[int] = mapped_column(Integer, default=0)


Index("ix_papers_published_num", Paper.published, Paper.num)
