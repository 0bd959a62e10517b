"""The registry of ingest sources: one name per format, each backed by a small parser module.

Parsers are imported lazily so ``papersift ingest csv`` never imports lxml or httpx.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import Any

from papersift.records import ParseItem

FileParser = Callable[..., Iterator[ParseItem]]


@dataclass(frozen=True)
class Source:
    name: str
    module: str
    help: str

    def parser(self) -> FileParser:
        parse: FileParser = import_module(self.module).parse
        return parse


FILE_SOURCES: dict[str, Source] = {
    s.name: s
    for s in (
        Source(
            "arxiv-snapshot",
            "papersift.ingest.arxiv_snapshot",
            "arXiv metadata snapshot JSON lines (Kaggle dump, .jsonl or .jsonl.gz), streamed",
        ),
        Source(
            "hf-daily",
            "papersift.ingest.hf_daily",
            "Hugging Face /api/daily_papers JSON responses (one file per day)",
        ),
        Source("jsonl", "papersift.ingest.tabular", "JSON lines with a column mapping"),
        Source("csv", "papersift.ingest.tabular", "CSV with a header row and a column mapping"),
        Source(
            "listing-page",
            "papersift.ingest.listing_page",
            "a paper-listing page saved as text (title line, abstract line)",
        ),
    )
}

NETWORK_SOURCES = {
    "arxiv-api": "the arXiv API (Atom): --category, --from, --to, --query",
    "arxiv-oai": "arXiv OAI-PMH (metadata arXiv or arXivRaw): --set, --from, --to",
}


def parse_file(source: str, path: Path, **options: Any) -> Iterator[ParseItem]:
    try:
        src = FILE_SOURCES[source]
    except KeyError:
        known = ", ".join([*FILE_SOURCES, *NETWORK_SOURCES])
        raise ValueError(f"unknown source {source!r}; known sources: {known}") from None
    if source in ("csv", "jsonl"):
        options.setdefault("fmt", source)
    return src.parser()(path, **options)
