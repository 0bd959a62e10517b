"""A ranked list made into the page a face shows: each hit with its snippet and why it is
there (matched words, similarity, each retriever's rank and score), and the facets of all the
candidates. Shared by search and similar papers."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from papersift.index.hybrid import Fused
from papersift.index.snippets import make_snippet, one_word_per_term
from papersift.service.catalog import Catalog
from papersift.service.models import FacetCount, Hit, PaperOut, RetrieverEvidence, Why
from papersift.store.papers import FacetFields
from papersift.store.schema import Paper


def page_facets(papers: Sequence[FacetFields]) -> dict[str, list[FacetCount]]:
    """Over all the candidates, not only the page: the 12 commonest categories, every year, and
    how many link code."""
    cats: Counter[str] = Counter()
    years: Counter[str] = Counter()
    code = 0
    for p in papers:
        cats.update(p.categories)
        if p.published:
            years[str(p.published.year)] += 1
        code += p.has_code
    return {
        "category": [FacetCount(value=v, count=c) for v, c in cats.most_common(12)],
        "year": [FacetCount(value=v, count=c) for v, c in sorted(years.items(), reverse=True)],
        "has_code": [FacetCount(value="code", count=code)],
    }


def page_hits(
    catalog: Catalog,
    fused: Sequence[Fused],
    papers: dict[int, Paper],
    query_text: str,
    similarity: dict[int, float],
) -> list[Hit]:
    """The page's hits in ``fused`` order; a paper the store no longer has is skipped."""
    terms = set(catalog.keyword.analyze(query_text)) if query_text else set()
    analyze = catalog.keyword.analyze_word
    out: list[Hit] = []
    for f in fused:
        p = papers.get(f.num)
        if p is None:
            continue  # index a step ahead of the store (deleted paper): skip, don't fail
        snippet = make_snippet(p.abstract or p.title, terms, analyze)
        title_words = make_snippet(p.title, terms, analyze).matched_terms
        matched = one_word_per_term(title_words + snippet.matched_terms, terms, analyze, query_text)
        found_by = [
            RetrieverEvidence(retriever=name, rank=e.rank, score=round(e.score, 4))  # type: ignore[arg-type]
            for name, e in f.evidence.items()
        ]
        sim = similarity.get(f.num)
        out.append(
            Hit(
                paper=PaperOut.of(p),
                score=round(f.score, 6),
                snippet_html=snippet.to_html(),
                why=Why(
                    matched_terms=matched,
                    similarity=round(sim, 4) if sim is not None else None,
                    found_by=found_by,
                ),
            )
        )
    return out
