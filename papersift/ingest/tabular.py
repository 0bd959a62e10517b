"""Plain JSON-lines and CSV files of papers, read through a column mapping.

People bring their own exports (a Kaggle CSV, a scraper's daily JSONL, a spreadsheet), so column
names vary: without a ``mapping`` the usual names are found case-insensitively (see
:data:`FIELD_ALIASES`). Lists arrive as JSON lists, Python literals (``"['cs.LG', 'cs.AI']"``) or
delimited strings, and all three are read: the coercion of cell values lives in
:mod:`papersift.ingest.cells`, so this module only reads files and maps columns to fields.

Opening, decoding and date/author helpers shared with the other file parsers live in
:mod:`papersift.ingest.files`.
"""

from __future__ import annotations

import csv
import dataclasses
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from papersift.ingest.cells import RowError, as_list, as_text, as_version
from papersift.ingest.files import FormatError, TextLines, iter_json_lines, open_binary, parse_date
from papersift.ingest.normalize import parse_arxiv_id
from papersift.ingest.records import PaperRecord, ParseItem, ParseProblem

SOURCE_CSV = "csv"
SOURCE_JSONL = "jsonl"

FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "title": ("title", "titles"),
    "abstract": ("abstract", "summary", "summaries", "text"),
    "authors": ("authors", "author"),
    "arxiv_id": ("arxiv_id", "arxiv", "arxivid", "id", "_id"),
    "doi": ("doi",),
    "categories": ("categories", "terms", "category", "cate"),
    "published": ("published", "published_at", "date", "update_date"),
    "updated": ("updated", "updated_at"),
    "comment": ("comment", "comments"),
    "journal_ref": ("journal_ref",),
    "abs_url": ("abs_url", "abs", "url"),
    "pdf_url": ("pdf_url", "pdf"),
    "code_urls": ("code_urls", "code_url", "github_repo", "githubrepo", "github"),
    "version": ("version",),
}
"""Column names tried for each record field when no mapping names one, best first."""

_TEXT_FIELDS = ("title", "abstract", "comment", "journal_ref", "doi", "abs_url", "pdf_url")
_MAPPABLE = {f.name for f in dataclasses.fields(PaperRecord)} - {"source", "extra"}
_CSV_FIELD_LIMIT = min(sys.maxsize, 2**31 - 1)


# --- the tabular parser -----------------------------------------------------------------------


def parse(
    path: Path | str,
    *,
    fmt: str | None = None,
    mapping: Mapping[str, str] | None = None,
    delimiter: str | None = None,
) -> Iterator[ParseItem]:
    """Read a JSONL or CSV file (optionally gzipped) into records, one problem per bad row.

    ``fmt`` is ``"csv"`` or ``"jsonl"``; by default it follows the extension (``.csv``/``.tsv``,
    ``.jsonl``/``.ndjson``/``.json``), else the first byte. ``mapping`` maps record fields to
    column names and overrides the detected columns for those fields; other fields are still
    detected. Raises :class:`FormatError` if the file has neither a title nor an abstract column.
    Rows without a title are titled by their abstract's opening words when they are cleaned.
    """
    checked = _check_mapping(mapping)
    fmt = fmt or _detect_format(path)
    if fmt == SOURCE_CSV:
        if delimiter is None:
            delimiter = "\t" if _base_suffix(path) == ".tsv" else ","
        return _parse_csv(path, checked, delimiter)
    if fmt == SOURCE_JSONL:
        return _parse_jsonl(path, checked)
    raise ValueError(f"unknown tabular format {fmt!r} for {path} (use 'csv' or 'jsonl')")


def _check_mapping(mapping: Mapping[str, str] | None) -> dict[str, str]:
    """Reject a mapping that names no record field: a typo there would silently drop a column."""
    if not mapping:
        return {}
    unknown = sorted(k for k in mapping if k not in _MAPPABLE)
    if unknown:
        raise ValueError(
            f"mapping names unknown record field(s) {unknown}; known: {sorted(_MAPPABLE)}"
        )
    bad = sorted(k for k, v in mapping.items() if not isinstance(v, str) or not v)
    if bad:
        raise ValueError(f"mapping must give a column name (a string) for {bad}")
    return dict(mapping)


def _base_suffix(path: Path | str) -> str:
    p = Path(path)
    if p.suffix.lower() == ".gz":
        p = p.with_suffix("")
    return p.suffix.lower()


def _detect_format(path: Path | str) -> str:
    """Extension first; otherwise a file whose first byte is ``{`` is JSONL, anything else CSV."""
    suffix = _base_suffix(path)
    if suffix in {".csv", ".tsv"}:
        return SOURCE_CSV
    if suffix in {".jsonl", ".ndjson", ".json"}:
        return SOURCE_JSONL
    with open_binary(path) as fh:
        head = fh.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    return SOURCE_JSONL if head.startswith(b"{") else SOURCE_CSV


def _norm_column(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


def _resolve_columns(columns: Iterable[str], mapping: Mapping[str, str]) -> dict[str, str]:
    """Pick the column for each record field: the mapping's, else the first alias present."""
    present = list(columns)
    by_norm: dict[str, str] = {}
    for col in present:
        by_norm.setdefault(_norm_column(col), col)
    resolved: dict[str, str] = {}
    for field_name, aliases in FIELD_ALIASES.items():
        for alias in aliases:
            if alias in by_norm:
                resolved[field_name] = by_norm[alias]
                break
    for field_name, col in mapping.items():
        if col in present:
            resolved[field_name] = col
        elif _norm_column(col) in by_norm:
            resolved[field_name] = by_norm[_norm_column(col)]
        else:
            resolved.pop(field_name, None)
    return resolved


def _parse_jsonl(path: Path | str, mapping: Mapping[str, str]) -> Iterator[ParseItem]:
    cache: dict[tuple[str, ...], dict[str, str]] = {}
    for item in iter_json_lines(path, SOURCE_JSONL):
        if isinstance(item, ParseProblem):
            yield item
            continue
        lineno, obj = item
        keys = tuple(obj)
        if keys not in cache:
            cache[keys] = _resolve_columns(keys, mapping)
        yield _build(obj, cache[keys], SOURCE_JSONL, f"line {lineno}")


def _parse_csv(path: Path | str, mapping: Mapping[str, str], delimiter: str) -> Iterator[ParseItem]:
    csv.field_size_limit(_CSV_FIELD_LIMIT)
    header: list[str] | None = None
    columns: dict[str, str] = {}
    for item in _iter_csv_records(path, delimiter):
        if isinstance(item, ParseProblem):
            if header is None:
                raise FormatError(f"{path}: unreadable CSV header: {item.message}")
            yield item
            continue
        lineno, row = item
        if header is None:
            header = [h.strip() for h in row]
            columns = _csv_columns(path, header, mapping)
            continue
        where = f"line {lineno}"
        if len(row) != len(header):
            msg = f"expected {len(header)} fields, found {len(row)}"
            yield ParseProblem(SOURCE_CSV, where, msg)
            continue
        yield _build(dict(zip(header, row, strict=True)), columns, SOURCE_CSV, where)


def _csv_columns(path: Path | str, header: list[str], mapping: Mapping[str, str]) -> dict[str, str]:
    """Resolve the header once; a CSV without a title or an abstract column is not a paper list
    at all (with only an abstract column, each paper is titled by its opening words)."""
    known = {_norm_column(h) for h in header}
    missing = [col for col in mapping.values() if _norm_column(col) not in known]
    if missing:
        raise FormatError(f"{path}: mapped column(s) {missing} not in the CSV header {header}")
    columns = _resolve_columns(header, mapping)
    if "title" not in columns and "abstract" not in columns:
        raise FormatError(
            f"{path}: no title or abstract column in the CSV header {header}; "
            "pass mapping={'title': ...}"
        )
    return columns


class _LineFeed:
    """Feeds physical lines to ``csv.reader`` and remembers them, so a record broken by an
    unterminated quote can be re-read from its second line instead of swallowing the file."""

    def __init__(self, lines: Iterator[str]) -> None:
        self._lines = lines
        self._pushed: list[tuple[int, str]] = []
        self._count = 0
        self._taken: list[tuple[int, str]] = []

    def __iter__(self) -> _LineFeed:
        return self

    def __next__(self) -> str:
        if self._pushed:
            item = self._pushed.pop()
        else:
            text = next(self._lines)
            self._count += 1
            item = (self._count, text)
        self._taken.append(item)
        return item[1]

    def take(self) -> list[tuple[int, str]]:
        """The lines read since the last call: the current record's lines."""
        taken, self._taken = self._taken, []
        return taken

    def push_back(self, items: list[tuple[int, str]]) -> None:
        self._pushed.extend(reversed(items))


def _iter_csv_records(
    path: Path | str, delimiter: str
) -> Iterator[tuple[int, list[str]] | ParseProblem]:
    """Yield ``(starting line, fields)`` per CSV record; report and resynchronise on bad quoting.

    Quoting is read strictly, so a stray or unterminated quote raises ``csv.Error`` instead of
    silently merging rows; a record that came out short across several lines is treated the
    same way. Either way the record is reported and reading resumes at its second line.
    """
    with open_binary(path) as raw:
        text = TextLines(raw, path)
        feed = _LineFeed(iter(text))
        reader = csv.reader(feed, delimiter=delimiter, strict=True)
        width: int | None = None
        while True:
            try:
                row = next(reader)
                error = None
            except StopIteration:
                break
            except csv.Error as exc:
                row, error = [], str(exc)
            lines = feed.take()
            if text.failure:
                yield ParseProblem(
                    SOURCE_CSV, f"line {text.count + 1}", f"file ends early: {text.failure}"
                )
                break
            if not lines:
                break
            if error is None and not any(f.strip() for f in row):
                continue
            short = width is not None and len(row) < width and len(lines) > 1
            if error is not None or short:
                reason = error or f"expected {width} fields, found {len(row)}"
                yield ParseProblem(
                    SOURCE_CSV, f"line {lines[0][0]}", f"{reason} (unterminated quote?)"
                )
                feed.push_back(lines[1:])
                continue
            width = width or len(row)
            yield lines[0][0], row


# --- one row to one record --------------------------------------------------------------------


def _build(
    row: Mapping[str, Any], columns: Mapping[str, str], source: str, where: str
) -> ParseItem:
    """Turn one row into a record, or a problem naming the field that was unusable."""
    try:
        record = _record_from_row(row, columns, source)
    except RowError as exc:
        return ParseProblem(source, where, str(exc))
    if "title" not in columns and "abstract" not in columns:
        return ParseProblem(source, where, f"no title or abstract field among {sorted(row)[:12]}")
    if not record.title.strip() and not record.abstract.strip():
        return ParseProblem(source, where, "empty title and abstract")
    return record  # no title: normalize titles it by the abstract's opening words


def _record_from_row(
    row: Mapping[str, Any], columns: Mapping[str, str], source: str
) -> PaperRecord:
    def get(field_name: str) -> Any:
        col = columns.get(field_name)
        return None if col is None else row.get(col)

    text = {name: as_text(get(name), name) for name in _TEXT_FIELDS}
    record = PaperRecord(
        title=text["title"],
        abstract=text["abstract"],
        authors=as_list(get("authors"), "authors"),
        source=source,
        doi=text["doi"] or None,
        categories=as_list(get("categories"), "categories"),
        published=parse_date(get("published")),
        updated=parse_date(get("updated")),
        comment=text["comment"] or None,
        journal_ref=text["journal_ref"] or None,
        abs_url=text["abs_url"] or None,
        pdf_url=text["pdf_url"] or None,
        code_urls=as_list(get("code_urls"), "code_urls"),
    )
    if record.abs_url and "/pdf/" in record.abs_url and not record.pdf_url:
        record.pdf_url, record.abs_url = record.abs_url, None  # a "url" column holding the PDF
    _fill_ids(record, as_text(get("arxiv_id"), "arxiv_id"), get("version"))
    return record


def _fill_ids(record: PaperRecord, raw_id: str, raw_version: object) -> None:
    """arXiv id and version from the id column, else from arxiv.org links; other ids go to extra."""
    arxiv_id, version = parse_arxiv_id(raw_id)
    if raw_id and not arxiv_id:
        record.extra["source_id"] = raw_id.strip()
    if not arxiv_id:
        for url in (record.abs_url, record.pdf_url):
            if url and "arxiv.org" in url.lower():
                arxiv_id, version = parse_arxiv_id(url)
                if arxiv_id:
                    break
    record.arxiv_id = arxiv_id
    record.version = as_version(raw_version) or version
