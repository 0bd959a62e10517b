"""Votes, daily lists and trending: the functions behind /daily, /trending and the vote buttons.

Every mutating function takes the acting :class:`Principal` first; none takes a user id from the
request, so one user cannot act as another through any face (web, API, CLI).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from papersift.index.query import Filters
from papersift.rank.trending import TrendingParams, appeared_at, score
from papersift.service import searching
from papersift.service.accounts import Forbidden, Principal
from papersift.service.catalog import Catalog
from papersift.service.community_models import (
    Card,
    ListSort,
    PaperListOut,
    TrendingWhy,
    VoteOut,
    Window,
)
from papersift.service.models import Mode, PaperOut, SearchOut
from papersift.service.searching import require_paper
from papersift.store import daily as daily_db
from papersift.store import votes as votes_db
from papersift.store.papers import papers_by_num
from papersift.store.schema import Comment, LibraryEntry, Paper, Vote, utcnow

WINDOW_DAYS: dict[str, int] = {"day": 1, "week": 7, "month": 31}
MAX_PAGE_SIZE = 100
# How many candidates a list may rank; beyond this a list is paged, not scored, further.
MAX_CANDIDATES = 50_000


def today() -> date:
    return datetime.now(UTC).date()


def trending_params(catalog: Catalog) -> TrendingParams:
    s = catalog.settings
    return TrendingParams(
        gravity=s.trending_gravity,
        offset_hours=s.trending_offset_hours,
        save_weight=s.trending_save_weight,
        code_bonus=s.trending_code_bonus,
        imported_weight=s.trending_imported_weight,
    )


# -- votes ----------------------------------------------------------------------------------------
def vote(catalog: Catalog, who: Principal, paper_id: str, up: bool = True) -> VoteOut:
    """Upvote (or, with ``up=False``, undo the vote); repeating either is harmless."""
    with catalog.store.session() as s:
        p = require_paper(s, paper_id)
        if up:
            votes_db.add_vote(s, who.id, p.num)
        else:
            votes_db.remove_vote(s, who.id, p.num)
        count = votes_db.vote_counts(s, [p.num]).get(p.num, 0)
        return VoteOut(paper_id=p.id, votes=count, voted=up)


# -- cards: papers with counts ----------------------------------------------------------------
@dataclass
class _Placement:
    day: date | None = None
    submitter: str | None = None
    source: str | None = None


def cards(
    s: Session,
    catalog: Catalog,
    nums: Sequence[int],
    viewer: Principal | None,
    *,
    placements: dict[int, _Placement] | None = None,
    now: datetime | None = None,
    papers: dict[int, Paper] | None = None,
) -> list[Card]:
    """Papers in the given order, with votes, saves, comments, trending terms, viewer state."""
    papers = papers if papers is not None else papers_by_num(s, nums)
    votes = votes_db.vote_counts(s, nums)
    saves = votes_db.save_counts(s, nums)
    comments = dict(
        s.execute(
            select(Comment.paper_num, func.count())
            .where(Comment.paper_num.in_(list(nums)), Comment.deleted_at.is_(None))
            .group_by(Comment.paper_num)
        ).all()
    )
    firsts = daily_db.first_days(s, nums)
    voted: set[int] = set()
    saved: set[int] = set()
    if viewer is not None:
        voted = votes_db.voted_by(s, viewer.id, nums)
        saved = set(
            s.scalars(
                select(LibraryEntry.paper_num).where(
                    LibraryEntry.user_id == viewer.id,
                    LibraryEntry.paper_num.in_(list(nums)),
                    LibraryEntry.saved_at.is_not(None),
                )
            )
        )
    params = trending_params(catalog)
    now = now or utcnow()
    out: list[Card] = []
    for num in nums:
        p = papers.get(num)
        if p is None:
            continue
        t = score(
            votes=votes.get(num, 0),
            saves=saves.get(num, 0),
            has_code=bool(p.code_urls),
            appeared=appeared_at(firsts.get(num), p.published),
            now=now,
            params=params,
            imported_votes=_imported_votes(p),
        )
        place = (placements or {}).get(num, _Placement())
        out.append(
            Card(
                paper=PaperOut.of(p),
                votes=t.votes,
                saves=t.saves,
                comments=int(comments.get(num, 0)),
                voted=(num in voted) if viewer else None,
                saved=(num in saved) if viewer else None,
                trending=TrendingWhy(
                    score=float(f"{t.score:.6g}"),  # significant digits: old papers stay > 0
                    points=t.points,
                    votes=t.votes,
                    saves=t.saves,
                    has_code=t.has_code,
                    imported_votes=t.imported_votes,
                    age_hours=round(t.age_hours, 1),
                    formula=t.explain(),
                ),
                day=place.day,
                submitter=place.submitter,
                source=place.source,
            )
        )
    return out


def _imported_votes(p: Paper) -> int:
    value = (p.extra or {}).get("hf_upvotes")
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _sort_cards(items: list[Card], sort: ListSort) -> list[Card]:
    def newest(c: Card) -> tuple[date, date]:
        return (c.day or c.paper.published or date.min, c.paper.published or date.min)

    trending = {id(c): c.trending.score if c.trending else 0.0 for c in items}
    if sort == "votes":
        return sorted(
            items,
            key=lambda c: (
                c.votes + (c.trending.imported_votes if c.trending else 0),
                trending[id(c)],
            ),
            reverse=True,
        )
    if sort == "newest":
        return sorted(items, key=newest, reverse=True)
    if sort == "code":
        return sorted(items, key=lambda c: (bool(c.paper.code_urls), trending[id(c)]), reverse=True)
    return sorted(items, key=lambda c: trending[id(c)], reverse=True)


def _page(items: list[Card], page: int, page_size: int) -> tuple[list[Card], int, int]:
    page = max(1, page)
    page_size = max(1, min(page_size, MAX_PAGE_SIZE))
    return items[(page - 1) * page_size : page * page_size], page, page_size


# -- daily lists ----------------------------------------------------------------------------------
def submit(
    catalog: Catalog, who: Principal, paper_id: str, day: date | None = None
) -> tuple[str, date, bool]:
    """Put a paper on a day's list (today, unless an admin names a day).

    Returns (paper id, day, added); ``added`` is False when the paper was already on that day's
    list: any catalogued paper can be on a given day once.
    """
    day = day or today()
    if day != today() and not who.is_admin:
        raise Forbidden("papers can be submitted to today's list only")
    with catalog.store.session() as s:
        p = require_paper(s, paper_id)
        added = daily_db.add_entry(s, day, p.num, who.id)
        return p.id, day, added


def _auto_feed(s: Session, catalog: Catalog, start: date, end: date) -> dict[int, _Placement]:
    """Papers first published in [start, end] in the configured categories (the auto feed)."""
    wanted = [c.lower() for c in catalog.settings.daily_auto_categories]
    if not wanted:
        return {}
    rows = s.execute(
        select(Paper.num, Paper.published, Paper.categories)
        .where(Paper.published >= start, Paper.published <= end)
        .limit(MAX_CANDIDATES)
    )
    out: dict[int, _Placement] = {}
    for num, published, cats in rows:
        for c in cats or []:
            c = c.lower()
            if any(c == w or c.startswith(w + ".") for w in wanted):
                out[num] = _Placement(published, None, "auto:categories")
                break
    return out


def daily(
    catalog: Catalog,
    start: date,
    end: date | None = None,
    *,
    viewer: Principal | None = None,
    sort: ListSort = "votes",
    submitter: str | None = None,
    page: int = 1,
    page_size: int = 30,
) -> PaperListOut:
    """The papers on the daily lists from ``start`` to ``end`` (one day, a week or a month)."""
    end = end or start
    if end < start:
        raise ValueError("the end of a date range comes before its start")
    with catalog.store.session() as s:
        placements: dict[int, _Placement] = {}
        if submitter is None:
            placements.update(_auto_feed(s, catalog, start, end))
        for row in daily_db.entries(s, start, end, submitter):
            # user submissions win over the auto feed; the earliest day in the range wins
            prev = placements.get(row.paper_num)
            if prev is None or prev.source != "user" or (prev.day and row.day < prev.day):
                placements[row.paper_num] = _Placement(row.day, row.submitter, row.source)
        nums = list(placements)
        items = _sort_cards(cards(s, catalog, nums, viewer, placements=placements), sort)
    window, page, page_size = _page(items, page, page_size)
    title = f"Papers of {start.isoformat()}" if start == end else f"Papers of {start} to {end}"
    return PaperListOut(
        title=title,
        sort=sort,
        start=start,
        end=end,
        page=page,
        page_size=page_size,
        total=len(items),
        cards=window,
    )


def latest_daily_day(catalog: Catalog, on_or_before: date | None = None) -> date | None:
    """The newest day with a daily list, up to today: what ``/daily`` shows on a quiet day."""
    with catalog.store.session() as s:
        return daily_db.latest_day(s, on_or_before or today())


# -- trending -------------------------------------------------------------------------------------
def _active_nums(s: Session, since: datetime) -> set[int]:
    voted = s.scalars(select(Vote.paper_num).where(Vote.created_at >= since).distinct())
    saved = s.scalars(
        select(LibraryEntry.paper_num).where(LibraryEntry.saved_at >= since).distinct()
    )
    return set(voted) | set(saved)


def trending(
    catalog: Catalog,
    *,
    window: Window = "week",
    sort: ListSort = "trending",
    viewer: Principal | None = None,
    has_code: bool = False,
    page: int = 1,
    page_size: int = 30,
    now: datetime | None = None,
) -> PaperListOut:
    """Papers that appeared (daily list, auto feed, publication) or drew votes/saves in the window.

    ``window="all"`` ranks every paper that has any vote, save or daily entry.
    """
    now = now or utcnow()
    end = now.date()
    start = end - timedelta(days=WINDOW_DAYS[window] - 1) if window != "all" else date.min
    since = datetime.combine(start, datetime.min.time())
    with catalog.store.session() as s:
        placements: dict[int, _Placement] = {}
        if window != "all":
            placements.update(_auto_feed(s, catalog, start, end))
        for row in daily_db.entries(s, start, end):
            placements.setdefault(row.paper_num, _Placement(row.day, row.submitter, row.source))
        nums = set(placements) | _active_nums(s, since)
        wanted = page * page_size
        if window != "all" and (sort == "newest" or len(nums) < wanted):
            # Pad a quiet window with its newest papers (they score 0 but are what's new);
            # only as many as the page needs, so a busy catalogue is never scored in full.
            recent = s.scalars(
                select(Paper.num)
                .where(Paper.published >= start, Paper.published <= end)
                .order_by(Paper.published.desc(), Paper.num.desc())
                .limit(min(wanted + len(nums), MAX_CANDIDATES))
            )
            nums |= set(recent)
        papers = papers_by_num(s, nums)
        if has_code:
            papers = {n: p for n, p in papers.items() if p.code_urls}
        ordered = list(papers)
        items = _sort_cards(
            cards(s, catalog, ordered, viewer, placements=placements, now=now, papers=papers),
            sort,
        )
    window_cards, page, page_size = _page(items, page, page_size)
    return PaperListOut(
        title="Trending" if sort == "trending" else f"Trending ({sort})",
        sort=sort,
        window=window,
        start=start if window != "all" else None,
        end=end,
        page=page,
        page_size=page_size,
        total=len(items),
        cards=window_cards,
    )


def paper_card(catalog: Catalog, paper_id: str, viewer: Principal | None = None) -> Card:
    with catalog.store.session() as s:
        p = require_paper(s, paper_id)
        return cards(s, catalog, [p.num], viewer, papers={p.num: p})[0]


def cards_for_ids(
    catalog: Catalog, paper_ids: Iterable[str], viewer: Principal | None = None
) -> list[Card]:
    """Cards for papers by id, in order, skipping unknown ids (for search results, feeds)."""
    with catalog.store.session() as s:
        nums = [
            num
            for num in (s.scalar(select(Paper.num).where(Paper.id == i)) for i in paper_ids)
            if num
        ]
        return cards(s, catalog, nums, viewer)


def search_trending(
    catalog: Catalog,
    query: str,
    *,
    page: int = 1,
    page_size: int = 20,
    viewer: Principal | None = None,
    mode: Mode | None = None,
    filters: Filters | None = None,
) -> SearchOut:
    """Search, then order the most relevant hundred by trending score (ties keep relevance)."""
    pool = searching.search(catalog, query, mode=mode, filters=filters, page=1, page_size=100)
    found = cards_for_ids(catalog, [h.paper.id for h in pool.hits], viewer)
    scores = {c.paper.id: c.trending.score if c.trending else 0.0 for c in found}
    ranked = sorted(pool.hits, key=lambda h: scores.get(h.paper.id, 0.0), reverse=True)
    page = max(1, page)
    page_size = max(1, min(page_size, 100))
    return pool.model_copy(
        update={
            "sort": "trending",
            "page": page,
            "page_size": page_size,
            "total": min(pool.total, len(ranked)),
            "hits": ranked[(page - 1) * page_size : page * page_size],
        }
    )
