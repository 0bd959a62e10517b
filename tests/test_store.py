"""The store is the source of truth: dedup across sources, newest version wins, nothing lost."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from conftest import SMALL
from sqlalchemy import select

from papersift.records import PaperRecord, ParseProblem
from papersift.service import searching
from papersift.service.catalog import Catalog
from papersift.service.ingesting import ingest
from papersift.store.papers import count_papers
from papersift.store.schema import Paper


def test_reingest_updates_version_without_duplicates(catalog: Catalog) -> None:
    v1 = PaperRecord(title="Old title", abstract="first version", arxiv_id="2401.00001", version=1,
                     source="arxiv-api")  # fmt: skip
    ingest(catalog, [v1], source="t", location="a", embed=False)
    v2 = replace(v1, title="New title", abstract="second version", version=2)
    report = ingest(catalog, [v2], source="t", location="b", embed=False)
    assert (report.inserted, report.updated) == (0, 1)
    again = ingest(catalog, [v2], source="t", location="c", embed=False)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 1)
    paper = searching.get(catalog, "2401.00001v2")
    assert (paper.title, paper.version) == ("New title", 2)
    with catalog.store.session() as s:
        assert count_papers(s) == 1


def test_an_older_version_only_fills_gaps(catalog: Catalog) -> None:
    v3 = PaperRecord(title="Final", abstract="", arxiv_id="2401.00002", version=3, source="api")
    old = PaperRecord(title="Draft", abstract="draft abstract", arxiv_id="2401.00002", version=1,
                      doi="10.1234/x", source="snapshot")  # fmt: skip
    ingest(catalog, [v3], source="t", location="a", embed=False)
    ingest(catalog, [old], source="t", location="b", embed=False)
    paper = searching.get(catalog, "arxiv:2401.00002")
    assert paper.title == "Final" and paper.version == 3
    assert paper.abstract == "draft abstract" and paper.doi == "10.1234/x"
    assert paper.sources == ["api", "snapshot"]


def test_sources_merge_by_doi_then_title(catalog: Catalog) -> None:
    a = PaperRecord(
        title="Graph Networks: A Survey", doi="https://doi.org/10.5555/ABC.1", source="csv"
    )
    b = PaperRecord(title="Graph networks - a survey!", abstract="Surveyed.", source="listing-page")
    c = PaperRecord(title="Graph Networks: A Survey", arxiv_id="arXiv:2301.01234v2", source="api")
    report = ingest(catalog, [a, b, c], source="mixed", location="x", embed=False)
    assert report.inserted == 1
    with catalog.store.session() as s:
        (paper,) = s.scalars(select(Paper)).all()
        assert paper.id == "arxiv:2301.01234"  # the id upgrades to the strongest identity
        assert paper.doi == "10.5555/abc.1"
        assert paper.abstract == "Surveyed."
        assert paper.arxiv_version == 2


def test_same_title_different_arxiv_ids_stay_two_papers(catalog: Catalog) -> None:
    a = PaperRecord(title="Erratum", arxiv_id="2101.00001")
    b = PaperRecord(title="Erratum", arxiv_id="2101.00002")
    assert ingest(catalog, [a, b], source="t", location="x", embed=False).inserted == 2


def test_bad_records_are_reported_and_the_rest_lands(catalog: Catalog) -> None:
    items = [
        SMALL[0],
        ParseProblem("jsonl", "line 2", "Expecting value"),
        PaperRecord(title="   ", abstract=" \u200b "),  # no title, no text to make one
        replace(SMALL[1], title="x" * 50_000, abstract="\x00odd\u200b text <b>html</b> " * 3),
    ]
    report = ingest(catalog, items, source="t", location="x", embed=False)
    assert report.inserted == 2 and report.problems == 2
    assert [p.where for p in report.first_problems] == ["line 2", "record 3"]
    with catalog.store.session() as s:
        long_one = s.scalar(select(Paper).where(Paper.arxiv_id == "2002.05709"))
        assert long_one is not None and len(long_one.title) <= 1000
        assert "\x00" not in long_one.abstract and "<b>html</b>" in long_one.abstract


def test_code_links_are_extracted_from_abstracts(small_catalog: Catalog) -> None:
    paper = searching.get(small_catalog, "1706.03762")
    assert paper.code_urls == ["https://github.com/tensorflow/tensor2tensor"]
    assert paper.pdf_url == "https://arxiv.org/pdf/1706.03762"
    assert paper.published == date(2017, 6, 12)


def test_indexes_rebuild_from_the_store(small_catalog: Catalog) -> None:
    before = searching.search(small_catalog, "learning rate warmup", mode="hybrid")
    small_catalog.rebuild()
    after = searching.search(small_catalog, "learning rate warmup", mode="hybrid")
    assert [h.paper.id for h in after.hits] == [h.paper.id for h in before.hits]
    assert small_catalog.keyword.num_docs() == len(SMALL) == len(small_catalog.vectors)


def test_embeddings_are_cached_and_only_changed_papers_reembedded(small_catalog: Catalog) -> None:
    changed = replace(SMALL[2], abstract="A new abstract about metric learning.", version=2)
    report = ingest(small_catalog, [SMALL[0], changed], source="t", location="x")
    assert report.embedded == 1
    assert small_catalog.sync()["embedded"] == 0


def test_known_head_revision_matches_the_migrations(catalog: Catalog) -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from papersift.store.db import HEAD_REVISION, MIGRATIONS, current_revision

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(cfg).get_current_head() == HEAD_REVISION
    assert current_revision(catalog.store.engine) == HEAD_REVISION


def _stop_a_keyword_reindex_half_way(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> list[PaperRecord]:
    """40 papers, a reindex from zero that commits after every paper and is stopped (Ctrl-C)
    while indexing the 16th."""
    from conftest import make_catalog

    from papersift.index.keyword import KeywordIndex
    from papersift.service import catalog as catalog_module

    monkeypatch.setattr(catalog_module, "KEYWORD_COMMIT_EVERY_S", 0.0)
    records = [
        PaperRecord(title=f"Paper {i} about warmup", abstract=f"Warmup study number {i}.",
                    arxiv_id=f"2102.{i:05d}", source="test")
        for i in range(40)
    ]  # fmt: skip
    cat = make_catalog(data_dir)
    ingest(cat, records, source="test", location="fixture", embed=False)
    cat.keyword = KeywordIndex.recreate(cat.settings.index_dir / "keyword")  # reindex from zero
    state = cat._state()
    state.pop("keyword")
    cat._save_state(state)
    real_upsert, calls = cat.keyword.upsert, []

    def upsert_then_crash(docs: list) -> int:  # type: ignore[type-arg]
        calls.append(1)
        if len(calls) == 16:
            raise KeyboardInterrupt
        return real_upsert(docs)

    monkeypatch.setattr(cat.keyword, "upsert", upsert_then_crash)
    with pytest.raises(KeyboardInterrupt):
        cat.sync(embed=False)
    assert cat._state()["keyword_pending"]["after"] > 0
    cat.close()
    return records


def test_an_interrupted_keyword_reindex_goes_on_where_it_stopped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A keyword pass commits as it goes (every KEYWORD_COMMIT_EVERY_S) and records how far it
    got, so a reindex stopped half-way neither starts over nor misses a paper."""
    from conftest import make_catalog

    records = _stop_a_keyword_reindex_half_way(tmp_path / "d", monkeypatch)
    again = make_catalog(tmp_path / "d")
    assert 0 < again.keyword.num_docs() < 40  # what was committed before the stop
    assert again.sync(embed=False)["keyword"] == 40 - 15  # only the rest
    assert again.keyword.num_docs() == 40 and "keyword_pending" not in again._state()
    hits = searching.search(again, "warmup study number 39", mode="keyword").hits
    assert hits[0].paper.arxiv_id == "2102.00039"
    changed = replace(records[3], abstract="Warmup study number 3, revised with cosine decay.")
    ingest(again, [changed], source="test", location="fixture", embed=False)
    assert searching.search(again, "cosine decay", mode="keyword").hits[0].paper.arxiv_id == (
        "2102.00003"
    )  # the watermark it left still catches later changes
    again.close()


def test_papers_changed_while_a_reindex_was_stopped_are_indexed_when_it_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from conftest import make_catalog

    records = _stop_a_keyword_reindex_half_way(tmp_path / "d", monkeypatch)
    again = make_catalog(tmp_path / "d")
    # An ingest meanwhile changes a paper the stopped pass had already indexed; its own sync
    # goes on with the stopped pass, then indexes what changed after that pass began.
    changed = replace(records[2], abstract="Warmup study number 2, now with cosine decay.")
    ingest(again, [changed], source="test", location="fixture", embed=False)
    assert again.keyword.num_docs() == 40 and "keyword_pending" not in again._state()
    assert searching.search(again, "cosine decay", mode="keyword").hits[0].paper.arxiv_id == (
        "2102.00002"
    )
    again.close()


def test_a_shared_generic_title_does_not_fold_different_papers_together(
    catalog: Catalog,
) -> None:
    """Id-less records titled "Summary" with unrelated abstracts stay separate papers (no
    abstract is lost), re-ingesting them changes nothing, and a second source of one of them
    still merges into it."""
    a = PaperRecord(
        title="Summary",
        abstract="Steroid resistance in asthma is linked to "
        "glucocorticoid receptor phosphorylation in airway macrophages.",
    )
    b = PaperRecord(
        title="Summary",
        abstract="Glomerular filtration declines with kidney "
        "fibrosis; we measured podocyte loss in transplanted nephrons.",
    )
    c = PaperRecord(title="SUMMARY", abstract="Steroid resistance in asthma is linked to "
                    "glucocorticoid receptor phosphorylation in airway macrophages, as shown.",
                    doi="10.1000/asthma.1")  # fmt: skip
    first = ingest(catalog, [a, b], source="t", location="x", embed=False)
    assert first.inserted == 2
    again = ingest(catalog, [a, b], source="t", location="x", embed=False)
    assert again.inserted == 0 and again.updated == 0
    assert ingest(catalog, [c], source="t", location="x", embed=False).inserted == 0
    with catalog.store.session() as s:
        papers = {p.abstract.split()[0]: p for p in s.scalars(select(Paper))}
    assert set(papers) == {"Steroid", "Glomerular"}
    assert papers["Steroid"].doi == "10.1000/asthma.1"
    assert papers["Steroid"].id != papers["Glomerular"].id


def test_an_excerpt_or_a_stub_of_the_same_abstract_still_merges_by_title(
    catalog: Catalog,
) -> None:
    """A listing page's first sentence of an abstract, or a one-line stub, is the same paper:
    the excerpt shares all its words (though few of the whole abstract's), the stub is too
    short to judge."""
    full = (
        "We study learning rate warmup for adaptive optimisers such as Adam. Warmup stabilises "
        "the early phase of training, when the variance of the adaptive learning rate is large "
        "because few gradients have been averaged. We show that rectifying this variance "
        "removes the need for a hand-tuned warmup schedule, derive the correction term in "
        "closed form, and evaluate it on image classification with residual networks, language "
        "modelling with recurrent and transformer models, and neural machine translation, "
        "where it matches carefully tuned warmup heuristics and improves robustness to the "
        "choice of initial learning rate, batch size and dataset."
    )
    a = PaperRecord(title="On Warmup for Adaptive Optimisers", abstract=full, arxiv_id="2101.1")
    excerpt = PaperRecord(
        title="On warmup for adaptive optimisers",
        abstract=full.split(". ")[0] + " ...",
        source="listing-page",
    )
    stub = PaperRecord(title="On Warmup for Adaptive Optimisers", abstract="Collected notes.",
                       doi="10.1000/warmup")  # fmt: skip
    assert ingest(catalog, [a, excerpt, stub], source="t", location="x", embed=False).inserted == 1
