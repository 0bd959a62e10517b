"""`papersift embed --import`: precomputed vectors from .npz, .npy + ids, and parquet files."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner, Result
from conftest import SMALL, make_catalog

from papersift.cli import main
from papersift.embed.precomputed import PrecomputedError, open_vectors
from papersift.service.catalog import Catalog
from papersift.service.ingesting import ingest
from papersift.store import embeddings as emb
from papersift.store.papers import get_paper

DIM = 384
IDS = ["arxiv:1706.03762", "arxiv:2002.05709", "arxiv:1511.06452", "arxiv:1908.03265"]


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    """A catalogue of the five small papers, not embedded: every vector comes from a file."""
    d = tmp_path / "data"
    cat = make_catalog(d)
    ingest(cat, list(SMALL), source="test", location="fixture", embed=False)
    cat.close()
    yield d


def vectors(n: int, seed: int = 0) -> np.ndarray:
    """Unnormalised rows (scaled by 3): the import must normalise them."""
    return 3 * np.random.default_rng(seed).standard_normal((n, DIM)).astype(np.float32)


def run(data_dir: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["--data-dir", str(data_dir), "embed", *args])


def stored(data_dir: Path) -> dict[str, np.ndarray]:
    """Paper id -> the vector in the embedding cache; checks the HNSW index agrees."""
    cat = make_catalog(data_dir)
    try:
        out: dict[str, np.ndarray] = {}
        with cat.store.session() as s:
            papers = [get_paper(s, r.arxiv_id or r.doi or "") for r in SMALL]
            nums, mat = emb.get_vectors(s, cat.model_id, [p.num for p in papers if p], DIM)
            by_num = {p.num: p.id for p in papers if p}
        assert len(cat.vectors) == len(nums)
        for num, v in zip(nums, mat, strict=True):
            out[by_num[num]] = v
            assert cat.vectors.search(v, 1)[0][0] == num
        return out
    finally:
        cat.close()


def unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def assert_imported(data_dir: Path, ids: list[str], vecs: np.ndarray) -> None:
    got = stored(data_dir)
    assert sorted(got) == sorted(ids)
    for pid, v in zip(ids, vecs, strict=True):
        assert np.linalg.norm(got[pid]) == pytest.approx(1.0, abs=1e-3)
        assert got[pid] @ unit(v) == pytest.approx(1.0, abs=1e-3)


# --- formats ------------------------------------------------------------------------------------


def test_npz_with_ids_and_vectors_is_imported_normalised(data_dir: Path, tmp_path: Path) -> None:
    vecs = vectors(4)
    np.savez(tmp_path / "v.npz", ids=np.array(IDS), vectors=vecs)
    result = run(data_dir, "--import", str(tmp_path / "v.npz"))
    assert result.exit_code == 0, result.output
    assert "imported 4 of 4 vectors" in result.output
    assert_imported(data_dir, IDS, vecs)


def test_compressed_npz_is_streamed_in_chunks(tmp_path: Path) -> None:
    vecs = vectors(5).astype(np.float16)
    np.savez_compressed(tmp_path / "v.npz", ids=np.array([*IDS, "x"]), vectors=vecs)
    source = open_vectors(tmp_path / "v.npz")
    chunks = list(source.chunks(size=2))
    assert [len(ids) for ids, _ in chunks] == [2, 2, 1]
    assert np.array_equal(np.concatenate([v for _, v in chunks]), vecs)
    assert (source.total, source.dim) == (5, DIM)


def test_npy_with_an_ids_text_file(data_dir: Path, tmp_path: Path) -> None:
    vecs = vectors(3)
    np.save(tmp_path / "v.npy", vecs)
    (tmp_path / "ids.txt").write_text("\n".join(IDS[:3]) + "\n")
    result = run(data_dir, "--import", str(tmp_path / "v.npy"), "--ids", str(tmp_path / "ids.txt"))
    assert result.exit_code == 0, result.output
    assert_imported(data_dir, IDS[:3], vecs)


def test_npy_with_an_npy_of_string_ids(data_dir: Path, tmp_path: Path) -> None:
    vecs = vectors(2).astype(np.float16)
    np.save(tmp_path / "v.npy", vecs)
    np.save(tmp_path / "ids.npy", np.array(IDS[:2]))
    result = run(data_dir, "--import", str(tmp_path / "v.npy"), "--ids", str(tmp_path / "ids.npy"))
    assert result.exit_code == 0, result.output
    assert_imported(data_dir, IDS[:2], vecs.astype(np.float32))


def test_npy_without_ids_says_what_is_missing(data_dir: Path, tmp_path: Path) -> None:
    np.save(tmp_path / "v.npy", vectors(2))
    result = run(data_dir, "--import", str(tmp_path / "v.npy"))
    assert result.exit_code == 2
    assert "--ids" in result.output


def test_ids_and_vectors_of_different_lengths_are_refused(tmp_path: Path) -> None:
    np.save(tmp_path / "v.npy", vectors(3))
    (tmp_path / "ids.txt").write_text("\n".join(IDS[:2]))
    with pytest.raises(PrecomputedError, match="2 ids for 3 vectors"):
        open_vectors(tmp_path / "v.npy", tmp_path / "ids.txt")


def test_float_ids_are_refused_since_they_lose_digits(tmp_path: Path) -> None:
    np.savez(tmp_path / "v.npz", ids=np.array([2403.1, 2403.12]), vectors=vectors(2))
    with pytest.raises(PrecomputedError, match="floating-point"):
        open_vectors(tmp_path / "v.npz")


@pytest.mark.parametrize("column", ["vector", "embedding"])
@pytest.mark.parametrize("fixed", [False, True])
def test_parquet_with_id_and_vector_columns(
    data_dir: Path, tmp_path: Path, column: str, fixed: bool
) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    vecs = vectors(4)
    kind = pa.list_(pa.float32(), DIM) if fixed else pa.list_(pa.float32())
    table = pa.table({"id": IDS, column: pa.array([list(v) for v in vecs], type=kind)})
    pq.write_table(table, tmp_path / "v.parquet", row_group_size=3)
    result = run(data_dir, "--import", str(tmp_path / "v.parquet"))
    assert result.exit_code == 0, result.output
    assert "imported 4 of 4 vectors" in result.output
    assert_imported(data_dir, IDS, vecs)


def test_parquet_rows_of_unequal_length_are_refused(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    table = pa.table({"id": ["a", "b"], "vector": [[0.1] * DIM, [0.1] * (DIM - 1)]})
    pq.write_table(table, tmp_path / "v.parquet")
    with pytest.raises(PrecomputedError, match="row 1 has 383 values"):
        list(open_vectors(tmp_path / "v.parquet").chunks())


def test_parquet_without_pyarrow_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "v.parquet").write_bytes(b"PAR1")
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)  # as if not installed
    with pytest.raises(PrecomputedError, match=r"papersift\[parquet\]"):
        open_vectors(tmp_path / "v.parquet")


def test_unknown_format_is_one_clear_error(data_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "v.csv").write_text("id,vector\n")
    result = run(data_dir, "--import", str(tmp_path / "v.csv"))
    assert result.exit_code == 2
    assert "unknown format .csv" in result.output


# --- validation ---------------------------------------------------------------------------------


def test_dimension_mismatch_fails_before_anything_is_written(
    data_dir: Path, tmp_path: Path
) -> None:
    np.savez(tmp_path / "v.npz", ids=np.array(IDS), vectors=np.ones((4, 768), dtype=np.float32))
    result = run(data_dir, "--import", str(tmp_path / "v.npz"))
    assert result.exit_code == 2
    assert "768 dimensions" in result.output and "needs 384" in result.output
    assert stored(data_dir) == {}


def test_rows_with_nan_inf_or_zeros_are_rejected_and_counted(
    data_dir: Path, tmp_path: Path
) -> None:
    vecs = vectors(4)
    vecs[1, 7] = np.nan
    vecs[2, 0] = np.inf
    vecs[3] = 0.0
    np.savez(tmp_path / "v.npz", ids=np.array(IDS), vectors=vecs)
    result = run(data_dir, "--import", str(tmp_path / "v.npz"))
    assert result.exit_code == 0, result.output
    assert "imported 1 of 4 vectors" in result.output
    assert "rejected 3 rows" in result.output
    assert "arxiv:2002.05709" in result.output  # the NaN row is named
    assert sorted(stored(data_dir)) == [IDS[0]]


def test_unknown_ids_are_counted_and_reported_not_fatal(data_dir: Path, tmp_path: Path) -> None:
    ids = [IDS[0], "arxiv:9999.99999", "doi:10.1/nowhere", IDS[1]]
    vecs = vectors(4)
    np.savez(tmp_path / "v.npz", ids=np.array(ids), vectors=vecs)
    result = run(data_dir, "--import", str(tmp_path / "v.npz"))
    assert result.exit_code == 0, result.output
    assert "imported 2 of 4 vectors" in result.output
    assert "skipped 2 ids not in the catalogue" in result.output
    assert "arxiv:9999.99999" in result.output
    assert_imported(data_dir, [IDS[0], IDS[1]], vecs[[0, 3]])


def test_a_paper_named_twice_keeps_its_last_row(data_dir: Path, tmp_path: Path) -> None:
    vecs = vectors(3)
    ids = ["arxiv:1706.03762", "2002.05709", "1706.03762v5"]  # two names for one paper
    np.savez(tmp_path / "v.npz", ids=np.array(ids), vectors=vecs)
    result = run(data_dir, "--import", str(tmp_path / "v.npz"))
    assert result.exit_code == 0, result.output
    got = stored(data_dir)
    assert got["arxiv:1706.03762"] @ unit(vecs[2]) == pytest.approx(1.0, abs=1e-3)


# --- id forms -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "paper"),
    [
        ("arxiv:1706.03762", "arxiv:1706.03762"),
        ("1706.03762", "arxiv:1706.03762"),
        ("1706.03762v5", "arxiv:1706.03762"),
        ("arXiv:2002.05709", "arxiv:2002.05709"),
        ("https://arxiv.org/abs/1511.06452v2", "arxiv:1511.06452"),
        ("doi:10.1000/plants.2021.1", "doi:10.1000/plants.2021.1"),
        ("10.1000/PLANTS.2021.1", "doi:10.1000/plants.2021.1"),
        ("https://doi.org/10.1000/plants.2021.1", "doi:10.1000/plants.2021.1"),
    ],
)
def test_ids_resolve_as_the_catalog_resolves_them(data_dir: Path, given: str, paper: str) -> None:
    cat: Catalog = make_catalog(data_dir)
    try:
        with cat.store.session() as s:
            p = get_paper(s, given)
            assert p is not None and p.id == paper  # the lookup `papersift show` uses
        report = cat.import_vector_chunks([([given], vectors(1))])
        assert (report.imported, report.unknown) == (1, 0)
        with cat.store.session() as s:
            nums, _ = emb.get_vectors(s, cat.model_id, [p.num], DIM)
        assert nums == [p.num]
    finally:
        cat.close()


def test_import_vectors_keeps_its_one_batch_form(data_dir: Path) -> None:
    """The demo loader calls ``import_vectors(ids, vectors)`` and gets a count back."""
    cat = make_catalog(data_dir)
    try:
        assert cat.import_vectors(IDS[:2], vectors(2)) == 2
        with pytest.raises(ValueError, match="shape"):
            cat.import_vectors(IDS[:2], vectors(2)[:, :10])
    finally:
        cat.close()
