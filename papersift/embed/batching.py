"""Batching shared by the transformer encoders: length-sorted batches, tokenised ahead of the model.

Why: a batch is as wide as its longest text, so mixing a 20-token title with a 256-token abstract
pays for 236 pad tokens. Sorting each chunk by length makes neighbours nearly equal (padding
waste is a few percent instead of ~40%), and a token budget keeps batches of short texts large
and batches of long texts inside memory. Tokenising the next chunk in a background thread
(``tokenizers`` releases the GIL and is itself parallel) overlaps it with the model running the
current one; results are written back in the caller's order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

Tokenize = Callable[[list[str]], list[list[int]]]
"""Texts -> token ids per text (special tokens included, already truncated)."""


@dataclass
class BatchStats:
    """What a pipelined encode did: real tokens, tokens after padding, model calls."""

    tokens: int = 0
    padded_tokens: int = 0
    batches: int = 0

    @property
    def padding_waste(self) -> float:
        return 1 - self.tokens / self.padded_tokens if self.padded_tokens else 0.0


def plan_batches(
    lengths: Sequence[int], *, max_batch: int, max_tokens: int | None = None
) -> list[np.ndarray]:
    """Row indices per batch: sorted by length, at most ``max_batch`` rows and, with
    ``max_tokens``, at most that many padded tokens (rows x longest row) per batch."""
    order = np.argsort(np.asarray(lengths, dtype=np.int64), kind="stable")
    batches: list[np.ndarray] = []
    start = 0
    for i in range(len(order)):
        rows = i - start + 1
        # Sorted ascending: the row being added is the widest of its batch.
        too_wide = max_tokens is not None and rows > 1 and rows * lengths[order[i]] > max_tokens
        if rows > max_batch or too_wide:
            batches.append(order[start:i])
            start = i
    if start < len(order):
        batches.append(order[start:])
    return batches


def pad_batch(ids: Sequence[Sequence[int]], rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``input_ids`` and ``attention_mask`` (int64, right-padded with 0) for the given rows."""
    width = max((len(ids[i]) for i in rows), default=0)
    input_ids = np.zeros((len(rows), width), dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=np.int64)
    for r, i in enumerate(rows):
        n = len(ids[i])
        input_ids[r, :n] = ids[i]
        mask[r, :n] = 1
    return input_ids, mask


def mean_pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean of the token vectors under the attention mask (sentence-transformers' pooling)."""
    m = mask[..., None].astype(np.float32)
    return (hidden * m).sum(axis=1) / np.clip(m.sum(axis=1), 1e-9, None)


def encode_pipelined(
    texts: Sequence[str],
    *,
    tokenize: Tokenize,
    run: Callable[[np.ndarray, np.ndarray], Any],
    fetch: Callable[[Any], np.ndarray] = np.asarray,
    dim: int,
    max_batch: int = 64,
    max_tokens: int | None = None,
    chunk_size: int = 4096,
    progress: Callable[[int], None] | None = None,
    stats: BatchStats | None = None,
) -> np.ndarray:
    """Embed ``texts`` chunk by chunk; rows come back in the order of ``texts``.

    ``run(input_ids, attention_mask)`` starts the model on one batch and returns its pooled
    vectors or a handle to them (a CUDA tensor still being computed); ``fetch`` turns that into
    a float32 array. One result is kept pending, so a GPU computes batch k+1 while the host
    copies batch k back; the next chunk is tokenised in a background thread meanwhile.
    """
    out = np.zeros((len(texts), dim), dtype=np.float32)
    if not texts:
        return out
    chunks = [(s, list(texts[s : s + chunk_size])) for s in range(0, len(texts), chunk_size)]
    pending: tuple[np.ndarray, Any] | None = None

    def settle() -> None:
        nonlocal pending
        if pending is not None:
            rows, handle = pending
            out[rows] = fetch(handle)
            pending = None
            if progress:
                progress(len(rows))

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="tokenize") as pool:
        future = pool.submit(tokenize, chunks[0][1]) if len(chunks) > 1 else None
        for n, (start, chunk) in enumerate(chunks):
            ids = future.result() if future is not None else tokenize(chunk)
            if n + 1 < len(chunks):
                future = pool.submit(tokenize, chunks[n + 1][1])
            lengths = [len(x) for x in ids]
            for rows in plan_batches(lengths, max_batch=max_batch, max_tokens=max_tokens):
                input_ids, mask = pad_batch(ids, rows)
                handle = run(input_ids, mask)
                settle()
                pending = (rows + start, handle)
                if stats is not None:
                    stats.tokens += int(mask.sum())
                    stats.padded_tokens += mask.size
                    stats.batches += 1
        settle()
    return out
