"""The bundled demo corpus answers the queries the README promises."""

from __future__ import annotations

import pytest

from papersift.service import searching
from papersift.service.catalog import Catalog


def test_demo_corpus_is_complete(demo_catalog: Catalog) -> None:
    stats = searching.stats(demo_catalog)
    assert stats.papers == stats.keyword_docs == stats.vector_docs == stats.embedded
    assert 1_700 <= stats.papers <= 1_831  # 1,831 records, minus duplicates across sources


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

    assert load_demo(demo_catalog).startswith(
        f"{searching.stats(demo_catalog).papers} papers (0 new"
    )
