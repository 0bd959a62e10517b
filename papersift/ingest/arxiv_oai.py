"""arXiv OAI-PMH source (``arxiv-oai``): bulk metadata harvest with resumable paging.

arXiv exposes every article through OAI-PMH 2.0 (https://info.arxiv.org/help/oa/index.html):
``ListRecords`` pages of about a thousand records chained by ``resumptionToken``. Two of its
metadata formats are read here: ``arXiv`` (authors split into keyname/forenames/suffix, created
and updated dates) and ``arXivRaw`` (authors as typed, the full version history with RFC 2822
dates). arXiv implements flow control with ``HTTP 503`` + ``Retry-After`` (OAI-PMH 3.5), which
:func:`harvest` obeys a bounded number of times.

Deleted records (``<header status="deleted">``) are skipped: they carry no metadata, and arXiv
only withdraws (never deletes) papers in practice, so there is nothing to store. An OAI
``noRecordsMatch`` error is the protocol's way of saying "empty result" and yields nothing; any
other OAI error raises :class:`OaiError`. Responses are parsed without entity expansion, DTD
loading or network access, because they are untrusted input.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from typing import Final

import httpx
from lxml import etree

from papersift.ingest.http import Pacer, PoliteGetter, RemoteSourceError, RetryPolicy, Sleep
from papersift.ingest.normalize import parse_arxiv_id
from papersift.ingest.records import PaperRecord, ParseProblem
from papersift.ingest.xml import all_text, child_text, parse_untrusted, stripped_texts

SOURCE: Final = "arxiv-oai"
DEFAULT_BASE_URL: Final = "https://export.arxiv.org/oai2"
OAI_NS: Final = "http://www.openarchives.org/OAI/2.0/"
FORMAT_NAMESPACES: Final = {
    "arXiv": "http://arxiv.org/OAI/arXiv/",
    "arXivRaw": "http://arxiv.org/OAI/arXivRaw/",
}
_SUFFIX = re.compile(r"^(?:jr|sr|ii|iii|iv|v)\.?$", re.IGNORECASE)
_AND = re.compile(r"\s+and\s+|\s*&\s*")
_VERSION_LABEL = re.compile(r"^v?(\d+)$")

Item = PaperRecord | ParseProblem


class OaiHarvestError(RemoteSourceError):
    """A page could not be harvested: network failure after retries, HTTP error, bad XML."""


class OaiError(OaiHarvestError):
    """The repository answered with an OAI-PMH ``<error code="...">`` other than noRecordsMatch."""

    def __init__(self, code: str, message: str, url: str | None = None) -> None:
        super().__init__(f"OAI-PMH error {code}: {message}", url)
        self.code = code
        self.message = message


class _BadRecord(Exception):
    """A record whose metadata we cannot read."""


# --------------------------------------------------------------------------- parsing


def parse_list_records(
    content: bytes, metadata_prefix: str = "arXiv", where_prefix: str = ""
) -> tuple[list[Item], str | None]:
    """Read one ListRecords response: its records (or problems) and the next resumption token.

    The token is None when the list is complete (no token, or the empty token OAI-PMH sends on
    the last page). ``noRecordsMatch`` gives ``([], None)``; other OAI errors raise
    :class:`OaiError`, and content that is not an OAI-PMH document raises
    :class:`OaiHarvestError`.
    """
    namespace = _format_namespace(metadata_prefix)
    root = parse_untrusted(content, OaiHarvestError, what="OAI-PMH XML", expected="OAI-PMH XML")
    if root.tag != f"{{{OAI_NS}}}OAI-PMH":
        raise OaiHarvestError(f"not an OAI-PMH response (root element {root.tag!r})")
    if _check_oai_errors(root):
        return [], None
    list_records = root.find(f"{{{OAI_NS}}}ListRecords")
    if list_records is None:
        raise OaiHarvestError("OAI-PMH response has neither ListRecords nor an error")
    items: list[Item] = []
    for index, record in enumerate(list_records.iterfind(f"{{{OAI_NS}}}record"), start=1):
        item = _parse_record(record, namespace, metadata_prefix, where_prefix, index)
        if item is not None:
            items.append(item)
    token = list_records.findtext(f"{{{OAI_NS}}}resumptionToken")
    return items, (token.strip() or None) if token is not None else None


def _format_namespace(metadata_prefix: str) -> str:
    try:
        return FORMAT_NAMESPACES[metadata_prefix]
    except KeyError:
        known = ", ".join(FORMAT_NAMESPACES)
        raise ValueError(f"unsupported metadataPrefix {metadata_prefix!r} (use {known})") from None


def _check_oai_errors(root: etree._Element) -> bool:
    """True for ``noRecordsMatch`` (an empty result); raises OaiError for any other error."""
    errors = root.findall(f"{{{OAI_NS}}}error")
    for error in errors:
        code = error.get("code") or "unknown"
        if code != "noRecordsMatch":
            raise OaiError(code, all_text(error).strip())
    return bool(errors)


def _parse_record(
    record: etree._Element, namespace: str, metadata_prefix: str, where_prefix: str, index: int
) -> Item | None:
    """One <record> to a PaperRecord, a ParseProblem, or None for a deleted record."""
    header = record.find(f"{{{OAI_NS}}}header")
    identifier = ""
    if header is not None:
        if header.get("status") == "deleted":
            return None
        identifier = (header.findtext(f"{{{OAI_NS}}}identifier") or "").strip()
    where = " ".join(part for part in (where_prefix, f"record {index}") if part)
    if identifier:
        where += f" ({identifier})"
    metadata = record.find(f"{{{OAI_NS}}}metadata/{{{namespace}}}{metadata_prefix}")
    if metadata is None:
        return ParseProblem(SOURCE, where, f"record has no {metadata_prefix} metadata")
    fields = _Fields(metadata, namespace)
    try:
        parsed = _parse_arxiv(fields) if metadata_prefix == "arXiv" else _parse_arxiv_raw(fields)
    except _BadRecord as exc:
        return ParseProblem(SOURCE, where, str(exc))
    if header is not None:
        parsed.extra["oai_datestamp"] = (header.findtext(f"{{{OAI_NS}}}datestamp") or "").strip()
        parsed.extra["oai_sets"] = _set_specs(header)
    return parsed


def _set_specs(header: etree._Element) -> list[str]:
    return stripped_texts(header.iterfind(f"{{{OAI_NS}}}setSpec"))


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
        raise _BadRecord(f"record id {raw!r} is not an arXiv identifier")
    return arxiv_id


def _required_title(fields: _Fields, arxiv_id: str) -> str:
    title = fields.text("title")
    if title is None:
        raise _BadRecord(f"{arxiv_id}: record has no title")
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
        raise _BadRecord(f"{arxiv_id}: unreadable {name} date {text!r}") from exc


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
            raise _BadRecord(f"{arxiv_id}: unreadable version label {label!r}")
        date_text = _Fields(element, fields.namespace).text("date") or ""
        versions.append(_Version(int(match.group(1)), _rfc2822(date_text, arxiv_id)))
    return sorted(versions, key=lambda v: v.number)


def _rfc2822(text: str, arxiv_id: str) -> datetime:
    """``Mon, 2 Apr 2007 19:18:42 GMT`` as an aware UTC datetime."""
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError) as exc:
        raise _BadRecord(f"{arxiv_id}: unreadable version date {text!r}") from exc
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


# --------------------------------------------------------------------------- harvesting


def harvest(
    *,
    client: httpx.Client,
    base_url: str = DEFAULT_BASE_URL,
    metadata_prefix: str = "arXiv",
    set_spec: str | None = None,
    date_from: date | None = None,
    date_until: date | None = None,
    resumption_token: str | None = None,
    sleep: Sleep = time.sleep,
    on_token: Callable[[str], None] | None = None,
    delay_s: float = 3.0,
    max_retries: int = 5,
    backoff_s: float = 10.0,
    max_wait_s: float = 600.0,
) -> Iterator[Item]:
    """Harvest ``ListRecords`` page after page, following resumption tokens to the end.

    Pass ``resumption_token`` (with the same ``metadata_prefix``) to continue a harvest that
    stopped; the other selective-harvest arguments are then ignored, as OAI-PMH requires.
    ``on_token`` receives each new token once every record of the page that carried it has been
    handed out, so persisting it never skips records: resuming repeats at most one page.
    ``date_from``/``date_until`` filter on the OAI datestamp (last metadata change), not on the
    submission date. 503/429/5xx and network failures are retried ``max_retries`` times, waiting
    what ``Retry-After`` asks (capped at ``max_wait_s``) or an exponential backoff.
    """
    _format_namespace(metadata_prefix)  # fail now, not at the first next()
    if resumption_token:
        params = {"verb": "ListRecords", "resumptionToken": resumption_token}
    else:
        params = _first_params(metadata_prefix, set_spec, date_from, date_until)
    getter = PoliteGetter(
        client,
        service="OAI-PMH",
        pacer=Pacer(delay_s, sleep),
        policy=RetryPolicy(
            max_retries,
            backoff_s,
            max_backoff_s=max_wait_s,
            retry_after_cap_s=max_wait_s,
            retry_after_replaces_backoff=True,  # flow control: wait what Retry-After asks
        ),
        error=OaiHarvestError,
    )
    return _harvest_pages(getter, base_url, params, metadata_prefix, on_token)


def _first_params(
    metadata_prefix: str, set_spec: str | None, date_from: date | None, date_until: date | None
) -> dict[str, str]:
    params = {"verb": "ListRecords", "metadataPrefix": metadata_prefix}
    if set_spec:
        params["set"] = set_spec
    if date_from is not None:
        params["from"] = date_from.isoformat()
    if date_until is not None:
        params["until"] = date_until.isoformat()
    return params


def _harvest_pages(
    getter: PoliteGetter,
    base_url: str,
    params: dict[str, str],
    metadata_prefix: str,
    on_token: Callable[[str], None] | None,
) -> Iterator[Item]:
    page = 1
    seen_tokens: set[str] = set()
    while True:
        url = str(httpx.URL(base_url, params=params))
        content = getter.get(base_url, params)
        try:
            items, token = parse_list_records(content, metadata_prefix, where_prefix=f"page {page}")
        except OaiError as exc:
            raise OaiError(exc.code, exc.message, url) from exc
        except OaiHarvestError as exc:
            raise OaiHarvestError(f"page {page}: {exc.detail}", url) from exc
        yield from items
        if token is None:
            return
        if token in seen_tokens:
            raise OaiHarvestError(f"page {page}: resumption token {token!r} repeated", url)
        seen_tokens.add(token)
        if on_token is not None:
            on_token(token)
        params = {"verb": "ListRecords", "resumptionToken": token}
        page += 1
