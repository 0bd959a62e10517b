"""Community pages: daily lists, trending, the paper page with its votes and comments.

Every form posts to a handler that takes the signed-in user from the ``User`` dependency (which
also checks the CSRF token), calls the service, and redirects back with 303; static/community.js
may send the same forms with fetch and ``Accept: application/json`` to update a button in place.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, cast
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from papersift.service import comments, community, dates, library, searching
from papersift.service.accounts import Principal
from papersift.service.catalog import Catalog
from papersift.service.community_models import Card, ListSort, PaperListOut, Window
from papersift.service.models import SearchOut
from papersift.web.api import Cat
from papersift.web.auth import Admin, User, Viewer
from papersift.web.pages import TEMPLATES
from papersift.web.pages_account import NextField, back, wants_json

router = APIRouter(include_in_schema=False)

SORTS: tuple[ListSort, ...] = ("trending", "votes", "newest", "code")
WINDOWS: tuple[Window, ...] = ("day", "week", "month", "all")
PAGE_SIZE = 30
# Messages a redirect may ask the daily page to show, by code (a URL never carries the text).
NOTICES = {
    "added": "Added to today's list.",
    "already": "That paper is already on today's list.",
}


def paper_url(paper_id: str) -> str:
    return "/paper/" + quote(paper_id, safe=":/")


def hit_cards(
    catalog: Catalog, result: SearchOut, viewer: Principal | None, *, by_trending: bool = False
) -> dict[str, Card]:
    """Community cards for a page of search hits, by paper id.

    With ``by_trending`` the page's hits are re-ordered by trending score (a stable sort, so ties
    keep their relevance order): the search ranks the candidates, the community re-ranks the page.
    Scores are rounded to 6 decimals, so papers more than a few months old tie at 0 however
    many votes they have; their points (votes and saves) break that tie.
    """
    found = {
        c.paper.id: c
        for c in community.cards_for_ids(catalog, [h.paper.id for h in result.hits], viewer)
    }
    if by_trending:

        def score(paper_id: str) -> tuple[float, float]:
            card = found.get(paper_id)
            why = card.trending if card else None
            return (why.score, why.points) if why else (0.0, 0.0)

        result.hits.sort(key=lambda h: score(h.paper.id), reverse=True)
    return found


def _pages(request: Request, page: int, total: int) -> dict[str, str | None]:
    def at(n: int) -> str:
        params = [(k, v) for k, v in request.query_params.multi_items() if k != "page"]
        params.append(("page", str(n)))
        return f"{request.url.path}?{urlencode(params)}"

    last = max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE)
    return {
        "prev": at(page - 1) if page > 1 else None,
        "next": at(page + 1) if page < last else None,
    }


# -- daily lists ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Span:
    """The days a daily page shows, and the links to its neighbours."""

    unit: str  # "day", "week" or "month"
    start: date
    end: date

    @property
    def label(self) -> str:
        if self.unit == "day":
            return f"{self.start:%A} {self.start.day} {self.start:%B %Y}"
        if self.unit == "week":
            year, week, _ = self.start.isocalendar()
            first, last = f"{self.start:%b} {self.start.day}", f"{self.end:%b} {self.end.day}"
            return f"week {week} of {year}, {first} to {last}"
        return self.start.strftime("%B %Y")

    def link(self, unit: str, day: date) -> str:
        if unit == "week":
            return f"/daily?week={dates.iso_week(day)}"
        if unit == "month":
            return f"/daily?month={day:%Y-%m}"
        return f"/daily/{day.isoformat()}"

    @property
    def prev(self) -> str:
        if self.unit == "month":
            return self.link("month", self.start - timedelta(days=1))
        return self.link(self.unit, self.start - timedelta(days=1 if self.unit == "day" else 7))

    @property
    def next(self) -> str:
        return self.link(self.unit, self.end + timedelta(days=1))


def parse_span(day: str = "", week: str = "", month: str = "") -> Span:
    """A day (2026-11-27), an ISO week (2026-W48) or a month (2026-11); QueryError if malformed."""
    start, end = dates.period_range(day, week, month, community.today())
    return Span("week" if week else "month" if month else "day", start, end)


def _daily(
    request: Request,
    cat_: Catalog,
    me: Principal | None,
    span: Span,
    sort: str,
    page: int,
    notice: str,
    *,
    latest_if_empty: bool = False,
) -> HTMLResponse:
    """The page of a span; with ``latest_if_empty``, an empty today gives way to the newest
    list (as Hugging Face Papers shows Friday's papers on a Sunday)."""
    sort_ = cast(ListSort, sort if sort in SORTS else "votes")

    def listing_of(span: Span) -> PaperListOut:
        return community.daily(
            cat_, span.start, span.end, viewer=me, sort=sort_, page=page, page_size=PAGE_SIZE
        )

    listing, message = listing_of(span), NOTICES.get(notice)
    latest = community.latest_daily_day(cat_) if latest_if_empty and not listing.total else None
    if latest is not None and latest != span.start:
        span = parse_span(day=latest.isoformat())
        listing = listing_of(span)
        message = f"Nothing is listed for today yet: this is the latest list, {span.label}."
    ctx = {
        "listing": listing,
        "span": span,
        "sort": sort_,
        "sorts": SORTS,
        "today": community.today(),
        "notice": message,
        "pages": _pages(request, listing.page, listing.total),
    }
    return TEMPLATES.TemplateResponse(request, "daily.html", ctx)


@router.get("/daily", response_class=HTMLResponse)
def daily_page(
    request: Request,
    cat_: Cat,
    me: Viewer,
    week: Annotated[str, Query(max_length=10)] = "",
    month: Annotated[str, Query(max_length=7)] = "",
    sort: str = "votes",
    page: Annotated[int, Query(ge=1, le=1000)] = 1,
    notice: str = "",
) -> HTMLResponse:
    span = parse_span(week=week, month=month)  # QueryError: a 400 page saying what is expected
    today_only = not week and not month and page == 1 and not notice
    return _daily(request, cat_, me, span, sort, page, notice, latest_if_empty=today_only)


@router.get("/daily/{day}", response_class=HTMLResponse)
def daily_day_page(
    request: Request,
    cat_: Cat,
    me: Viewer,
    day: str,
    sort: str = "votes",
    page: Annotated[int, Query(ge=1, le=1000)] = 1,
) -> HTMLResponse:
    return _daily(request, cat_, me, parse_span(day=day), sort, page, "")


@router.post("/daily/submit")
def submit_paper(
    cat_: Cat, me: User, paper_id: Annotated[str, Form(max_length=300)] = "", next_: NextField = ""
) -> Response:
    """Put a paper (papersift id, arXiv id or DOI) on today's list."""
    _, _, added = community.submit(cat_, me, paper_id.strip())
    return back(next_ or f"/daily?notice={'added' if added else 'already'}", "/daily")


# -- trending -------------------------------------------------------------------------------------
@router.get("/trending", response_class=HTMLResponse)
def trending_page(
    request: Request,
    cat_: Cat,
    me: Viewer,
    window: str = "",
    sort: str = "trending",
    has_code: str = "",
    page: Annotated[int, Query(ge=1, le=1000)] = 1,
) -> HTMLResponse:
    """The window a reader picked; with none picked, the past week, or the first wider window
    with anything in it (a catalogue imported from last year has no "past week")."""
    sort_ = cast(ListSort, sort if sort in SORTS else "trending")
    picked = window in WINDOWS
    tries: list[Window] = [cast(Window, window)] if picked else ["week", "month", "all"]
    notice = ""
    first: PaperListOut | None = None
    for window_ in tries:
        listing = community.trending(
            cat_,
            window=window_,
            sort=sort_,
            viewer=me,
            has_code=bool(has_code),
            page=page,
            page_size=PAGE_SIZE,
        )
        first = first or listing
        if listing.total:
            break
    if not listing.total and first is not None:  # nothing anywhere: the asked window, empty
        window_, listing = tries[0], first
    elif window_ != tries[0]:
        wider = "all time" if window_ == "all" else f"the past {window_}"
        notice = f"Nothing new in the past week: showing {wider}."
    ctx = {
        "listing": listing,
        "notice": notice,
        "window": window_,
        "windows": WINDOWS,
        "sort": sort_,
        "sorts": SORTS,
        "has_code": bool(has_code),
        "params": community.trending_params(cat_),
        "pages": _pages(request, listing.page, listing.total),
    }
    return TEMPLATES.TemplateResponse(request, "trending.html", ctx)


# -- the paper page and its votes ---------------------------------------------------------------
@router.get("/paper/{paper_id:path}", response_class=HTMLResponse)
def paper_page(request: Request, cat_: Cat, me: Viewer, paper_id: str) -> HTMLResponse:
    paper = searching.get(cat_, paper_id)
    try:
        similar = searching.similar(cat_, [paper.id], k=8).hits
    except searching.NotFound:
        similar = []
    ctx: dict[str, object] = {
        "paper": paper,
        "similar": similar,
        "thread": comments.thread(cat_, paper.id),
        "item": None,
        "my_tags": [],
    }
    if me is not None:
        item = library.item(cat_, me, paper.id)  # the viewer's own note, tags and read mark
        ctx.update(item=item, card=item.card, my_tags=library.tags(cat_, me))
    else:
        ctx["card"] = community.paper_card(cat_, paper.id)
    return TEMPLATES.TemplateResponse(request, "paper.html", ctx)


@router.post("/paper/{paper_id:path}/vote")
def vote(
    request: Request,
    cat_: Cat,
    me: User,
    paper_id: str,
    up: Annotated[int, Form()] = 1,
    next_: NextField = "",
) -> Response:
    out = community.vote(cat_, me, paper_id, up=bool(up))
    if wants_json(request):
        return JSONResponse(out.model_dump())
    return back(next_, paper_url(out.paper_id))


# -- comments -------------------------------------------------------------------------------------
Body = Annotated[str, Form(max_length=comments.MAX_COMMENT + 1000)]


@router.post("/paper/{paper_id:path}/comments")
def add_comment(
    cat_: Cat,
    me: User,
    paper_id: str,
    body: Body = "",
    parent_id: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    parent = int(parent_id) if parent_id.strip().isdigit() else None
    out = comments.add(cat_, me, paper_id, body, parent_id=parent)
    return back(f"{paper_url(out.paper_id)}#c{out.id}")


@router.post("/comments/{comment_id}/edit")
def edit_comment(cat_: Cat, me: User, comment_id: int, body: Body = "") -> Response:
    out = comments.edit(cat_, me, comment_id, body)
    return back(f"{paper_url(out.paper_id)}#c{out.id}")


@router.post("/comments/{comment_id}/delete")
def delete_comment(cat_: Cat, me: User, comment_id: int, next_: NextField = "") -> Response:
    comments.delete(cat_, me, comment_id)
    return back(next_)


@router.post("/comments/{comment_id}/remove")
def remove_comment(cat_: Cat, admin: Admin, comment_id: int, next_: NextField = "") -> Response:
    comments.remove(cat_, admin, comment_id)
    return back(next_)
