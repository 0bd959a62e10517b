"""The static CPU encoder: shipped table, own vector space, same tokens as MiniLM, fast."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from papersift.cli import main
from papersift.config import Settings
from papersift.embed.encoder import EncoderError, encoder_model_id, load_encoder
from papersift.embed.static import MODEL_ID, StaticMiniLM, WordPieceCache, sum_rows
from papersift.service.catalog import Catalog


@pytest.fixture(scope="module")
def static() -> StaticMiniLM:
    enc = load_encoder("static-minilm")
    assert isinstance(enc, StaticMiniLM)
    return enc


def test_static_vectors_are_normalised_and_rank_related_text_first(static: StaticMiniLM) -> None:
    docs = [
        "Learning rate warmup stabilises the training of transformers with Adam.",
        "Photosynthesis of maize and sorghum under drought stress in the field.",
        "Contrastive learning of visual representations from augmented image views.",
    ]
    vecs = static.encode(docs)
    assert vecs.shape == (3, 256) and vecs.dtype == np.float32
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1, atol=1e-5)
    q = static.encode(["warmup of the learning rate"])[0]
    assert int(np.argmax(vecs @ q)) == 0
    assert not static.encode([""]).any()  # no tokens, no direction


def test_static_model_has_its_own_model_id_so_caches_never_mix() -> None:
    assert encoder_model_id("static-minilm") == (MODEL_ID, 256)
    assert encoder_model_id("minilm-onnx")[0] != MODEL_ID
    with pytest.raises(EncoderError, match="unknown encoder"):
        encoder_model_id("nope")


def test_fast_wordpieces_equal_the_tokenizer_on_real_and_odd_text(static: StaticMiniLM) -> None:
    texts = [
        "We study the O(n log n) bound; see https://github.com/a/b_c (2024)!",
        "Schrödinger's équation — naïve café, 東京 and ﬁ ligatures",
        "tabs\tand\nnewlines\r and \x07 control",
        "x" * 150 + " supercalifragilisticexpialidocious " + "€100",
        "",
        "learning rate warmup, " * 200,  # past the 512-token cut
        "Über " + "learning rate warmup, " * 200,  # the same, through the slow path
    ]
    shared = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "arxiv-sample"
    sample = shared / "arxiv-metadata-oai-snapshot_first200.jsonl"
    if sample.exists():
        texts += [json.loads(line)["abstract"] for line in sample.open()][:200]
    tok = static.tokenizer
    expected = [e.ids for e in tok.encode_batch(texts, add_special_tokens=False)]
    assert WordPieceCache(tok, 512).ids(texts) == expected


def test_sum_rows_matches_a_plain_gather() -> None:
    rng = np.random.default_rng(1)
    table = rng.normal(size=(50, 4)).astype(np.float32)
    lengths = np.array([3, 0, 5, 1, 0, 40] * 7)
    ids = rng.integers(0, 50, size=int(lengths.sum()))
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    plain = np.stack(
        [table[ids[s : s + n]].sum(axis=0) for s, n in zip(starts, lengths, strict=True)]
    )
    np.testing.assert_allclose(sum_rows(table, ids, lengths), plain, atol=1e-5)


def test_a_corrupt_table_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "embeddings.npy"
    np.save(bad, np.zeros((10, 256), dtype=np.float16))
    with pytest.raises(EncoderError, match="sha256"):
        StaticMiniLM(table=bad)


def test_catalog_embeds_and_searches_with_the_static_encoder(tmp_path: Path) -> None:
    from conftest import SMALL

    from papersift.service import searching
    from papersift.service.ingesting import ingest

    cat = Catalog(Settings(data_dir=tmp_path, encoder="static-minilm", search_rate_per_minute=0))
    try:
        assert cat.model_id == MODEL_ID and cat.dim == 256  # known before any model loads
        report = ingest(cat, list(SMALL), source="test", location="fixture")
        assert report.embedded == len(SMALL)
        out = searching.search(cat, "adaptive optimiser warmup variance", mode="semantic")
        assert out.hits[0].paper.title == "On the Variance of the Adaptive Learning Rate and Beyond"
        assert cat.vectors.path.name == f"vectors-{MODEL_ID}.usearch"
    finally:
        cat.close()


def test_cli_embeds_with_the_static_encoder_and_resumes(tmp_path: Path) -> None:
    rows = [{"id": f"2101.{i:05d}", "title": f"Paper {i} on learning rate warmup",
             "summary": "Warmup stabilises early training.", "authors": ["A. One"]}
            for i in range(30)]  # fmt: skip
    data = tmp_path / "papers.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in rows))
    d = str(tmp_path / "d")
    runner = CliRunner()
    out = runner.invoke(main, ["--data-dir", d, "ingest", "jsonl", str(data), "--no-embed"])
    assert out.exit_code == 0, out.output
    out = runner.invoke(main, ["--data-dir", d, "embed", "--encoder", "static-minilm"])
    assert out.exit_code == 0 and "embedded 30" in out.output, out.output
    out = runner.invoke(main, ["--data-dir", d, "embed", "--encoder", "static-minilm"])
    assert "embedded 0" in out.output  # nothing redone
    out = runner.invoke(
        main, ["--data-dir", d, "--encoder", "static-minilm", "search", "warmup", "--mode",
               "semantic", "--json"],
    )  # fmt: skip
    assert out.exit_code == 0 and len(json.loads(out.output)["hits"]) == 10


def test_big_jobs_are_shared_by_worker_processes_with_the_same_vectors() -> None:
    """From PARALLEL_MIN texts on, chunks go to worker processes; the vectors must be the
    ones a single process makes, in the caller's order, odd text included."""
    import random

    from papersift.embed.static import PARALLEL_MIN

    rng = random.Random(7)
    words = ["graph", "neural", "network", "warmup", "transformer", "über", "naïve", "数据"]
    texts = [" ".join(rng.choices(words, k=rng.randint(0, 40))) for _ in range(PARALLEL_MIN + 5)]
    texts[3] = ""  # an empty abstract stays a zero vector
    single = StaticMiniLM(processes=1).encode(texts)
    pooled = StaticMiniLM(processes=2)
    done: list[int] = []
    try:
        shared = pooled.encode(texts, progress=done.append)
        assert pooled._pool is not None  # the workers really ran
    finally:
        pooled.close()
    assert sum(done) == len(texts)
    np.testing.assert_allclose(shared, single, atol=1e-6)
    assert not shared[3].any()


def test_workers_that_cannot_start_leave_the_job_to_this_process() -> None:
    from papersift.embed.static import PARALLEL_MIN

    texts = [f"paper {i} on learning rate warmup" for i in range(PARALLEL_MIN)]
    enc = StaticMiniLM(processes=2)
    enc._source = (enc._source[0], "0" * 64)  # every worker refuses the table's checksum
    with pytest.warns(UserWarning, match="encoding in one process"):
        got = enc.encode(texts)
    assert enc.processes == 1 and enc._pool is None
    np.testing.assert_allclose(got, StaticMiniLM(processes=1).encode(texts), atol=1e-6)


def test_static_encoder_throughput_smoke(static: StaticMiniLM) -> None:
    """Not a benchmark (see benchmarks/embed_throughput.py): only that 2,000 abstracts take
    seconds, not minutes, even on a busy two-core machine."""
    import time

    texts = ["We propose a method for learning rate warmup in transformer training. " * 12] * 2000
    t = time.perf_counter()
    static.encode(texts)
    assert time.perf_counter() - t < 30


def test_an_interrupted_embed_keeps_the_vector_index_it_had_saved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Long jobs save the HNSW index as they go (every VECTOR_SAVE_EVERY_S): a crash after the
    first batch leaves that batch searchable, and the re-run only does the rest."""
    from papersift.index.vector import VectorIndex
    from papersift.records import PaperRecord
    from papersift.service import catalog as catalog_module
    from papersift.service.ingesting import ingest

    class CrashesOnSecondBatch:
        def __init__(self, inner: StaticMiniLM) -> None:
            self.inner, self.calls = inner, 0
            self.model_id, self.dim, self.job_batch = inner.model_id, inner.dim, 0

        def encode(self, texts: list[str], **kw: object) -> np.ndarray:
            self.calls += 1
            if self.calls == 2:
                raise KeyboardInterrupt  # Ctrl-C in the middle of the job
            return self.inner.encode(texts)

    monkeypatch.setattr(catalog_module, "VECTOR_SAVE_EVERY_S", 0.0)
    records = [
        PaperRecord(title=f"Paper {i} on warmup", abstract=f"Study {i} of schedules.",
                    arxiv_id=f"2101.{i:05d}", source="test")
        for i in range(700)
    ]  # fmt: skip
    cat = Catalog(Settings(data_dir=tmp_path, encoder="static-minilm"))
    ingest(cat, records, source="test", location="fixture", embed=False)
    encoder = CrashesOnSecondBatch(StaticMiniLM(processes=1))
    cat.use_encoder(encoder)  # type: ignore[arg-type]
    with pytest.raises(KeyboardInterrupt):
        cat.sync(embed=True)
    saved = VectorIndex(cat.vectors.path, cat.dim, cat.model_id)
    assert len(saved) == 512  # the first batch, saved before the crash
    cat.close()
    again = Catalog(Settings(data_dir=tmp_path, encoder="static-minilm"))
    again.use_encoder(counting := CrashesOnSecondBatch(StaticMiniLM(processes=1)))  # type: ignore[arg-type]
    counting.calls = 2  # never crashes again
    assert again.sync(embed=True)["embedded"] == 700 - 512
    assert len(VectorIndex(again.vectors.path, again.dim, again.model_id)) == 700
    again.close()
