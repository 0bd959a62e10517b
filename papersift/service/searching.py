"""Search, similar papers and lookups: the functions behind the web UI, the API and the CLI."""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date

import numpy as np
from sqlalchemy.orm import Session

from papersift.index import prf
from papersift.index.hybrid import Evidence, Fused, fuse
from papersift.index.query import Filters, parse_query
from papersift.rank import rerank as reranking
from papersift.service.catalog import Catalog
from papersift.service.coverage import Coverage
from papersift.service.models import (
    Hit,
    Mode,
    PaperOut,
    SearchOut,
    SimilarOut,
    Sort,
)
from papersift.service.results import page_facets, page_hits
from papersift.store import embeddings as emb
from papersift.store.papers import (
    FacetFields,
    embed_text,
    facet_fields_by_num,
    get_paper,
    papers_by_num,
    texts_by_num,
)
from papersift.store.schema import Paper

EXACT_FILTER_LIMIT = 20_000
_LEGS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="papersift-keyword-leg")
MAX_PAGE = 50


class NotFound(LookupError):
    """No paper with that id (or arXiv id, or DOI)."""


def _keyword(
    catalog: Catalog, text: str, filters: Filters, depth: int, sort: Sort
) -> tuple[list[tuple[int, float]], int]:
    return catalog.keyword.search(text, filters, limit=depth, sort=sort)


def _semantic_for_vector(
    catalog: Catalog, vec: np.ndarray, filters: Filters, depth: int, exclude: set[int]
) -> list[tuple[int, float]]:
    allowed = catalog.keyword.filter_nums(filters, limit=EXACT_FILTER_LIMIT + 1)
    if allowed is not None and len(allowed) <= EXACT_FILTER_LIMIT:
        # Few papers pass the filters: exact cosine over them beats post-filtering HNSW.
        with catalog.store.session() as s:
            nums, mat = emb.get_vectors(s, catalog.model_id, allowed, catalog.dim)
        if not nums:
            return []
        sims = mat @ vec
        order = np.argsort(-sims)
        return [(nums[i], float(sims[i])) for i in order if nums[i] not in exclude][:depth]
    allowed_set = set(allowed) if allowed is not None else None
    k = depth + len(exclude)
    for _ in range(4):
        found = catalog.vectors.search(vec, k * (4 if allowed_set is not None else 1))
        hits = [
            (n, s)
            for n, s in found
            if n not in exclude and (allowed_set is None or n in allowed_set)
        ]
        if len(hits) >= depth or len(found) >= len(catalog.vectors):
            return hits[:depth]
        k *= 4
    return hits[:depth]


def _fuse(
    catalog: Catalog,
    lists: dict[str, list[tuple[int, float]]],
    text: str,
    filters: Filters,
    depth: int,
    sort: Sort,
    coverage: Coverage,
) -> list[Fused]:
    """Hybrid ranking: fusion (with feedback when enabled), then the learned rerank.

    The weights, the fusion depth, feedback and the reranker were chosen on SciFact train
    (``benchmarks/results/scifact-variants.json``); date sorting skips feedback and rerank.
    ``coverage`` may hold rows worked out already, while the keyword leg ran.
    """
    fused = _fuse_with_feedback(catalog, lists, text, filters, depth, sort)
    if not catalog.settings.rerank or sort != "relevance" or len(lists) < 2:
        return fused
    by_num = {f.num: f for f in fused}
    reranked = reranking.rerank(
        lists["keyword"],
        lists["semantic"],
        [f.num for f in fused],
        catalog.embed_query(text),
        catalog.vectors.vectors_of,
        depth,
        coverage,
        reranking.load_model(reranking.model_path(catalog.settings.encoder)),
    )
    return [Fused(n, score, by_num[n].evidence) for n, score in reranked]


def _fuse_with_feedback(
    catalog: Catalog,
    lists: dict[str, list[tuple[int, float]]],
    text: str,
    filters: Filters,
    depth: int,
    sort: Sort,
) -> list[Fused]:
    """Weighted fusion of the two lists; with feedback on, the retrievers run again from the
    fused top papers and the new lists (``lists`` is updated in place) are fused instead."""
    settings = catalog.settings
    w = settings.keyword_weight
    weights = {"keyword": w, "semantic": 1.0 - w}
    fused = fuse(lists, settings.fusion, k=settings.rrf_k, weights=weights)
    if settings.prf_docs > 0 and fused and sort == "relevance" and len(lists) == 2:
        top = [f.num for f in fused[: settings.prf_docs]]
        _feedback(catalog, lists, text, filters, depth, top)
        fused = fuse(lists, settings.fusion, k=settings.rrf_k, weights=weights)
    return fused


def _feedback(
    catalog: Catalog,
    lists: dict[str, list[tuple[int, float]]],
    text: str,
    filters: Filters,
    depth: int,
    top: list[int],
) -> None:
    """Pseudo-relevance feedback from the first fused top papers, in either or both legs."""
    settings = catalog.settings
    if settings.prf_dense_beta > 0:
        fb = catalog.vectors.vectors_of(top)
        vec = prf.rocchio(catalog.embed_query(text), fb, settings.prf_dense_beta)
        lists["semantic"] = _semantic_for_vector(catalog, vec, filters, depth, set())
    if settings.prf_terms > 0:
        with catalog.store.session() as s:
            papers = papers_by_num(s, top)
            texts = [f"{p.title} {p.abstract}" for p in papers.values()]
        kw = catalog.keyword
        doc_freq, num_docs = kw.doc_freq_lookup()
        extra = prf.expansion_terms(
            texts,
            kw.analyze,
            doc_freq,
            num_docs,
            kw.analyze(text),
            terms=settings.prf_terms,
            lam=settings.prf_term_weight,
        )
        lists["keyword"], _ = kw.search(text, filters, limit=depth, expansion=extra, count=False)


PREWORK_CHUNK = 20


def _while_waiting(
    pending: Future[tuple[list[tuple[int, float]], int]],
    s: Session,
    nums: Sequence[int],
    early: dict[int, FacetFields],
    coverage: Coverage | None,
) -> None:
    """Read the semantic leg's papers' facet fields, and work out their rerank coverage, in
    chunks for as long as the keyword leg is still running on the other core.

    The wait is ~10 ms for a long title at 2.7M papers, and these papers are most of what fusion
    keeps, so the work after fusion shrinks to the keyword leg's own papers. A chunk at a time,
    so a leg that has finished waits at most one chunk (~1 ms).
    """
    for i in range(0, len(nums), PREWORK_CHUNK):
        if pending.done():
            return
        chunk = nums[i : i + PREWORK_CHUNK]
        early.update(facet_fields_by_num(s, chunk))
        if coverage is not None:
            coverage.add(chunk)


def search(
    catalog: Catalog,
    query: str,
    *,
    mode: Mode | None = None,
    filters: Filters | None = None,
    page: int = 1,
    page_size: int | None = None,
    sort: Sort = "relevance",
) -> SearchOut:
    """Keyword, semantic or hybrid search with filters, snippets, facets and explanations."""
    started = time.perf_counter()
    settings = catalog.settings
    mode = mode or settings.default_mode
    page = max(1, min(page, MAX_PAGE))
    page_size = max(1, min(page_size or settings.page_size, 100))
    parsed = parse_query(query)
    flt = parsed.filters.merged(filters) if filters else parsed.filters
    text = parsed.text
    notice = None
    if mode != "keyword" and not text:
        mode = "keyword"  # nothing to embed: filters only
    depth = max(settings.fusion_depth, page * page_size)
    lists: dict[str, list[tuple[int, float]]] = {}
    total = 0
    similarity: dict[int, float] = {}
    pending: Future[tuple[list[tuple[int, float]], int]] | None = None
    with catalog.store.session() as s:

        def texts_of(nums: Sequence[int]) -> dict[int, tuple[str, str]]:
            return texts_by_num(s, nums)  # the rerank reads them in this request's session

        coverage = Coverage(catalog, text, texts_of)
        early: dict[int, FacetFields] = {}
        if mode in ("keyword", "hybrid"):
            kw_sort: Sort = sort if mode == "keyword" else "relevance"
            if mode == "hybrid" and len(catalog.vectors):
                # The keyword leg runs on another core while this one embeds and searches
                # vectors: p50 29-32 -> 18-20 ms at 1M papers, 2 cores. All three engines
                # release the GIL (usearch only since 2.25: with 2.21 a vector search held it,
                # which cost concurrent searches on a server ~20% of their throughput).
                pending = _LEGS.submit(_keyword, catalog, text, flt, depth, kw_sort)
            else:
                lists["keyword"], total = _keyword(catalog, text, flt, depth, kw_sort)
        if mode in ("semantic", "hybrid"):
            if len(catalog.vectors) == 0:
                notice = "no vector index yet (run `papersift embed`): showing keyword results"
                if "keyword" not in lists:
                    lists["keyword"], total = _keyword(catalog, text, flt, depth, sort)
            else:
                vec = catalog.embed_query(text)
                semantic = _semantic_for_vector(catalog, vec, flt, depth, set())
                if pending is not None:
                    reranks = settings.rerank and sort == "relevance"
                    seen = [n for n, _ in semantic]
                    _while_waiting(pending, s, seen, early, coverage if reranks else None)
                    lists["keyword"], total = pending.result()
                lists["semantic"] = semantic
                similarity = dict(semantic)
        if len(lists) == 1:
            name, ranked = next(iter(lists.items()))
            fused = [Fused(n, v, {name: Evidence(i, v)}) for i, (n, v) in enumerate(ranked, 1)]
        else:
            fused = _fuse(catalog, lists, text, flt, depth, sort, coverage)
        total = max(total, len(fused)) if mode != "semantic" else len(fused)
        # Facets and the date sort need three fields of every candidate; the page needs whole
        # papers. Reading whole papers for all ~200 candidates cost ~5 ms a search.
        wanted = sorted({f.num for f in fused})
        read = {**early, **facet_fields_by_num(s, [n for n in wanted if n not in early])}
        candidates = {n: read[n] for n in wanted if n in read}
        fused = [f for f in fused if f.num in candidates]  # index a step ahead of the store
        if sort == "date" and mode != "keyword":
            fused = sorted(
                fused, key=lambda f: candidates[f.num].published or date.min, reverse=True
            )
        window = fused[(page - 1) * page_size : page * page_size]
        missing = [f.num for f in window if f.num not in similarity]
        if missing and "semantic" in lists:
            nums, mat = emb.get_vectors(s, catalog.model_id, missing, catalog.dim)
            for n, v in zip(nums, mat @ catalog.embed_query(text), strict=True):
                similarity[n] = float(v)
        papers = papers_by_num(s, [f.num for f in window])
        hits = page_hits(catalog, window, papers, text, similarity)
        facets = page_facets(list(candidates.values()))
    return SearchOut(
        query=query,
        mode=mode,
        sort=sort,
        page=page,
        page_size=page_size,
        total=total,
        took_ms=round((time.perf_counter() - started) * 1000, 2),
        hits=hits,
        facets=facets,
        notice=notice,
    )


def require_paper(s: Session, paper_id: str) -> Paper:
    """The paper by id, arXiv id or DOI, or NotFound: the lookup every service function shares."""
    p = get_paper(s, paper_id)
    if p is None:
        raise NotFound(f"no paper {paper_id!r}")
    return p


def get(catalog: Catalog, paper_id: str) -> PaperOut:
    with catalog.store.session() as s:
        return PaperOut.of(require_paper(s, paper_id))


def _similar_to_vector(
    catalog: Catalog, vec: np.ndarray, k: int, exclude: set[int], filters: Filters | None
) -> list[Hit]:
    ranked = _semantic_for_vector(catalog, vec, filters or Filters(), k, exclude)
    fused = [Fused(n, s, {"semantic": Evidence(i, s)}) for i, (n, s) in enumerate(ranked, 1)]
    with catalog.store.session() as s:
        papers = papers_by_num(s, [n for n, _ in ranked])
        return page_hits(catalog, fused, papers, "", dict(ranked))


def similar(
    catalog: Catalog, paper_ids: Sequence[str], *, k: int = 10, filters: Filters | None = None
) -> SimilarOut:
    """Papers nearest to one paper, or to the centroid of a set of papers."""
    if not paper_ids:
        raise ValueError("give at least one paper id")
    with catalog.store.session() as s:
        seeds = []
        for pid in paper_ids:
            p = get_paper(s, pid)
            if p is None:
                raise NotFound(f"no paper {pid!r}")
            seeds.append(p)
        nums, mat = emb.get_vectors(s, catalog.model_id, [p.num for p in seeds], catalog.dim)
        missing = [p for p in seeds if p.num not in nums]
        texts = [embed_text(p.title, p.abstract) for p in missing]
        ids = [p.id for p in seeds]
    if missing:
        mat = (
            np.vstack([mat, catalog.encoder.encode(texts)])
            if len(nums)
            else catalog.encoder.encode(texts)
        )
    centroid = mat.mean(axis=0)
    centroid /= np.linalg.norm(centroid) or 1.0
    hits = _similar_to_vector(catalog, centroid, k, {p.num for p in seeds}, filters)
    return SimilarOut(seed=ids, hits=hits)


def similar_to_text(
    catalog: Catalog, text: str, *, k: int = 10, filters: Filters | None = None
) -> SimilarOut:
    """Search by example: papers nearest to a pasted abstract or paragraph."""
    text = (text or "").strip()[:20_000]
    if not text:
        raise ValueError("paste some text to find similar papers")
    vec = catalog.encoder.encode([text])[0]
    return SimilarOut(seed=["text"], hits=_similar_to_vector(catalog, vec, k, set(), filters))
