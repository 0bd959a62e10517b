"""Server-rendered pages: search, paper, search-by-example. Jinja2 autoescapes everything."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, cast
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from papersift import __version__
from papersift.index.query import QueryError
from papersift.service import searching
from papersift.service.models import Mode, Sort
from papersift.web.api import Cat, filters_from
from papersift.web.ratelimit import limit_search

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
TEMPLATES.env.globals["version"] = __version__
router = APIRouter(include_in_schema=False)


def _safe_snippet(html: str) -> Markup:
    # snippet_html is built by papersift.index.snippets from escaped text plus <mark> only.
    return Markup(html)


TEMPLATES.env.filters["snippet"] = _safe_snippet


def render_error(request: Request, status: int, message: str) -> HTMLResponse:
    return TEMPLATES.TemplateResponse(
        request, "error.html", {"status": status, "message": message}, status_code=status
    )


def _page_url(request: Request, **changes: object) -> str:
    params = [(k, v) for k, v in request.query_params.multi_items() if k not in changes]
    params += [(k, str(v)) for k, v in changes.items() if v not in (None, "")]
    return f"{request.url.path}?{urlencode(params)}"


@router.get("/", response_class=HTMLResponse, dependencies=[Depends(limit_search)])
def search_page(
    request: Request,
    cat_: Cat,
    q: Annotated[str, Query(max_length=1000)] = "",
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
    sort_ = sort if sort in ("relevance", "date") else "relevance"
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
                sort=cast(Sort, sort_),
            )
        except QueryError as exc:
            ctx["error"] = str(exc)
            return TEMPLATES.TemplateResponse(request, "search.html", ctx, status_code=400)
        ctx["result"] = result
        last = (result.total + result.page_size - 1) // result.page_size
        ctx["prev_url"] = _page_url(request, page=page - 1) if page > 1 else None
        ctx["next_url"] = (
            _page_url(request, page=page + 1) if page < min(last, searching.MAX_PAGE) else None
        )
        ctx["facet_url"] = lambda **kw: _page_url(request, page=None, **kw)
    else:
        ctx["stats"] = searching.stats(cat_)
    return TEMPLATES.TemplateResponse(request, "search.html", ctx)


@router.get("/paper/{paper_id:path}", response_class=HTMLResponse)
def paper_page(request: Request, cat_: Cat, paper_id: str) -> HTMLResponse:
    paper = searching.get(cat_, paper_id)
    try:
        similar = searching.similar(cat_, [paper.id], k=8).hits
    except searching.NotFound:
        similar = []
    return TEMPLATES.TemplateResponse(request, "paper.html", {"paper": paper, "similar": similar})


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
