"""What the service layer returns: the same shapes for the web pages, the JSON API and the CLI.

Pydantic models so FastAPI publishes them in the OpenAPI document unchanged.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

from papersift.store.schema import Paper

Mode = Literal["hybrid", "keyword", "semantic"]
Sort = Literal["relevance", "date"]
# Search result orders a user can ask for; "trending" is applied by service.community.
SearchSort = Literal["relevance", "date", "trending"]


class PaperOut(BaseModel):
    id: str
    arxiv_id: str | None = None
    version: int | None = None
    doi: str | None = None
    title: str
    abstract: str = ""
    authors: list[str] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=list)
    primary_category: str | None = None
    published: date | None = None
    updated: date | None = None
    comment: str | None = None
    journal_ref: str | None = None
    abs_url: str | None = None
    pdf_url: str | None = None
    code_urls: list[str] = Field(default_factory=list)
    sources: list[str] = Field(default_factory=list)
    hf_upvotes: int | None = None

    @classmethod
    def of(cls, p: Paper) -> PaperOut:
        upvotes = (p.extra or {}).get("hf_upvotes")
        return cls(
            id=p.id,
            arxiv_id=p.arxiv_id,
            version=p.arxiv_version,
            doi=p.doi,
            title=p.title,
            abstract=p.abstract,
            authors=list(p.authors or []),
            categories=list(p.categories or []),
            primary_category=p.primary_category,
            published=p.published,
            updated=p.updated,
            comment=p.comment,
            journal_ref=p.journal_ref,
            abs_url=p.abs_url,
            pdf_url=p.pdf_url,
            code_urls=list(p.code_urls or []),
            sources=list(p.sources or []),
            hf_upvotes=upvotes if isinstance(upvotes, int) else None,
        )


class RetrieverEvidence(BaseModel):
    retriever: Literal["keyword", "semantic"]
    rank: int
    score: float


class Why(BaseModel):
    """Why a result is here: the terms it matched, its similarity, and who found it."""

    matched_terms: list[str] = Field(default_factory=list)
    similarity: float | None = Field(None, description="cosine similarity to the query or seed")
    found_by: list[RetrieverEvidence] = Field(default_factory=list)


class Hit(BaseModel):
    paper: PaperOut
    score: float
    snippet_html: str = Field(description="abstract excerpt, HTML-escaped, hits in <mark>")
    why: Why


class FacetCount(BaseModel):
    value: str
    count: int


class SearchOut(BaseModel):
    query: str
    mode: Mode
    sort: SearchSort
    page: int
    page_size: int
    total: int = Field(description="number of matching papers (capped for semantic ranking)")
    took_ms: float
    hits: list[Hit]
    facets: dict[str, list[FacetCount]] = Field(default_factory=dict)
    notice: str | None = None


class SimilarOut(BaseModel):
    seed: list[str] = Field(description="paper ids (or 'text') the similarity was computed from")
    hits: list[Hit]


class ProblemOut(BaseModel):
    where: str
    message: str


class IngestReport(BaseModel):
    source: str
    location: str
    read: int
    inserted: int
    updated: int
    unchanged: int
    problems: int
    first_problems: list[ProblemOut] = Field(default_factory=list)
    seconds: float
    embedded: int = 0

    @property
    def rate(self) -> float:
        return self.read / self.seconds if self.seconds > 0 else 0.0


class StatsOut(BaseModel):
    papers: int
    with_code: int
    with_abstract: int
    embedded: int
    keyword_docs: int
    vector_docs: int
    model_id: str
    sources: dict[str, int]
    top_categories: list[FacetCount]
    years: list[FacetCount]
    database: str
    data_dir: str
