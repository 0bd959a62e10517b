"""The ``arXiv`` and ``arXivRaw`` OAI-PMH metadata formats, read into :class:`PaperRecord` values.

:mod:`papersift.ingest.arxiv_oai` handles the OAI-PMH side (the ListRecords envelope, record
headers, deleted records, paging); this module knows only what sits inside one ``<metadata>``
block, so a change to either schema stays here. ``arXiv`` splits authors into
keyname/forenames/suffix and carries created/updated dates; ``arXivRaw`` keeps authors as typed
(see :func:`split_authors`) and the full version history with RFC 2822 dates.

A record that cannot be read raises :class:`BadRecord`, which the caller turns into a
:class:`ParseProblem` naming the record.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from typing import Final

from lxml import etree

from papersift.ingest.normalize import parse_arxiv_id
from papersift.ingest.records import PaperRecord
from papersift.ingest.xml import child_text, stripped_texts

SOURCE: Final = "arxiv-oai"
FORMAT_NAMESPACES: Final = {
    "arXiv": "http://arxiv.org/OAI/arXiv/",
    "arXivRaw": "http://arxiv.org/OAI/arXivRaw/",
}
_SUFFIX = re.compile(r"^(?:jr|sr|ii|iii|iv|v)\.?$", re.IGNORECASE)
_AND = re.compile(r"\s+and\s+|\s*&\s*")
_VERSION_LABEL = re.compile(r"^v?(\d+)$")


class BadRecord(Exception):
    """A record whose metadata we cannot read."""


def format_namespace(metadata_prefix: str) -> str:
    """The XML namespace of a supported metadataPrefix; ValueError names the supported ones."""
    try:
        return FORMAT_NAMESPACES[metadata_prefix]
    except KeyError:
        known = ", ".join(FORMAT_NAMESPACES)
        raise ValueError(f"unsupported metadataPrefix {metadata_prefix!r} (use {known})") from None


def parse_metadata(metadata: etree._Element, namespace: str, metadata_prefix: str) -> PaperRecord:
    """One ``<arXiv>``/``<arXivRaw>`` metadata element to a record; raises :class:`BadRecord`."""
    fields = _Fields(metadata, namespace)
    return _parse_arxiv(fields) if metadata_prefix == "arXiv" else _parse_arxiv_raw(fields)


@dataclass
class _Fields:
    """Child-element access for one metadata block in its format's namespace."""

    element: etree._Element
    namespace: str
    extra: dict[str, object] = field(default_factory=dict)

    def text(self, name: str) -> str | None:
        return child_text(self.element, f"{{{self.namespace}}}{name}")

    def children(self, path: str) -> list[etree._Element]:
        qualified = "/".join(f"{{{self.namespace}}}{step}" for step in path.split("/"))
        return list(self.element.iterfind(qualified))

    def keep(self, *names: str) -> None:
        """Copy optional fields worth keeping (license, report number...) into ``extra``."""
        for name in names:
            value = self.text(name)
            if value:
                self.extra[name.replace("-", "_")] = value


def _required_id(fields: _Fields) -> str:
    raw = fields.text("id")
    arxiv_id = parse_arxiv_id(raw)[0]
    if arxiv_id is None:
        raise BadRecord(f"record id {raw!r} is not an arXiv identifier")
    return arxiv_id


def _required_title(fields: _Fields, arxiv_id: str) -> str:
    title = fields.text("title")
    if title is None:
        raise BadRecord(f"{arxiv_id}: record has no title")
    return title


def _common_record(fields: _Fields, arxiv_id: str) -> PaperRecord:
    """The fields both formats share, named the same in both schemas."""
    fields.keep("license", "report-no", "msc-class", "acm-class")
    categories = (fields.text("categories") or "").split()
    if categories:
        fields.extra["primary_category"] = categories[0]
    return PaperRecord(
        title=_required_title(fields, arxiv_id),
        abstract=fields.text("abstract") or "",
        source=SOURCE,
        arxiv_id=arxiv_id,
        doi=fields.text("doi"),
        categories=categories,
        comment=fields.text("comments"),
        journal_ref=fields.text("journal-ref"),
        extra=fields.extra,
    )


# --- metadataPrefix=arXiv


def _parse_arxiv(fields: _Fields) -> PaperRecord:
    """``arXiv`` format: structured authors, ``created``/``updated`` as ISO dates, no version."""
    arxiv_id = _required_id(fields)
    record = _common_record(fields, arxiv_id)
    record.authors, affiliations = _structured_authors(fields)
    if any(affiliations):
        record.extra["affiliations"] = affiliations
    record.published = _iso_date(fields.text("created"), "created", arxiv_id)
    record.updated = _iso_date(fields.text("updated"), "updated", arxiv_id) or record.published
    return record


def _structured_authors(fields: _Fields) -> tuple[list[str], list[list[str]]]:
    """``forenames keyname suffix`` per <author>, in order, with their <affiliation>s."""
    names: list[str] = []
    affiliations: list[list[str]] = []
    for author in fields.children("authors/author"):
        part = _Fields(author, fields.namespace)
        name = " ".join(
            p for p in (part.text("forenames"), part.text("keyname"), part.text("suffix")) if p
        )
        if not name:
            continue
        names.append(name)
        affiliations.append(stripped_texts(part.children("affiliation")))
    return names, affiliations


def _iso_date(text: str | None, name: str, arxiv_id: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise BadRecord(f"{arxiv_id}: unreadable {name} date {text!r}") from exc


# --- metadataPrefix=arXivRaw


def _parse_arxiv_raw(fields: _Fields) -> PaperRecord:
    """``arXivRaw`` format: authors as one string, dates and version from the version history."""
    arxiv_id = _required_id(fields)
    record = _common_record(fields, arxiv_id)
    record.authors = split_authors(fields.text("authors") or "")
    submitter = fields.text("submitter")
    if submitter:
        record.extra["submitter"] = submitter
    versions = _versions(fields, arxiv_id)
    if versions:
        record.version = versions[-1].number
        record.published = versions[0].submitted.date()
        record.updated = versions[-1].submitted.date()
        record.extra["versions"] = [
            {"version": v.number, "submitted": v.submitted.isoformat()} for v in versions
        ]
    return record


@dataclass(frozen=True)
class _Version:
    number: int
    submitted: datetime


def _versions(fields: _Fields, arxiv_id: str) -> list[_Version]:
    """The <version version="vN"><date>RFC 2822</date> history, ordered by version number."""
    versions: list[_Version] = []
    for element in fields.children("version"):
        label = (element.get("version") or "").strip()
        match = _VERSION_LABEL.match(label)
        if match is None:
            raise BadRecord(f"{arxiv_id}: unreadable version label {label!r}")
        date_text = _Fields(element, fields.namespace).text("date") or ""
        versions.append(_Version(int(match.group(1)), _rfc2822(date_text, arxiv_id)))
    return sorted(versions, key=lambda v: v.number)


def _rfc2822(text: str, arxiv_id: str) -> datetime:
    """``Mon, 2 Apr 2007 19:18:42 GMT`` as an aware UTC datetime."""
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError) as exc:
        raise BadRecord(f"{arxiv_id}: unreadable version date {text!r}") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def split_authors(text: str) -> list[str]:
    """Split an arXivRaw author string into names, in order.

    arXiv keeps authors as the submitter typed them: names separated by commas or ``and``,
    affiliations in parentheses, sometimes numbered (``A. One (1), B. Two (2) ((1) MIT, (2)
    CERN)``), LaTeX accents in braces. Parenthesised text is dropped, separators inside braces
    are ignored, and a lone ``Jr.``/``III`` rejoins the name before it.
    """
    pieces: list[str] = []
    current: list[str] = []
    parens = braces = 0
    for char in text:
        if char == "(":
            parens += 1
        elif char == ")" and parens:
            parens -= 1
        elif parens:
            continue
        elif char in "{}":
            braces += 1 if char == "{" else -1 if braces else 0
            current.append(char)
        elif char in ",;" and braces == 0:
            pieces.append("".join(current))
            current = []
        else:
            current.append(char)
    pieces.append("".join(current))
    return _join_suffixes(
        name for piece in pieces for name in _AND.split(piece) if name.strip(" .") != "et al"
    )


def _join_suffixes(names: Iterable[str]) -> list[str]:
    """Collapse whitespace, drop empties, and glue a lone suffix to the preceding name."""
    result: list[str] = []
    for raw in names:
        name = " ".join(raw.split())
        if not name:
            continue
        if result and _SUFFIX.match(name):
            result[-1] = f"{result[-1]} {name}"
        else:
            result.append(name)
    return result
