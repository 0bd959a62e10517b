"""The JSON API under /api: thin wrappers over papersift.service, documented by OpenAPI."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field

from papersift.index.query import PUBLIC_QUERY_CHARS, Filters
from papersift.service import community, searching
from papersift.service.catalog import Catalog
from papersift.service.models import Mode, PaperOut, SearchOut, SearchSort, SimilarOut, StatsOut
from papersift.service.statistics import catalog_stats
from papersift.web.ratelimit import limit_search

router = APIRouter(prefix="/api", tags=["papers"])


def catalog(request: Request) -> Catalog:
    cat: Catalog = request.app.state.catalog
    return cat


Cat = Annotated[Catalog, Depends(catalog)]


def filters_from(
    author: list[str] | None = None,
    cat: list[str] | None = None,
    year_from: int | None = None,
    year_to: int | None = None,
    has_code: bool = False,
) -> Filters:
    return Filters(
        authors=[a for a in author or [] if a.strip()],
        categories=[c for c in cat or [] if c.strip()],
        year_from=year_from,
        year_to=year_to,
        has_code=has_code,
    )


@router.get("/search", response_model=SearchOut, dependencies=[Depends(limit_search)])
def search(
    cat_: Cat,
    q: Annotated[
        str,
        Query(max_length=PUBLIC_QUERY_CHARS, description="query; supports author:, cat:, year:"),
    ] = "",
    mode: Mode | None = None,
    sort: SearchSort = "relevance",
    page: Annotated[int, Query(ge=1, le=50)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
    author: Annotated[list[str] | None, Query()] = None,
    cat: Annotated[list[str] | None, Query()] = None,
    year_from: Annotated[int | None, Query(ge=1000, le=9999)] = None,
    year_to: Annotated[int | None, Query(ge=1000, le=9999)] = None,
    has_code: bool = False,
) -> SearchOut:
    """Keyword, semantic or hybrid search with filters, snippets, facets and explanations."""
    flt = filters_from(author, cat, year_from, year_to, has_code)
    if sort == "trending":
        return community.search_trending(
            cat_, q, mode=mode, filters=flt, page=page, page_size=page_size
        )
    return searching.search(
        cat_, q, mode=mode, filters=flt, page=page, page_size=page_size, sort=sort
    )


@router.get("/paper/{paper_id:path}", response_model=PaperOut)
def paper(cat_: Cat, paper_id: str) -> PaperOut:
    """One paper by papersift id (`arxiv:2403.12345`), bare arXiv id, or DOI."""
    return searching.get(cat_, paper_id)


@router.get("/similar", response_model=SimilarOut, dependencies=[Depends(limit_search)])
def similar(
    cat_: Cat,
    id: Annotated[list[str], Query(description="one or more paper ids")],
    k: Annotated[int, Query(ge=1, le=100)] = 10,
) -> SimilarOut:
    """Papers similar to one paper, or to the centre of a set of papers."""
    return searching.similar(cat_, id, k=k)


class SimilarRequest(BaseModel):
    text: str | None = Field(None, max_length=20_000, description="abstract or paragraph")
    ids: list[str] = Field(default_factory=list, max_length=200)
    k: int = Field(10, ge=1, le=100)


@router.post("/similar", response_model=SimilarOut, dependencies=[Depends(limit_search)])
def similar_post(cat_: Cat, body: SimilarRequest) -> SimilarOut:
    """Search by example: paste text, or send a set of paper ids."""
    if body.text and body.text.strip():
        return searching.similar_to_text(cat_, body.text, k=body.k)
    if body.ids:
        return searching.similar(cat_, body.ids, k=body.k)
    raise HTTPException(400, "send 'text' or 'ids'")


@router.get("/stats", response_model=StatsOut)
def stats(cat_: Cat) -> StatsOut:
    """Counts of papers, embeddings and index documents."""
    return catalog_stats(cat_)
