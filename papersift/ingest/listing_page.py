"""A paper-listing site's search results saved as text: a title line, then an abstract line.

Around the entries sit the site's boilerplate ("Get trending papers in your email inbox!",
"Subscribe", a date, upvote counters, "Submitted by ..."), and the first title can be glued to
"Subscribe" ("SubscribeMaximum Independent Set: ..."). Pages get hand-edited, so nothing relies
on strict alternation: boilerplate is dropped wherever it appears, blank lines are ignored, and
each remaining line is classed as a title or an abstract by its shape (an abstract is long, or
ends in a period after full sentences; a title is short and rarely ends in one). A title with no
abstract after it still becomes a record; an abstract with no title is a problem.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from papersift.ingest.files import decode_line, iter_raw_lines
from papersift.ingest.records import PaperRecord, ParseItem, ParseProblem

SOURCE = "listing-page"

_GLUED_PREFIXES = (
    "Get trending papers in your email inbox once a day!",
    "Get trending papers in your email inbox!",
    "Subscribe",
)
_BOILERPLATE_EXACT = {
    "new",
    "subscribe",
    "upvote",
    "daily papers",
    "trending papers",
    "trending",
    "search",
    "search results",
    "load more",
    "show more",
    "see all",
    "view all",
    "previous",
    "next",
    "sort by",
    "arxiv page",
    "github",
    "pdf",
    "submitted by",
}
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_BOILERPLATE_PATTERNS = [
    re.compile(p, re.IGNORECASE)
    for p in (
        r"get trending papers in your email inbox\b.*",
        r"by\s*\S+ and the research community",
        r"submitted by\b.*",
        rf"(?:published on\s+)?{_MONTH}\s+\d{{1,2}}(?:,?\s+\d{{4}})?",  # Mar 11, Mar 11, 2024
        rf"(?:published on\s+)?\d{{1,2}}\s+{_MONTH}(?:,?\s+\d{{4}})?",  # 11 Mar 2024
        r"\d{4}-\d{2}-\d{2}",
        r"[^\w]*\d[\d,.]*\s*[km]?\s*(?:authors?|upvotes?|votes?|comments?|stars?|likes?)?[^\w]*",
        r"upvote\s*\d[\d,.]*\s*[km]?",
        r"[·•\-]\s*\d+\s+authors?",
    )
]
_SENTENCE_BREAK = re.compile(r"[a-z0-9)\]%][.!?]\s+[A-Z(]")
_WORD = re.compile(r"[A-Za-z][A-Za-z'\-]{3,}")


def parse(path: Path | str) -> Iterator[ParseItem]:
    """Yield a record per listed paper, with ``extra={"listing_file": <file name>}``.

    Problems (an abstract with no title before it, a compressed file that ends early) are
    placed as "line N".
    """
    name = Path(path).name
    title: str | None = None
    for item in _content_lines(path):
        if isinstance(item, ParseProblem):
            yield item
            continue
        lineno, line = item
        if title is None:
            if _is_clearly_abstract(line):
                yield ParseProblem(
                    SOURCE, f"line {lineno}", f"abstract without a title: {line[:60]!r}"
                )
            else:
                title = line
        elif _is_abstract(line):
            yield _record(title, line, name)
            title = None
        else:
            yield _record(title, "", name)  # the page lost this paper's abstract
            title = line
    if title is not None:
        yield _record(title, "", name)


def _record(title: str, abstract: str, listing_file: str) -> PaperRecord:
    return PaperRecord(
        title=title,
        abstract=abstract,
        source=SOURCE,
        extra={"listing_file": listing_file},
    )


def _content_lines(path: Path | str) -> Iterator[tuple[int, str] | ParseProblem]:
    """Content lines with their numbers: boilerplate and blanks dropped.

    A "Submitted by" line alone is followed by the submitter's name, which is skipped too.
    """
    skip_name = False
    for item in _text_lines(path):
        if isinstance(item, ParseProblem):
            yield item
            continue
        lineno, text = item
        line = _strip_glued(text.strip())
        if not line:
            continue
        if skip_name:
            skip_name = False
            if _looks_like_name(line):
                continue
        if _is_boilerplate(line):
            skip_name = line.casefold() == "submitted by"
            continue
        yield lineno, line


def _text_lines(path: Path | str) -> Iterator[tuple[int, str] | ParseProblem]:
    """Decoded lines, whether they end in LF, CRLF or a lone CR (old Mac editors)."""
    for item in iter_raw_lines(path, SOURCE):
        if isinstance(item, ParseProblem):
            yield item
            continue
        lineno, raw = item
        for part in decode_line(raw).split("\r"):
            yield lineno, part


def _strip_glued(line: str) -> str:
    """Remove boilerplate glued to the start of a title ("SubscribeStitchable Neural ...")."""
    changed = True
    while changed:
        changed = False
        for prefix in _GLUED_PREFIXES:
            rest = line[len(prefix) :]
            if line.startswith(prefix) and rest and not rest[0].islower():
                line, changed = rest.strip(), True
    return line


def _looks_like_name(line: str) -> bool:
    """A submitter's user or full name: at most three words, none of a title's punctuation."""
    return len(line.split()) <= 3 and not any(ch in line for ch in ":?!.")


def _is_boilerplate(line: str) -> bool:
    if line.casefold() in _BOILERPLATE_EXACT:
        return True
    return any(p.fullmatch(line) for p in _BOILERPLATE_PATTERNS)


def _is_clearly_abstract(line: str) -> bool:
    """Where a title is expected, only unmistakable prose counts as an abstract."""
    if len(line) >= 250:
        return True
    return (
        len(line) >= 100
        and _ends_sentence(line)
        and len(_SENTENCE_BREAK.findall(line)) >= 2
        and _lowercase_share(line) > 0.5
    )


def _is_abstract(line: str) -> bool:
    """After a title: long lines are abstracts, mid-length ones if they read like sentences.

    Titles on these pages run up to ~160 characters and may contain "?", "!" or "vs.", so length
    alone is not enough: a terminal period with a sentence break, or mostly lower-case words, is
    what tells prose from a Title Cased heading.
    """
    n = len(line)
    if n >= 250:
        return True
    if n < 60:
        return False
    if not _ends_sentence(line):
        return n >= 200 and _lowercase_share(line) > 0.6  # an abstract cut off mid-sentence
    return bool(_SENTENCE_BREAK.search(line)) or n >= 150 or _lowercase_share(line) > 0.6


def _ends_sentence(line: str) -> bool:
    return line.endswith(".") and not line.endswith("..")


def _lowercase_share(line: str) -> float:
    words = _WORD.findall(line)
    if not words:
        return 0.0
    return sum(w[0].islower() for w in words) / len(words)
