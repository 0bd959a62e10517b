"""The record every parser produces, and the problem it reports instead of raising.

A :class:`PaperRecord` is what one source said about one paper, before it meets the store. The
store decides identity and merging (``papersift.ingest.normalize.paper_id`` and
``papersift.store.papers.upsert``), so parsers stay small: read the format, fill the fields they
know, leave the rest empty.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any


@dataclass
class PaperRecord:
    """One paper as one source describes it.

    ``arxiv_id`` carries no version suffix (``2403.12345``, ``hep-th/9901001``); the version,
    when the source knows it, goes to ``version``. Text fields hold plain text with LaTeX left as
    written; ``normalize.clean_record`` collapses hard line wraps and trims oversized fields.
    """

    title: str
    abstract: str = ""
    authors: list[str] = field(default_factory=list)
    source: str = ""
    arxiv_id: str | None = None
    version: int | None = None
    doi: str | None = None
    categories: list[str] = field(default_factory=list)
    published: date | None = None
    updated: date | None = None
    comment: str | None = None
    journal_ref: str | None = None
    abs_url: str | None = None
    pdf_url: str | None = None
    code_urls: list[str] = field(default_factory=list)
    # Source-specific facts worth keeping (HF upvotes, listing day, OpenAlex id, ...).
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ParseProblem:
    """A record a parser could not read; ``where`` is a line number, byte offset or item index."""

    source: str
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.source} {self.where}: {self.message}"


ParseItem = PaperRecord | ParseProblem
