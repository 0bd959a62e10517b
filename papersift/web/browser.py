"""Browser integration: an OpenSearch description and search-as-you-type suggestions.

With ``/opensearch.xml`` linked from every page, a browser offers to add papersift as a search
engine; typing in its address bar then calls ``/api/suggest`` (the OpenSearch suggestions
format, ``[query, [completion, ...]]``) and a chosen search opens ``/?q=...``, the same stable,
shareable URL the search form produces.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response

from papersift.service.catalog import Catalog
from papersift.store.papers import papers_by_num
from papersift.web.api import Cat
from papersift.web.pages import TEMPLATES
from papersift.web.ratelimit import RateLimiter

OPENSEARCH_TYPE = "application/opensearchdescription+xml"
SUGGESTIONS_TYPE = "application/x-suggestions+json"
MAX_SUGGESTIONS = 8
MAX_SUGGEST_CHARS = 200

router = APIRouter(tags=["browser"])


def limit_suggest(request: Request) -> None:
    """Same rate as search, its own bucket: typing must not use up a client's searches."""
    app = request.app
    limiter: RateLimiter | None = getattr(app.state, "suggest_limiter", None)
    if limiter is None:
        limiter = app.state.suggest_limiter = RateLimiter(app.state.settings.search_rate_per_minute)
    limiter.check(request.client.host if request.client else "unknown")


def suggest_titles(catalog: Catalog, text: str, limit: int = MAX_SUGGESTIONS) -> list[str]:
    """Titles of papers matching what has been typed so far (see ``KeywordIndex.suggest``)."""
    nums = catalog.keyword.suggest(text[:MAX_SUGGEST_CHARS], limit=limit * 2)
    if not nums:
        return []
    with catalog.store.session() as s:
        papers = papers_by_num(s, nums)
        titles = [" ".join(papers[n].title.split()) for n in nums if n in papers]
    return list(dict.fromkeys(titles))[:limit]


@router.get(
    "/opensearch.xml",
    response_class=Response,
    responses={200: {"content": {OPENSEARCH_TYPE: {}}, "description": "OpenSearch 1.1"}},
)
def opensearch(request: Request) -> Response:
    """The OpenSearch description that lets a browser add papersift as a search engine."""
    base = str(request.base_url).rstrip("/")
    response = TEMPLATES.TemplateResponse(
        request, "opensearch.xml", {"base": base, "host": request.url.netloc}
    )
    return Response(response.body, media_type=OPENSEARCH_TYPE)


@router.get(
    "/api/suggest",
    response_class=JSONResponse,
    responses={
        200: {
            "content": {SUGGESTIONS_TYPE: {"example": ["transfo", ["Attention Is All You Need"]]}},
            "description": "OpenSearch suggestions: [query, [completions]]",
        }
    },
    dependencies=[Depends(limit_suggest)],
)
def suggest(
    cat_: Cat, q: Annotated[str, Query(description="what has been typed")] = ""
) -> Response:
    """Paper titles completing the typed text, in the OpenSearch suggestions format."""
    titles = suggest_titles(cat_, q) if q.strip() else []
    return JSONResponse([q, titles], media_type=SUGGESTIONS_TYPE)
