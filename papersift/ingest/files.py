"""File-reading helpers shared by every file parser, whatever the format inside the file.

The tabular (CSV/JSONL), arXiv-snapshot, Hugging Face daily and listing-page parsers all read
files that people download or export, so they meet the same problems: a file may or may not be
gzipped (decided by the magic bytes, not the name), a line may be UTF-8 or Windows-1252, a
compressed file may end early, dates come as ISO, RFC 2822 or epoch numbers, and author lists
come as one string. These helpers answer those questions once, the same way for every source,
and none of them knows any column or field name. They live in their own module so that each
parser depends on this one rather than on another parser, and so that :class:`FormatError`
(a whole file is unreadable, as opposed to a ParseProblem for one bad record) has one home.
"""

from __future__ import annotations

import gzip
import io
import json
import math
import re
import zlib
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

from papersift.ingest.records import ParseProblem

_GZIP_MAGIC = b"\x1f\x8b"

_AND = re.compile(r"\s+and\s+|\s*&\s*", re.IGNORECASE)
_SUFFIX = re.compile(r"^(jr|sr|i{2,3}|iv|2nd|3rd)\.?$", re.IGNORECASE)
_ET_AL = re.compile(r"\s*\bet\s+al\.?$", re.IGNORECASE)
_YMD = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})")


class FormatError(ValueError):
    """A whole file cannot be read in the expected format (one bad record never raises this)."""


def open_binary(path: Path | str) -> io.BufferedIOBase:
    """Open a file for binary reading, decompressing it when it starts with the gzip magic.

    The magic bytes decide, not the name, so ``snapshot.json.gz`` renamed to ``.json`` still works.
    """
    with open(path, "rb") as probe:
        magic = probe.read(2)
    if magic == _GZIP_MAGIC:
        return gzip.open(path, "rb")
    return open(path, "rb")


def iter_raw_lines(path: Path | str, source: str) -> Iterator[tuple[int, bytes] | ParseProblem]:
    """Yield ``(line number, raw line)`` from a (maybe gzipped) file, numbered from 1.

    Raises :class:`FormatError` when not even the first line can be read; a compressed file that
    ends early after that yields one last problem, placed at the line it could not read.
    """
    lineno = 0
    with open_binary(path) as fh:
        lines = iter(fh)
        while True:
            try:
                raw = next(lines)
            except StopIteration:
                return
            except (EOFError, OSError, zlib.error) as exc:
                if lineno == 0:
                    raise FormatError(f"{path}: cannot read the file: {exc}") from exc
                yield ParseProblem(source, f"line {lineno + 1}", f"file ends early: {exc}")
                return
            lineno += 1
            yield lineno, raw


def iter_json_lines(
    path: Path | str, source: str
) -> Iterator[tuple[int, dict[str, Any]] | ParseProblem]:
    """Yield ``(line number, object)`` per JSON-lines record, or a problem for a bad line.

    Streams line by line (the arXiv snapshot is 4 GB). Raises :class:`FormatError` when the first
    record is not a JSON object at all (a JSON array, a CSV, a binary file), since then every
    line would be a problem. A compressed file that ends early yields one last problem.
    """
    seen_record = False
    for item in iter_raw_lines(path, source):
        if isinstance(item, ParseProblem):
            yield item
            continue
        lineno, raw = item
        text = raw.removeprefix(b"\xef\xbb\xbf") if lineno == 1 else raw
        text = text.strip()
        if not text:
            continue
        if not seen_record and not text.startswith(b"{"):
            raise FormatError(
                f"{path}: not JSON lines (line {lineno} starts with {text[:20]!r}, "
                "expected one JSON object per line)"
            )
        seen_record = True
        yield _decode_json_line(text, lineno, source)


def _decode_json_line(
    text: bytes, lineno: int, source: str
) -> tuple[int, dict[str, Any]] | ParseProblem:
    where = f"line {lineno}"
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        return ParseProblem(source, where, f"invalid JSON ({exc.msg}, column {exc.colno})")
    except UnicodeDecodeError as exc:
        return ParseProblem(source, where, f"not UTF-8 text: {exc.reason} at byte {exc.start}")
    except (ValueError, RecursionError) as exc:
        return ParseProblem(source, where, f"invalid JSON: {exc}")
    if not isinstance(obj, dict):
        return ParseProblem(source, where, f"expected a JSON object, got {type(obj).__name__}")
    return lineno, obj


def decode_line(raw: bytes) -> str:
    """UTF-8, else Windows-1252: a file saved by a Windows tool must not stop an import.

    Decided per line, so one stray byte costs at most that line's accents, not the file. A
    leading byte-order mark is dropped.
    """
    raw = raw.removeprefix(b"\xef\xbb\xbf")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def scalar_text(value: object, name: str, error: Callable[[str], Exception]) -> str:
    """A JSON field's value as text: None is empty, a number is written out.

    Anything else (a list, an object, a boolean) raises ``error`` naming the field, for the
    caller to turn into a ParseProblem for that one record.
    """
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise error(f"{name}: expected a string, got {type(value).__name__}")


def split_authors(text: str) -> list[str]:
    """Split an author string such as ``"A. Smith (MIT), B. Jones Jr. and C. Wu"`` into names.

    Parenthesised affiliations are dropped (arXiv strings carry them inline), names split on
    commas, semicolons, ``and`` and ``&``; a lone ``Jr.``/``III`` joins the name before it.
    """
    text = _drop_parenthesised(" ".join(text.split()))
    names: list[str] = []
    for chunk in re.split(r"[,;]", text):
        for part in _AND.split(chunk):
            name = _ET_AL.sub("", part).strip()
            if not name:
                continue
            if _SUFFIX.match(name) and names:
                names[-1] = f"{names[-1]} {name}"
            else:
                names.append(name)
    return names


def _drop_parenthesised(text: str) -> str:
    """Remove ``(...)`` groups, nested or left open by a truncated string."""
    out: list[str] = []
    depth = 0
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")" and depth:
            depth -= 1
        elif depth == 0:
            out.append(ch)
    return "".join(out)


def parse_date(value: object) -> date | None:
    """Read the dates sources write: ISO, RFC 2822 (``Mon, 2 Apr 2007 19:18:42 GMT``), epoch.

    Times with a zone are taken in UTC so that every source agrees on the day; anything
    unreadable is None rather than an error, since a bad date should not cost the paper.
    """
    if isinstance(value, datetime):
        return _utc_day(value)
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _epoch_day(float(value))
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        return _utc_day(datetime.fromisoformat(text))
    except ValueError:
        pass
    try:
        return _utc_day(parsedate_to_datetime(text))
    except (TypeError, ValueError, IndexError):
        pass
    m = _YMD.match(text)
    if m:
        try:
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            return None
    return None


def _utc_day(moment: datetime) -> date:
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.date()


def _epoch_day(seconds: float) -> date | None:
    """Epoch seconds or milliseconds (pandas writes milliseconds to JSON)."""
    if not math.isfinite(seconds) or seconds < 1e8:
        return None
    if seconds > 1e11:
        seconds /= 1000
    try:
        return datetime.fromtimestamp(seconds, UTC).date()
    except (OverflowError, OSError, ValueError):
        return None


class TextLines:
    """Decoded lines of a binary stream; an early end of a .gz is noted, not raised mid-record."""

    def __init__(self, raw: io.BufferedIOBase, path: Path | str) -> None:
        self._raw = raw
        self._path = path
        self.count = 0
        self.failure: str | None = None

    def __iter__(self) -> Iterator[str]:
        while True:
            try:
                line = self._raw.readline()
            except (EOFError, OSError, zlib.error) as exc:
                if self.count == 0:
                    raise FormatError(f"{self._path}: cannot read the file: {exc}") from exc
                self.failure = str(exc)
                return
            if not line:
                return
            self.count += 1
            yield decode_line(line)
