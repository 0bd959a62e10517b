"""arXiv API source (``arxiv-api``): search queries paged politely and parsed into records.

The export API (https://info.arxiv.org/help/api/user-manual.html) answers every request with an
Atom 1.0 feed, errors included: a bad query comes back as HTTP 200 with a single entry whose id is
``http://arxiv.org/api/errors#...``, so an HTTP status alone never tells success. arXiv asks for at
most one request every three seconds on a single connection, and its servers answer 503/429 under
load, so :func:`fetch` sleeps between requests and retries transient failures with backoff.

Feeds are parsed with lxml through a parser that never resolves entities nor touches the network:
the bytes come from the internet, and an entity bomb or an external entity must stay inert. Both
feed generations are read: the 2007-2025 one (namespaces declared on every element, times with a
``-04:00`` offset) and the 2025 rewrite (namespaces on the root, ``Z`` times, https links).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Final, Literal

import httpx
from lxml import etree

from papersift.ingest.http import Pacer, PoliteGetter, RemoteSourceError, RetryPolicy, Sleep
from papersift.ingest.normalize import parse_arxiv_id
from papersift.ingest.records import PaperRecord, ParseProblem
from papersift.ingest.xml import child_text, parse_untrusted, stripped_texts

SOURCE: Final = "arxiv-api"
DEFAULT_BASE_URL: Final = "https://export.arxiv.org/api/query"
MAX_PAGE_SIZE: Final = 2000  # the API serves at most 2000 results per call
ARXIV_EPOCH: Final = date(1991, 1, 1)  # before the first submission; open-ended date ranges

ATOM_NS: Final = "http://www.w3.org/2005/Atom"
ARXIV_NS: Final = "http://arxiv.org/schemas/atom"
OPENSEARCH_NS: Final = "http://a9.com/-/spec/opensearch/1.1/"
_NS: Final = {"a": ATOM_NS, "arxiv": ARXIV_NS, "os": OPENSEARCH_NS}

# arXiv categories look like ``hep-th``, ``cs.LG``, ``cond-mat.str-el``; ACM (``I.2.6``) and MSC
# (``68T05``) classes share the <category> element and are kept apart in ``extra``.
_ARXIV_CATEGORY = re.compile(r"^[a-z]+(?:-[a-z]+)*(?:\.[A-Za-z]+(?:-[A-Za-z]+)*)?$")
# Query syntax the caller wrote themselves: field prefixes or boolean operators.
_QUERY_SYNTAX = re.compile(
    r"\b(?:ti|au|abs|co|jr|cat|rn|id|all|submittedDate):|\b(?:AND|OR|ANDNOT)\b"
)
_QUERY_TERM = re.compile(r'"[^"]*"|[^\s"]+')

Item = PaperRecord | ParseProblem


class ArxivApiError(RemoteSourceError):
    """The API could not be read: network failure after retries, HTTP error, or not a feed.

    ``url`` is the request that failed, so a log line is enough to reproduce it.
    """


@dataclass(frozen=True)
class FeedInfo:
    """The OpenSearch paging numbers of one feed, and the API's error message if it sent one."""

    total_results: int | None = None
    start_index: int | None = None
    items_per_page: int | None = None
    error: str | None = None


class _ErrorEntry(Exception):
    """The entry is arXiv's error report, not a paper."""


class _BadEntry(Exception):
    """The entry is a paper we cannot read."""


# --------------------------------------------------------------------------- parsing


def parse_feed(content: bytes | str, where_prefix: str = "") -> tuple[list[Item], FeedInfo]:
    """Read one API response into records (or problems, one per unreadable entry) and paging info.

    Raises :class:`ArxivApiError` when the content is not a well-formed Atom feed at all, since
    then nothing on the page can be trusted; a single bad entry only becomes a ParseProblem.
    """
    root = parse_untrusted(content, ArxivApiError, what="Atom XML", expected="an Atom feed")
    if root.tag != f"{{{ATOM_NS}}}feed":
        raise ArxivApiError(f"not an Atom feed (root element {root.tag!r})")
    items: list[Item] = []
    error: str | None = None
    for index, entry in enumerate(root.iterfind("a:entry", _NS), start=1):
        where = " ".join(part for part in (where_prefix, f"entry {index}") if part)
        try:
            items.append(_parse_entry(entry))
        except _ErrorEntry as exc:
            error = str(exc)
            items.append(ParseProblem(SOURCE, where, f"arXiv API error: {exc}"))
        except _BadEntry as exc:
            items.append(ParseProblem(SOURCE, where, str(exc)))
    info = FeedInfo(
        total_results=_int_child(root, "os:totalResults"),
        start_index=_int_child(root, "os:startIndex"),
        items_per_page=_int_child(root, "os:itemsPerPage"),
        error=error,
    )
    return items, info


def _int_child(parent: etree._Element, path: str) -> int | None:
    text = child_text(parent, path, _NS)
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def _parse_entry(entry: etree._Element) -> PaperRecord:
    """One <entry> to a record; _ErrorEntry for arXiv's error report, _BadEntry if unreadable."""
    entry_id = child_text(entry, "a:id", _NS) or ""
    if "/api/errors" in entry_id:
        raise _ErrorEntry(child_text(entry, "a:summary", _NS) or entry_id)
    arxiv_id, version = parse_arxiv_id(entry_id)
    if arxiv_id is None:
        raise _BadEntry(f"entry id {entry_id!r} is not an arXiv abstract URL")
    title = child_text(entry, "a:title", _NS)
    if title is None:
        raise _BadEntry(f"{arxiv_id}: entry has no title")
    links = _links(entry)
    if version is None and links.abs_url:
        version = parse_arxiv_id(links.abs_url)[1]
    authors, affiliations = _authors(entry)
    categories, other_classes = _categories(entry)
    extra: dict[str, object] = {}
    if categories:
        extra["primary_category"] = categories[0]
    if any(affiliations):
        extra["affiliations"] = affiliations
    if other_classes:
        extra["other_classes"] = other_classes
    return PaperRecord(
        title=title,
        abstract=child_text(entry, "a:summary", _NS) or "",
        authors=authors,
        source=SOURCE,
        arxiv_id=arxiv_id,
        version=version,
        doi=child_text(entry, "arxiv:doi", _NS) or links.doi_url,
        categories=categories,
        published=_entry_date(entry, "a:published", arxiv_id),
        updated=_entry_date(entry, "a:updated", arxiv_id),
        comment=child_text(entry, "arxiv:comment", _NS),
        journal_ref=child_text(entry, "arxiv:journal_ref", _NS),
        abs_url=links.abs_url,
        pdf_url=links.pdf_url,
        extra=extra,
    )


@dataclass
class _Links:
    abs_url: str | None = None
    pdf_url: str | None = None
    doi_url: str | None = None


def _links(entry: etree._Element) -> _Links:
    """Abstract page (rel=alternate), PDF (title=pdf) and resolved DOI (title=doi) links."""
    found = _Links()
    for link in entry.iterfind("a:link", _NS):
        href = (link.get("href") or "").strip()
        if not href:
            continue
        rel, title = link.get("rel", "alternate"), link.get("title")
        if title == "pdf" or link.get("type") == "application/pdf":
            found.pdf_url = found.pdf_url or href
        elif title == "doi":
            found.doi_url = found.doi_url or href
        elif rel == "alternate":
            found.abs_url = found.abs_url or href
    return found


def _authors(entry: etree._Element) -> tuple[list[str], list[list[str]]]:
    """Author names in order, with each author's ``arxiv:affiliation`` list aligned to them."""
    names: list[str] = []
    affiliations: list[list[str]] = []
    for author in entry.iterfind("a:author", _NS):
        name = child_text(author, "a:name", _NS)
        if not name:
            continue
        names.append(name)
        affiliations.append(stripped_texts(author.iterfind("arxiv:affiliation", _NS)))
    return names, affiliations


def _categories(entry: etree._Element) -> tuple[list[str], list[str]]:
    """arXiv categories with the primary first, and the ACM/MSC classes that share the element."""
    terms: list[str] = []
    primary = entry.find("arxiv:primary_category", _NS)
    if primary is not None:
        terms.append((primary.get("term") or "").strip())
    terms.extend((c.get("term") or "").strip() for c in entry.iterfind("a:category", _NS))
    categories: list[str] = []
    others: list[str] = []
    for term in terms:
        bucket = categories if _ARXIV_CATEGORY.match(term) else others
        if term and term not in bucket:
            bucket.append(term)
    return categories, others


def _entry_date(entry: etree._Element, path: str, arxiv_id: str) -> date | None:
    """The UTC calendar date of an Atom timestamp; absent is fine, unreadable is a bad entry."""
    text = child_text(entry, path, _NS)
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise _BadEntry(f"{arxiv_id}: unreadable {path[2:]} date {text!r}") from exc
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.date()


# --------------------------------------------------------------------------- queries


def build_query(
    categories: list[str] | None,
    date_from: date | None,
    date_to: date | None,
    query: str | None,
) -> str:
    """Compose an arXiv ``search_query`` from categories, a submission-date range and free text.

    ``(cat:cs.LG OR cat:cs.CL) AND submittedDate:[202501010000 TO 202501312359]``. Free text that
    already uses arXiv syntax (``ti:``, ``AND``...) is kept as written; plain words are each
    searched in all fields (``all:word``), quoted phrases stay phrases. One open end of the date
    range is filled with arXiv's start or today (UTC), since the API needs both ends.
    """
    parts: list[str] = []
    cats = [c.strip() for c in categories or [] if c.strip()]
    if cats:
        joined = " OR ".join(f"cat:{c}" for c in cats)
        parts.append(f"({joined})" if len(cats) > 1 else joined)
    if date_from is not None or date_to is not None:
        low = date_from or ARXIV_EPOCH
        high = date_to or datetime.now(UTC).date()
        parts.append(f"submittedDate:[{low:%Y%m%d}0000 TO {high:%Y%m%d}2359]")
    text = (query or "").strip()
    if text:
        parts.append(_free_text_query(text, alone=not parts))
    if not parts:
        raise ValueError("nothing to search for: give categories, a date range or a query")
    return " AND ".join(parts)


def _free_text_query(text: str, *, alone: bool) -> str:
    if _QUERY_SYNTAX.search(text):
        return text if alone else f"({text})"
    terms = [f"all:{term}" for term in _QUERY_TERM.findall(text) if term.strip('"').strip()]
    return " AND ".join(terms)


# --------------------------------------------------------------------------- fetching


def fetch(
    search_query: str,
    *,
    client: httpx.Client,
    base_url: str = DEFAULT_BASE_URL,
    page_size: int = 100,
    max_results: int | None = None,
    delay_s: float = 3.0,
    sleep: Sleep = time.sleep,
    sort_order: Literal["ascending", "descending"] = "ascending",
    retries: int = 3,
    backoff_s: float = 5.0,
    empty_page_retries: int = 1,
) -> Iterator[Item]:
    """Yield every result of ``search_query``, sorted by submission date, page by page.

    Ascending order is the default because it keeps paging stable: papers announced while we page
    land after the last page instead of shifting earlier pages. Paging stops at an empty page,
    at ``opensearch:totalResults``, at ``max_results`` or after an API error entry (the error
    would repeat on every page). arXiv sometimes answers a page in the middle of a result set with
    an empty feed; such a page is asked for again ``empty_page_retries`` times before stopping.
    Transient failures (timeouts, 429, 5xx) are retried ``retries`` times with exponential
    backoff; then :class:`ArxivApiError` names the URL.
    """
    if page_size < 1:
        raise ValueError("page_size must be at least 1")
    page_size = min(page_size, MAX_PAGE_SIZE)
    getter = PoliteGetter(
        client,
        service="arXiv API",
        pacer=Pacer(delay_s, sleep),
        policy=RetryPolicy(retries, backoff_s),
        error=ArxivApiError,
    )
    start, page, handed_out = 0, 1, 0
    known_total: int | None = None
    empty_retries_left = empty_page_retries
    while max_results is None or handed_out < max_results:
        want = page_size if max_results is None else min(page_size, max_results - handed_out)
        params = {
            "search_query": search_query,
            "start": str(start),
            "max_results": str(want),
            "sortBy": "submittedDate",
            "sortOrder": sort_order,
        }
        items, info = _fetch_page(getter, base_url, params, page)
        if not items:
            if empty_retries_left > 0 and known_total is not None and start < known_total:
                empty_retries_left -= 1
                continue
            return
        items = items[:want]
        yield from items
        handed_out += len(items)
        start += len(items)
        known_total = info.total_results if info.total_results is not None else known_total
        if info.error is not None or (known_total is not None and start >= known_total):
            return
        page += 1


def _fetch_page(
    getter: PoliteGetter, base_url: str, params: dict[str, str], page: int
) -> tuple[list[Item], FeedInfo]:
    """GET and parse one page; a page that is not a feed is an error naming the URL."""
    url = str(httpx.URL(base_url, params=params))
    content = getter.get(base_url, params)
    try:
        return parse_feed(content, where_prefix=f"page {page}")
    except ArxivApiError as exc:
        raise ArxivApiError(f"page {page}: {exc.detail}", url) from exc
