"""The Hugging Face Papers API's JSON shapes, answered from papersift's catalogue.

``huggingface_hub``'s ``HfApi(endpoint=...)`` (``list_papers``, ``paper_info``, ``read_paper``)
and scripts written for huggingface.co/api/papers work against a papersift server unchanged.
HF papers are keyed by arXiv id, so only papers with one are served here.

Only facts papersift has are sent; fields it does not have (discussion ids, AI summaries,
submitters, linked models) are left out rather than invented. :func:`hf_paper_json` is the one
mapping from a stored paper to HF's paper object: the daily-papers list and a future community
vote layer reuse it and pass their own ``upvotes``.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import select

from papersift.index.arxiv_query import ArxivQueryError, strict_arxiv_id
from papersift.index.query import PUBLIC_QUERY_CHARS
from papersift.service import searching
from papersift.service.catalog import Catalog
from papersift.service.searching import NotFound
from papersift.store.schema import Paper

DEFAULT_LIMIT = 50
MAX_LIMIT = 100


class HfParamError(ValueError):
    """A parameter the endpoint cannot use; answered as ``400 {"error": ...}``."""


class HfAuthor(BaseModel):
    name: str


class HfPaper(BaseModel):
    """HF's paper object (``GET /api/papers/{id}``, and ``paper`` inside list items)."""

    id: str = Field(description="arXiv id without version")
    authors: list[HfAuthor] = Field(default_factory=list)
    publishedAt: str | None = Field(None, description="ISO 8601, midnight UTC of the day")
    title: str
    summary: str = ""
    upvotes: int | None = Field(None, description="HF upvotes when known; omitted otherwise")
    githubRepo: str | None = None
    githubStars: int | None = None


class HfSubmitter(BaseModel):
    name: str
    user: str


class HfPaperItem(BaseModel):
    """One item of ``GET /api/papers/search`` (the shape daily-papers lists use too)."""

    paper: HfPaper
    publishedAt: str | None = None
    title: str
    summary: str = ""
    numComments: int | None = None
    submittedBy: HfSubmitter | None = None


def _iso(d: date | None) -> str | None:
    return f"{d.isoformat()}T00:00:00.000Z" if d else None


def _count(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def hf_paper_json(paper: Paper, upvotes: int | None = None) -> dict[str, Any]:
    """A stored paper as HF's paper object; keys papersift has no value for are left out.

    ``upvotes`` overrides the count papersift kept from HF ingest (``extra["hf_upvotes"]``), so
    a community vote layer can pass its own; with neither, there is no ``upvotes`` key.
    """
    if not paper.arxiv_id:
        raise ValueError(f"{paper.id} has no arXiv id: HF papers are keyed by arXiv id")
    extra = paper.extra or {}
    github = next((u for u in paper.code_urls or [] if "github.com/" in u.lower()), None)
    out = HfPaper(
        id=paper.arxiv_id,
        authors=[HfAuthor(name=a) for a in paper.authors or []],
        publishedAt=_iso(paper.published),
        title=paper.title,
        summary=paper.abstract or "",
        upvotes=upvotes if upvotes is not None else _count(extra.get("hf_upvotes")),
        githubRepo=github,
        githubStars=_count(extra.get("github_stars")),
    )
    return out.model_dump(exclude_none=True)


def hf_item_json(paper: Paper, upvotes: int | None = None) -> dict[str, Any]:
    """A list item: the paper object plus HF's item-level copies of title, summary and date."""
    return HfPaperItem(
        paper=HfPaper(**hf_paper_json(paper, upvotes)),
        publishedAt=_iso(paper.published),
        title=paper.title,
        summary=paper.abstract or "",
        numComments=_count((paper.extra or {}).get("num_comments")),
    ).model_dump(exclude_none=True)


def read_limit(raw: str | None) -> int:
    if raw is None or not raw.strip():
        return DEFAULT_LIMIT
    try:
        limit = int(raw)
    except ValueError:
        raise HfParamError(f"limit must be an integer, not {raw[:40]!r}") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise HfParamError(f"limit must be between 1 and {MAX_LIMIT}, not {limit}")
    return limit


def _rows_by_id(catalog: Catalog, ids: list[str]) -> list[Paper]:
    with catalog.store.session() as s:
        rows = {p.id: p for p in s.scalars(select(Paper).where(Paper.id.in_(ids)))}
        s.expunge_all()
    return [rows[i] for i in ids if i in rows]


def search(catalog: Catalog, q: str, limit: int) -> list[dict[str, Any]]:
    """``/api/papers/search``: papersift's own search (hybrid by default), arXiv papers only.

    Without a query, the newest papers: ``list_papers()`` with no arguments lists something.
    """
    if len(q) > PUBLIC_QUERY_CHARS:
        raise HfParamError(f"q is longer than {PUBLIC_QUERY_CHARS} characters")
    if not q.strip():
        with catalog.store.session() as s:
            newest = s.scalars(
                select(Paper)
                .where(Paper.arxiv_id.is_not(None), Paper.published.is_not(None))
                .order_by(Paper.published.desc(), Paper.num.desc())
                .limit(limit)
            )
            return [hf_item_json(p) for p in newest]
    ids: dict[str, None] = {}  # ordered set: a hybrid ranking may repeat a paper across pages
    for page in range(1, 4):  # papers without an arXiv id are skipped: a page may fall short
        out = searching.search(catalog, q, page=page, page_size=MAX_LIMIT)
        ids.update((h.paper.id, None) for h in out.hits if h.paper.arxiv_id)
        if len(ids) >= limit or page * MAX_LIMIT >= out.total:
            break
    return [hf_item_json(p) for p in _rows_by_id(catalog, list(ids)[:limit])]


def _by_arxiv_id(catalog: Catalog, arxiv_id: str) -> Paper:
    try:
        key, _ = strict_arxiv_id(arxiv_id)
    except ArxivQueryError:
        raise NotFound(f"no paper {arxiv_id!r}") from None
    with catalog.store.session() as s:
        p = s.scalar(select(Paper).where(Paper.arxiv_id == key))
        if p is None:
            raise NotFound(f"no paper {arxiv_id!r}")
        s.expunge(p)
        return p


def paper_info(catalog: Catalog, arxiv_id: str) -> dict[str, Any]:
    """``/api/papers/{id}``: one paper by arXiv id (a version suffix is ignored)."""
    return hf_paper_json(_by_arxiv_id(catalog, arxiv_id))


def _one_line(text: str) -> str:
    return " ".join(text.split())


def paper_markdown(catalog: Catalog, arxiv_id: str) -> str:
    """``/papers/{id}.md``: the paper page as markdown, for ``read_paper`` and LLM tools."""
    p = _by_arxiv_id(catalog, arxiv_id)
    lines = [f"# {_one_line(p.title)}", ""]
    facts = [
        ("Authors", ", ".join(_one_line(a) for a in p.authors or [])),
        ("Published", p.published.isoformat() if p.published else ""),
        ("arXiv", f"[{p.arxiv_id}](https://arxiv.org/abs/{p.arxiv_id})"),
        ("PDF", f"https://arxiv.org/pdf/{p.arxiv_id}"),
        ("Categories", ", ".join(p.categories or [])),
        ("DOI", p.doi or ""),
        ("Journal reference", _one_line(p.journal_ref or "")),
        ("Comment", _one_line(p.comment or "")),
        ("Code", ", ".join(p.code_urls or [])),
    ]
    lines += [f"- **{name}:** {value}" for name, value in facts if value]
    lines += ["", "## Abstract", "", p.abstract.strip() or "(no abstract)", ""]
    return "\n".join(lines)


def daily_papers(
    catalog: Catalog,
    *,
    day: str | None = None,
    week: str | None = None,
    month: str | None = None,
    submitter: str | None = None,
    sort: str | None = None,
    page: str | None = None,
    limit: str | None = None,
) -> list[dict[str, Any]]:
    """``/api/daily_papers``: papersift's daily lists (user submissions + auto feed) in HF's shape.

    Without a date, the most recent day that has a list (HF: "defaults to most recent ones").
    ``upvotes`` are papersift's own community votes; ``submittedBy`` names the papersift user who
    put the paper on the list (absent for the automatic feed).
    """
    from papersift.index.query import QueryError
    from papersift.service import community
    from papersift.service.dates import period_range
    from papersift.store.daily import latest_day

    if sort not in (None, "", "publishedAt", "trending"):
        raise HfParamError(f"sort must be 'publishedAt' or 'trending', not {sort[:40]!r}")
    try:
        p = int(page) if page not in (None, "") else 0
    except ValueError:
        raise HfParamError(f"p must be an integer, not {str(page)[:40]!r}") from None
    if p < 0 or p > 10_000:
        raise HfParamError("p must be between 0 and 10000")
    size = read_limit(limit)
    today = community.today()
    if not (day or week or month):
        with catalog.store.session() as s:
            today = latest_day(s) or today
    try:
        start, end = period_range(day, week, month, today)
    except QueryError as exc:
        raise HfParamError(str(exc)) from None
    listing = community.daily(
        catalog,
        start,
        end,
        sort="trending" if sort == "trending" else "newest",
        submitter=submitter or None,
        page=p + 1,
        page_size=size,
    )
    cards = [c for c in listing.cards if c.paper.arxiv_id]
    rows = {r.id: r for r in _rows_by_id(catalog, [c.paper.id for c in cards])}
    items: list[dict[str, Any]] = []
    for card in cards:
        row = rows.get(card.paper.id)
        if row is None:
            continue
        item = hf_item_json(row, upvotes=card.votes)
        item["numComments"] = card.comments
        if card.day is not None:
            item["publishedAt"] = _iso(card.day)  # HF: when it went on the daily list
        if card.submitter:
            item["submittedBy"] = {"name": card.submitter, "user": card.submitter}
        items.append(item)
    return items
