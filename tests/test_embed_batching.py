"""Length-sorted, token-budget batching: each text comes back in its own row, whatever the order."""

from __future__ import annotations

import numpy as np
import pytest

from papersift.embed.batching import BatchStats, encode_pipelined, plan_batches


def test_batches_cover_every_row_once_sorted_by_length_within_budgets() -> None:
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 300, size=1000).tolist()
    batches = plan_batches(lengths, max_batch=64, max_tokens=4096)
    rows = np.concatenate(batches)
    assert sorted(rows.tolist()) == list(range(1000))
    widths = [lengths[b[-1]] for b in batches]
    assert widths == sorted(widths)
    for b in batches:
        assert len(b) <= 64
        assert len(b) == 1 or len(b) * max(lengths[i] for i in b) <= 4096


def test_pipeline_writes_results_back_in_caller_order_across_chunks() -> None:
    texts = [f"{'word ' * (i % 17)}#{i}" for i in range(300)]

    def tokenize(chunk: list[str]) -> list[list[int]]:
        return [[int(t.split("#")[1]) + 1] * (t.count("word") + 1) for t in chunk]

    def run(ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        # Each row's "embedding" is its own text number: (row id, token count), one-hot-ish.
        return np.stack([ids[:, 0] - 1, mask.sum(axis=1)], axis=1).astype(np.float32)

    stats = BatchStats()
    seen: list[int] = []
    out = encode_pipelined(
        texts, tokenize=tokenize, run=run, dim=2, max_batch=16, max_tokens=64, chunk_size=70,
        progress=seen.append, stats=stats,
    )  # fmt: skip
    assert out[:, 0].tolist() == list(range(300))
    assert out[:, 1].tolist() == [i % 17 + 1 for i in range(300)]
    assert sum(seen) == 300
    assert stats.tokens == sum(i % 17 + 1 for i in range(300))
    assert stats.padding_waste < 0.1  # sorted by length: neighbours are nearly equal


def test_onnx_encoder_gives_the_same_vector_alone_or_in_a_shuffled_batch() -> None:
    from papersift.embed.onnx_minilm import OnnxMiniLM

    texts = [
        "Attention is all you need",
        "A contrastive loss between augmented views of the same image, with large batches "
        "and a projection head, learns visual representations without labels.",
        "",
        "learning rate warmup",
        "Photosynthesis of maize under drought " * 40,  # past the 256-token limit
    ]
    enc = OnnxMiniLM()
    alone = np.vstack([enc.encode([t]) for t in texts])
    order = [3, 0, 4, 2, 1]
    batched = enc.encode([texts[i] for i in order], batch_size=2)
    np.testing.assert_allclose(batched, alone[order], atol=2e-3)
    assert np.allclose(np.linalg.norm(alone[[0, 1, 3, 4]], axis=1), 1, atol=1e-5)


@pytest.mark.parametrize("n", [0, 1])
def test_pipeline_handles_empty_and_single_inputs(n: int) -> None:
    out = encode_pipelined(
        ["x"] * n, tokenize=lambda c: [[1]] * len(c), run=lambda i, m: np.ones((len(i), 3)), dim=3
    )
    assert out.shape == (n, 3)
