"""Server-rendered pages: search and search-by-example. Jinja2 autoescapes everything.

The community pages (paper, daily, trending, library, accounts) live in pages_community.py,
pages_library.py and pages_account.py and share this module's TEMPLATES.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, cast
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from papersift import __version__
from papersift.index.query import PUBLIC_QUERY_CHARS, QueryError
from papersift.service import searching
from papersift.service.accounts import Principal, Unauthorized
from papersift.service.models import Mode, Sort
from papersift.service.statistics import catalog_stats
from papersift.web import auth
from papersift.web.api import Cat, filters_from
from papersift.web.ratelimit import limit_search

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
TEMPLATES.env.globals["version"] = __version__
router = APIRouter(include_in_schema=False)


def _safe_snippet(html: str) -> Markup:
    # snippet_html is built by papersift.index.snippets from escaped text plus <mark> only.
    return Markup(html)


def _safe_comment(html: str) -> Markup:
    # CommentOut.body_html is markdown rendered with raw HTML disabled and then cleaned by nh3's
    # allow-list (papersift.service.comments.render_markdown): no script, no attributes but href.
    return Markup(html)


def _viewer_or_none(request: Request) -> Principal | None:
    """The signed-in user for the header bar; a bad API token just shows the page signed out."""
    try:
        return auth.viewer(request)
    except Unauthorized:
        return None


def _here(request: Request) -> str:
    """This page's local URL, for forms that redirect back to it."""
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


TEMPLATES.env.filters["snippet"] = _safe_snippet
TEMPLATES.env.filters["comment_html"] = _safe_comment
TEMPLATES.env.globals["viewer_of"] = _viewer_or_none
TEMPLATES.env.globals["csrf_token"] = auth.csrf_token
TEMPLATES.env.globals["here"] = _here


def render_error(request: Request, status: int, message: str) -> HTMLResponse:
    return TEMPLATES.TemplateResponse(
        request, "error.html", {"status": status, "message": message}, status_code=status
    )


def _page_url(request: Request, **changes: object) -> str:
    params = [(k, v) for k, v in request.query_params.multi_items() if k not in changes]
    params += [(k, str(v)) for k, v in changes.items() if v not in (None, "")]
    return f"{request.url.path}?{urlencode(params)}"


@router.get("/search", include_in_schema=False)
def search_alias(request: Request) -> RedirectResponse:
    """``/search?q=...`` (where other sites keep search, and where people type it) is ``/``."""
    query = request.url.query
    return RedirectResponse("/" + (f"?{query}" if query else ""), status_code=307)


@router.get("/", response_class=HTMLResponse, dependencies=[Depends(limit_search)])
def search_page(
    request: Request,
    cat_: Cat,
    me: auth.Viewer,
    q: str = "",
    mode: str = "",
    sort: str = "relevance",
    page: Annotated[int, Query(ge=1, le=50)] = 1,
    author: str = "",
    cat: str = "",
    year_from: str = "",
    year_to: str = "",
    has_code: str = "",
) -> HTMLResponse:
    mode_ = mode if mode in ("hybrid", "keyword", "semantic") else cat_.settings.default_mode
    sort_ = sort if sort in ("relevance", "date", "trending") else "relevance"
    cut = len(q) > PUBLIC_QUERY_CHARS  # a pasted abstract: searched in part, not refused as JSON
    q = q[:PUBLIC_QUERY_CHARS]
    ctx: dict[str, object] = {
        "q": q,
        "mode": mode_,
        "sort": sort_,
        "author": author,
        "cat": cat,
        "year_from": year_from,
        "year_to": year_to,
        "has_code": bool(has_code),
        "result": None,
        "error": None,
    }
    try:
        yf = int(year_from) if year_from.strip() else None
        yt = int(year_to) if year_to.strip() else None
    except ValueError:
        ctx["error"] = "years must be numbers, e.g. 2021"
        return TEMPLATES.TemplateResponse(request, "search.html", ctx, status_code=400)
    flt = filters_from([author] if author else None, [cat] if cat else None, yf, yt, bool(has_code))
    if q.strip() or not flt.is_empty():
        try:
            result = searching.search(
                cat_,
                q,
                mode=cast(Mode, mode_),
                filters=flt,
                page=page,
                sort=cast(Sort, "relevance" if sort_ == "trending" else sort_),
            )
        except QueryError as exc:
            ctx["error"] = str(exc)
            return TEMPLATES.TemplateResponse(request, "search.html", ctx, status_code=400)
        # imported here because pages_community builds on this module's TEMPLATES
        from papersift.web.pages_community import hit_cards

        if cut:
            note = (
                f"searched the query's first {PUBLIC_QUERY_CHARS:,} characters; "
                "for papers like a whole abstract, paste it into Search by example"
            )
            both = f"{result.notice}; {note}" if result.notice else note
            result = result.model_copy(update={"notice": both})
        ctx["result"] = result
        ctx["cards"] = hit_cards(cat_, result, me, by_trending=sort_ == "trending")
        last = (result.total + result.page_size - 1) // result.page_size
        ctx["prev_url"] = _page_url(request, page=page - 1) if page > 1 else None
        ctx["next_url"] = (
            _page_url(request, page=page + 1) if page < min(last, searching.MAX_PAGE) else None
        )
        ctx["facet_url"] = lambda **kw: _page_url(request, page=None, **kw)
    else:
        ctx["stats"] = catalog_stats(cat_)
    return TEMPLATES.TemplateResponse(request, "search.html", ctx)


@router.get("/similar", response_class=HTMLResponse, dependencies=[Depends(limit_search)])
def similar_page(
    request: Request,
    cat_: Cat,
    text: Annotated[str, Query(max_length=20_000)] = "",
    id: Annotated[list[str] | None, Query()] = None,
) -> HTMLResponse:
    """Search by example: paste an abstract or paragraph, or pass paper ids."""
    out = None
    if text.strip():
        out = searching.similar_to_text(cat_, text, k=20)
    elif id:
        out = searching.similar(cat_, id, k=20)
    return TEMPLATES.TemplateResponse(request, "similar.html", {"text": text, "result": out})
