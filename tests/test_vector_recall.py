"""The vector index finds what exact search finds: recall@10 with the shipped defaults.

Clustered vectors stand in for paper embeddings (papers crowd around topics, so top-10 lists are
full of near-ties, which is where int8 quantisation loses neighbours). benchmarks/scale.py
measures the same thing on MiniLM vectors at 100k-2.7M papers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from papersift.index.vector import VectorIndex

DIM = 384


def clustered(n: int, rng: np.random.Generator, centres: np.ndarray) -> np.ndarray:
    """Points around random topic centres, each topic's spread along its own few directions."""
    which = rng.integers(len(centres), size=n)
    x = centres[which] + 0.35 * rng.standard_normal((n, DIM)) / np.sqrt(DIM)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    centres = rng.standard_normal((40, DIM))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    return clustered(2_000, rng, centres), clustered(100, rng, centres)


def exact_top10(x: np.ndarray, queries: np.ndarray) -> np.ndarray:
    return np.argsort(-(queries @ x.T), axis=1)[:, :10]


def recall_at_10(index: VectorIndex, queries: np.ndarray, truth: np.ndarray, **kw: int) -> float:
    found = [[num for num, _ in index.search(q, 10, **kw)] for q in queries]
    return float(np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth, strict=True)]))


def build(path: Path, x: np.ndarray) -> VectorIndex:
    index = VectorIndex(path, DIM, "test")
    index.upsert(list(range(len(x))), x)
    return index


def test_recall_at_10_against_exact_search_with_shipped_defaults(
    tmp_path: Path, data: tuple[np.ndarray, np.ndarray]
) -> None:
    x, queries = data
    truth = exact_top10(x, queries)
    index = build(tmp_path / "v.usearch", x)
    assert recall_at_10(index, queries, truth) >= 0.95


def test_int8_alone_loses_near_ties_that_the_exact_rerank_recovers(
    tmp_path: Path, data: tuple[np.ndarray, np.ndarray]
) -> None:
    """Why the float16 re-rank exists: on the same data, int8 HNSW order alone scores lower."""
    x, queries = data
    truth = exact_top10(x, queries)
    index = build(tmp_path / "v.usearch", x)
    assert recall_at_10(index, queries, truth, rerank=0) < recall_at_10(index, queries, truth)


def test_recall_survives_save_and_reload(
    tmp_path: Path, data: tuple[np.ndarray, np.ndarray]
) -> None:
    x, queries = data
    truth = exact_top10(x, queries)
    path = tmp_path / "v.usearch"
    build(path, x).save()
    reopened = VectorIndex(path, DIM, "test")
    assert len(reopened) == len(x)
    assert recall_at_10(reopened, queries, truth) >= 0.95
    # Similarities are exact cosines, not int8 approximations.
    num, sim = reopened.search(queries[0], 1)[0]
    assert sim == pytest.approx(float(x[num] @ queries[0]), abs=2e-3)


def test_a_reopened_index_is_mapped_and_still_takes_changes(
    tmp_path: Path, data: tuple[np.ndarray, np.ndarray]
) -> None:
    """A reader maps the saved graph (no copy in memory); the first change loads it, and the
    mapped file is only ever replaced whole, so readers of the old file keep working."""
    x, queries = data
    path = tmp_path / "v.usearch"
    build(path, x[:1500]).save()
    reader = VectorIndex(path, DIM, "test")
    reader.refresh_every = 3600  # keeps the graph it mapped (see the next test for refresh)
    writer = VectorIndex(path, DIM, "test")
    assert reader.mapped and writer.mapped
    before = reader.search(queries[0], 10)
    writer.upsert(list(range(1500, len(x))), x[1500:])
    writer.remove([before[0][0]])
    assert not writer.mapped and len(writer) == len(x) - 1
    writer.save()
    assert reader.search(queries[0], 10) == before  # still the old file, unharmed
    reopened = VectorIndex(path, DIM, "test")
    assert reopened.mapped and len(reopened) == len(x) - 1
    assert before[0][0] not in reopened
    truth = exact_top10(x, queries)
    truth = np.where(truth == before[0][0], -1, truth)  # the removed paper cannot be found
    assert recall_at_10(reopened, queries, truth) >= 0.94


def test_a_reader_picks_up_what_another_process_saved(
    tmp_path: Path, data: tuple[np.ndarray, np.ndarray]
) -> None:
    """A server started before `papersift embed` ran elsewhere finds the new papers without a
    restart; a copy with unsaved changes of its own is never swapped for the file."""
    x, queries = data
    path = tmp_path / "v.usearch"
    server = VectorIndex(path, DIM, "test")  # no file yet: empty
    server.refresh_every = 0
    assert len(server) == 0 and server.search(queries[0], 10) == []
    embedder = VectorIndex(path, DIM, "test")
    embedder.upsert(list(range(1000)), x[:1000])
    embedder.save()
    assert len(server) == 1000 and server.mapped
    assert server.search(x[5], 1)[0][0] == 5
    embedder.upsert(list(range(1000, len(x))), x[1000:])
    assert len(server) == 1000  # not saved yet: nothing to see
    embedder.save()
    assert server.search(x[1500], 1)[0][0] == 1500
    assert len(server) == len(x)
    # A process with changes of its own keeps them until it saves.
    server.upsert([len(x)], x[:1])
    embedder.remove([5])
    embedder.save()
    assert len(server) == len(x) + 1
    # ... and when it saves, the other process's removal of paper 5 is not undone.
    server.save()
    reopened = VectorIndex(path, DIM, "test")
    assert len(reopened) == len(x) and 5 not in reopened and len(x) in reopened


def test_two_writers_at_once_keep_each_others_papers(
    tmp_path: Path, data: tuple[np.ndarray, np.ndarray]
) -> None:
    """`papersift embed` and an ingest through the server both change the index: whoever
    saves second replays its own changes onto the other's graph instead of overwriting it."""
    x, queries = data
    path = tmp_path / "v.usearch"
    build(path, x[:1000]).save()
    embed_job = VectorIndex(path, DIM, "test")
    server = VectorIndex(path, DIM, "test")
    embed_job.upsert(list(range(1000, 1600)), x[1000:1600])
    server.upsert(list(range(1600, len(x))), x[1600:])
    server.remove([3])
    embed_job.upsert([7], x[8:9])  # paper 7 re-embedded after its text changed
    server.save()
    embed_job.save()  # loaded before the server saved: merges, does not overwrite
    both = VectorIndex(path, DIM, "test")
    assert len(both) == len(x) - 1
    assert 3 not in both and all(k in both for k in (0, 1000, 1599, 1600, len(x) - 1))
    assert both.search(x[8], 2)[0][0] in {7, 8}
    truth = exact_top10(x, queries)
    truth = np.where(truth == 3, -1, truth)
    assert recall_at_10(both, queries, truth) >= 0.94
    # A later save by the same writer, with nothing new from the other side, merges nothing.
    embed_job.upsert([3], x[3:4])
    embed_job.save()
    assert len(VectorIndex(path, DIM, "test")) == len(x)


def test_a_rebuilt_index_replaces_the_file_instead_of_merging(
    tmp_path: Path, data: tuple[np.ndarray, np.ndarray]
) -> None:
    """`papersift reindex` rebuilds from the store: what it saves is the whole truth."""
    x, _ = data
    path = tmp_path / "v.usearch"
    build(path, x[:100]).save()
    reindex = VectorIndex(path, DIM, "test")
    other = VectorIndex(path, DIM, "test")
    other.remove([1, 2])
    other.save()
    reindex.reset()
    reindex.upsert(list(range(50)), x[:50])
    reindex.save()
    assert len(VectorIndex(path, DIM, "test")) == 50


def test_a_mapped_reader_reads_vectors_from_the_rows_without_loading(
    tmp_path: Path, data: tuple[np.ndarray, np.ndarray]
) -> None:
    x, _ = data
    path = tmp_path / "v.usearch"
    build(path, x).save()
    reader = VectorIndex(path, DIM, "test")
    got = reader.vectors_of([3, 7, 10**6])
    assert reader.mapped  # no key table needed, nothing loaded
    assert np.allclose(got[:2], x[[3, 7]], atol=1e-3)
    assert not got[2].any()  # unknown paper: zeros
    # Without the rows (an index written before they existed) the graph's int8 copy answers.
    path.with_suffix(".f16").unlink()
    legacy = VectorIndex(path, DIM, "test")
    cos = legacy.vectors_of([3])[0] @ x[3] / np.linalg.norm(legacy.vectors_of([3])[0])
    assert cos > 0.99 and not legacy.mapped
    assert 3 in legacy and 10**6 not in legacy


def test_index_without_float16_rows_still_answers(
    tmp_path: Path, data: tuple[np.ndarray, np.ndarray]
) -> None:
    """An index written before the re-rank rows existed falls back to int8 scores."""
    x, queries = data
    path = tmp_path / "v.usearch"
    build(path, x).save()
    path.with_suffix(".f16").unlink()
    reopened = VectorIndex(path, DIM, "test")
    hits = reopened.search(queries[0], 10)
    assert len(hits) == 10
    assert hits[0][0] == int(exact_top10(x, queries[:1])[0, 0])


def test_upsert_replaces_a_vector_and_its_rerank_row(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    x = rng.standard_normal((50, DIM)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    index = build(tmp_path / "v.usearch", x)
    index.upsert([5], x[7:8])  # paper 5's text changed: it now looks like paper 7
    hits = dict(index.search(x[7], 2))
    assert set(hits) == {5, 7}
    assert hits[5] == pytest.approx(1.0, abs=2e-3)
    index.remove([5])
    assert 5 not in dict(index.search(x[7], 5))


def test_search_widens_as_the_index_grows(tmp_path: Path) -> None:
    """HNSW needs a wider search at 1M papers than at 100k for the same recall, and a graph
    built narrower needs a wider search again (measured)."""
    from papersift.index.hnsw_width import (
        EF_SEARCH,
        EF_SEARCH_MAX,
        LEGACY_EF_ADD,
        expansion_search_for,
    )

    assert expansion_search_for(2_000) == expansion_search_for(100_000) == EF_SEARCH
    assert EF_SEARCH < expansion_search_for(1_000_000) < expansion_search_for(2_700_000)
    assert expansion_search_for(2_700_000) == 1536
    assert expansion_search_for(2_700_000, LEGACY_EF_ADD) == 3136
    for n in (50_000, 1_000_000, 2_700_000):
        assert expansion_search_for(n) < expansion_search_for(n, LEGACY_EF_ADD)
    assert expansion_search_for(10**9) == EF_SEARCH_MAX
    rng = np.random.default_rng(5)
    x = rng.standard_normal((20, DIM)).astype(np.float32)
    index = build(tmp_path / "v.usearch", x)
    index.search(x[0], 5)
    assert index.index.expansion_search == EF_SEARCH
    index.ef_search = 48  # a caller (or a benchmark) may pin it
    index.search(x[0], 5)
    assert index.index.expansion_search == 48


def test_an_index_from_before_the_rows_gets_all_of_them_on_its_first_change(
    tmp_path: Path, data: tuple[np.ndarray, np.ndarray]
) -> None:
    """An index saved without float16 rows (an older version) must not read its older papers
    as "no vector" once a new paper creates the rows: they are filled from the graph."""
    x, _ = data
    path = tmp_path / "v.usearch"
    build(path, x[:500]).save()
    path.with_suffix(".f16").unlink()  # as an older version left it
    writer = VectorIndex(path, DIM, "test")
    writer.upsert([500], x[500:501])
    got = writer.vectors_of([0, 250, 499, 500])
    cos = np.sum(got * x[[0, 250, 499, 500]], axis=1) / np.linalg.norm(got, axis=1)
    assert (cos > 0.99).all()


def test_rows_missing_from_an_older_sidecar_are_noticed_and_can_be_rewritten(
    tmp_path: Path, data: tuple[np.ndarray, np.ndarray]
) -> None:
    x, _ = data
    path = tmp_path / "v.usearch"
    build(path, x[:300]).save()
    rows = np.memmap(path.with_suffix(".f16"), dtype=np.float16, mode="r+")
    rows[: 300 * DIM] = 0  # an older version's sidecar: rows only for papers added later
    rows.flush()
    writer = VectorIndex(path, DIM, "test")
    assert not writer.rows_present([0, 150, 299])
    writer.write_rows(list(range(300)), x[:300])
    assert writer.rows_present([0, 150, 299]) and writer.mapped  # checked without loading
    assert np.allclose(VectorIndex(path, DIM, "test").vectors_of([7])[0], x[7], atol=1e-3)


def test_a_graph_is_searched_as_wide_as_its_build_needs(tmp_path: Path) -> None:
    """usearch does not store how wide a graph was built, so papersift records it beside the
    graph: a graph from before the record (built with 64) keeps the wider search it needs,
    also after papers are added to it, until a rebuild; readers pick the record up."""
    from papersift.index.hnsw_width import EF_ADD, LEGACY_EF_ADD, expansion_search_for, record_path

    rng = np.random.default_rng(11)
    x = rng.standard_normal((40, DIM)).astype(np.float32)
    path = tmp_path / "v.usearch"
    build(path, x[:30]).save()
    assert VectorIndex(path, DIM, "test").built_with == EF_ADD
    record_path(path).unlink()  # as papersift before session 13 left it
    old = VectorIndex(path, DIM, "test")
    assert old.built_with == LEGACY_EF_ADD
    old.search(x[0], 5)
    assert old.index.expansion_search == expansion_search_for(30, LEGACY_EF_ADD)
    old.upsert([30], x[30:31])  # new papers do not make the older part better connected
    old.save()
    reader = VectorIndex(path, DIM, "test")
    assert reader.built_with == LEGACY_EF_ADD and reader.mapped
    rebuilt = VectorIndex(path, DIM, "test")
    rebuilt.reset()  # `papersift reindex`
    rebuilt.upsert(list(range(40)), x)
    rebuilt.save()
    reader.refresh_every = 0.0
    assert reader.refresh()
    assert reader.built_with == EF_ADD
    reader.search(x[0], 5)
    assert reader.index.expansion_search == expansion_search_for(40)
