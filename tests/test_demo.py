"""The bundled demo corpus answers the queries the README promises."""

from __future__ import annotations

import pytest

from papersift.service import searching
from papersift.service.catalog import Catalog
from papersift.service.statistics import catalog_stats


def test_demo_corpus_is_complete(demo_catalog: Catalog) -> None:
    stats = catalog_stats(demo_catalog)
    assert stats.papers == stats.keyword_docs == stats.vector_docs == stats.embedded
    # 1,831 records from the arXiv samples and listing pages plus 1,251 from HF daily lists,
    # minus the duplicates across sources
    assert 2_900 <= stats.papers <= 3_082


def test_demo_has_the_hf_daily_lists_with_their_upvotes(demo_catalog: Catalog) -> None:
    from datetime import date

    from papersift.service import community

    day = community.daily(demo_catalog, date(2025, 12, 19), sort="votes")
    assert day.total >= 20
    assert {c.source for c in day.cards} == {"import:hf-daily"}
    top = day.cards[0].trending
    assert top is not None and top.imported_votes > 10
    hot = community.trending(demo_catalog, window="all", page_size=5)
    assert all(c.trending and c.trending.points > 0 for c in hot.cards)


@pytest.mark.parametrize(
    ("query", "words"),
    [
        (
            "learning rate warmup",
            ("learning rate", "learning-rate", "warmup", "warm-up", "schedul"),
        ),
        ("contrastive loss for metric learning", ("contrastive", "metric", "triplet", "loss")),
    ],
)
@pytest.mark.parametrize("mode", ["hybrid", "keyword", "semantic"])
def test_hand_checked_queries_return_relevant_papers(
    demo_catalog: Catalog, query: str, words: tuple[str, ...], mode: str
) -> None:
    out = searching.search(demo_catalog, query, mode=mode, page_size=5)  # type: ignore[arg-type]
    relevant = [
        h for h in out.hits if any(w in (h.paper.title + h.paper.abstract).lower() for w in words)
    ]
    # MiniLM alone is the weakest retriever here; hybrid (the default) must match keyword.
    assert len(relevant) >= (3 if mode == "semantic" else 4), [h.paper.title for h in out.hits]


def test_reloading_the_demo_adds_nothing(demo_catalog: Catalog) -> None:
    from papersift.demo import load_demo

    assert load_demo(demo_catalog).startswith(f"{catalog_stats(demo_catalog).papers} papers (0 new")
