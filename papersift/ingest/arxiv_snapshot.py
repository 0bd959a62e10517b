"""The Kaggle arXiv metadata snapshot: one JSON object per line, 2.7M lines, about 4 GB.

The file is streamed line by line (plain or gzipped); a bad line becomes a ParseProblem and the
next line is read. Fields: ``id`` (``0704.0001`` or old-style ``hep-th/9901001``), ``authors``
(one string with inline affiliations) and ``authors_parsed`` (``[last, first, suffix, *affil]``),
``title``, ``abstract``, ``categories`` (space separated, primary first), ``comments``,
``journal-ref``, ``doi``, ``versions`` (``[{"version": "v1", "created": <RFC 2822>}]``),
``update_date``, ``license``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

from papersift.ingest.files import iter_json_lines, parse_date, scalar_text, split_authors
from papersift.ingest.normalize import parse_arxiv_id
from papersift.ingest.records import PaperRecord, ParseItem, ParseProblem

SOURCE = "arxiv-snapshot"

_VERSION = re.compile(r"^\s*v?(\d+)\s*$", re.IGNORECASE)
_INITIAL_HYPHEN = re.compile(r"(?<=\.)\s+(?=-)")


class _RecordError(ValueError):
    """One snapshot line is unusable; reported as a ParseProblem, never raised out of parse."""


def parse(path: Path | str) -> Iterator[ParseItem]:
    """Yield one :class:`PaperRecord` per snapshot line, or a :class:`ParseProblem` ("line N").

    Raises :class:`~papersift.ingest.files.FormatError` only when the file is not JSON lines.
    """
    for item in iter_json_lines(path, SOURCE):
        if isinstance(item, ParseProblem):
            yield item
            continue
        lineno, obj = item
        try:
            yield record_from_snapshot(obj)
        except _RecordError as exc:
            yield ParseProblem(SOURCE, f"line {lineno}", str(exc))


def record_from_snapshot(obj: dict[str, Any]) -> PaperRecord:
    """Map one snapshot object to a record; raises ``ValueError`` when it has no id or title."""
    raw_id = _text(obj.get("id"), "id")
    arxiv_id, id_version = parse_arxiv_id(raw_id)
    if not arxiv_id:
        raise _RecordError(f"no arXiv id (id={raw_id!r:.60})")
    title = _text(obj.get("title"), "title")
    if not title.strip():
        raise _RecordError(f"{arxiv_id}: no title")
    version, published, updated = _versions(obj.get("versions"))
    extra: dict[str, Any] = {}
    licence = obj.get("license")
    if isinstance(licence, str) and licence:
        extra["license"] = licence
    return PaperRecord(
        title=title,
        abstract=_text(obj.get("abstract"), "abstract"),
        authors=_authors(obj.get("authors_parsed"), obj.get("authors")),
        source=SOURCE,
        arxiv_id=arxiv_id,
        version=version or id_version,
        doi=_text(obj.get("doi"), "doi") or None,
        categories=_categories(obj.get("categories")),
        published=published,
        updated=updated or parse_date(obj.get("update_date")),
        comment=_text(obj.get("comments"), "comments") or None,
        journal_ref=_text(obj.get("journal-ref"), "journal-ref") or None,
        extra=extra,
    )


def _text(value: object, name: str) -> str:
    return scalar_text(value, name, _RecordError)


def _authors(parsed: object, raw: object) -> list[str]:
    """``authors_parsed`` when usable (affiliations already split off), else the raw string."""
    names = _names_from_parsed(parsed)
    if names:
        return names
    if isinstance(raw, str):
        return split_authors(raw)
    if isinstance(raw, list):
        return [a for a in raw if isinstance(a, str) and a.strip()]
    return []


def _names_from_parsed(parsed: object) -> list[str]:
    """``[["Balázs", "C.", ""], ...]`` to ``["C. Balázs", ...]``; [] if the shape is unexpected.

    arXiv's parser writes hyphenated initials as ``C. -P.``; the space is put back as ``C.-P.``.
    """
    if not isinstance(parsed, list):
        return []
    names: list[str] = []
    for entry in parsed:
        if not isinstance(entry, list | tuple) or not all(isinstance(p, str) for p in entry[:3]):
            return []
        last, first, suffix = [*entry[:3], "", "", ""][:3]
        first = _INITIAL_HYPHEN.sub("", first)
        name = " ".join(p.strip() for p in (first, last, suffix) if p.strip())
        if name:
            names.append(name)
    return names


def _categories(value: object) -> list[str]:
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list):
        return [c.strip() for c in value if isinstance(c, str) and c.strip()]
    return []


def _versions(value: object) -> tuple[int | None, date | None, date | None]:
    """Highest version number, the date of v1 (if listed) and the date of the highest version.

    Entries that are not ``{"version": "vN", "created": ...}`` are skipped: a malformed history
    should cost the dates, not the paper.
    """
    if not isinstance(value, list):
        return None, None, None
    numbered: list[tuple[int, object]] = []
    for entry in value:
        if not isinstance(entry, dict):
            continue
        m = _VERSION.match(str(entry.get("version", "")))
        if m:
            numbered.append((int(m.group(1)), entry.get("created")))
    if not numbered:
        return None, None, None
    first = min(numbered, key=lambda pair: pair[0])
    last = max(numbered, key=lambda pair: pair[0])
    published = parse_date(first[1]) if first[0] == 1 else None  # a later version's date isn't v1's
    return last[0], published, parse_date(last[1])
