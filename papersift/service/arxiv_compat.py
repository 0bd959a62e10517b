"""The arXiv API (``/api/query``) answered from papersift's catalogue.

Tools built for arXiv (the ``arxiv`` Python package, feed readers, scripts) can use a papersift
server as a local mirror by changing only their base URL. This module reads the API's parameters
the way arXiv does, runs the query on the keyword index (:mod:`papersift.index.arxiv_query`) and
returns plain entries; :mod:`papersift.web.compat_arxiv` renders them as arXiv's Atom feed.

Decisions a caller may notice:

- ``max_results`` above 2000 is clamped to 2000 (arXiv's largest slice), and nothing past
  result 30,000 is served (arXiv's own cap): such pages are empty, ``totalResults`` stays true.
- ``id_list`` takes arXiv ids only, with or without a version; an unknown but well-formed id is
  left out, a malformed one is an error. The entry carries the version papersift stores, which
  may be newer than the one asked for (papersift keeps one version's metadata per paper).
- Papers without an arXiv id appear in search results with their papersift page as ``<id>``
  (``{base}/paper/doi:...``) and their own abs/pdf links; they cannot be named in ``id_list``.
- Relevance is BM25 and always best first; ``sortOrder`` applies to the two date orders.
  ``lastUpdatedDate`` orders by update date (publication day if never updated); past 30,000
  matches it orders the 30,000 nearest by publication day, as the index has no update field.
- Dates are days (papersift stores no times); a paper without any date gets the day papersift
  last changed it, because Atom requires ``<updated>``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Literal
from urllib.parse import quote

import tantivy
from sqlalchemy import select

from papersift.index.arxiv_query import ArxivQueryError, parse, strict_arxiv_id, to_tantivy
from papersift.service.catalog import Catalog
from papersift.store.papers import papers_by_num
from papersift.store.schema import Paper

MAX_RESULTS_PER_PAGE = 2_000
MAX_WINDOW = 30_000
MAX_IDS = 2_000
DEFAULT_MAX_RESULTS = 10
SortBy = Literal["relevance", "lastUpdatedDate", "submittedDate"]
SortOrder = Literal["ascending", "descending"]
SORT_BY: tuple[SortBy, ...] = ("relevance", "lastUpdatedDate", "submittedDate")
SORT_ORDER: tuple[SortOrder, ...] = ("ascending", "descending")


class ArxivApiError(ValueError):
    """A request arXiv would refuse; rendered as arXiv's one-entry error feed with a 400."""


@dataclass(frozen=True)
class ArxivParams:
    search_query: str = ""
    id_list: list[str] = field(default_factory=list)  # arXiv ids without versions
    start: int = 0
    max_results: int = DEFAULT_MAX_RESULTS
    sort_by: SortBy = "relevance"
    sort_order: SortOrder = "descending"


@dataclass(frozen=True)
class ArxivEntry:
    """One ``<entry>``: what arXiv's feed says about a paper, in papersift's terms."""

    id: str
    published: datetime
    updated: datetime
    title: str
    summary: str
    authors: list[str]
    categories: list[str]
    primary_category: str | None
    abs_url: str
    pdf_url: str | None
    comment: str | None
    journal_ref: str | None
    doi: str | None


@dataclass(frozen=True)
class ArxivPage:
    params: ArxivParams
    total: int
    entries: list[ArxivEntry]


def _int(value: str | None, name: str, default: int) -> int:
    if value is None or not value.strip():
        return default
    try:
        number = int(value.strip())
    except ValueError:
        raise ArxivApiError(f"{name} must be an integer") from None
    if number < 0:
        raise ArxivApiError(f"{name} must be >= 0")
    return number


def read_params(
    search_query: str | None = None,
    id_list: str | None = None,
    start: str | None = None,
    max_results: str | None = None,
    sort_by: str | None = None,
    sort_order: str | None = None,
) -> ArxivParams:
    """Validate the raw query-string values as arXiv does (same messages for the same faults)."""
    ids: list[str] = []
    for raw in (id_list or "").split(","):
        if raw.strip():
            try:
                arxiv_id, _ = strict_arxiv_id(raw)
            except ArxivQueryError as exc:
                raise ArxivApiError(str(exc)) from None
            if arxiv_id not in ids:
                ids.append(arxiv_id)
    if len(ids) > MAX_IDS:
        raise ArxivApiError(f"id_list holds more than {MAX_IDS} ids")
    by = (sort_by or "relevance").strip()
    if by not in SORT_BY:
        raise ArxivApiError(f"sortBy must be one of {', '.join(SORT_BY)}, not {by!r}")
    order = (sort_order or "descending").strip()
    if order not in SORT_ORDER:
        raise ArxivApiError(f"sortOrder must be ascending or descending, not {order!r}")
    return ArxivParams(
        search_query=(search_query or "").strip(),
        id_list=ids,
        start=_int(start, "start", 0),
        max_results=min(
            _int(max_results, "max_results", DEFAULT_MAX_RESULTS), MAX_RESULTS_PER_PAGE
        ),
        sort_by=by,
        sort_order=order,
    )


def _at_midnight(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=UTC)


def entry_of(p: Paper, base_url: str) -> ArxivEntry:
    """Map a stored paper to arXiv's entry fields; arXiv papers get arXiv's own URLs."""
    fallback = p.modified_at.date() if p.modified_at else date(1970, 1, 1)
    published = p.published or p.updated or fallback
    updated = max(p.updated or published, published)
    if p.arxiv_id:
        versioned = f"{p.arxiv_id}v{p.arxiv_version}" if p.arxiv_version else p.arxiv_id
        entry_id = f"http://arxiv.org/abs/{versioned}"
        abs_url: str = entry_id
        pdf_url: str | None = f"http://arxiv.org/pdf/{versioned}"
    else:
        entry_id = f"{base_url.rstrip('/')}/paper/{quote(p.id, safe=':/')}"
        abs_url, pdf_url = p.abs_url or entry_id, p.pdf_url
    return ArxivEntry(
        id=entry_id,
        published=_at_midnight(published),
        updated=_at_midnight(updated),
        title=p.title,
        summary=p.abstract or "",
        authors=list(p.authors or []),
        categories=list(p.categories or []),
        primary_category=p.primary_category,
        abs_url=abs_url,
        pdf_url=pdf_url,
        comment=p.comment,
        journal_ref=p.journal_ref,
        doi=p.doi,
    )


def _nums_for_ids(catalog: Catalog, ids: Sequence[str]) -> list[int]:
    """Paper nums for arXiv ids, in the order given; unknown ids are dropped."""
    found: dict[str, int] = {}
    with catalog.store.session() as s:
        for i in range(0, len(ids), 500):
            rows = s.execute(
                select(Paper.arxiv_id, Paper.num).where(Paper.arxiv_id.in_(ids[i : i + 500]))
            )
            found.update({a: n for a, n in rows if a})
    return [found[i] for i in ids if i in found]


def _by_update(catalog: Catalog, nums: list[int], descending: bool) -> list[int]:
    """Re-order nums by last update (publication day when never updated)."""
    when: dict[int, date] = {}
    with catalog.store.session() as s:
        for i in range(0, len(nums), 500):
            rows = s.execute(
                select(Paper.num, Paper.updated, Paper.published).where(
                    Paper.num.in_(nums[i : i + 500])
                )
            )
            when.update({n: u or p or date.min for n, u, p in rows})
    return sorted(nums, key=lambda n: (when.get(n, date.min), n), reverse=descending)


def _run(catalog: Catalog, query: tantivy.Query, params: ArxivParams) -> tuple[list[int], int]:
    """One page of nums, ordered as asked, and the total number of matches."""
    start, size = params.start, params.max_results
    if start >= MAX_WINDOW:
        size = 0  # past arXiv's window: count only
    size = min(size, MAX_WINDOW - start) if size else 0
    index = catalog.keyword
    descending = params.sort_order == "descending"
    if params.sort_by == "relevance":
        hits, total = index.search_query(query, limit=size, offset=start if size else 0)
        return [n for n, _ in hits], total
    order = "desc" if descending else "asc"
    if params.sort_by == "submittedDate":
        hits, total = index.search_query(
            query, limit=size, offset=start if size else 0, order_by_day=order
        )
        return [n for n, _ in hits], total
    _, total = index.search_query(query, limit=0)
    if not size:
        return [], total
    hits, _ = index.search_query(query, limit=min(total, MAX_WINDOW), order_by_day=order)
    ordered = _by_update(catalog, [n for n, _ in hits], descending)
    return ordered[start : start + size], total


def query(catalog: Catalog, params: ArxivParams, *, base_url: str) -> ArxivPage:
    """Answer an arXiv API request: search_query, id_list or both (then: ids that match)."""
    nums: list[int] = []
    total = 0
    id_nums = _nums_for_ids(catalog, params.id_list) if params.id_list else []
    if params.search_query:
        try:
            node = parse(params.search_query)
            tq = to_tantivy(node, catalog.keyword, lambda ids: _nums_for_ids(catalog, list(ids)))
        except ArxivQueryError as exc:
            raise ArxivApiError(str(exc)) from None
        if params.id_list:
            restrict = (
                tantivy.Query.term_set_query(catalog.keyword.schema, "num", id_nums)
                if id_nums
                else tantivy.Query.empty_query()
            )
            tq = tantivy.Query.boolean_query(
                [(tantivy.Occur.Must, tq), (tantivy.Occur.Must, restrict)]
            )
        nums, total = _run(catalog, tq, params)
    elif params.id_list:
        # arXiv answers a bare id_list in the order given, whatever sortBy says.
        total = len(id_nums)
        nums = id_nums[params.start : params.start + params.max_results]
    entries: list[ArxivEntry] = []
    if nums:
        with catalog.store.session() as s:
            papers = papers_by_num(s, nums)
            entries = [entry_of(papers[n], base_url) for n in nums if n in papers]
    return ArxivPage(params=params, total=total, entries=entries)
