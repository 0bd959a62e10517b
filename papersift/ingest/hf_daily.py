"""Hugging Face daily papers: the JSON array that ``/api/daily_papers?date=D`` returns.

Each item wraps a ``paper`` (arXiv ``id``, ``title``, ``summary``, ``authors`` [{name}],
``publishedAt``, ``upvotes``, ``githubRepo``, ``githubStars``, ...) with item-level copies of the
title, summary and date plus ``numComments``, ``submittedBy`` and ``organization``. Fields come
and go between days, so every one is optional except a title. Only paper metadata is kept:
submitters' and organisations' profiles never enter a record.

A day's response is a few hundred kB, so a file is read whole; :func:`parse_payload` takes a live
API response that is already decoded.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Iterator, Mapping
from datetime import date
from pathlib import Path
from typing import Any

from papersift.ingest.files import FormatError, open_binary, parse_date, scalar_text
from papersift.ingest.normalize import parse_arxiv_id
from papersift.ingest.records import PaperRecord, ParseItem, ParseProblem

SOURCE = "hf-daily"

_DAY_IN_NAME = re.compile(r"(\d{4}-\d{2}-\d{2})")
_WRAPPER_KEYS = ("papers", "dailyPapers", "daily_papers", "items", "data", "results")


class _ItemError(ValueError):
    """One item is unusable; reported as a ParseProblem, never raised out of the parser."""


def parse(path: Path | str, *, day: str | None = None) -> Iterator[ParseItem]:
    """Yield a record per daily-papers item in a saved response, or a problem ("item N").

    The listing day is ``day`` if given, else a ``YYYY-MM-DD`` in the file name, else each item's
    ``submittedOnDailyAt``. Raises :class:`~papersift.ingest.files.FormatError` when the file
    is not JSON or not a daily-papers response.
    """
    data = _load(path)
    if day is None:
        day = _day_from_name(Path(path).name)
    try:
        yield from parse_payload(data, day=day)
    except FormatError as exc:
        raise FormatError(f"{path}: {exc}") from exc


def parse_payload(
    data: object, day: str | None = None, where_prefix: str = ""
) -> Iterator[ParseItem]:
    """Parse a decoded API response: a list of items, one item, or ``{"papers": [...]}``.

    Problems are placed as ``f"{where_prefix}item {n}"`` with ``n`` counted from 1.
    """
    for index, item in enumerate(_items(data), start=1):
        where = f"{where_prefix}item {index}"
        try:
            yield record_from_item(item, day)
        except _ItemError as exc:
            yield ParseProblem(SOURCE, where, str(exc))


def record_from_item(item: object, day: str | None = None) -> PaperRecord:
    """Map one daily-papers item (or a bare paper object) to a record; ValueError if unusable."""
    if not isinstance(item, Mapping):
        raise _ItemError(f"expected an object, got {type(item).__name__}")
    paper = item.get("paper", item)
    if not isinstance(paper, Mapping):
        raise _ItemError(f"paper: expected an object, got {type(paper).__name__}")
    title = _first_text(paper, item, "title")
    if not title.strip():
        raise _ItemError(f"no title (paper id {paper.get('id')!r:.40})")
    raw_id = _text(paper.get("id"), "id")
    arxiv_id, version = parse_arxiv_id(raw_id)
    extra = _extra(paper, item, day)
    if raw_id and not arxiv_id:
        extra["hf_paper_id"] = raw_id
    repo = paper.get("githubRepo")
    return PaperRecord(
        title=title,
        abstract=_first_text(paper, item, "summary"),
        authors=_authors(paper.get("authors")),
        source=SOURCE,
        arxiv_id=arxiv_id,
        version=version,
        published=parse_date(paper.get("publishedAt")) or parse_date(item.get("publishedAt")),
        code_urls=[repo.strip()] if isinstance(repo, str) and repo.strip() else [],
        extra=extra,
    )


def _load(path: Path | str) -> object:
    try:
        with open_binary(path) as fh:
            return json.load(fh)
    except (ValueError, EOFError, RecursionError, zlib.error) as exc:
        raise FormatError(f"{path}: not a JSON document: {exc}") from exc
    except OSError as exc:
        if not Path(path).exists():
            raise
        raise FormatError(f"{path}: cannot read the file: {exc}") from exc


def _day_from_name(name: str) -> str | None:
    m = _DAY_IN_NAME.search(name)
    if not m:
        return None
    try:
        return date.fromisoformat(m.group(1)).isoformat()
    except ValueError:
        return None


def _items(data: object) -> list[Any]:
    """The list of items, whichever of the accepted shapes ``data`` has."""
    if isinstance(data, list):
        return data
    if isinstance(data, Mapping):
        for key in _WRAPPER_KEYS:
            if isinstance(data.get(key), list):
                return list(data[key])
        if "paper" in data or "title" in data:
            return [data]
    raise FormatError(f"not a daily-papers response: expected a list of items, got {_shape(data)}")


def _shape(data: object) -> str:
    if isinstance(data, Mapping):
        return f"an object with keys {sorted(map(str, data))[:8]}"
    return type(data).__name__


def _text(value: object, name: str) -> str:
    return scalar_text(value, name, _ItemError)


def _first_text(paper: Mapping[str, Any], item: Mapping[str, Any], key: str) -> str:
    """The paper's value, else the item-level copy (older and newer responses differ)."""
    return _text(paper.get(key), key) or _text(item.get(key), key)


def _authors(value: object) -> list[str]:
    if not isinstance(value, list):
        return []
    names: list[str] = []
    for author in value:
        name = author.get("name") if isinstance(author, Mapping) else author
        if isinstance(name, str) and name.strip():
            names.append(name)
    return names


def _count(value: object) -> int | None:
    """An integer count from an int, a whole float or a digit string; None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _extra(paper: Mapping[str, Any], item: Mapping[str, Any], day: str | None) -> dict[str, Any]:
    """Upvotes, listing day, stars and comment count; absent facts are left out, not zeroed."""
    listing_day = day or _iso_day(paper.get("submittedOnDailyAt") or item.get("submittedOnDailyAt"))
    facts = {
        "hf_upvotes": _count(paper.get("upvotes", item.get("upvotes"))),
        "hf_daily_date": listing_day,
        "github_stars": _count(paper.get("githubStars")),
        "num_comments": _count(item.get("numComments", paper.get("numComments"))),
    }
    return {k: v for k, v in facts.items() if v is not None}


def _iso_day(value: object) -> str | None:
    day = parse_date(value)
    return day.isoformat() if day else None
