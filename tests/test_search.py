"""Keyword, semantic and hybrid search over a real small catalogue."""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select

from papersift.index.query import Filters, QueryError, parse_query
from papersift.service import searching
from papersift.service.catalog import Catalog
from papersift.service.coverage import Coverage
from papersift.store.schema import Paper


def ids(out) -> list[str]:  # type: ignore[no-untyped-def]
    return [h.paper.id for h in out.hits]


def test_keyword_search_ranks_title_matches_and_explains_them(small_catalog: Catalog) -> None:
    out = searching.search(small_catalog, "learning rate warmup", mode="keyword")
    assert ids(out)[:2] == ["arxiv:1908.03265", "arxiv:1706.03762"]
    top = out.hits[0]
    assert {"learning", "rate", "warmup"} <= {t.lower() for t in top.why.matched_terms}
    assert "<mark>warmup</mark>" in top.snippet_html
    assert top.why.found_by[0].retriever == "keyword"


def test_semantic_search_finds_papers_without_shared_words(small_catalog: Catalog) -> None:
    out = searching.search(small_catalog, "plants coping with water shortage", mode="semantic")
    assert ids(out)[0] == "doi:10.1000/plants.2021.1"
    assert out.hits[0].why.similarity is not None and out.hits[0].why.similarity > 0.3


def test_hybrid_fuses_both_retrievers(small_catalog: Catalog) -> None:
    out = searching.search(small_catalog, "contrastive loss for metric learning", mode="hybrid")
    assert set(ids(out)[:2]) == {"arxiv:2002.05709", "arxiv:1511.06452"}
    retrievers = {e.retriever for h in out.hits for e in h.why.found_by}
    assert retrievers == {"keyword", "semantic"}


def test_phrase_queries_match_exact_phrases(small_catalog: Catalog) -> None:
    out = searching.search(small_catalog, '"adaptive learning rate"', mode="keyword")
    assert ids(out) == ["arxiv:1908.03265"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("learning author:Hinton", ["arxiv:2002.05709"]),
        ('author:"Hyun Oh Song"', ["arxiv:1511.06452"]),
        ("learning cat:cs.CV", ["arxiv:2002.05709", "arxiv:1511.06452"]),
        ("learning year:2019..2020", ["arxiv:1908.03265", "arxiv:2002.05709"]),
        ("attention has:code", ["arxiv:1706.03762"]),
        ("learning -cat:cs.CV cat:cs.LG", ["arxiv:1908.03265", "arxiv:1706.03762"]),
    ],
)
def test_filters_apply_in_every_mode(
    small_catalog: Catalog, query: str, expected: list[str]
) -> None:
    for mode in ("keyword", "semantic", "hybrid"):
        got = ids(searching.search(small_catalog, query, mode=mode))  # type: ignore[arg-type]
        assert sorted(got) == sorted(expected), mode


def test_structured_filters_match_query_syntax(small_catalog: Catalog) -> None:
    out = searching.search(small_catalog, "learning", filters=Filters(categories=["cs.CV"]))
    assert sorted(ids(out)) == ["arxiv:1511.06452", "arxiv:2002.05709"]


def test_sort_by_date_puts_newest_first(small_catalog: Catalog) -> None:
    out = searching.search(small_catalog, "learning", mode="keyword", sort="date")
    dates = [h.paper.published for h in out.hits]
    assert dates == sorted(dates, reverse=True)


@pytest.mark.parametrize(
    "hostile",
    [
        '"unbalanced',
        "title:",
        "((((",
        "AND OR NOT",
        "a" * 5000,
        "<script>alert(1)</script>",
        "💥 ∑ \u0000 \ud7ff",
        "*:*",
        "field:[1 TO",
        "^2",
        "~",
    ],
)
def test_hostile_queries_never_crash(small_catalog: Catalog, hostile: str) -> None:
    out = searching.search(small_catalog, hostile)
    for h in out.hits:
        assert "<script>" not in h.snippet_html


def test_a_pasted_abstract_counts_to_its_end(small_catalog: Catalog) -> None:
    pasted = "background " * 150 + "photosynthesis under drought"  # 1,678 characters
    out = searching.search(small_catalog, pasted, mode="keyword")
    assert out.hits[0].paper.title == "Photosynthesis efficiency in C4 crops under drought"


def test_bad_filter_values_are_clear_errors() -> None:
    with pytest.raises(QueryError, match="year"):
        parse_query("year:soon")
    assert parse_query("x year:>=2020").filters.year_from == 2020


def test_similar_papers_for_one_a_set_and_a_text(small_catalog: Catalog) -> None:
    one = searching.similar(small_catalog, ["arxiv:2002.05709"], k=4)
    assert "arxiv:2002.05709" not in [h.paper.id for h in one.hits]
    assert one.hits[-1].paper.id == "doi:10.1000/plants.2021.1"  # the off-topic paper is last
    sims = [h.why.similarity for h in one.hits]
    assert sims == sorted(sims, reverse=True)
    group = searching.similar(small_catalog, ["1706.03762", "1908.03265"], k=3)
    assert not {"arxiv:1706.03762", "arxiv:1908.03265"} & {h.paper.id for h in group.hits}
    text = searching.similar_to_text(
        small_catalog, "crop yield and leaf gas exchange in maize", k=1
    )
    assert text.hits[0].paper.id == "doi:10.1000/plants.2021.1"


def test_unknown_paper_is_not_found(small_catalog: Catalog) -> None:
    with pytest.raises(searching.NotFound):
        searching.get(small_catalog, "arxiv:9999.99999")


def test_words_after_a_query_syntax_error_still_count(small_catalog: Catalog) -> None:
    out = searching.search(
        small_catalog, "apo(a) variance of the adaptive optimisers", mode="keyword"
    )
    assert ids(out)[0] == "arxiv:1908.03265"
    assert "optimisers" in out.hits[0].why.matched_terms


def test_hyphenated_words_match_their_parts(small_catalog: Catalog) -> None:
    # "style-triplet" is not a phrase in any abstract, but both parts are in one.
    out = searching.search(small_catalog, "style-triplet", mode="keyword")
    assert ids(out) == ["arxiv:1511.06452"]


def test_required_excluded_and_field_restricted_words(small_catalog: Catalog) -> None:
    def kw(q: str) -> list[str]:
        return sorted(ids(searching.search(small_catalog, q, mode="keyword")))

    assert kw("learning -warmup") == ["arxiv:1511.06452", "arxiv:2002.05709"]
    assert kw("+warmup adam") == ["arxiv:1706.03762", "arxiv:1908.03265"]
    assert kw("title:learning") == ["arxiv:1511.06452", "arxiv:1908.03265", "arxiv:2002.05709"]
    assert kw('abstract:"adaptive learning rate"') == ["arxiv:1908.03265"]
    assert kw("-warmup") == ["arxiv:1511.06452", "arxiv:2002.05709", "doi:10.1000/plants.2021.1"]
    assert kw("authors:Kornblith") == ["arxiv:2002.05709"]


def test_a_word_repeated_in_the_query_counts_once(small_catalog: Catalog) -> None:
    once = searching.search(small_catalog, "warmup attention", mode="keyword")
    again = searching.search(small_catalog, "warmup warmup warmups attention", mode="keyword")
    assert [h.score for h in once.hits] == [h.score for h in again.hits]


def test_hybrid_rerank_keeps_the_evidence_and_can_be_turned_off(small_catalog: Catalog) -> None:
    on = searching.search(small_catalog, "contrastive loss for metric learning", mode="hybrid")
    small_catalog.settings.rerank = False
    off = searching.search(small_catalog, "contrastive loss for metric learning", mode="hybrid")
    assert sorted(ids(on)) == sorted(ids(off))
    assert {h.paper.id for h in on.hits[:2]} == {"arxiv:2002.05709", "arxiv:1511.06452"}
    assert [h.score for h in on.hits] != [h.score for h in off.hits]  # the model's scores
    assert all(h.why.found_by for h in on.hits)


def test_rerank_coverage_reads_the_papers_words_as_the_keyword_index_does(
    small_catalog: Catalog,
) -> None:
    from papersift.store.papers import get_paper

    with small_catalog.store.session() as s:
        papers = [get_paper(s, k) for k in ("arxiv:1908.03265", "doi:10.1000/plants.2021.1")]
        nums = [p.num for p in papers if p is not None]
    cov = Coverage(small_catalog, "Warmup of the learning rates")(nums)
    # "warmup", "learn" and "rate" are all in the warmup paper (stemmed: "rates" -> "rate"),
    # none of them in the maize paper; "of the" are stop words and weigh nothing.
    assert cov[0, 0] == pytest.approx(1.0) and cov[1, 0] == 0.0
    assert 0.0 < cov[0, 1] < 1.0  # its title has no "warmup"


def test_rerank_coverage_worked_out_ahead_is_the_same_as_on_demand(
    small_catalog: Catalog,
) -> None:
    with small_catalog.store.session() as s:
        nums = [n for (n,) in s.execute(select(Paper.num).order_by(Paper.num))]
    query = "learning rate warmup for transformers"
    on_demand = Coverage(small_catalog, query)(nums)
    ahead = Coverage(small_catalog, query)
    ahead.add(nums[::2])  # some rows first, as while the keyword leg runs
    ahead.add(nums[:3])
    asked = [*reversed(nums), nums[0], 10**9]  # any order, a repeat, a paper the store lacks
    got = ahead(asked)
    assert got.shape == (len(asked), 2)
    assert np.array_equal(got[: len(nums)], on_demand[::-1])
    assert np.array_equal(got[-2], on_demand[0]) and not got[-1].any()


class _NeverDone:
    """A keyword leg that is still running whenever the search looks."""

    def __init__(self, inner: Future[tuple[list[tuple[int, float]], int]]) -> None:
        self.inner = inner

    def done(self) -> bool:
        return False

    def result(self) -> tuple[list[tuple[int, float]], int]:
        return self.inner.result()


def test_hybrid_search_is_the_same_whether_or_not_the_wait_was_used(
    small_catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The semantic leg's papers are read and analysed while the keyword leg runs; how much of
    that got done before the keyword leg finished must not change the answer."""
    queries = ["learning rate warmup", "attention transformer", "maize drought"]
    monkeypatch.setattr(searching, "_while_waiting", lambda *args: None)
    after = [searching.search(small_catalog, q, mode="hybrid") for q in queries]
    monkeypatch.undo()
    submit = searching._LEGS.submit
    monkeypatch.setattr(searching._LEGS, "submit", lambda *a, **k: _NeverDone(submit(*a, **k)))
    worked_out: list[int] = []
    real = searching._while_waiting

    def spy(*args: Any) -> None:
        real(*args)
        worked_out.append(len(args[3]))  # the facet fields read ahead

    monkeypatch.setattr(searching, "_while_waiting", spy)
    during = [searching.search(small_catalog, q, mode="hybrid") for q in queries]
    assert len(worked_out) == len(queries) and all(worked_out)
    for a, d in zip(after, during, strict=True):
        assert [(h.paper.id, h.score, h.snippet_html) for h in a.hits] == [
            (h.paper.id, h.score, h.snippet_html) for h in d.hits
        ]
        assert (a.total, a.facets) == (d.total, d.facets)


def test_feedback_options_run_in_both_spaces(small_catalog: Catalog) -> None:
    small_catalog.settings.prf_docs = 2
    small_catalog.settings.prf_terms = 5
    out = searching.search(small_catalog, "learning rate warmup", mode="hybrid")
    assert ids(out)[0] in {"arxiv:1908.03265", "arxiv:1706.03762"}
    assert len(out.hits) == 5


def test_a_serving_catalog_finds_papers_that_another_process_ingested(
    small_catalog: Catalog,
) -> None:
    """`papersift ingest` from cron beside a running `serve`: the server's keyword reader and
    vector index pick up the new files without a restart."""
    import time
    from datetime import date

    from conftest import make_catalog

    from papersift.records import PaperRecord
    from papersift.service.ingesting import ingest

    server = small_catalog
    query = "surface codes for quantum error correction"
    assert searching.search(server, query, mode="semantic").hits  # readers open, old papers
    new = PaperRecord(
        title="Surface codes for quantum error correction at scale",
        abstract="We decode surface codes for fault-tolerant quantum computation with a "
        "union-find decoder and measure logical error rates below threshold.",
        authors=["Q. Bit"],
        arxiv_id="2401.00001",
        categories=["quant-ph"],
        published=date(2024, 1, 1),
        source="test",
    )
    other = make_catalog(server.settings.data_dir)  # another process's catalog
    ingest(other, [new], source="test", location="cron")
    other.close()
    firsts: dict[str, str | None] = {}
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        for mode in ("keyword", "semantic"):
            hits = searching.search(server, query, mode=mode).hits  # type: ignore[arg-type]
            firsts[mode] = hits[0].paper.arxiv_id if hits else None
        if set(firsts.values()) == {"2401.00001"}:
            break
        time.sleep(0.2)
    assert firsts == {"keyword": "2401.00001", "semantic": "2401.00001"}
