"""Approximate nearest-neighbour index over paper embeddings: int8 HNSW, then an exact re-rank.

Two files per model, both derived data that `papersift reindex` rebuilds from the store:

- ``vectors-<model>.usearch``: a usearch HNSW graph over int8 vectors, loaded into RAM (about
  500 bytes/paper for 384-d MiniLM; DESIGN.md budget: <= 600). HNSW keeps queries in
  milliseconds where exact search costs ~700 ms at 2.7M papers.
- ``vectors-<model>.f16``: the same vectors as float16 rows, row ``num`` for paper ``num``,
  memory-mapped and never loaded whole. int8 alone caps recall@10 against exact search near
  0.94-0.96 (measured by ``benchmarks/scale.py``: quantisation blurs near-ties, and more ef does
  not help), so a search takes the HNSW's best :data:`RERANK_DEPTH` candidates and orders them by
  exact cosine over these rows, which touches a few hundred KB of the file per query.

Keys are paper ``num``. A sidecar that is missing or shorter than a key (an index written before
it existed) falls back to the int8 scores for those keys.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

import onnxruntime  # noqa: F401  # isort: skip  (must precede usearch: DESIGN.md import-order crash)
from usearch.index import Index  # isort: skip

# Tuned with benchmarks/scale.py on 100k MiniLM-like vectors and title queries (README "Scale"):
# recall@10 against exact search, with the re-rank, at expansion_search (ef) 128/160/192/256 was
# 0.954/0.966/0.973/0.977 for expansion_add 64 and 0.970/0.978/0.984/0.989 for 128, whose build
# is 2.2x slower. Query time is ~2 ms either way, so the cheaper build takes the larger ef.
# connectivity 16 fits the RAM budget: ~580 bytes/paper measured (24 adds 64 bytes of links).
CONNECTIVITY = 16
EF_ADD = 64
EF_SEARCH = 192
RERANK_DEPTH = 64  # HNSW candidates re-ranked exactly (at least k)
_GROW = 1.25  # sidecar capacity grows by this factor, so appends do not remap every batch


class VectorIndex:
    def __init__(self, path: Path, dim: int, model_id: str) -> None:
        self.path = path
        self.dim = dim
        self.model_id = model_id
        self.exact_path = path.with_suffix(".f16")
        self._exact: np.memmap | None = None
        self.index = self._new()
        if path.exists():
            self.index.load(str(path))
            if self.index.ndim != dim:
                raise ValueError(f"vector index {path} has dim {self.index.ndim}, expected {dim}")
        self.index.expansion_search = EF_SEARCH  # type: ignore[misc]  # settable at run time

    def _new(self) -> Index:
        return Index(
            ndim=self.dim,
            metric="cos",
            dtype="i8",
            connectivity=CONNECTIVITY,
            expansion_add=EF_ADD,
            expansion_search=EF_SEARCH,
        )

    def __len__(self) -> int:
        return len(self.index)

    def __contains__(self, num: int) -> bool:
        return bool(self.index.contains(num))

    # -- the float16 rows for re-ranking ---------------------------------------------------------
    def _rows(self, writable: bool = False, need: int = 0) -> np.memmap | None:
        """The sidecar mapped with at least ``need`` rows (grown when writing), or None."""
        m = self._exact
        if m is not None and len(m) >= need and (not writable or m.mode == "r+"):
            return m
        row_bytes = self.dim * 2
        size = self.exact_path.stat().st_size if self.exact_path.exists() else 0
        if m is not None and not writable and size == m.size * 2:
            return m  # the file has not grown: keys beyond it have no row (yet)
        if m is not None:
            m.flush()
            self._exact = None
        if writable and size < need * row_bytes:
            self.exact_path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.exact_path, "ab") as f:
                f.truncate(int(need * _GROW + 1024) * row_bytes)  # sparse: zeros are "no row"
            size = self.exact_path.stat().st_size
        if size < row_bytes:
            return None
        self._exact = np.memmap(
            self.exact_path, dtype=np.float16, mode="r+" if writable else "r",
            shape=(size // row_bytes, self.dim),
        )  # fmt: skip
        return self._exact

    def _write_rows(self, keys: np.ndarray, vectors: np.ndarray) -> None:
        rows = self._rows(writable=True, need=int(keys.max()) + 1)
        assert rows is not None
        rows[keys.astype(np.int64)] = vectors.astype(np.float16)

    # -- writing ---------------------------------------------------------------------------------
    def upsert(self, nums: Sequence[int], vectors: np.ndarray) -> None:
        if not len(nums):
            return
        keys = np.asarray(nums, dtype=np.uint64)
        vectors = np.asarray(vectors, dtype=np.float32)
        self._remove_present(keys)
        self.index.add(keys, vectors)
        self._write_rows(keys, vectors)

    def remove(self, nums: Sequence[int]) -> None:
        if len(nums):
            self._remove_present(np.asarray(nums, dtype=np.uint64))

    def _remove_present(self, keys: np.ndarray) -> None:
        present = keys[np.asarray(self.index.contains(keys), dtype=bool)]
        if len(present):
            self.index.remove(present)

    def save(self) -> None:
        """Write to a temporary file, then rename: readers never see a half-written index.

        The float16 rows are written in place: a row newer than the saved graph is harmless,
        since rows are only read for keys the graph returns.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self._exact is not None:
            self._exact.flush()
        tmp = self.path.with_suffix(".tmp")
        self.index.save(str(tmp))
        os.replace(tmp, self.path)

    def reset(self) -> None:
        self.index = self._new()
        self._exact = None
        self.exact_path.unlink(missing_ok=True)

    # -- reading ---------------------------------------------------------------------------------
    def search(
        self, vector: np.ndarray, k: int, *, rerank: int | None = None
    ) -> list[tuple[int, float]]:
        """``(num, cosine similarity)`` of the k nearest papers.

        ``rerank`` (default :data:`RERANK_DEPTH`) HNSW candidates, at least k, are ordered by
        exact cosine over the float16 rows; ``rerank=0`` returns the int8 HNSW order as is.
        """
        if len(self.index) == 0 or k <= 0:
            return []
        k = min(k, len(self.index))
        depth = RERANK_DEPTH if rerank is None else rerank
        query = np.asarray(vector, dtype=np.float32).ravel()
        m = self.index.search(query, min(max(k, depth), len(self.index)))
        keys = np.asarray(m.keys, dtype=np.int64)
        sims = 1.0 - np.asarray(m.distances, dtype=np.float32)
        rows = self._rows(need=int(keys.max()) + 1) if depth and len(keys) else None
        if rows is not None:
            norm = float(np.linalg.norm(query)) or 1.0
            inside = keys < len(rows)
            exact = np.asarray(rows[keys[inside]], dtype=np.float32)
            have = np.zeros(len(keys), dtype=bool)
            have[inside] = exact.any(axis=1)  # an all-zero row was never written
            sims[have] = exact[have[inside]] @ query / norm
            order = np.argsort(-sims, kind="stable")[:k]
            keys, sims = keys[order], sims[order]
        return [(int(key), float(s)) for key, s in zip(keys[:k], sims[:k], strict=True)]
