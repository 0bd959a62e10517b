"""Hugging Face Papers API routes: same paths, parameters and JSON as huggingface.co.

``HfApi(endpoint="http://127.0.0.1:8000")`` then lists, looks up and reads papers from this
server. Paths are HF's, not under papersift's own ``/api`` names: a drop-in needs them exact.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, PlainTextResponse

from papersift.service import hf_compat
from papersift.service.hf_compat import HfPaper, HfPaperItem, HfParamError
from papersift.service.searching import NotFound
from papersift.web.api import Cat
from papersift.web.ratelimit import limit_search

router = APIRouter(tags=["Hugging Face Papers API"])
ERROR = {"content": {"application/json": {"example": {"error": "..."}}}}


@router.get(
    "/api/papers/search",
    response_model=list[HfPaperItem],
    response_model_exclude_none=True,
    responses={400: {**ERROR, "description": "bad parameter"}},
    dependencies=[Depends(limit_search)],
)
def hf_search(
    cat_: Cat,
    q: Annotated[str, Query(description="search text (papersift syntax); empty: newest")] = "",
    limit: Annotated[str | None, Query(description=f"1..{hf_compat.MAX_LIMIT}, default 50")] = None,
) -> Any:
    """Papers matching a query, as HF's paper search answers (arXiv papers only)."""
    try:
        return hf_compat.search(cat_, q, hf_compat.read_limit(limit))
    except HfParamError as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)


@router.get(
    "/api/daily_papers",
    response_model=list[HfPaperItem],
    response_model_exclude_none=True,
    responses={400: {**ERROR, "description": "bad parameter"}},
)
def hf_daily_papers(
    cat_: Cat,
    date: Annotated[str | None, Query(description="YYYY-MM-DD; default: the latest list")] = None,
    week: Annotated[str | None, Query(description="ISO week, YYYY-Www")] = None,
    month: Annotated[str | None, Query(description="YYYY-MM")] = None,
    submitter: Annotated[str | None, Query(max_length=40)] = None,
    sort: Annotated[str | None, Query(description="publishedAt (default) or trending")] = None,
    p: Annotated[str | None, Query(description="page, from 0")] = None,
    limit: Annotated[str | None, Query(description=f"1..{hf_compat.MAX_LIMIT}, default 50")] = None,
) -> Any:
    """The daily papers list, as HF's ``/api/daily_papers`` answers (arXiv papers only)."""
    try:
        return hf_compat.daily_papers(
            cat_,
            day=date,
            week=week,
            month=month,
            submitter=submitter,
            sort=sort,
            page=p,
            limit=limit,
        )
    except HfParamError as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)


# Registered after /api/papers/search: ":path" (old-style ids have a slash) matches "search" too.
@router.get(
    "/api/papers/{arxiv_id:path}",
    response_model=HfPaper,
    response_model_exclude_none=True,
    responses={404: {**ERROR, "description": "no paper with that arXiv id"}},
)
def hf_paper(cat_: Cat, arxiv_id: str) -> Any:
    """One paper by arXiv id (``2403.12345`` or ``hep-th/9901001``, version optional)."""
    return hf_compat.paper_info(cat_, arxiv_id)


@router.get(
    "/papers/{arxiv_id:path}.md",
    response_class=PlainTextResponse,
    responses={
        200: {"content": {"text/markdown": {}}, "description": "the paper page as markdown"},
        404: {"content": {"text/plain": {}}, "description": "no paper with that arXiv id"},
    },
)
def hf_paper_markdown(cat_: Cat, arxiv_id: str) -> PlainTextResponse:
    """The paper page as markdown, like huggingface.co/papers/{id}.md."""
    try:
        text = hf_compat.paper_markdown(cat_, arxiv_id)
    except NotFound as exc:
        return PlainTextResponse(str(exc), status_code=404)
    return PlainTextResponse(text, media_type="text/markdown; charset=utf-8")
